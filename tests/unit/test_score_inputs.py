"""`polyalign score` on inputs of the wrong kind: one line naming the file and what is wrong, exit 2.

A pretty-printed results.json or a JSON array read as lines of text scores its own syntax (BLEU 100);
a samples file judged for language fidelity line by line judges its English prompts too; a judge
endpoint that never answers is an error, not a result of zeros; an --out that is the user's file is
left alone. Every test runs the real command line on real files.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from polyalign.cli import main
from polyalign.io import InputError, iter_jsonl, read_json

SPANISH = [
    "El ayuntamiento votó el martes cerrar el viejo puente a los camiones pesados.",
    "El agua hierve a una temperatura más baja en lo alto de una montaña.",
    "Los nutricionistas recomiendan beber agua en lugar de refrescos azucarados.",
    "Desde el puerto, pequeñas barcas llevan a los visitantes a ver las cuevas marinas.",
]
PROMPT = (
    "Translate the following text from English to Spanish. Reply with the translation only.\n\n"
    "English: The city council voted on Tuesday to close the old bridge to heavy trucks after engineers "
    "found cracks in two of its supports, and the mayor said repairs would take the whole summer.\nSpanish:"
)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def samples(path, outputs=SPANISH):
    rows = [{"id": f"pm{i}", "prompt": PROMPT, "output": o, "reference": o} for i, o in enumerate(outputs)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def results_json(path):
    path.write_text(json.dumps({"results": {"polymt/en-es": {"bleu": 3.1, "n": 4}}, "configs": {}}, indent=2))
    return path


# --- score mt: a JSON document is not lines of text -----------------------------------------------------


def test_score_mt_refuses_a_json_document_where_lines_are_expected(tmp_path, capsys):
    res = results_json(tmp_path / "results.json")
    code, out, err = run(capsys, "score", "mt", res, res, "--lang", "es")
    expected = "plain text (one segment a line), a TSV column, or JSON Lines (a samples_*.jsonl)"
    assert (code, out, err) == (2, "", f"error: {res}: is a JSON document, not {expected}\n")

    array = tmp_path / "samples.json"  # the samples as one JSON array: n 1, BLEU 100 before
    array.write_text(json.dumps([{"output": s, "reference": s} for s in SPANISH]))
    code, out, err = run(capsys, "score", "mt", array, array, "--lang", "es")
    assert (code, out, err) == (2, "", f"error: {array}: is a JSON document, not {expected}\n")

    # only the hypotheses wrong: the error names them, with no misleading line number
    ref = tmp_path / "ref.txt"
    ref.write_text("\n".join(SPANISH) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "score", "mt", res, ref, "--lang", "es")
    assert (code, err) == (2, f"error: {res}: is a JSON document, not {expected}\n")
    code, _, err = run(capsys, "score", "mt", ref, array, "--lang", "es")
    assert (code, err) == (2, f"error: {array}: is a JSON document, not {expected}\n")

    # what the README says is read still is: plain text, and samples JSONL by field (one line is JSONL)
    one = samples(tmp_path / "one.jsonl", SPANISH[:1])
    code, out, _ = run(capsys, "score", "mt", one, one, "--lang", "es")
    assert code == 0 and json.loads(out)["n"] == 1
    code, out, _ = run(capsys, "score", "mt", samples(tmp_path / "s.jsonl"), ref, "--lang", "es")
    assert code == 0 and (json.loads(out)["n"], round(json.loads(out)["bleu"])) == (4, 100)


# --- score fidelity: a samples file by its outputs --------------------------------------------------------


def test_score_fidelity_reads_a_samples_file_by_its_output_field(tmp_path, capsys):
    plain = tmp_path / "outputs.txt"
    plain.write_text("\n".join(SPANISH) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "score", "fidelity", plain, "--lang", "es")
    assert code == 0
    want = json.loads(out)
    assert (want["on_target_rate"], want["n"]) == (1.0, 4)
    # The same outputs in a samples file: the same numbers (the English prompts are not judged).
    code, out, _ = run(capsys, "score", "fidelity", samples(tmp_path / "samples_polymt_en-es.jsonl"), "--lang", "es")
    assert code == 0 and json.loads(out) == want

    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"src": "Hello", "tgt": "Hola"}) + "\n")
    code, out, err = run(capsys, "score", "fidelity", pairs, "--lang", "es")
    assert (code, out) == (2, "")
    assert err == f"error: {pairs}:1: a JSON record without a string 'output' field (fields: src, tgt)\n"

    res = results_json(tmp_path / "results.json")
    code, _, err = run(capsys, "score", "fidelity", res, "--lang", "es")
    assert (code, err) == (
        2,
        f"error: {res}: is a JSON document, not plain text (one output a line) or JSON Lines (a samples_*.jsonl)\n",
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, _, err = run(capsys, "score", "fidelity", empty, "--lang", "es")
    assert (code, err) == (2, f"error: {empty}: is empty: no outputs to score\n")


# --- score judge: the endpoint and the output file --------------------------------------------------------


class Judge(BaseHTTPRequestHandler):
    """A judge that prefers the first answer, and fails every request about a FAIL instruction."""

    calls = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Judge.calls += 1
        status, doc = 200, {"choices": [{"message": {"role": "assistant", "content": "A: 7 B: 5"}}]}
        if "FAIL" in body["messages"][-1]["content"]:
            status, doc = 400, {"error": "no"}
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def judge_url():
    Judge.calls = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Judge)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def answers(tmp_path, instructions=("Say hi", "Count to 3")):
    a, b = tmp_path / "A.jsonl", tmp_path / "B.jsonl"
    a.write_text(
        "".join(json.dumps({"id": str(i), "instruction": t, "output": "x"}) + "\n" for i, t in enumerate(instructions))
    )
    b.write_text("".join(json.dumps({"id": str(i), "output": "y"}) + "\n" for i, _ in enumerate(instructions)))
    return a, b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_score_judge_with_no_endpoint_answering_is_an_error_and_writes_nothing(tmp_path, capsys):
    a, b = answers(tmp_path)
    url, out = f"http://127.0.0.1:{free_port()}/v1", tmp_path / "verdicts.jsonl"
    code, printed, err = run(capsys, "score", "judge", a, b, "--endpoint", url, "--judge-model", "m", "--out", out)
    assert (code, printed) == (2, "")
    assert err.startswith(f"error: {url}: no request succeeded (4 failed: ") and err.count("\n") == 1
    assert not out.exists()


def test_score_judge_refuses_a_malformed_endpoint_before_any_work(tmp_path, capsys):
    a, b = answers(tmp_path)
    for url in ("notaurl", "127.0.0.1:8000/v1", "http://", "ftp://host/v1"):
        code, printed, err = run(capsys, "score", "judge", a, b, "--endpoint", url, "--judge-model", "m")
        assert (code, printed) == (2, "")
        assert err == (
            f"error: <command line>: argument --endpoint: {url!r} is not an http:// or https:// URL with a host "
            "(e.g. http://127.0.0.1:8000/v1)\n"
        )


def test_score_judge_keeps_partial_results_when_some_requests_succeed(tmp_path, capsys, judge_url):
    a, b = answers(tmp_path, ("Say hi", "FAIL this one"))
    code, printed, _ = run(capsys, "score", "judge", a, b, "--endpoint", judge_url, "--judge-model", "m")
    result = json.loads(printed)
    assert code == 0 and (result["judged"], result["failed_requests"]) == (1, 2)


def test_score_judge_out_never_overwrites_a_users_file_but_replaces_its_own(tmp_path, capsys, judge_url):
    a, b = answers(tmp_path)
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "1", "note": "mine"}\n')
    argv = ["score", "judge", a, b, "--endpoint", judge_url, "--judge-model", "m", "--out"]
    for mine in ('{"id": "1", "note": "mine"}\n', "my notes\n", ""):
        notes.write_text(mine)
        code, printed, err = run(capsys, *argv, notes)
        assert (code, printed) == (2, "")
        assert err == (
            f"error: {notes}: exists and is not a verdict file polyalign wrote: choose another output file, or "
            "move this one away (nothing was changed)\n"
        )
        assert notes.read_text() == mine
    assert Judge.calls == 0  # refused before any request

    out = tmp_path / "verdicts.jsonl"
    assert run(capsys, *argv, out)[0] == 0
    first = out.read_text()
    assert [r["winner"] for _, r in iter_jsonl(out)] == ["tie", "tie"]
    assert run(capsys, *argv, out)[0] == 0  # the same command again replaces its own verdicts
    assert out.read_text() == first


# --- JSON where JSON Lines are expected, and the other way round --------------------------------------------


def test_json_vs_json_lines_and_empty_files_say_what_is_wrong(tmp_path, capsys):
    res = results_json(tmp_path / "results.json")
    with pytest.raises(InputError) as e:
        list(iter_jsonl(res))
    assert str(e.value) == f"{res}: is a JSON document, not JSON Lines (one record a line)"
    a, _ = answers(tmp_path)
    code, _, err = run(capsys, "score", "judge", res, a, "--endpoint", "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert (code, err) == (2, f"error: {res}: is a JSON document, not JSON Lines (one record a line)\n")
    array = tmp_path / "arr.json"
    array.write_text('[{"id": "1", "output": "x"}]')
    code, _, err = run(capsys, "score", "judge", array, a, "--endpoint", "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert (code, err) == (2, f"error: {array}: is a JSON document, not JSON Lines (one record a line)\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    code, _, err = run(capsys, "score", "judge", empty, a, "--endpoint", "http://127.0.0.1:9/v1", "--judge-model", "m")
    assert (code, err) == (2, f"error: {empty}: is empty: no answers to judge\n")

    qa = tmp_path / "qa.json"
    qa.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "paragraphs": [
                            {"context": "c", "qas": [{"id": "q1", "question": "q", "answers": [{"text": "c"}]}]}
                        ]
                    }
                ]
            }
        )
    )
    preds = samples(tmp_path / "samples_polyqa_es.jsonl")
    code, out, err = run(capsys, "score", "qa", qa, preds, "--lang", "es")
    assert (code, out, err) == (2, "", f"error: {preds}: is JSON Lines (one JSON value a line), not a JSON document\n")
    code, _, err = run(capsys, "score", "qa", qa, empty, "--lang", "es")
    assert (code, err) == (2, f"error: {empty}: is empty: expected a JSON document\n")
    code, _, err = run(capsys, "score", "qa", empty, qa, "--lang", "es")
    assert (code, err) == (2, f"error: {empty}: is empty: expected a JSON document\n")
    # a broken JSON file keeps its line: only JSON Lines and empty files read differently
    broken = tmp_path / "broken.json"
    broken.write_text('{"q1": "x",\n')
    with pytest.raises(InputError, match=rf"^{broken}:2: invalid JSON"):
        read_json(broken)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n{"id": \n')
    with pytest.raises(InputError, match=rf"^{bad}:2: invalid JSON"):
        list(iter_jsonl(bad))


def test_score_mt_on_qa_samples_says_their_references_are_lists(tmp_path, capsys):
    qa = tmp_path / "samples_polyqa_es.jsonl"
    qa.write_text(json.dumps({"id": "q1", "output": "40", "reference": ["40", "cuarenta"]}) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "score", "mt", qa, qa, "--lang", "es")
    assert (code, out) == (2, "")
    assert err == (
        f"error: {qa}:1: 'reference' holds a list, not one text a segment: translation metrics score one "
        "reference a segment (QA answers: polyalign score qa)\n"
    )
