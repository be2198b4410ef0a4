import sacrebleu

from polyalign.eval.mt import bleu_tokenizer, score_corpus


def test_bleu_tokenizer_by_target_language():
    assert bleu_tokenizer("zh") == "zh"
    assert bleu_tokenizer("zh_TW") == "zh"
    assert bleu_tokenizer("th") == "char"
    assert bleu_tokenizer("es") == "13a"
    assert bleu_tokenizer("ar") == "13a"
    import importlib.util

    assert bleu_tokenizer("ja") == ("ja-mecab" if importlib.util.find_spec("MeCab") else "char")


def test_scores_identical_to_sacrebleu():
    hyps = ["el gato está en la alfombra", "no se pudo abrir el archivo"]
    refs = ["el gato está sobre la alfombra", "no se puede abrir el archivo"]
    s = score_corpus(hyps, refs, "es")
    assert s["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score
    assert s["chrf"] == sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score
    assert "tok:13a" in s["bleu_signature"] and "nw:2" in s["chrf_signature"]
    zh = score_corpus(["猫在垫子上"], ["猫坐在垫子上"], "zh")
    assert zh["bleu"] == sacrebleu.corpus_bleu(["猫在垫子上"], [["猫坐在垫子上"]], tokenize="zh").score
    assert "tok:zh" in zh["bleu_signature"]


def test_bootstrap_interval_is_sacrebleus_own():
    from sacrebleu.metrics import BLEU, CHRF

    hyps = [
        "el gato está en la alfombra",
        "no se pudo abrir el archivo",
        "guardar el documento",
        "abrir la carpeta nueva",
    ]
    refs = [
        "el gato está sobre la alfombra",
        "no se puede abrir el archivo",
        "guardar el documento",
        "abrir una carpeta",
    ]
    a = score_corpus(hyps, refs, "es", n_bootstrap=200)
    assert a == score_corpus(hyps, refs, "es", n_bootstrap=200)  # sacrebleu's fixed seed
    assert a["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score
    # The interval sacrebleu itself prints ("μ = mean ± ci") for the same resamples.
    for name, metric in (("bleu", BLEU(tokenize="13a")), ("chrf", CHRF(word_order=2))):
        printed = str(metric.corpus_score(hyps, [refs], n_bootstrap=200))
        assert f"± {a[f'{name}_ci']:.2f})" in printed, printed
        assert "bs:200|seed:12345" in a[f"{name}_signature"]
    assert round(a["bleu_ci"], 4) == 16.8777 and round(a["chrf_ci"], 4) == 14.7349
    # Identical hypotheses and references leave nothing to vary.
    same = score_corpus(refs, refs, "es", n_bootstrap=50)
    assert same["chrf"] == 100.0 and same["chrf_ci"] == 0.0
    assert "bleu_ci" not in score_corpus(hyps, refs, "es", n_bootstrap=1)


def test_comet_without_package_names_the_install(monkeypatch):
    import builtins

    import pytest

    from polyalign.eval.mt import comet_score
    from polyalign.io import InputError

    real_import = builtins.__import__

    def no_comet(name, *args, **kwargs):
        if name == "comet":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_comet)
    with pytest.raises(InputError, match=r"pip install 'polyalign\[comet\]'"):
        comet_score(["a"], ["b"], ["c"], "/nonexistent.ckpt")


def test_interval_when_some_resamples_score_zero():
    """sacrebleu's own interval code fails on such a corpus (a Python 0.0 among numpy float32s);
    polyalign resamples through its public API instead: same score, an interval, no crash."""
    import pytest

    hyps = ["hola mundo", "xyz", "abc", "def", "ghi"]
    refs = ["hola mundo", "uno dos", "tres", "cuatro", "cinco"]
    with pytest.raises(TypeError):
        sacrebleu.metrics.CHRF(word_order=2).corpus_score(hyps, [refs], n_bootstrap=1000)
    s = score_corpus(hyps, refs, "es")
    assert s["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score
    assert s["chrf"] == sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score
    assert s["chrf_ci"] > 0.0 and s == score_corpus(hyps, refs, "es")  # seeded: the same interval again
