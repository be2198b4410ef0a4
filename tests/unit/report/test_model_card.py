"""The model card: the hub's metadata and only what the run measured (JSON artefacts in, text out)."""

from __future__ import annotations

import json

from polyalign.report.build import build_report
from polyalign.report.claims import run_claims
from polyalign.report.collect import collect
from polyalign.report.deltas import delta_effect
from polyalign.report.model_card import card_metadata, locate, model_card, write_model_cards
from report_fixtures import write_finished_run


def _adapter(folder, base="HuggingFaceTB/SmolLM2-135M-Instruct"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": base, "r": 16}))
    return folder


def test_an_arm_card_carries_metadata_training_and_the_measured_before_after(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    model = _adapter(run / "arms" / "coit-es" / "model")
    assert locate(model) == (run.resolve(), "coit-es", (run / "arms" / "coit-es").resolve())

    text = model_card(model, "HuggingFaceTB/SmolLM2-135M-Instruct", "peft", claims=run_claims(run))
    meta = card_metadata(text)
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["language"] == ["en", "es"] and meta["library_name"] == "peft"
    assert meta["pipeline_tag"] == "text-generation" and meta["license"] == "other"
    assert meta["tags"] == ["polyalign", "coit", "lora", "multilingual"]
    # The fixture's numbers, as measured: base 25.00 → coit-es 30.00 on en→es chrF++; 20 steps. Each Δ
    # carries its paired interval, the one the report's table shows for the same cell.
    doc = collect(run)
    chrf, acc = (
        delta_effect(doc, "coit-es", t, m) for t, m in (("translation/en-es", "chrf"), ("polysent/es", "accuracy"))
    )
    assert chrf.low < 5.0 < chrf.high and acc.low <= 6.0 <= acc.high
    assert f"| translation/en-es | chrf | 25.00 | 30.00 | +5.00 [{chrf.low:+.2f}, {chrf.high:+.2f}] |" in text
    assert f"| polysent/es | accuracy | 40.00 | 46.00 | +6.00 [{acc.low:+.2f}, {acc.high:+.2f}] |" in text
    assert f"30.00 (+5.00 [{chrf.low:+.2f}, {chrf.high:+.2f}])" in (build_report(run)["markdown"]).read_text()
    # the fixture's BLEU has no per-item texts to recompute it from: its Δ stands alone, with no interval
    assert "| translation/en-es | bleu | 8.33 | 10.00 | +1.67 |" in text
    assert "| steps | 20 |" in text and "| supervised tokens | 9000 |" in text
    assert "| es | 100 | 40 | 0 |" in text
    assert "## The experiment's claims" in text and "CoIT raises translation" in text


def test_an_interval_the_evaluation_recorded_is_shown_beside_its_number(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    res = run / "arms" / "coit-zh" / "eval" / "results.json"
    doc = json.loads(res.read_text())
    doc["results"]["translation/en-zh"]["chrf_ci"] = [12.5, 17.25]
    res.write_text(json.dumps(doc))
    text = model_card(_adapter(run / "arms" / "coit-zh" / "model"), "base/x", "peft")
    assert "| translation/en-zh | chrf | 10.00 | 15.00 [12.50, 17.25] | +5.00 [" in text


def test_a_model_no_run_evaluated_claims_no_numbers(tmp_path):
    out = tmp_path / "train-out"
    (out / "model").mkdir(parents=True)
    (out / "model" / "config.json").write_text(json.dumps({"_name_or_path": "org/base"}))
    (out / "train_summary.json").write_text(json.dumps({"steps": 7, "examples": 3}))
    (out / "train_config.yaml").write_text("seed: 3\ntrain:\n  finetuning_type: full\n  learning_rate: 0.0002\n")
    text = model_card(out / "model", "org/base", "transformers")
    assert locate(out / "model") == (None, None, out.resolve())
    assert "was not evaluated by the run that trained it" in text and "| task |" not in text
    assert "| steps | 7 |" in text and "| finetuning | full |" in text and "| seed | 3 |" in text
    assert card_metadata(text)["tags"] == ["polyalign", "multilingual"]
    assert "## The experiment's claims" not in text


def test_the_report_writes_a_card_into_every_tuned_model_folder(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    for arm in ("coit-es", "muit-uniform"):
        _adapter(run / "arms" / arm / "model")
    written = write_model_cards(run)
    assert written == [
        run / "arms" / "coit-es" / "model" / "README.md",
        run / "arms" / "muit-uniform" / "model" / "README.md",
    ]
    assert card_metadata(written[1].read_text())["language"] == ["en", "es", "zh", "ru"]


def test_a_checkpoints_card_gives_its_step_and_claims_none_of_the_final_models_numbers(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    _adapter(run / "arms" / "coit-es" / "model")
    ckpt = run / "arms" / "coit-es" / "checkpoints" / "step-6"
    ckpt.mkdir(parents=True)
    (ckpt / "trainer_state.json").write_text(json.dumps({"step": 6}))
    text = model_card(ckpt, "HuggingFaceTB/SmolLM2-135M-Instruct", "peft", claims=run_claims(run))
    assert "# coit-es, checkpoint at step 6" in text and "| steps | 6 |" in text
    assert "| steps | 20 |" not in text and "first → last loss" not in text  # the final model's
    assert "the run evaluated its final model, not this checkpoint: no numbers are claimed" in text
    assert "| task |" not in text and "## The experiment's claims" not in text
    assert "| LoRA rank / alpha | — |" in text  # the adapter names r 16 but no alpha: neither is guessed
    final = ckpt.parent / "step-20"  # the fixture's arm trained 20 steps: its last checkpoint is the final model
    final.mkdir()
    (final / "trainer_state.json").write_text(json.dumps({"step": 20}))
    text = model_card(final, "HuggingFaceTB/SmolLM2-135M-Instruct", "peft", claims=run_claims(run))
    assert "# coit-es, checkpoint at step 20 (the final step)" in text and "| steps | 20 |" in text
    assert "| translation/en-es | chrf | 25.00 | 30.00 | +5.00 [" in text and "## The experiment's claims" in text


def test_a_folder_polyalign_did_not_train_gets_a_card_that_claims_nothing(tmp_path):
    folder = _adapter(tmp_path / "someones-adapter", base="unknown")
    text = model_card(folder, "unknown", "peft")
    meta = card_metadata(text)
    assert "base_model" not in meta and meta["library_name"] == "peft"
    assert "tuned with polyalign" not in text and "## Training" not in text and "## Evaluation" not in text
    assert "No polyalign training record was found" in text


def test_a_corpus_metrics_recorded_half_width_and_the_adapters_own_lora_shape_are_shown(tmp_path):
    run = write_finished_run(tmp_path / "demo")
    res = run / "arms" / "coit-es" / "eval" / "results.json"
    doc = json.loads(res.read_text())
    doc["results"]["translation/en-es"]["chrf_ci"] = 1.0987  # sacrebleu's bootstrap half-width
    res.write_text(json.dumps(doc))
    model = _adapter(run / "arms" / "coit-es" / "model")  # r 16 in its adapter_config.json; the recipe names none
    cfg = json.loads((model / "adapter_config.json").read_text())
    (model / "adapter_config.json").write_text(json.dumps({**cfg, "lora_alpha": 32}))
    text = model_card(model, "HuggingFaceTB/SmolLM2-135M-Instruct", "peft")
    assert "| translation/en-es | chrf | 25.00 | 30.00 ± 1.10 | +5.00 [" in text
    assert "| LoRA rank / alpha | 16 / 32 |" in text


def test_only_hub_datasets_go_in_the_metadata_and_every_source_is_named_in_the_text(tmp_path):
    import yaml

    run = write_finished_run(tmp_path / "demo")
    recipe = yaml.safe_load((run / "config.yaml").read_text())
    recipe["data"] = {"sources": ["gettext", "hf:acme/para@train"], "instructions": ["polyinstruct"]}
    (run / "config.yaml").write_text(yaml.safe_dump(recipe))
    text = model_card(_adapter(run / "arms" / "coit-es" / "model"), "HuggingFaceTB/SmolLM2-135M-Instruct", "peft")
    assert card_metadata(text)["datasets"] == ["acme/para"]  # gettext and polyinstruct are no hub dataset ids
    assert "Data: `gettext`, `hf:acme/para@train`, `polyinstruct` (as the recipe names them)." in text
