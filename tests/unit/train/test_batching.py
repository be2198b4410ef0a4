import torch

from polyalign.train.batching import (
    IGNORE,
    Encoded,
    collate,
    encode,
    encode_all,
    epoch_steps,
    pack,
    pack_rows,
    shard_step,
)


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
        [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hola amigo"}], tokenize=False
    )


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
    assert counts == {
        "examples": 3,
        "too_long": 1,
        "truncated": 0,
        "dropped_too_long": 1,
        "dropped_no_target": 0,
        "kept": 2,
    }


def test_encode_all_truncates_and_counts(default_tokenizer):
    # the reply survives truncation of a long reply; a long prompt leaves nothing to learn
    long_reply = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "word " * 300}]}
    long_prompt = {"messages": [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "b"}]}
    kept, counts = encode_all(default_tokenizer, [long_reply, long_prompt], max_seq_length=64, truncation="truncate")
    assert counts == {
        "examples": 2,
        "too_long": 2,
        "truncated": 2,
        "dropped_too_long": 0,
        "dropped_no_target": 1,
        "kept": 1,
    }
    full = encode(default_tokenizer, long_reply["messages"])
    assert kept[0] == Encoded(full.input_ids[:64], full.labels[:64])
    assert kept[0].labels[-1] != IGNORE


def test_epoch_steps_deterministic_cover_everything():
    a = epoch_steps(10, 3, seed=0, epoch=0)
    assert a == epoch_steps(10, 3, seed=0, epoch=0)
    assert a != epoch_steps(10, 3, seed=0, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(10))
    assert [len(b) for b in a] == [3, 3, 3, 1]


def test_shard_step_partitions_the_step_whatever_world_and_accumulation():
    step = list(range(100, 111))
    for world in (1, 2, 3):
        for accum in (1, 2, 4):
            parts = [shard_step(step, world, r, accum) for r in range(world)]
            assert all(len(p) == accum for p in parts)
            flat = sorted(i for p in parts for mb in p for i in mb)
            assert flat == step
            sizes = [len(mb) for p in parts for mb in p]
            assert max(sizes) - min(sizes) <= 1


def test_collate_right_pads_and_shifts_targets_within_each_example():
    b = collate([Encoded([5, 6, 7], [IGNORE, 6, 7]), Encoded([8, 9], [8, 9])], pad_id=0)
    assert b["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert b["targets"].tolist() == [[6, 7, IGNORE], [9, IGNORE, IGNORE]]
    assert b["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert b["position_ids"].tolist() == [[0, 1, 2], [0, 1, 2]]
    assert b["input_ids"].dtype == torch.long


def test_pack_rows_first_fit_decreasing():
    assert pack_rows([5, 3, 4, 2, 6], row_length=8) == [[4, 3], [0, 1], [2]]
    assert pack_rows([9, 1], row_length=8) == [[0], [1]]


def test_pack_restarts_positions_and_never_targets_across_examples():
    a = Encoded([1, 2, 3], [IGNORE, 2, 3])
    b = Encoded([4, 5], [IGNORE, 5])
    c = Encoded([6, 7, 8, 9], [IGNORE, IGNORE, 8, 9])
    one = pack([a, b, c], pad_id=0, row_length=None)
    assert one["input_ids"].tolist() == [[1, 2, 3, 4, 5, 6, 7, 8, 9]]
    assert one["position_ids"].tolist() == [[0, 1, 2, 0, 1, 0, 1, 2, 3]]
    # the last token of each example predicts nothing (not the next example's first token)
    assert one["targets"].tolist() == [[2, 3, IGNORE, 5, IGNORE, IGNORE, 8, 9, IGNORE]]
    rows = pack([a, b, c], pad_id=0, row_length=5)
    assert rows["input_ids"].tolist() == [[6, 7, 8, 9, 0], [1, 2, 3, 4, 5]]
    assert rows["position_ids"].tolist() == [[0, 1, 2, 3, 0], [0, 1, 2, 0, 1]]
    assert rows["targets"].tolist() == [[IGNORE, 8, 9, IGNORE, IGNORE], [2, 3, IGNORE, 5, IGNORE]]
    assert "attention_mask" not in rows
