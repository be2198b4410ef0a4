"""The LLM judge against a real HTTP server on 127.0.0.1 speaking OpenAI chat completions.

The server plays a judge with a position bias (the first answer gets one extra point), replies
with junk or fails for some instructions, and insists on the API key, so the test sees what a
real endpoint can do to the client.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from polyalign.cli import main
from polyalign.eval.judge import Endpoint, compare, judge_files, parse_scores
from polyalign.io import InputError

KEY = "sk-test-0123456789"


class JudgeHandler(BaseHTTPRequestHandler):
    calls: list[dict] = []
    flaky_seen: set[str] = set()

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        JudgeHandler.calls.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": "no such route"})
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, {"error": "bad key"})
        user = body["messages"][-1]["content"]
        instruction = user.split("[Instruction]\n", 1)[1].split("\n\n[Answer A]", 1)[0]
        first = user.split("[Answer A]\n", 1)[1].split("\n\n[Answer B]", 1)[0]
        second = user.split("[Answer B]\n", 1)[1].split("\n\nScore each", 1)[0]
        if "FAIL" in instruction:
            return self._send(500, {"error": "overloaded"})
        if "FLAKY" in instruction and instruction not in JudgeHandler.flaky_seen:
            JudgeHandler.flaky_seen.add(instruction)
            return self._send(503, {"error": "try again"})
        if "JUNK" in instruction:
            text = "Both answers have merits; I cannot decide."
        else:
            # Quality = number of "good" words; the first answer gets a bonus point (position bias).
            a, b = 4 + 2 * first.count("good") + 1, 4 + 2 * second.count("good")
            text = f"A: {min(a, 10)} B: {min(b, 10)}"
        self._send(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            },
        )

    def _send(self, status, doc):
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server():
    JudgeHandler.calls, JudgeHandler.flaky_seen = [], set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), JudgeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_both_orders_cancel_position_bias(server, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", KEY)
    ep = Endpoint(server, "judge-1", api_key_env="JUDGE_KEY", retries=1)
    items = [
        {"id": "1", "instruction": "Say hi", "a": "good good answer", "b": "meh"},
        {"id": "2", "instruction": "Say bye", "a": "meh", "b": "good answer"},
        {"id": "3", "instruction": "Count", "a": "good", "b": "good"},
    ]
    summary, verdicts = compare(ep, items, workers=2)
    assert [v["winner"] for v in verdicts] == ["A", "B", "tie"]
    # Item 3: each answer gets 6+1 when first and 6 when second: means 6.5 / 6.5.
    assert (verdicts[2]["score_a"], verdicts[2]["score_b"]) == (6.5, 6.5)
    assert verdicts[2]["consistent"] is False and verdicts[0]["consistent"] is True
    assert summary["wins"] == 1 and summary["ties"] == 1 and summary["losses"] == 1
    assert summary["win_rate"] == 50.0 and summary["consistency"] == pytest.approx(200 / 3)
    assert len(JudgeHandler.calls) == 6
    assert {c["auth"] for c in JudgeHandler.calls} == {f"Bearer {KEY}"}
    sent = JudgeHandler.calls[0]["body"]
    assert sent["model"] == "judge-1" and sent["temperature"] == 0.0 and sent["messages"][0]["role"] == "system"


def test_junk_and_failures_are_counted_not_fatal(server, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY", KEY)
    ep = Endpoint(server, "judge-1", api_key_env="JUDGE_KEY", retries=1)
    items = [
        {"id": "j", "instruction": "JUNK please", "a": "x", "b": "y"},
        {"id": "f", "instruction": "FAIL always", "a": "x", "b": "y"},
        {"id": "k", "instruction": "FLAKY once", "a": "good", "b": "bad"},
        {"id": "ok", "instruction": "Fine", "a": "bad", "b": "good good"},
    ]
    summary, verdicts = compare(ep, items, workers=1)
    assert [v["winner"] for v in verdicts] == [None, None, "A", "B"]
    assert summary["junk_replies"] == 2 and summary["failed_requests"] == 2
    assert summary["judged"] == 2 and summary["win_rate"] == 50.0
    assert verdicts[1]["errors"] == ["HTTP 500", "HTTP 500"]
    assert verdicts[0]["replies"][0].startswith("Both answers")


def test_api_key_comes_from_the_named_variable_and_is_never_written(server, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("JUDGE_KEY", raising=False)
    with pytest.raises(InputError, match="JUDGE_KEY"):
        compare(Endpoint(server, "j", api_key_env="JUDGE_KEY"), [{"id": "1", "instruction": "i", "a": "a", "b": "b"}])
    assert JudgeHandler.calls == []
    # A wrong key: the server refuses; the failure is reported without the key.
    monkeypatch.setenv("JUDGE_KEY", "wrong-key")
    summary, verdicts = compare(
        Endpoint(server, "j", api_key_env="JUDGE_KEY", retries=0), [{"id": "1", "instruction": "i", "a": "a", "b": "b"}]
    )
    assert verdicts[0]["errors"] == ["HTTP 401", "HTTP 401"] and summary["failed_requests"] == 2

    monkeypatch.setenv("JUDGE_KEY", KEY)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(
        "".join(
            json.dumps({"id": i, "instruction": f"Task {i}", "output": o}) + "\n"
            for i, o in [("1", "good good"), ("2", "bad")]
        )
    )
    b.write_text(
        "".join(json.dumps({"id": i, "output": o}) + "\n" for i, o in [("2", "good"), ("1", "bad"), ("3", "extra")])
    )
    out = tmp_path / "verdicts.jsonl"
    assert (
        main(
            [
                "score",
                "judge",
                str(a),
                str(b),
                "--endpoint",
                server,
                "--judge-model",
                "j",
                "--api-key-env",
                "JUDGE_KEY",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr()
    result = json.loads(printed.out)
    assert (result["wins"], result["losses"], result["only_in_b"]) == (1, 1, 1)
    assert KEY not in printed.out + printed.err and KEY not in out.read_text()


def test_parse_scores_variants():
    assert parse_scores("**A**: 9\n**B**: 4") == (9.0, 4.0)
    assert parse_scores("Scores -> A=6.5, B=7") == (6.5, 7.0)
    assert parse_scores("a: 3 b: 8") == (3.0, 8.0)
    assert parse_scores("") is None and parse_scores("A: 0 B: 5") is None


def test_two_evaluation_sample_files_are_judged_on_the_prompt_the_models_saw(server, monkeypatch, tmp_path, capsys):
    # `polyalign eval` writes samples with `prompt`, not `instruction`: score judge refused them by id
    monkeypatch.setenv("JUDGE_KEY", KEY)
    a, b = tmp_path / "samples_a.jsonl", tmp_path / "samples_b.jsonl"
    rows = [("pm1", "Translate: good day", "good good", "bad"), ("pm2", "Translate: bye", "bad", "good")]
    a.write_text(
        "".join(json.dumps({"id": i, "prompt": p, "output": x, "reference": "r"}) + "\n" for i, p, x, _ in rows)
    )
    b.write_text(
        "".join(json.dumps({"id": i, "prompt": p, "output": y, "reference": "r"}) + "\n" for i, p, _, y in rows)
    )
    argv = ["score", "judge", str(a), str(b), "--endpoint", server, "--judge-model", "j", "--api-key-env", "JUDGE_KEY"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["wins"], result["losses"], result["failed_requests"]) == (1, 1, 0)
    shown = {
        c["body"]["messages"][-1]["content"].split("[Instruction]\n", 1)[1].split("\n\n", 1)[0]
        for c in JudgeHandler.calls
    }
    assert shown == {"Translate: good day", "Translate: bye"}
    for f in (a, b):
        f.write_text(json.dumps({"id": "pm1", "output": "x"}) + "\n")
    with pytest.raises(InputError, match=r"id 'pm1' has no 'instruction' \(nor an evaluation sample's 'prompt'\)"):
        judge_files(a, b, Endpoint(server, "j", api_key_env="JUDGE_KEY"))
