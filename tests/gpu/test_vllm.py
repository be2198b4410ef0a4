"""vLLM backend: greedy outputs match the Hugging Face path on the bundled model (GPU only)."""

from __future__ import annotations

import pytest

from polyalign.eval.generate import vllm_available

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not vllm_available(), reason="needs vLLM and a CUDA GPU")]


def test_vllm_greedy_matches_hf():
    from polyalign.config import DEFAULT_MODEL
    from polyalign.eval.generate import chat_prompt, generate, generate_vllm
    from polyalign.hub import resolve
    from polyalign.models import load_model

    model, tok = load_model(DEFAULT_MODEL)
    model = model.cuda()
    prompts = [
        chat_prompt(tok, q)
        for q in (
            "What is the capital of France?",
            "Name three colours.",
            "Translate to Spanish: good morning",
            "Count from one to five.",
        )
    ]
    hf = generate(model, tok, prompts, max_new_tokens=16, stop=["\n"])
    vl = generate_vllm(str(resolve(DEFAULT_MODEL)), tok, prompts, max_new_tokens=16, stop=["\n"])
    # Different kernels may flip a near-tie; all but one answer must be identical.
    assert sum(a == b for a, b in zip(hf, vl)) >= len(prompts) - 1
