"""Translation: protection, the journal, and the HTTP backend against a real local server."""

import json
import os

import pytest

from chat_server import ChatServer, fake_translate
from polyalign.data.translate import (
    HttpTranslator,
    TranslateError,
    protect,
    restore,
    segments,
    translate_records,
)
from polyalign.data.translate_journal import Journal

RECORDS = [
    {"id": "1", "instruction": "Open the file 3 times.", "input": "", "output": "Use `open()` with {name}."},
    {
        "id": "2",
        "instruction": "Show the example.",
        "input": "",
        "output": "Here it is:\n```python\nprint('hi')\n```\nRun it at https://example.org now.",
    },
    {"id": "3", "instruction": "Open the file 3 times.", "input": "", "output": "Done."},  # repeats a segment
]


def test_protect_and_restore_round_trip_and_reject_lost_markers():
    masked, spans = protect("Copy %s to {dest} at 10:30, see `man cp` or www.gnu.org")
    assert masked == "Copy ⟦0⟧ to ⟦1⟧ at ⟦2⟧, see ⟦3⟧ or ⟦4⟧"
    assert (
        restore(masked.upper().replace("COPY", "Copiar"), spans)
        == "Copiar %s TO {dest} AT 10:30, SEE `man cp` OR www.gnu.org"
    )
    assert restore("Copiar ⟦0⟧ ⟦0⟧ ⟦1⟧ ⟦2⟧ ⟦3⟧ ⟦4⟧", spans) is None  # repeated
    assert restore("Copiar ⟦0⟧ ⟦1⟧ ⟦2⟧ ⟦3⟧", spans) is None  # lost one
    assert restore("Copiar ⟦0⟧ ⟦1⟧ ⟦2⟧ ⟦3⟧ ⟦4⟧ ⟦5⟧", spans) is None  # invented one


def test_segments_never_send_code_blocks_or_bare_numbers():
    parts = segments("Run:\n```sh\nls -l\n```\n42\n~~~\nx\n~~~")
    assert [p for p in parts if not p[0]] == [(False, "```sh\nls -l\n```"), (False, "\n42\n"), (False, "~~~\nx\n~~~")]
    assert [p for p in parts if p[0]] == [(True, "Run:\n")]


def test_journal_drops_a_torn_last_line_and_appends_cleanly(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"k": "a", "t": "A"}\n{"k": "b", "t": "B"}\n{"k": "c", "t": "C', encoding="utf-8")
    j = Journal(path)
    assert j.done == {"a": "A", "b": "B"}
    j.add("c", "C")
    j.close()
    assert [json.loads(line)["k"] for line in path.read_text().splitlines()] == ["a", "b", "c"]


def test_http_translation_keeps_code_numbers_placeholders_and_reuses_journal(tmp_path):
    with ChatServer() as server:
        tr = HttpTranslator(server.url, "fake-mt", concurrency=2, max_batch=4, backoff=0.01)
        out, counts = translate_records(RECORDS, tr, "en", "es", tmp_path / "j.jsonl")
        assert counts == {"records": 3, "segments": 7, "reused": 0, "sent": 6, "rejected": 0, "written": 3}
        assert out[0]["instruction"] == "<sp> oPEN THE FILE 3 TIMES."
        assert out[0]["output"] == "<sp> uSE `open()` WITH {name}."
        assert out[1]["output"] == (
            "<sp> hERE IT IS:\n```python\nprint('hi')\n```\n<sp> rUN IT AT https://example.org NOW."
        )
        assert out[0]["id"] == "1" and out[0]["input"] == ""
        # the code, URL, number and placeholder never reached the server
        sent = " ".join(t for _, t in server.texts)
        assert "print" not in sent and "example.org" not in sent and "{name}" not in sent and " 3 " not in sent
        assert sum(server.texts.values()) == 6  # 7 segments, the repeated one sent once
        before = server.requests
        again, counts2 = translate_records(RECORDS, tr, "en", "es", tmp_path / "j.jsonl")
        assert again == out and counts2["sent"] == 0 and counts2["reused"] == 7
        assert server.requests == before  # nothing sent: everything came from the journal


def test_http_batches_short_texts_and_falls_back_to_single_requests(tmp_path):
    texts = [f"Item number {chr(65 + i)}" for i in range(10)]
    with ChatServer() as server:
        tr = HttpTranslator(server.url, "m", max_batch=4, batch_chars=1000)
        assert tr.batches(texts) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        got = dict(tr.translate(texts, "English", "French"))
        assert [got[i] for i in range(10)] == [fake_translate(t, "French") for t in texts]
        assert server.requests == 3
    long_text = "word " * 300
    assert HttpTranslator("http://127.0.0.1:9/v1", "m", max_batch=4, batch_chars=1000).batches(
        ["a", long_text, "b"]
    ) == [[1], [0, 2]]


def test_http_retries_429_and_500_with_backoff_then_succeeds():
    with ChatServer() as server:
        server.fail_429, server.fail_500 = 2, 2
        tr = HttpTranslator(server.url, "m", concurrency=1, max_retries=5, backoff=0.01, max_batch=1)
        got = dict(tr.translate(["Hello there"], "English", "German"))
        assert got == {0: fake_translate("Hello there", "German")}
        assert server.requests == 5 and tr.stats == {"requests": 5, "retries": 4}


def test_http_retries_a_timeout_and_gives_up_after_max_retries():
    with ChatServer() as server:
        server.slow_once = 1.5
        tr = HttpTranslator(server.url, "m", concurrency=1, timeout=0.5, max_retries=2, backoff=0.01, max_batch=1)
        assert dict(tr.translate(["Slow one"], "English", "Spanish")) == {0: fake_translate("Slow one", "Spanish")}
        assert tr.stats["retries"] == 1
        server.fail_500 = 10
        with pytest.raises(TranslateError, match=r"failed after 2 retries \(HTTP 500\)"):
            dict(tr.translate(["Never"], "English", "Spanish"))


def test_http_key_comes_from_the_named_env_var_and_never_into_errors(monkeypatch):
    monkeypatch.setenv("FAKE_MT_KEY", "sk-secret-123")
    with ChatServer() as server:
        server.require_key = "sk-secret-123"
        tr = HttpTranslator(server.url, "m", api_key_env="FAKE_MT_KEY", max_batch=1)
        assert dict(tr.translate(["Hi there"], "English", "Spanish"))[0].startswith("<sp>")
        assert server.auth_headers[-1] == "Bearer sk-secret-123"
        monkeypatch.setenv("FAKE_MT_KEY", "wrong")
        with pytest.raises(TranslateError) as e:
            dict(tr.translate(["Hi again"], "English", "Spanish"))
        assert "401" in str(e.value) and "wrong" not in str(e.value) and "secret" not in str(e.value)
    monkeypatch.delenv("FAKE_MT_KEY")
    with pytest.raises(Exception, match="FAKE_MT_KEY"):
        HttpTranslator("http://127.0.0.1:9/v1", "m", api_key_env="FAKE_MT_KEY")
    assert "FAKE_MT_KEY" not in os.environ


def test_http_retries_truncated_garbled_and_null_replies_and_never_keeps_them(tmp_path):
    """Transport faults below HTTP (a body cut short, a status line that is not HTTP) and a reply
    without a usable string are retried like any failure; nothing of theirs reaches the output."""
    with ChatServer() as server:
        server.truncate, server.garble, server.null_content = 2, 2, 2
        tr = HttpTranslator(server.url, "m", concurrency=1, max_retries=8, backoff=0.001, max_batch=1)
        got = dict(tr.translate(["One", "Two", "Three"], "English", "Spanish"))
        assert got == {i: fake_translate(t, "Spanish") for i, t in enumerate(["One", "Two", "Three"])}
        assert (server.truncate, server.garble, server.null_content) == (0, 0, 0)  # every fault was served
        assert tr.stats["retries"] >= 4 and tr.stats["requests"] == tr.stats["retries"] + 3
        assert all(v != "None" for v in got.values())
        server.null_content = 10
        with pytest.raises(TranslateError, match=r"failed after 2 retries \(malformed response\)"):
            dict(
                HttpTranslator(server.url, "m", max_retries=2, backoff=0.001, max_batch=1).translate(
                    ["Never"], "English", "Spanish"
                )
            )


def test_a_job_survives_thirty_percent_truncated_replies(tmp_path):
    import random

    rng = random.Random(0)
    texts = [f"Sentence number {i}" for i in range(40)]
    with ChatServer() as server:
        tr = HttpTranslator(server.url, "m", concurrency=1, max_retries=10, backoff=0.001, max_batch=1)
        original = server._httpd.RequestHandlerClass.do_POST

        def flaky(handler):
            server.truncate = int(rng.random() < 0.3)
            return original(handler)

        server._httpd.RequestHandlerClass.do_POST = flaky
        got = dict(tr.translate(texts, "English", "Spanish"))
    assert got == {i: fake_translate(t, "Spanish") for i, t in enumerate(texts)}
    assert tr.stats["retries"] > 5  # the faults happened, and were absorbed
