"""`polyalign score qa | mt | fidelity`: one JSON object out, or one error line and exit 2."""

from __future__ import annotations

import json

import sacrebleu
from qa_cases import CASES, OFFICIAL, squad

from polyalign.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_score_qa_prints_official_numbers(tmp_path, capsys):
    for lang in ("zh", "ar", "hi"):
        data, preds = tmp_path / f"{lang}.json", tmp_path / f"{lang}-pred.json"
        data.write_text(json.dumps(squad(lang), ensure_ascii=False), encoding="utf-8")
        preds.write_text(
            json.dumps({f"{lang}-{i}": p for i, (_, p) in enumerate(CASES[lang]) if p is not None}, ensure_ascii=False),
            encoding="utf-8",
        )
        code, out, _ = run(capsys, "score", "qa", str(data), str(preds), "--lang", lang)
        assert code == 0
        result = json.loads(out)
        assert (result["exact_match"], result["f1"]) == OFFICIAL[lang][:2]
        assert 0.0 <= result["contains"] <= 100.0 and result["lang"] == lang and "norm:mlqa_v1" in result["signature"]


def test_score_qa_bad_input(tmp_path, capsys):
    data = tmp_path / "d.json"
    data.write_text(
        '{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q", "answers": []}]}]}]}'
    )
    preds = tmp_path / "p.json"
    preds.write_text('{"1": "x",\n "2": 3}')
    code, out, err = run(capsys, "score", "qa", str(data), str(preds), "--lang", "en")
    assert (code, out) == (2, "")
    assert err == f"error: {data}: data[0].paragraphs[0].qas[0]: no gold answers\n"
    data.write_text(json.dumps(squad("en")))
    code, _, err = run(capsys, "score", "qa", str(data), str(preds), "--lang", "en")
    assert (code, err) == (2, f"error: {preds}: prediction for '2' is not a string\n")
    preds.write_text('{"1": "x",\n')
    code, _, err = run(capsys, "score", "qa", str(data), str(preds), "--lang", "en")
    assert code == 2 and err.startswith(f"error: {preds}:2: invalid JSON")


def test_score_mt_is_sacrebleu(tmp_path, capsys):
    hyp, ref = tmp_path / "hyp.txt", tmp_path / "ref.txt"
    hyps = ["猫坐在垫子上。", "我喜欢苹果"]
    refs = ["猫在垫子上。", "我喜欢吃苹果。"]
    hyp.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    ref.write_text("\n".join(refs) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "score", "mt", str(hyp), str(ref), "--lang", "zh")
    result = json.loads(out)
    assert code == 0
    assert result["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize="zh").score
    assert result["chrf"] == sacrebleu.corpus_chrf(hyps, [refs], word_order=2).score
    assert "tok:zh" in result["bleu_signature"] and "bs:1000" in result["bleu_signature"]
    boot = sacrebleu.metrics.BLEU(tokenize="zh").corpus_score(hyps, [refs], n_bootstrap=1000)
    assert f"± {result['bleu_ci']:.2f})" in str(boot)
    code, _, err = run(capsys, "score", "mt", str(hyp), str(ref), "--lang", "zh", "--comet", "/no/such.ckpt")
    assert (code, err) == (2, "error: --comet needs the source sentences: add --src SRC.txt\n")


def test_score_fidelity(tmp_path, capsys):
    outputs = tmp_path / "out.txt"
    outputs.write_text(
        "\n".join(
            [
                "Der Zug fährt heute Abend pünktlich vom Hauptbahnhof ab.",
                "The train leaves the central station on time tonight.",
                "",
                "Wir haben gestern den ganzen Tag im Garten gearbeitet.",
                "Die Kinder spielen nach der Schule gern im Park.",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "score", "fidelity", str(outputs), "--lang", "de")
    result = json.loads(out)
    assert code == 0
    assert result["on_target_rate"] == 0.75 and result["counts"] == {"de": 3, "en": 1}
    assert (result["n"], result["empty"]) == (4, 1)
    assert (
        result["signature"].split("|")[3]
        == "candidates:ar,bn,de,el,en,es,fa,fr,he,hi,id,it,ja,ko,nl,pl,pt,ru,sv,sw,th,tr,uk,ur,vi,zh"
    )
    short = tmp_path / "short.txt"
    short.write_text("Abrir o ficheiro de configuración\nCerrar sesión\n", encoding="utf-8")
    code, out, _ = run(capsys, "score", "fidelity", str(short), "--lang", "es")
    assert json.loads(out)["counts"] == {"es": 2}
    code, out, _ = run(capsys, "score", "fidelity", str(short), "--lang", "es", "--candidates", "en,es,gl")
    assert (code, json.loads(out)["counts"]) == (0, {"gl": 2})  # named, the close relative takes both
    code, out, _ = run(capsys, "score", "fidelity", str(short), "--lang", "es", "--candidates", "all")
    assert json.loads(out)["signature"].split("|")[3] == "candidates:all"
    code, _, err = run(capsys, "score", "fidelity", str(outputs), "--lang", "xx")
    assert code == 2 and err == "error: --lang: unknown language code 'xx'\n"
    code, _, err = run(capsys, "score", "fidelity", str(outputs), "--lang", "ast")
    assert code == 2 and err == "error: the language identifier (langid) does not know 'ast'\n"
    blank = tmp_path / "blank.txt"
    blank.write_text("\n\n", encoding="utf-8")  # nothing to score is one line, not a rate of 0 over 0 lines
    code, out, err = run(capsys, "score", "fidelity", str(blank), "--lang", "es")
    assert (code, out, err) == (2, "", f"error: {blank}: is empty: no outputs to score\n")
