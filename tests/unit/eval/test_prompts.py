"""Evaluation prompts are versioned: each version's text is pinned by its sha256 and never changes."""

from __future__ import annotations

import hashlib

from polyalign.eval import judge, prompts


def test_eval_v1_pinned():
    assert prompts.template_sha256("eval_v1") == "34bc8014334f0725f4427e9595e749a3c74226414c862c47f1cdbadfe3abb531"


def test_eval_v2_is_eval_v1_plus_polysent():
    assert prompts.PROMPT_VERSION == "eval_v2"
    assert prompts.template_sha256("eval_v2") == "1dfdc440ebf3e9c7ba2f56a218877a0f3daacb7381f95b3729dbe105f555e254"
    assert {k: v for k, v in prompts.EVAL_V2.items() if k != "polysent"} == prompts.EVAL_V1
    msgs = prompts.build("polysent", {"text": "Muy bueno."}, label_names=["negativo", "positivo"])
    assert msgs == [
        {
            "role": "user",
            "content": "Is the sentiment of this text positive or negative? Answer with one of: "
            "negativo, positivo.\n\nText: Muy bueno.\nSentiment:",
        }
    ]


def test_judge_v1_pinned():
    text = judge.JUDGE_SYSTEM_V1 + "\x1e" + judge.JUDGE_USER_V1
    assert (
        hashlib.sha256(text.encode()).hexdigest() == "af3f3d614bfa9b7f5d6da32d93671eb8c6d559bdab6b26d0d99eeb120d801296"
    )


def test_zero_shot_chat_translation_is_mt_eval_v1():
    msgs = prompts.build("translation", {"src": "Open the file"}, src_lang="en", tgt_lang="de")
    # mt_eval_v1: the prompt polyalign run has always evaluated its held-out pairs with.
    assert msgs == [
        {
            "role": "user",
            "content": "Translate the following text from English to German. "
            "Reply with the translation only.\n\nOpen the file",
        }
    ]


def test_k_shot_chat_is_a_conversation():
    demos = [
        {"context": "C1", "question": "Q1", "answers": ["A1", "other"]},
        {"context": "C2", "question": "Q2", "answers": ["A2"]},
    ]
    msgs = prompts.build("qa", {"context": "C", "question": "Q"}, demos)
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "assistant", "user"]
    assert msgs[0]["content"] == (
        "Read the passage and answer the question with a short phrase copied from the passage.\n\n"
        "Passage: C1\nQuestion: Q1"
    )
    assert msgs[1]["content"] == "A1" and msgs[4]["content"] == "Passage: C\nQuestion: Q"


def test_raw_format_and_labels():
    demo = {"text": "Bueno.", "text_pair": None, "label": 1}
    text = prompts.build("sentiment", {"text": "Malo."}, [demo], fmt="raw")
    assert text == (
        "Is the sentiment of this product review positive or negative?\n\n"
        "Review: Bueno.\nSentiment: positive\n\nReview: Malo.\nSentiment:"
    )
    assert prompts.labels("xnli") == ["true", "neither", "false"]
    local = prompts.build("classification", {"text": "a", "text_pair": "b"}, fmt="raw", label_names=["x", "y"])
    assert local == "Classify the text. Answer with one of: x, y.\n\nText 1: a\nText 2: b\nAnswer:"


def test_math_demo_answers():
    with_solution = {"question": "1+1?", "answer_number": 2.0, "solution": "One plus one is 2."}
    without = {"question": "2+3?", "answer_number": 5.0, "solution": None}
    text = prompts.build("math", {"question": "3+4?"}, [with_solution, without], fmt="raw")
    assert "Question: 1+1?\nAnswer: One plus one is 2." in text and "Question: 2+3?\nAnswer: The answer is 5." in text
    assert text.endswith("Question: 3+4?\nAnswer:")


def test_instruct_prompt_with_input():
    msgs = prompts.build("instruct", {"instruction": "Traduce.", "input": "cat", "output": "gato"})
    assert msgs == [{"role": "user", "content": "Traduce.\n\ncat"}]
    assert (
        prompts.build("instruct", {"instruction": "Hola", "input": ""}, fmt="raw")
        == "### Instruction:\nHola\n\n### Response:\n"
    )
