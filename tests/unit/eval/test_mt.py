import sacrebleu

from polyalign.eval.mt import bleu_tokenizer, score_corpus


def test_bleu_tokenizer_by_target_language():
    assert bleu_tokenizer("zh") == "zh"
    assert bleu_tokenizer("zh_TW") == "zh"
    assert bleu_tokenizer("th") == "char"
    assert bleu_tokenizer("es") == "13a"
    assert bleu_tokenizer("ar") == "13a"
    assert bleu_tokenizer("ja") in ("char", "ja-mecab")


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
