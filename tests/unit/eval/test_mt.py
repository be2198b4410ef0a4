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


def test_bootstrap_stderr_from_sufficient_statistics():
    hyps = ["el gato está en la alfombra", "no se pudo abrir el archivo", "guardar el documento", "abrir la carpeta nueva"]
    refs = ["el gato está sobre la alfombra", "no se puede abrir el archivo", "guardar el documento", "abrir una carpeta"]
    a = score_corpus(hyps, refs, "es", n_boot=200, seed=3)
    b = score_corpus(hyps, refs, "es", n_boot=200, seed=3)
    assert a == b
    assert a["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score
    assert 0.0 < a["chrf_stderr"] < 50.0 and 0.0 < a["bleu_stderr"] < 50.0
    # Identical hypotheses and references leave nothing to vary.
    same = score_corpus(refs, refs, "es", n_boot=50)
    assert same["chrf"] == 100.0 and same["chrf_stderr"] == 0.0
    assert "bleu_stderr" not in score_corpus(hyps, refs, "es", n_boot=0)


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
