"""The model backends on tiny random models: batching, order, language codes, journaling.

There is no MT checkpoint offline, so ``seq2seq`` runs a tiny random M2M100 built from a config
with a real word-level tokenizer that carries M2M100's ``__xx__`` language tokens. What is tested is
the plumbing (codes, forced target token, batching, order, journal), not translation quality.
"""

from __future__ import annotations

import json

import pytest

from polyalign.data.translate import translate_records
from polyalign.data.translate_models import SelfTranslator, Seq2SeqTranslator, lang_code

pytestmark = pytest.mark.slow

WORDS = [
    "open",
    "close",
    "the",
    "a",
    "file",
    "folder",
    "window",
    "new",
    "selected",
    "save",
    "print",
    "copy",
    "move",
    "delete",
    "report",
    "list",
    "page",
]


@pytest.fixture(scope="module")
def tiny_m2m(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>", "<s>", "__en__", "__es__", "__fr__", "__de__"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS + [".", ",", "⟦0⟧", "⟦1⟧"])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        bos_token="<s>",
        additional_special_tokens=specials[4:],
    )
    torch.manual_seed(0)
    cfg = M2M100Config(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=3,
        decoder_start_token_id=1,
        scale_embedding=True,
        init_std=1.0,
        dropout=0.0,
    )
    out = tmp_path_factory.mktemp("tiny-m2m")
    M2M100ForConditionalGeneration(cfg).save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def test_language_codes_per_family():
    assert [lang_code("m2m100", c) for c in ("es", "zh", "pt_BR")] == ["__es__", "__zh__", "__pt__"]
    assert [lang_code("nllb", c) for c in ("es", "zh", "ar")] == ["spa_Latn", "zho_Hans", "arb_Arab"]
    assert lang_code("marian", "French") == ">>fra<<" and lang_code("t5", "de") == "German"


def test_seq2seq_codes_batching_order_and_journal(tiny_m2m, tmp_path):
    tr = Seq2SeqTranslator(str(tiny_m2m), batch_size=2, max_new_tokens=6)
    assert tr.convention == "m2m100"  # detected from the tokenizer's language tokens
    texts = ["open the file", "close a new window .", "save", "print the selected report list page", "copy ⟦0⟧ folder"]
    ids, forced = tr.encode(texts, "English", "Spanish")
    vocab = tr.tokenizer.get_vocab()
    assert forced == vocab["__es__"]
    assert all(x[0] == vocab["__en__"] and x[-1] == vocab["</s>"] for x in ids)
    generated = tr.generate_ids(ids[:2], forced)
    assert all(seq[1] == vocab["__es__"] for seq in generated)  # the target language is forced first

    small = dict(tr.translate(texts, "English", "Spanish"))
    assert tr.batches_run == 3 and sorted(small) == [0, 1, 2, 3, 4]
    assert len(set(small.values())) >= 4  # outputs depend on the input, so the order checks mean something
    big = Seq2SeqTranslator(str(tiny_m2m), batch_size=8, max_new_tokens=6)
    assert dict(big.translate(texts, "English", "Spanish")) == small  # batching does not change outputs
    assert dict(big.translate(texts[::-1], "English", "Spanish")) == {4 - i: t for i, t in small.items()}  # order kept
    french = dict(big.translate(texts, "English", "French"))
    assert french != small  # a different forced target gives different outputs

    records = [{"id": str(i), "instruction": t, "input": "", "output": "open the file"} for i, t in enumerate(texts)]
    out, counts = translate_records(records, big, "en", "es", tmp_path / "j.jsonl")
    assert counts["sent"] == 5 and counts["segments"] == 10  # "open the file" appears twice: sent once
    lines = (tmp_path / "j.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(set(json.loads(x)) == {"k", "t"} for x in lines)
    kept = len(lines)  # a random model answers some texts blank or without their marker: never journaled
    assert len(out) + counts["rejected"] == 5 and (counts["rejected"] > 0) == (kept < 5)
    runs = big.batches_run
    again, counts2 = translate_records(records, big, "en", "es", tmp_path / "j.jsonl")
    assert again == out and counts2["sent"] == 5 - kept
    assert big.batches_run == runs + (kept < 5)  # only what the journal lacks is generated again


def test_self_translator_is_few_shot_and_journaled(tiny_model_dir, tmp_path):
    tr = SelfTranslator(str(tiny_model_dir), batch_size=4, max_new_tokens=4, shots=2)
    shots = tr.examples("English", "Spanish")
    assert shots[0] == ("Why is the sky blue?", "¿Por qué el cielo es azul?") and len(shots) == 2
    prompt = tr.prompt("Open the file", "English", "Spanish", shots)
    assert prompt.count("¿Por qué el cielo es azul?") == 1 and prompt.rstrip().endswith("assistant")
    records = [
        {"id": str(i), "instruction": f"Open the {w} now", "input": "", "output": "Fine"}
        for i, w in enumerate(WORDS[:5])
    ]
    out, counts = translate_records(records, tr, "en", "es", tmp_path / "j.jsonl")
    assert counts["sent"] == 6 and len(out) + counts["rejected"] == 5
    again, counts2 = translate_records(records, tr, "en", "es", tmp_path / "j.jsonl")
    assert again == out and counts2["sent"] == 0


@pytest.fixture(scope="module")
def tiny_nllb(tmp_path_factory):
    """A tiny random NLLB: M2M100 weights with transformers' own ``NllbTokenizer`` (letters as tokens)."""
    import string

    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    codes = ["eng_Latn", "spa_Latn", "fra_Latn"]
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "▁", *string.ascii_lowercase])}
    tok = NllbTokenizer(vocab=vocab, merges=[], additional_special_tokens=codes, src_lang="eng_Latn")
    torch.manual_seed(0)
    cfg = M2M100Config(
        vocab_size=len(tok),
        d_model=32,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id,
        decoder_start_token_id=tok.eos_token_id,
        scale_embedding=True,
        init_std=1.0,
        dropout=0.0,
    )
    out = tmp_path_factory.mktemp("tiny-nllb")
    M2M100ForConditionalGeneration(cfg).save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def test_seq2seq_with_the_real_nllb_tokenizer_sets_source_and_forces_target(tiny_nllb):
    tr = Seq2SeqTranslator(str(tiny_nllb), batch_size=2, max_new_tokens=5)
    assert tr.convention == "nllb" and type(tr.tokenizer).__name__ == "NllbTokenizer"
    texts = ["open the file", "save", "close a window now"]
    ids, forced = tr.encode(texts, "English", "Spanish")
    tokens = [tr.tokenizer.convert_ids_to_tokens(x) for x in ids]
    assert all(t[0] == "eng_Latn" and t[-1] == "</s>" for t in tokens)  # the tokenizer's own source marker
    assert tokens[0][1:-1] == ["▁", "o", "p", "e", "n", "▁", "t", "h", "e", "▁", "f", "i", "l", "e"]
    assert tr.tokenizer.convert_ids_to_tokens(forced) == "spa_Latn"
    assert all(tr.tokenizer.convert_ids_to_tokens(seq[1]) == "spa_Latn" for seq in tr.generate_ids(ids, forced))
    spanish = dict(tr.translate(texts, "English", "Spanish"))
    assert sorted(spanish) == [0, 1, 2] and tr.batches_run == 2
    assert (
        dict(Seq2SeqTranslator(str(tiny_nllb), batch_size=8, max_new_tokens=5).translate(texts, "English", "Spanish"))
        == spanish
    )
    ids_fr, forced_fr = tr.encode(texts, "fr", "es")  # codes as well as names; the source marker follows
    assert tr.tokenizer.convert_ids_to_tokens(ids_fr[0][0]) == "fra_Latn" and forced_fr == forced
