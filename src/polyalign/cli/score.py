"""``polyalign score``: metrics on files of outputs (no model)."""

from __future__ import annotations

import argparse
import json
import sys

import polyalign.cli.checks as checks
from polyalign.eval.datasets import read_predictions, read_squad_items
from polyalign.eval.judge import Endpoint, judge_files
from polyalign.eval.metrics import evaluate_qa, fidelity
from polyalign.eval.mt import comet_score, read_segments, score_corpus
from polyalign.eval.request import split_list
from polyalign.http import url_problem
from polyalign.io import InputError, json_document, read_lines
from polyalign.langs import COMMON_LANGUAGES
from polyalign.outputs import check_apart

LINES_OR_SAMPLES = "plain text (one segment a line), a TSV column, or JSON Lines (a samples_*.jsonl)"


def refuse_json_document(path: str, expected: str) -> None:
    """A pretty-printed ``results.json`` or a JSON array read line by line scores its own syntax
    (``score mt results.json results.json``: BLEU 100 over 2178 "segments"): refuse it instead."""
    if json_document(path) is not None:
        raise InputError(f"is a JSON document, not {expected}", path)


def read_outputs(path: str) -> list[str]:
    """The outputs ``score fidelity`` judges: plain text, one a line, or the ``output`` field of JSON
    lines (``samples_*.jsonl``), as ``score mt`` reads hypotheses; never a JSON line's raw text."""
    refuse_json_document(path, "plain text (one output a line) or JSON Lines (a samples_*.jsonl)")
    lines = read_lines(path)
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise InputError("is empty: no outputs to score", path)
    try:
        record = isinstance(json.loads(first), dict)
    except ValueError:
        record = False
    return read_segments(path, "output") if record else lines


def cmd_score_mt(args: argparse.Namespace) -> int:
    checks.check_lang(args.lang, "--lang")
    for path in (args.hyp, args.ref, args.src if args.comet else None):
        if path is not None:
            refuse_json_document(path, LINES_OR_SAMPLES)
    hyps = read_segments(args.hyp, args.hyp_field, args.hyp_column)
    refs = read_segments(args.ref, args.ref_field, args.ref_column)
    if len(hyps) != len(refs):
        raise InputError(
            f"{len(hyps)} lines but the reference {args.ref} has {len(refs)}", args.hyp, min(len(hyps), len(refs)) + 1
        )
    result = score_corpus(hyps, refs, args.lang, tokenize=args.tokenize, spm_model=args.spm_model)
    if args.comet:
        if not args.src:
            raise InputError("--comet needs the source sentences: add --src SRC.txt")
        srcs = read_segments(args.src, "source", args.src_column)
        if len(srcs) != len(hyps):
            raise InputError(
                f"{len(srcs)} lines but the hypotheses {args.hyp} have {len(hyps)}",
                args.src,
                min(len(srcs), len(hyps)) + 1,
            )
        comet = comet_score(srcs, hyps, refs, args.comet, batch_size=args.batch_size)
        result.update({k: v for k, v in comet.items() if k != "comet_segments"})
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_score_qa(args: argparse.Namespace) -> int:
    checks.check_lang(args.lang, "--lang")
    items = read_squad_items(args.dataset)
    predictions = read_predictions(args.predictions)
    result = evaluate_qa(items, predictions, args.lang, args.qa_norm)
    ids = {qid for qid, _ in items}
    stray = [k for k in predictions if k not in ids]
    result["not_in_dataset"] = len(stray)
    if stray:
        print(
            f"[polyalign] {args.predictions}: {len(stray)} of {len(predictions)} prediction ids are not in the "
            f"dataset (first: {stray[0]!r}); they are not scored",
            file=sys.stderr,
        )
    print(json.dumps({"lang": args.lang, **result}, ensure_ascii=False, indent=2))
    return 0


def cmd_score_fidelity(args: argparse.Namespace) -> int:
    checks.check_lang(args.lang, "--lang")
    lines = read_outputs(args.outputs)
    result = fidelity(lines, args.lang, None if args.candidates == "all" else split_list(args.candidates))
    result.pop("detected")
    print(json.dumps({"lang": args.lang, **result}, ensure_ascii=False, indent=2))
    return 0


def cmd_score_judge(args: argparse.Namespace) -> int:
    check_apart({"A": args.a, "B": args.b}, {"--out": args.out})
    problem = url_problem(args.endpoint)
    if problem is not None:
        raise InputError(f"argument --endpoint: {problem}", "<command line>")
    endpoint = Endpoint(url=args.endpoint, model=args.judge_model, api_key_env=args.api_key_env, timeout=args.timeout)
    result = judge_files(args.a, args.b, endpoint, out_path=args.out)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def add_commands(sub) -> None:
    s = sub.add_parser("score", help="score predictions against references")
    ssub = s.add_subparsers(dest="score_command", metavar="SUBCOMMAND")
    ssub.required = True
    sm = ssub.add_parser("mt", help="BLEU and chrF++ (and COMET) of a hypothesis file against a reference file")
    sm.add_argument("hyp", help="hypotheses: plain text, one a line, or the samples_*.jsonl `polyalign eval` writes")
    sm.add_argument("ref", help="references: plain text, a TSV column (--ref-column), or a samples_*.jsonl")
    sm.add_argument("--lang", required=True, help="target language (chooses the BLEU tokenizer)")
    sm.add_argument("--hyp-field", default="output", help="JSON lines: the hypothesis field (default: output)")
    sm.add_argument("--ref-field", default="reference", help="JSON lines: the reference field (default: reference)")
    sm.add_argument(
        "--hyp-column", type=checks.whole(1), metavar="N", help="tab-separated hypotheses: use column N (from 1)"
    )
    sm.add_argument(
        "--ref-column",
        type=checks.whole(1),
        metavar="N",
        help="tab-separated references: use column N (src<TAB>tgt: 2)",
    )
    sm.add_argument(
        "--src-column", type=checks.whole(1), metavar="N", help="tab-separated sources for COMET: use column N"
    )
    sm.add_argument(
        "--tokenize",
        choices=["13a", "intl", "zh", "char", "none", "ja-mecab", "ko-mecab", "flores101", "flores200"],
        help="BLEU tokenizer (default: by --lang); flores101/flores200 is spBLEU (needs sentencepiece)",
    )
    sm.add_argument(
        "--spm-model",
        metavar="PATH",
        help="spBLEU's SentencePiece model file (default: sacrebleu's cache, ~/.sacrebleu/models)",
    )
    sm.add_argument(
        "--comet", metavar="MODEL", help="also score COMET with this local checkpoint (needs polyalign[comet])"
    )
    sm.add_argument("--src", help="source sentences, one a line (COMET needs them)")
    sm.add_argument("--batch-size", type=checks.whole(1), default=16, help="COMET batch size")
    sm.set_defaults(func=cmd_score_mt)

    sq = ssub.add_parser(
        "qa", help="exact match, F1 and contains of QA predictions (official MLQA or SQuAD v1.1 normalisation)"
    )
    sq.add_argument("dataset", help="SQuAD/MLQA-format dataset JSON (data/paragraphs/qas/answers)")
    sq.add_argument("predictions", help="predictions JSON: {question id: answer text}")
    sq.add_argument("--lang", required=True, help="answer language (chooses MLQA's per-language rules)")
    sq.add_argument(
        "--qa-norm",
        choices=["squad_v1", "mlqa"],
        default="mlqa",
        help="answer normalisation: mlqa (MLQA's per-language rules, default) or squad_v1 (the SQuAD v1.1 "
        "script's, as XQuAD is published)",
    )
    sq.set_defaults(func=cmd_score_qa)

    sf = ssub.add_parser("fidelity", help="share of non-empty lines written in the expected language (offline langid)")
    sf.add_argument("outputs", help="model outputs, one a line, or the samples_*.jsonl `polyalign eval` writes")
    sf.add_argument("--lang", required=True, help="the language the outputs should be in")
    sf.add_argument(
        "--candidates",
        default=",".join(COMMON_LANGUAGES),
        help="comma-separated languages the identifier chooses among, --lang always added; 'all' for "
        "every language langid knows. Default: widely used languages, leaving out regional close "
        "relatives (gl, ca, oc, an, ...) that short strings get mistaken for unless named: "
        "%(default)s",
    )
    sf.set_defaults(func=cmd_score_fidelity)

    sj = ssub.add_parser("judge", help="pairwise LLM-as-judge of two systems' answers, in both orders")
    sj.add_argument("a", help="system A: JSONL with id, instruction and output (a samples_*.jsonl works)")
    sj.add_argument("b", help="system B: the same ids")
    sj.add_argument("--endpoint", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    sj.add_argument("--judge-model", required=True, help="model name the endpoint serves")
    sj.add_argument("--api-key-env", help="name of the environment variable holding the API key (never logged)")
    sj.add_argument("--timeout", type=checks.positive, default=60.0, help="seconds per request")
    sj.add_argument(
        "--out", help="write each verdict to this JSONL file (new, or this command's earlier verdicts: replaced)"
    )
    sj.set_defaults(func=cmd_score_judge)
