from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tests never reach for the network: the default model resolves to its bundled copy.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _no_model_pinned_by_an_earlier_test(monkeypatch):
    """A run pins its hub-id model to a folder in the environment (polyalign.frozen_model) for the
    processes it starts; a run made in-process by one test must not pin the next test's model."""
    monkeypatch.delenv("POLYALIGN_PINNED_MODELS", raising=False)


@pytest.fixture(scope="session")
def default_tokenizer():
    """The default model's real tokenizer (bundled SmolLM2, converted once into the cache)."""
    from polyalign.config import DEFAULT_MODEL
    from polyalign.models import load_tokenizer

    return load_tokenizer(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, default_tokenizer) -> Path:
    """A tiny random Llama built from a config, with the default tokenizer, saved as a folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(default_tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        initializer_range=0.2,
        bos_token_id=default_tokenizer.bos_token_id,
        eos_token_id=default_tokenizer.eos_token_id,
        pad_token_id=default_tokenizer.pad_token_id,
    )
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(out, safe_serialization=True)
    default_tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_adapter(tmp_path_factory, tiny_model_dir):
    """A LoRA adapter with non-zero weights, saved the way `polyalign run` saves one."""
    import torch

    from polyalign.models import attach_lora, load_model

    model, _ = load_model(str(tiny_model_dir))
    peft_model = attach_lora(model, rank=4, alpha=8, dropout=0.0, target="all-linear")
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(out)
    return out
