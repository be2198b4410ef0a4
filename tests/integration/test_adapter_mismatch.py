"""An adapter given with a model it was not trained on: one line naming the model it was, not peft's traceback."""

from __future__ import annotations

import pytest

from polyalign.cli import main

pytestmark = pytest.mark.slow


def test_an_adapter_on_another_base_is_one_line_naming_its_own(tmp_path, tiny_adapter, default_tokenizer, capsys):
    from transformers import LlamaConfig, LlamaForCausalLM

    other = tmp_path / "wider"  # another base: the same tokenizer, hidden size 32 instead of 64
    cfg = LlamaConfig(
        vocab_size=len(default_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )
    LlamaForCausalLM(cfg).save_pretrained(other, safe_serialization=True)
    default_tokenizer.save_pretrained(other)
    out = tmp_path / "eval"
    argv = ["eval", "--model", str(other), "--adapter", str(tiny_adapter), "--tasks", "polysent", "--langs", "es"]
    assert main([*argv, "--limit", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: {tiny_adapter}: does not fit the model it was given ({other}): its weights' shapes")
    assert "give that model as --model" in err and not out.exists()


def test_an_eval_override_that_changes_nothing_changes_nothing(tmp_path, tiny_model_dir):
    """``polyalign eval seed=0`` (the default seed) had started from the embedded default experiment,
    whose suite is 2-shot raw prompts with 40 polymt items: an override now adjusts a plain evaluation."""
    import json

    argv = ["eval", "--model", str(tiny_model_dir), "--tasks", "polysent", "--langs", "es", "--limit", "2"]
    assert main([*argv, "-o", str(tmp_path / "plain")]) == 0
    assert main([*argv, "-o", str(tmp_path / "seeded"), "seed=0"]) == 0
    plain, seeded = (json.loads((tmp_path / d / "results.json").read_text()) for d in ("plain", "seeded"))
    assert seeded["results"] == plain["results"] and seeded["configs"] == plain["configs"]
    assert plain["configs"]["polysent/es"]["num_fewshot"] == 0 and seeded["request"]["task_limits"] == {}
