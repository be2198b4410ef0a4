"""spBLEU (``tokenize: flores101|flores200``) from a local SentencePiece model, identical to sacrebleu."""

from __future__ import annotations

import json

import pytest

from polyalign.cli import main
from polyalign.eval.mt import score_corpus
from polyalign.io import InputError

HYPS = ["el gato está en la alfombra roja", "no se pudo abrir el archivo nuevo", "guardar el documento ahora"]
REFS = ["el gato está sobre la alfombra roja", "no se puede abrir el archivo nuevo", "guarda el documento ahora"]


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    """A small SentencePiece model trained here, offline, in about a second."""
    spm = pytest.importorskip("sentencepiece", reason="spBLEU needs sentencepiece (pip install 'polyalign[spbleu]')")
    root = tmp_path_factory.mktemp("spm")
    corpus = root / "corpus.txt"
    words = " ".join(HYPS + REFS).split()
    corpus.write_text("\n".join(" ".join(words[i:] + words[:i]) for i in range(len(words))) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(root / "tiny"),
        vocab_size=40,
        model_type="unigram",
        character_coverage=1.0,
        minloglevel=2,
    )
    return root / "tiny.model"


@pytest.mark.parametrize("name", ["flores101", "flores200"])
def test_spbleu_is_sacrebleus_given_the_same_file(tmp_path, monkeypatch, spm_model, name):
    from sacrebleu.metrics import BLEU
    from sacrebleu.tokenizers import tokenizer_spm

    ours = score_corpus(HYPS, REFS, "es", n_bootstrap=1, tokenize=name, spm_model=str(spm_model))
    # sacrebleu itself, its model file placed where it would have downloaded it.
    cache = tmp_path / "sacrebleu"
    (cache / "models").mkdir(parents=True)
    target = cache / "models" / tokenizer_spm.SPM_MODELS[name]["url"].rsplit("/", 1)[1]
    target.write_bytes(spm_model.read_bytes())
    monkeypatch.setattr(tokenizer_spm, "SACREBLEU_DIR", str(cache))
    theirs = BLEU(tokenize=name)
    score = theirs.corpus_score(HYPS, [REFS])
    assert ours["bleu"] == score.score and ours["bleu"] != score_corpus(HYPS, REFS, "es", n_bootstrap=1)["bleu"]
    assert ours["bleu_signature"] == str(theirs.get_signature()) and f"tok:{name}" in ours["bleu_signature"]
    assert ours["spm_model"] == str(spm_model) and len(ours["spm_sha256"]) == 64
    # With no --spm-model, sacrebleu's cache is read when it holds the model.
    monkeypatch.setenv("SACREBLEU", str(cache))
    assert score_corpus(HYPS, REFS, "es", n_bootstrap=1, tokenize=name)["bleu"] == score.score


def test_score_mt_spbleu_and_its_missing_model_is_one_line(tmp_path, monkeypatch, capsys):
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("\n".join(HYPS) + "\n", encoding="utf-8")
    ref.write_text("\n".join(REFS) + "\n", encoding="utf-8")
    monkeypatch.setenv("SACREBLEU", str(tmp_path / "empty"))
    code = main(["score", "mt", str(hyp), str(ref), "--lang", "es", "--tokenize", "flores200"])
    err = capsys.readouterr().err
    assert code == 2 and err == (
        "error: spBLEU (flores200) needs its SentencePiece model: download "
        "https://tinyurl.com/flores200sacrebleuspm to "
        f"{tmp_path / 'empty' / 'models' / 'flores200sacrebleuspm'}, or give its path with --spm-model "
        "(recipe: eval.spm_model)\n"
    )
    code = main(["score", "mt", str(hyp), str(ref), "--lang", "es", "--spm-model", str(hyp)])
    assert code == 2 and capsys.readouterr().err == "error: --spm-model goes with --tokenize flores101 or flores200\n"
    code = main(
        ["score", "mt", str(hyp), str(ref), "--lang", "es", "--tokenize", "flores101", "--spm-model", "/no/such"]
    )
    assert code == 2 and capsys.readouterr().err == "error: /no/such: no such SentencePiece model file\n"


def test_score_mt_spbleu_end_to_end(tmp_path, capsys, spm_model):
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyp.write_text("\n".join(HYPS) + "\n", encoding="utf-8")
    ref.write_text("\n".join(REFS) + "\n", encoding="utf-8")
    code = main(
        ["score", "mt", str(hyp), str(ref), "--lang", "es", "--tokenize", "flores200", "--spm-model", str(spm_model)]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and "tok:flores200" in result["bleu_signature"]
    assert result["bleu"] == score_corpus(HYPS, REFS, "es", tokenize="flores200", spm_model=str(spm_model))["bleu"]


def test_without_sentencepiece_the_error_names_the_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_spm(name, *args, **kwargs):
        if name == "sentencepiece":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    model = tmp_path / "m.model"
    model.write_bytes(b"x")
    monkeypatch.setattr(builtins, "__import__", no_spm)
    with pytest.raises(InputError, match=r"spBLEU needs sentencepiece: pip install 'polyalign\[spbleu\]'"):
        score_corpus(HYPS, REFS, "es", tokenize="flores200", spm_model=str(model))
