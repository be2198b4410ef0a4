"""Tiny random models of four architectures, built from configs, sharing the default tokenizer."""

from __future__ import annotations

import pytest

ARCHS = ("llama", "qwen2", "gpt2", "gemma2")


def build_tiny(arch: str, tokenizer):
    """A tiny random causal LM of ``arch`` (eval mode, float32); weights seeded, norms perturbed.

    Norm weights are moved away from 1 so that applying a final norm twice changes the output.
    """
    import torch
    import transformers as tf

    torch.manual_seed(0)
    ids = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    vocab = len(tokenizer)
    if arch == "llama":
        cfg = tf.LlamaConfig(
            vocab_size=vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=True,
            **ids,
        )
        model = tf.LlamaForCausalLM(cfg)
    elif arch == "qwen2":
        cfg = tf.Qwen2Config(
            vocab_size=vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=False,
            **ids,
        )
        model = tf.Qwen2ForCausalLM(cfg)
    elif arch == "gpt2":
        cfg = tf.GPT2Config(vocab_size=vocab, n_embd=64, n_layer=3, n_head=4, n_positions=256, **ids)
        model = tf.GPT2LMHeadModel(cfg)
    elif arch == "gemma2":
        cfg = tf.Gemma2Config(
            vocab_size=vocab,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            query_pre_attn_scalar=16,
            final_logit_softcapping=0.5,
            attn_logit_softcapping=50.0,
            sliding_window=64,
            **ids,
        )
        model = tf.Gemma2ForCausalLM(cfg)
    else:
        raise ValueError(arch)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_" in name:
                p.add_(0.5 * torch.randn_like(p))
    return model.eval()


@pytest.fixture(scope="session", params=ARCHS)
def tiny_arch(request, default_tokenizer):
    """``(arch, model, tokenizer)`` for each of the four architectures."""
    return request.param, build_tiny(request.param, default_tokenizer), default_tokenizer
