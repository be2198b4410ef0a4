"""`polyalign data translate` as a job: what it keeps, what it checks before any request (issue 9)."""

from __future__ import annotations

import json

import pytest

from chat_server import ChatServer, fake_translate
from polyalign.cli import main
from polyalign.config import TranslateConfig
from polyalign.data.translate import run_translation_job
from polyalign.io import InputError
from polyalign.recipe import load_recipe

RECORDS = [
    {
        "id": 7,
        "instruction": "Name a colour.",
        "output": "Blue.",
        "category": "open_qa",
        "meta": {"src": "dolly", "n": 2},
    },
    {"id": 8, "conversations": [{"from": "human", "value": "Say hi."}, {"from": "gpt", "value": "Hi."}], "source": "x"},
]


def _job(tmp_path, server, records, **kw) -> TranslateConfig:
    src = tmp_path / "inst.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return TranslateConfig(
        input=str(src), output_dir=str(tmp_path / "out"), base_url=server.url, model="fake-mt", backoff=0.01, **kw
    )


def test_untranslated_fields_are_kept_as_they_were(tmp_path):
    with ChatServer() as server:
        run_translation_job(_job(tmp_path, server, RECORDS[:1], target_languages=["fr"]), "m")
    out = [json.loads(line) for line in (tmp_path / "out" / "inst.fr.jsonl").read_text(encoding="utf-8").splitlines()]
    assert out == [
        {
            "id": 7,
            "instruction": fake_translate("Name a colour.", "French"),
            "output": fake_translate("Blue.", "French"),
            "category": "open_qa",
            "meta": {"src": "dolly", "n": 2},
        }
    ]


def test_sharegpt_records_keep_their_form(tmp_path):
    with ChatServer() as server:
        run_translation_job(_job(tmp_path, server, RECORDS[1:], target_languages=["fr"], format="sharegpt"), "m")
    out = json.loads((tmp_path / "out" / "inst.fr.jsonl").read_text(encoding="utf-8"))
    assert out == {
        "id": 8,
        "source": "x",
        "conversations": [
            {"from": "human", "value": fake_translate("Say hi.", "French")},
            {"from": "gpt", "value": fake_translate("Hi.", "French")},
        ],
    }


def test_an_unknown_target_fails_before_any_request(tmp_path, capsys):
    src = tmp_path / "inst.jsonl"
    src.write_text(json.dumps(RECORDS[0]) + "\n", encoding="utf-8")
    with ChatServer() as server:
        code = main(
            [
                "data",
                "translate",
                f"translate.input={src}",
                "translate.target_languages=fr,klingon",
                f"translate.base_url={server.url}",
                "translate.model=m",
                f"translate.output_dir={tmp_path / 'out'}",
            ]
        )
        assert server.requests == 0
    assert code == 2
    assert capsys.readouterr().err == (
        "error: <command line>: translate.target_languages: unknown language code 'klingon'\n"
    )
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match=r"<command line>: translate.target_languages: unknown language code 'zz'"):
        load_recipe(None, ["translate.target_languages=zz"])


def test_an_empty_input_and_a_users_file_at_the_output_are_refused(tmp_path):
    with ChatServer() as server:
        with pytest.raises(InputError, match="holds no records to translate"):
            run_translation_job(_job(tmp_path, server, [], target_languages=["fr"]), "m")
        job = _job(tmp_path, server, RECORDS[:1], target_languages=["fr"])
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "inst.fr.jsonl").write_text("my own file\n")
        with pytest.raises(InputError, match="exists and was not written by a translation job"):
            run_translation_job(job, "m")
        assert server.requests == 0
    assert (tmp_path / "out" / "inst.fr.jsonl").read_text() == "my own file\n"
