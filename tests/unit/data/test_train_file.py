import json

import pytest

from polyalign.data.records import read_train_file, resolve_train_file, to_messages
from polyalign.io import InputError


def test_three_forms_become_messages(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hola"}], "id": "x"},
        {"instruction": "Translate.", "input": "", "output": "Abrir", "system": "Be brief."},
        {
            "conversations": [
                {"from": "human", "value": "One?"},
                {"from": "gpt", "value": "Uno"},
                {"from": "human", "value": "Two?"},
                {"from": "gpt", "value": "Dos"},
            ]
        },
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")
    got = read_train_file(path)
    assert got == [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hola"}]},
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Translate."},
                {"role": "assistant", "content": "Abrir"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": "One?"},
                {"role": "assistant", "content": "Uno"},
                {"role": "user", "content": "Two?"},
                {"role": "assistant", "content": "Dos"},
            ]
        },
    ]
    as_list = tmp_path / "mixed.json"
    as_list.write_text(json.dumps(rows))
    assert read_train_file(as_list) == got


def test_a_run_directory_means_its_built_mixture(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text(json.dumps({"instruction": "a", "output": "b"}) + "\n")
    assert resolve_train_file(tmp_path) == tmp_path / "data" / "train.jsonl"
    assert resolve_train_file(tmp_path / "data") == tmp_path / "data" / "train.jsonl"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no data/train.jsonl"):
        resolve_train_file(tmp_path / "empty")


@pytest.mark.parametrize(
    "record, message",
    [
        ({"prompt": "x"}, "expected 'messages', 'conversations' (sharegpt) or 'instruction' + 'output' (alpaca)"),
        ({"instruction": "x", "output": 3}, "field 'output' must be a string"),
        (
            {"conversations": [{"from": "bot", "value": "x"}]},
            "conversations[0].from 'bot' is not one of assistant, bard, bing, chatgpt, gpt, human, system, user",
        ),
        ({"messages": [{"role": "user", "content": "only a question"}]}, "no assistant turn to learn from"),
    ],
)
def test_bad_records_name_file_and_line(tmp_path, record, message):
    path = tmp_path / "bad.jsonl"
    good = {"instruction": "a", "output": "b"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n")
    with pytest.raises(InputError) as err:
        read_train_file(path)
    assert str(err.value) == f"{path}:2: {message}"
    with pytest.raises(ValueError, match="must|expected|no assistant|is not one of"):
        to_messages(record)
