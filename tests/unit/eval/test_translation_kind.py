"""The translation kind's scoring path on polymt rows: corpus BLEU/chrF++ as sacrebleu gives them, and
COMET's numbers placed in the results and samples when a checkpoint is named (issue 20).

unbabel-comet is not installed on the test machines and no COMET checkpoint is shipped, so the COMET
case replaces :func:`polyalign.eval.mt.comet_score` (the one call that loads a checkpoint) with a
recorder: it checks what the kind sends to COMET and where the answer goes, not COMET itself."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eval_fixtures import POLYMT_FIXTURE
from polyalign.eval import kinds, loaders, mt
from polyalign.eval import tasks as T


class Echo:
    """An answerer with fixed, known outputs (no model): the test is about scoring."""

    backend = "hf"

    def __init__(self, outputs):
        self.outputs = outputs

    def generate(self, prompts_, max_new_tokens, stop, desc, first_line=False):
        self.caps = max_new_tokens
        return list(self.outputs)

    def token_counts(self, texts):
        return [len(t.split()) for t in texts]  # a word a token: the test is about the rule

    def token_ratio(self, src, tgt):
        return 3.0, "fixed"


def _req(**kw):
    base = dict(max_new_tokens=8, prompt_format="chat", tokenize=None, spm_model=None, comet_model=None, batch_size=4)
    return SimpleNamespace(**{**base, **kw})


def test_translation_scores_polymt_rows_and_places_comet(monkeypatch):
    task = T.get("polymt")
    prep = loaders.prepare(task, task.parse("en-fr"), str(POLYMT_FIXTURE), limit=3, seed=0)
    outputs = [r["tgt"] for r in prep.rows[:2]] + ["rien"]
    scored = kinds.evaluate_translation(Echo(outputs), prep, ["p"] * 3, _req())
    expected = mt.score_corpus(outputs, [r["tgt"] for r in prep.rows], "fr")
    assert (scored.result["bleu"], scored.result["chrf"]) == (expected["bleu"], expected["chrf"])
    assert "comet" not in scored.result and "comet" not in scored.samples[0]

    calls = []

    def recorder(sources, hyps, refs, model, batch_size=16, gpus=None):
        calls.append((list(sources), list(hyps), list(refs), model, batch_size))
        return {"comet": 0.5, "comet_stderr": 0.1, "comet_model": model, "comet_segments": [0.9, 0.8, 0.1]}

    monkeypatch.setattr(mt, "comet_score", recorder)
    scored = kinds.evaluate_translation(Echo(outputs), prep, ["p"] * 3, _req(comet_model="/m/comet.ckpt"))
    assert calls == [([r["src"] for r in prep.rows], outputs, [r["tgt"] for r in prep.rows], "/m/comet.ckpt", 4)]
    assert (scored.result["comet"], scored.result["comet_stderr"], scored.result["comet_model"]) == (
        0.5,
        0.1,
        "/m/comet.ckpt",
    )
    assert "comet_segments" not in scored.result
    assert [s["comet"] for s in scored.samples] == [0.9, 0.8, 0.1]


def test_comet_without_the_package_is_an_input_error():
    import importlib.util

    from polyalign.io import InputError

    if importlib.util.find_spec("comet") is not None:
        pytest.skip("unbabel-comet is installed here")
    with pytest.raises(InputError, match=r"COMET needs unbabel-comet: pip install 'polyalign\[comet\]'"):
        mt.comet_score(["a"], ["b"], ["c"], "/m/comet.ckpt")


def test_each_translation_gets_room_for_its_expected_length():
    """A translation is cut at max(max_new_tokens, 1.5 × source tokens × the pair's token ratio)."""
    task = T.get("polymt")
    prep = loaders.prepare(task, task.parse("en-fr"), str(POLYMT_FIXTURE), limit=3, seed=0)
    echo = Echo(["x"] * 3)
    scored = kinds.evaluate_translation(echo, prep, ["p"] * 3, _req(max_new_tokens=8))
    words = [len(r["src"].split()) for r in prep.rows]
    assert echo.caps == [max(8, -(-9 * n // 2)) for n in words] and max(echo.caps) > 8
    cap = scored.config["length_cap"]
    assert (cap["token_ratio"], cap["token_ratio_from"], cap["largest"]) == (3.0, "fixed", max(echo.caps))
    assert kinds.translation_caps([4, 40], None, 48) == [48, 48]  # a pair polymt cannot measure: the floor


def test_the_token_ratio_is_measured_on_polymt_dev_in_the_model_tokenizer(default_tokenizer):
    from polyalign.config import DEFAULT_MODEL
    from polyalign.eval.request import EvalRequest
    from polyalign.eval.runner import Runner

    runner = Runner(EvalRequest(model=DEFAULT_MODEL, tasks=["polymt"]), tokenizer=default_tokenizer)
    ru, how = runner.token_ratio("en", "ru")
    back, _ = runner.token_ratio("ru", "en")
    assert how == "polymt_v1 dev, 60 sentences"
    assert ru > 3 and back == pytest.approx(1 / ru)  # Cyrillic: over three tokens per English token here
    assert 1 < runner.token_ratio("en", "es")[0] < ru
    assert runner.token_ratio("en", "xx")[0] is None and runner.token_ratio("pt", "en")[0] is None
