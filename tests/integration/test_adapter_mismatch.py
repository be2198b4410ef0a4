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
