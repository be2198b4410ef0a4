"""A clean terminal: evaluation raises no transformers FutureWarning; loading a model shows no bar."""

from __future__ import annotations

import warnings

from polyalign.eval.generate import generate
from polyalign.eval.prefix import cache_kwarg
from polyalign.models import load_model


def test_generation_passes_the_cache_under_the_name_forward_takes(tiny_model_dir, capfd):
    model, tokenizer = load_model(str(tiny_model_dir))
    err = capfd.readouterr().err
    assert "Loading weights" not in err  # transformers' own bar is off for polyalign's loads
    import inspect

    assert cache_kwarg(model) in inspect.signature(type(model).forward).parameters
    prompts = ["Translate to Spanish: Open the selected file", "Translate to Spanish: Close the new window"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning (past_key_values renamed) fails the test
        out = generate(model, tokenizer, prompts, batch_size=2, max_new_tokens=4)
    assert len(out) == 2 and all(isinstance(o, str) for o in out)
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()  # restored after the load


def test_progress_bars_only_on_a_terminal(tiny_model_dir, capfd, monkeypatch):
    """Off a terminal (a log file, a pipe) generation writes no bar and no carriage return; on a
    terminal it shows one."""
    import sys

    model, tokenizer = load_model(str(tiny_model_dir))
    capfd.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    generate(model, tokenizer, ["Translate to Spanish: Open"], batch_size=1, max_new_tokens=2, desc="gen")
    err = capfd.readouterr().err
    assert "\r" not in err and "gen" not in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    generate(model, tokenizer, ["Translate to Spanish: Open"], batch_size=1, max_new_tokens=2, desc="gen")
    assert "gen: 100%" in capfd.readouterr().err
