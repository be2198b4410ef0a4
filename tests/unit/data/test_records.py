"""Readers of user files, each on a small fixture in its native format, and their PATH:LINE errors."""

import json

import pytest

from polyalign.data import records
from polyalign.data.records import ParallelPair
from polyalign.io import InputError
from polyalign.rows import iter_json_array, parse_hf


def write(path, text, mode="w"):
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_alpaca_jsonl_and_json_array(tmp_path):
    rows = [
        {"instruction": "Name a colour.", "input": "", "output": "Blue."},
        {"instruction": "Add.", "input": "2 + 2", "output": "4", "id": "x7"},
    ]
    jsonl = write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    arr = write(tmp_path / "a.json", json.dumps(rows, indent=2))
    expected = [
        {"id": "1", "instruction": "Name a colour.", "input": "", "output": "Blue."},
        {"id": "x7", "instruction": "Add.", "input": "2 + 2", "output": "4"},
    ]
    assert list(records.read_instructions(jsonl, "alpaca")) == expected
    got = list(records.read_instructions(arr, "alpaca"))
    assert [g["instruction"] for g in got] == ["Name a colour.", "Add."] and got[1]["id"] == "x7"


def test_alpaca_errors_name_the_line(tmp_path):
    bad = write(tmp_path / "b.jsonl", '{"instruction": "a", "output": "b"}\n{"instruction": "c"}\n')
    with pytest.raises(InputError) as e:
        list(records.read_instructions(bad, "alpaca"))
    assert str(e.value) == f"{bad}:2: missing field 'output'"
    broken = write(tmp_path / "c.jsonl", '{"instruction": "a", "output": "b"}\n{"instruction": \n')
    with pytest.raises(InputError, match=r"c\.jsonl:2: invalid JSON"):
        list(records.read_instructions(broken, "alpaca"))
    latin = write(
        tmp_path / "d.jsonl", b'{"instruction": "a", "output": "b"}\n{"instruction": "caf\xe9", "output": "x"}\n', "wb"
    )
    with pytest.raises(InputError, match=r"d\.jsonl:2: not UTF-8"):
        list(records.read_instructions(latin, "alpaca"))
    arr = write(tmp_path / "e.json", '[\n {"instruction": "a", "output": "b"},\n {"instruction": "c", "output": 3}\n]')
    with pytest.raises(InputError, match=r"e\.json:3: field 'output' must be a string"):
        list(records.read_instructions(arr, "alpaca"))


def test_json_array_is_read_incrementally_across_buffer_boundaries(tmp_path):
    rows = [{"instruction": f"Say {i} ñ 中文", "output": "x" * i} for i in range(200)]
    path = write(tmp_path / "big.json", json.dumps(rows, indent=1, ensure_ascii=False))
    got = list(iter_json_array(path, chunk=7))
    assert [r for _, r in got] == rows
    assert got[0][0] == 2 and got[1][0] == 6  # each record's first line


def test_sharegpt_and_messages(tmp_path):
    sg = write(
        tmp_path / "s.jsonl",
        json.dumps(
            {
                "system": "Be brief.",
                "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}],
            }
        )
        + "\n",
    )
    assert list(records.read_instructions(sg, "sharegpt")) == [
        {
            "id": "1",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
            ],
        }
    ]
    bad = write(tmp_path / "s2.jsonl", json.dumps({"conversations": [{"from": "robot", "value": "x"}]}) + "\n")
    with pytest.raises(InputError, match=r"s2\.jsonl:1: conversations\[0\]\.from 'robot' is not one of"):
        list(records.read_instructions(bad, "sharegpt"))
    msgs = write(
        tmp_path / "m.jsonl",
        json.dumps({"id": "a", "messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A"}]})
        + "\n"
        + json.dumps({"messages": [{"role": "user", "content": "Q"}]})
        + "\n",
    )
    with pytest.raises(InputError, match=r"m\.jsonl:2: no assistant turn to learn from"):
        list(records.read_instructions(msgs, "messages"))


def test_parallel_jsonl_tsv_and_two_files(tmp_path):
    jl = write(
        tmp_path / "p.jsonl",
        json.dumps({"src": "Open", "tgt": "Abrir", "src_lang": "en", "tgt_lang": "es"})
        + "\n"
        + json.dumps({"src": "Fermer", "tgt": "Close", "src_lang": "fra_Latn", "tgt_lang": "en"})
        + "\n",
    )
    assert [(p.src, p.src_lang, p.tgt_lang) for p in records.read_parallel(jl)] == [
        ("Open", "en", "es"),
        ("Fermer", "fr", "en"),
    ]
    tsv = write(tmp_path / "p.tsv", "Open the file\tAbrir el archivo\nSave\tGuardar\n")
    assert list(records.read_parallel(tsv, "en", "es")) == [
        ParallelPair("Open the file", "Abrir el archivo", "en", "es", "file:p.tsv"),
        ParallelPair("Save", "Guardar", "en", "es", "file:p.tsv"),
    ]
    wm = write(tmp_path / "wm.tsv", "1.07\tHello\tHola\n")
    assert [(p.src, p.tgt) for p in records.read_tsv(wm, "en", "es", 1, 2)] == [("Hello", "Hola")]
    notab = write(tmp_path / "n.tsv", "Open\tAbrir\nSave Guardar\n")
    with pytest.raises(InputError) as e:
        list(records.read_parallel(notab, "en", "es"))
    assert str(e.value) == f"{notab}:2: expected 2 tab-separated columns, found no tab"
    three = write(tmp_path / "three.tsv", "Open\tAbrir\t\n1.07\tHello\tHola\n")  # a trailing tab is no column
    with pytest.raises(InputError) as e:
        list(records.read_parallel(three, "en", "es"))
    assert str(e.value).startswith(f"{three}:2: expected 2 tab-separated columns (source, target), found 3")
    a, b = write(tmp_path / "a.en", "One\nTwo\nThree\n"), write(tmp_path / "a.es", "Uno\nDos\n")
    with pytest.raises(InputError) as e:
        list(records.read_two_files(a, b, "en", "es"))
    assert str(e.value) == f"{b}:3: has 2 lines but {a} has more: aligned files must have equal lengths"
    c = write(tmp_path / "c.es", "Uno\nDos\nTres\n")
    assert [p.tgt for p in records.read_two_files(a, c, "en", "es")] == ["Uno", "Dos", "Tres"]


def test_parallel_unknown_language_and_missing_fields(tmp_path):
    bad = write(
        tmp_path / "p.jsonl", json.dumps({"src": "a", "tgt": "b", "src_lang": "en", "tgt_lang": "klingon"}) + "\n"
    )
    with pytest.raises(InputError, match=r"p\.jsonl:1: tgt_lang: unknown language code 'klingon'"):
        list(records.read_parallel(bad))
    nolang = write(tmp_path / "q.jsonl", json.dumps({"src": "a", "tgt": "b"}) + "\n")
    with pytest.raises(InputError, match=r"q\.jsonl:1: missing field 'src_lang'"):
        list(records.read_parallel(nolang))
    assert [p.tgt_lang for p in records.read_parallel(nolang, "en", "de")] == ["de"]


def test_parquet_arrow_and_column_mapping(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"translation": [{"en": "Open", "es": "Abrir"}, {"en": "Close", "es": "Cerrar"}]})
    pq.write_table(table, tmp_path / "t.parquet")
    cols = {"src": "translation.en", "tgt": "translation.es"}
    got = list(records.read_parallel(tmp_path / "t.parquet", "en", "es", columns=cols))
    assert [(p.src, p.tgt) for p in got] == [("Open", "Abrir"), ("Close", "Cerrar")]
    with pa.OSFile(str(tmp_path / "i.arrow"), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)  # the stream flavour `datasets` writes
    assert [p.tgt for p in records.read_parallel(tmp_path / "i.arrow", "en", "es", columns=cols)] == ["Abrir", "Cerrar"]
    alp = pa.table({"question": ["Why?"], "answer": ["Because."]})
    pq.write_table(alp, tmp_path / "q.parquet")
    assert list(
        records.read_instructions(tmp_path / "q.parquet", "alpaca", {"instruction": "question", "output": "answer"})
    ) == [{"id": "1", "instruction": "Why?", "input": "", "output": "Because."}]
    with pytest.raises(InputError, match=r"t\.parquet:1: missing field 'src'"):
        list(records.read_parallel(tmp_path / "t.parquet", "en", "es"))


def test_hf_spec_parsing_and_local_dataset_folder(tmp_path):
    assert parse_hf("hf:org/name:cfg@test") == ("org/name", "cfg", "test")
    pytest.importorskip("datasets")
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "ds" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"src": ["Open"], "tgt": ["Abrir"]}), folder / "train-00000-of-00001.parquet")
    got = list(records.read_parallel(f"hf:{tmp_path / 'ds'}", "en", "es"))
    assert [(p.src, p.tgt) for p in got] == [("Open", "Abrir")]
    with pytest.raises(InputError, match="cannot load dataset"):
        list(records.read_parallel("hf:no-such-org/no-such-dataset", "en", "es"))


def test_validate_file(tmp_path):
    jl = write(
        tmp_path / "p.jsonl", json.dumps({"src": "Open", "tgt": "Abrir", "src_lang": "en", "tgt_lang": "es"}) + "\n"
    )
    assert records.validate_file(jl, "parallel") == {"format": "parallel", "records": 1, "directions": {"en-es": 1}}
    al = write(tmp_path / "a.jsonl", json.dumps({"instruction": "a", "output": "b"}) + "\n")
    assert records.validate_file(al, "alpaca") == {"format": "alpaca", "records": 1}
