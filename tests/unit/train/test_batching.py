import torch

from polyalign.train.batching import IGNORE, collate, encode, encode_all, epoch_batches


def supervised_tokens(tok, enc):
    return [tok.convert_ids_to_tokens(i) for i, lab in zip(enc.input_ids, enc.labels) if lab != IGNORE]


def test_prompt_masking_single_turn_exact_labels(default_tokenizer):
    tok = default_tokenizer
    enc = encode(tok, [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hola amigo"}])
    # Only the reply and its end-of-turn marker are learned; the template's newline is not.
    assert supervised_tokens(tok, enc) == ["H", "ola", "Ġam", "igo", "<|im_end|>"]
    n = len(enc.labels)
    assert enc.labels[: n - 6] == [IGNORE] * (n - 6)
    assert enc.labels[-1] == IGNORE and tok.convert_ids_to_tokens(enc.input_ids[-1]) == "Ċ"
    assert [lab for lab in enc.labels if lab != IGNORE] == enc.input_ids[n - 6 : n - 1]
    assert tok.decode(enc.input_ids) == tok.apply_chat_template(
        [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hola amigo"}], tokenize=False)


def test_prompt_masking_multi_turn_learns_every_assistant_turn(default_tokenizer):
    tok = default_tokenizer
    msgs = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "One?"},
        {"role": "assistant", "content": "Uno"},
        {"role": "user", "content": "Two?"},
        {"role": "assistant", "content": "Dos"},
    ]
    enc = encode(tok, msgs)
    assert tok.decode([i for i, lab in zip(enc.input_ids, enc.labels) if lab != IGNORE]) == "Uno<|im_end|>Dos<|im_end|>"


def test_encode_all_drops_and_counts_too_long(default_tokenizer):
    short = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    long = {"messages": [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "b"}]}
    kept, counts = encode_all(default_tokenizer, [short, long, short], max_seq_length=64)
    assert len(kept) == 2
    assert counts == {"examples": 3, "dropped_too_long": 1, "dropped_no_target": 0, "kept": 2}


def test_epoch_batches_deterministic_cover_everything():
    a = epoch_batches(10, 3, seed=0, epoch=0)
    assert a == epoch_batches(10, 3, seed=0, epoch=0)
    assert a != epoch_batches(10, 3, seed=0, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(10))
    assert [len(b) for b in a] == [3, 3, 3, 1]


def test_collate_right_pads():
    from polyalign.train.batching import Encoded

    b = collate([Encoded([5, 6, 7], [IGNORE, 6, 7]), Encoded([8], [8])], pad_id=0)
    assert b["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert b["labels"].tolist() == [[IGNORE, 6, 7], [8, IGNORE, IGNORE]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert b["input_ids"].dtype == torch.long
