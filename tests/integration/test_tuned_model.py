"""The model an arm or a run is evaluated with: a LoRA adapter folded into a fresh base, or a fully tuned
model loaded alone (the base's weights were loaded beside it, and thrown away: twice the memory for a 7B)."""

from __future__ import annotations

from polyalign.config import ModelConfig, TrainConfig
from polyalign.run_config import RunConfig
from polyalign.stages import tuned_model


def _cfg(tmp_path, model, finetuning_type):
    return RunConfig(
        model=ModelConfig(model_name_or_path=str(model)),
        runs_dir=str(tmp_path / "runs"),
        train=TrainConfig(finetuning_type=finetuning_type),
    )


def test_a_fully_tuned_model_is_loaded_without_the_base(tmp_path, tiny_model_dir, capsys):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tuned_dir = tmp_path / "full"
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        model.lm_head.weight.mul_(2.0)  # a tuned model: not the base's weights
    model.save_pretrained(tuned_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(tuned_dir)  # as training saves it

    def no_base():
        raise AssertionError("the base's weights were loaded for a fully tuned model")

    got, tok = tuned_model(_cfg(tmp_path, tiny_model_dir, "full"), tuned_dir, no_base)
    assert torch.equal(got.lm_head.weight, model.lm_head.weight)
    assert tok("hola")["input_ids"] and tok.pad_token is not None
    assert f"model: loading the tuned model {tuned_dir}" in capsys.readouterr().err


def test_a_lora_adapter_is_folded_into_the_base_it_is_given(tmp_path, tiny_model_dir, capsys):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from polyalign.models import load_model

    torch.manual_seed(0)
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(tmp_path / "adapter", safe_serialization=True)
    calls = []

    def base():
        calls.append(1)
        return load_model(str(tiny_model_dir))

    got, tok = tuned_model(_cfg(tmp_path, tiny_model_dir, "lora"), tmp_path / "adapter", base)
    assert calls == [1]
    expected = peft_model.merge_and_unload()
    q = "model.layers.0.self_attn.q_proj.weight"
    assert torch.allclose(got.state_dict()[q], expected.state_dict()[q], atol=1e-6)
    assert not torch.allclose(got.state_dict()[q], load_model(str(tiny_model_dir))[0].state_dict()[q])
    assert f"model: folding in the adapter {tmp_path / 'adapter'}" in capsys.readouterr().err
