"""``polyalign <command>``: one small function per command; heavy imports inside them.

Bad input of any kind ends as one line, ``error: PATH:LINE: what is wrong``, and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from polyalign import __version__
from polyalign import cli_checks as checks
from polyalign.io import InputError, describe_os_error, read_lines
from polyalign.langs import COMMON_LANGUAGES


def _recipe(args: argparse.Namespace, cls: type | None = None):
    """The recipe named on the command line (or the default), with its overrides applied.

    ``polyalign run max_steps=5`` has no recipe file: a first argument holding ``=`` is an
    override when no file of that name exists.
    """
    import os

    from polyalign.config import RunConfig
    from polyalign.recipe import load_recipe

    recipe, overrides = args.recipe, list(args.overrides)
    if recipe is not None and "=" in recipe and not os.path.exists(recipe):
        recipe, overrides = None, [recipe, *overrides]
    return load_recipe(recipe, overrides, cls=cls or RunConfig)


def _check_lang(code: str, flag: str) -> str:
    """A language code from a flag, checked before any work: ``error: --lang: unknown language code 'xx'``."""
    from polyalign import langs

    msg = langs.unknown(code)
    if msg is not None:
        raise InputError(f"{flag}: {msg}")
    return langs.normalize(code)


def _check_folder(path: str) -> None:
    import os

    if not os.path.exists(path):
        raise InputError("no such folder", path)
    if not os.path.isdir(path):
        raise InputError("is a file, expected a folder", path)


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _recipe(args)
    checks.warn_arm_overrides(args, cfg)
    if args.quick:
        from polyalign.arms import quick, quick_note

        cfg, before = quick(cfg), cfg
        print(f"[polyalign] {quick_note(before, cfg)}", file=sys.stderr)
    checks.run_inputs_apart(cfg)
    if args.dry_run:
        from polyalign.arms import check_arms, dry_run

        check_arms(cfg)
        print(dry_run(cfg))
        return 0
    from polyalign.io import run_lock
    from polyalign.run import run

    with run_lock(cfg.run_dir):
        run(cfg, nproc=args.nproc, refresh_data=args.refresh_data)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from polyalign.report.build import build_report

    out = build_report(args.run_dir, finished=True)
    print("\n".join(out["claims"]))
    print(f"\nreport: {out['html']}\n        {out['markdown']}")
    return 0


def cmd_data_build(args: argparse.Namespace) -> int:
    from polyalign.io import run_lock
    from polyalign.stages import prepare_run_dir, stage_data

    cfg = _recipe(args)
    checks.run_inputs_apart(cfg)
    with run_lock(cfg.run_dir):
        if cfg.arms:  # the run's frozen pool serves its arms too
            from polyalign.arms import pool_cover

            manifest = stage_data(cfg, prepare_run_dir(cfg), pool_cover(cfg))
        else:
            manifest = stage_data(cfg, prepare_run_dir(cfg))
    print(
        json.dumps(
            {
                "builder": manifest["builder"],
                "train_examples": manifest["files"]["train.jsonl"]["rows"],
                "parts": manifest["parts"],
                "languages": {
                    code: {
                        k: info.get(k) for k in ("train_pairs", "test_pairs", "allocated_pairs", "parts") if k in info
                    }
                    | {"counts": info["counts"]}
                    for code, info in manifest["languages"].items()
                },
                "manifest": str(cfg.run_dir / "data" / "manifest.json"),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_data_sources(args: argparse.Namespace) -> int:
    from polyalign.data.corpora import available

    if args.lang:
        _check_lang(args.lang, "--lang")
    for folder in args.gettext_dir or ():
        _check_folder(folder)
    rows = available(args.lang, args.gettext_dir or ())
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no offline parallel sources found" + (f" for {args.lang}" if args.lang else ""))
        return 0
    width = max(len(r["source"]) for r in rows)
    print(f"{'source'.ljust(width)}  lang    pairs  detail")
    for r in rows:
        print(f"{r['source'].ljust(width)}  {r['lang'].ljust(6)} {r['pairs']:>6}  {r['detail']}")
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["source"]] = totals.get(r["source"], 0) + r["pairs"]
    print("total: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    from polyalign.data.records import validate_file

    for code, flag in ((args.src_lang, "--src-lang"), (args.tgt_lang, "--tgt-lang")):
        if code:
            _check_lang(code, flag)
    info = validate_file(args.file, args.format, args.src_lang, args.tgt_lang, args.tgt_file)
    print(json.dumps({"file": args.file, **info}, ensure_ascii=False))
    return 0


def cmd_data_translate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from polyalign.data.translate import run_translation_job
    from polyalign.io import check_apart

    cfg = _recipe(args)
    t = cfg.translate
    stem = Path(t.input).name.rsplit(".", 1)[0] if t.input else ""
    outputs = {"translate.output_dir": t.output_dir}
    for lang in t.target_languages:
        for kind in ("jsonl", "journal.jsonl"):
            outputs[f"translate.output_dir {stem}.{lang}.{kind}"] = Path(t.output_dir) / f"{stem}.{lang}.{kind}"
    check_apart({"translate.input": t.input or None}, outputs)
    report = run_translation_job(t, model_fallback=cfg.model.model_name_or_path)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def cmd_data_snapshot(args: argparse.Namespace) -> int:
    from polyalign.data.pool import cover, freeze
    from polyalign.io import check_apart, check_new_output_dir

    inputs = {f"--gettext-dir {d}": d for d in args.gettext_dir or ()} | {"recipe": args.recipe}
    check_apart(inputs, {"-o": args.output}, replaced=["-o"])
    if args.languages:
        from polyalign.config import DataConfig

        codes = [_check_lang(c.strip(), "--languages") for c in args.languages.split(",") if c.strip()]
        for folder in args.gettext_dir or ():
            _check_folder(folder)
        data = DataConfig(languages=codes, gettext_dirs=list(args.gettext_dir or []))
        if args.sources:
            data.sources = [x.strip() for x in args.sources.split(",") if x.strip()]
        want = cover([data])
    else:
        from polyalign.arms import pool_cover

        cfg = _recipe(args)
        want = pool_cover(cfg) if cfg.arms else cover([cfg.data])
    check_new_output_dir(args.output, "a frozen pool", "choose another -o")
    doc = freeze(args.output, want)
    pairs = {c: v["pairs"] for c, v in doc["languages"].items()}
    print(json.dumps({"pool": args.output, "sha256": doc["sha256"], "pairs": pairs}, ensure_ascii=False, indent=2))
    return 0


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    """``polyalign data build|sources|validate|translate|snapshot``."""
    d = sub.add_parser("data", help="build and inspect alignment data")
    dsub = d.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True

    db = dsub.add_parser(
        "build", help="build a recipe's data (CoIT, MuIT or question alignment) into its run directory"
    )
    db.add_argument("recipe", nargs="?")
    db.add_argument("overrides", nargs="*", metavar="key=value")
    db.set_defaults(func=cmd_data_build)

    ds = dsub.add_parser("sources", help="list the offline parallel sources here and their pairs per language")
    ds.add_argument("--lang", help="count every source for this language only")
    ds.add_argument("--gettext-dir", action="append", help="locale folder to search (repeatable)")
    ds.add_argument("--json", action="store_true", help="print JSON rows")
    ds.set_defaults(func=cmd_data_sources)

    dv = dsub.add_parser("validate", help="check a data file; the first bad line is reported as PATH:LINE")
    dv.add_argument("file", help="a file, or hf:ORG/NAME[:CONFIG][@SPLIT]")
    dv.add_argument("--format", required=True, choices=["alpaca", "sharegpt", "messages", "parallel"])
    dv.add_argument("--src-lang", help="parallel: source language when the records do not say")
    dv.add_argument("--tgt-lang", help="parallel: target language when the records do not say")
    dv.add_argument("--tgt-file", help="parallel: the target side as a second aligned text file")
    dv.set_defaults(func=cmd_data_validate)

    dt = dsub.add_parser("translate", help="translate an instruction set with a journaled, resumable job")
    dt.add_argument("recipe", nargs="?", help="recipe with a `translate:` section")
    dt.add_argument(
        "overrides", nargs="*", metavar="key=value", help="e.g. translate.backend=http translate.target_languages=es"
    )
    dt.set_defaults(func=cmd_data_translate)

    dp = dsub.add_parser("snapshot", help="freeze a recipe's candidate pairs into a pool a recipe names as data.pool")
    dp.add_argument("recipe", nargs="?", help="recipe whose languages, sources and filters the pool serves")
    dp.add_argument("overrides", nargs="*", metavar="key=value")
    dp.add_argument("--languages", help="instead of a recipe: comma-separated languages (the default sources)")
    dp.add_argument("--sources", help="with --languages: comma-separated sources (default: gettext)")
    dp.add_argument("--gettext-dir", action="append", help="with --languages: locale folder to read (repeatable)")
    dp.add_argument("-o", "--output", required=True, help="the pool folder to write (new or empty)")
    dp.set_defaults(func=cmd_data_snapshot)


# --- score and eval (issue 5) -------------------------------------------------------------------


def cmd_score_mt(args: argparse.Namespace) -> int:
    from polyalign.eval.mt import comet_score, read_segments, score_corpus

    _check_lang(args.lang, "--lang")
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
    from polyalign.eval.datasets import read_predictions, read_squad_items
    from polyalign.eval.metrics import evaluate_qa

    _check_lang(args.lang, "--lang")
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
    from polyalign.eval.metrics import fidelity
    from polyalign.eval.request import split_list

    _check_lang(args.lang, "--lang")
    lines = read_lines(args.outputs)
    result = fidelity(lines, args.lang, None if args.candidates == "all" else split_list(args.candidates))
    result.pop("detected")
    print(json.dumps({"lang": args.lang, **result}, ensure_ascii=False, indent=2))
    return 0


def cmd_score_judge(args: argparse.Namespace) -> int:
    from polyalign.eval.judge import Endpoint, judge_files
    from polyalign.io import check_apart

    check_apart({"A": args.a, "B": args.b}, {"--out": args.out})
    endpoint = Endpoint(url=args.endpoint, model=args.judge_model, api_key_env=args.api_key_env, timeout=args.timeout)
    result = judge_files(args.a, args.b, endpoint, out_path=args.out)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from polyalign.eval.request import build_request
    from polyalign.eval.runner import run_eval
    from polyalign.io import check_apart

    recipe = _recipe(args) if args.recipe or args.overrides else None
    request = build_request(
        recipe,
        model=args.model,
        adapter=args.adapter,
        tasks=args.tasks,
        langs=args.langs,
        data=args.data,
        num_fewshot=args.num_fewshot,
        fewshot_lang=args.fewshot_lang,
        prompt_format=args.format,
        limit=args.limit,
        batch_size=args.batch_size,
        max_new_tokens=args.max_new_tokens,
        backend=args.backend,
        label_scoring=args.label_scoring,
        label_lang=args.label_lang,
        tokenize=args.tokenize,
        spm_model=args.spm_model,
        comet_model=args.comet,
        qa_norm=args.qa_norm,
        judge_endpoint=args.judge_endpoint,
        judge_model=args.judge_model,
        api_key_env=args.api_key_env,
        seed=args.seed,
        output=args.output,
    )
    inputs = {"--model": request.model, "--adapter": request.adapter, "--spm-model": request.spm_model}
    inputs |= {f"--data {k}": v for k, v in request.data.items() if "{" not in v}
    check_apart(inputs, {"--output": request.output})
    run_eval(request)
    return 0


def _add_score_commands(sub) -> None:
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
    sf.add_argument("outputs", help="model outputs, one a line")
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
    sj.add_argument("--out", help="write each verdict to this JSONL file")
    sj.set_defaults(func=cmd_score_judge)


def _add_eval_commands(sub) -> None:
    e = sub.add_parser("eval", help="evaluate a model on multilingual tasks; writes results.json and samples")
    e.add_argument("recipe", nargs="?", help="recipe YAML: its model and eval sections (flags override)")
    e.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe fields")
    e.add_argument("--model", help="hub id or local folder (default: the recipe's, else the bundled SmolLM2)")
    e.add_argument("--adapter", help="LoRA adapter folder to apply")
    e.add_argument(
        "--tasks",
        help="comma-separated: xquad, mlqa, flores, pawsx, xnli, sentiment, mgsm, polyinstruct, "
        "polyqa, polysent, polymt, local_qa, local_translation, local_classification",
    )
    e.add_argument(
        "--langs",
        help="comma-separated language codes (flores, polymt: pairs such as en-es; mlqa: ctx-question); "
        "TASK/SPEC (polymt/es-en) names one task's only; 'all' (or none): every language of each task",
    )
    e.add_argument(
        "--data",
        action="append",
        default=[],
        metavar="TASK=PATH",
        help="read TASK from local files; PATH may hold {lang} (repeatable)",
    )
    e.add_argument("--num-fewshot", type=checks.whole(0), help="demonstrations per prompt (default 0)")
    e.add_argument(
        "--fewshot-lang", choices=["target", "en"], help="demonstrations in the target language or in English"
    )
    e.add_argument("--format", choices=["chat", "raw"], help="chat template or raw text prompts")
    e.add_argument(
        "--limit",
        type=checks.whole(1),
        help="at most this many examples per task and language: a seeded sample stratified over the set's "
        "topics, labels or domains, the same for every model (the ids are recorded in results.json)",
    )
    e.add_argument("--batch-size", type=checks.whole(1), help="prompts per batch")
    e.add_argument("--max-new-tokens", type=checks.whole(1), help="longest generated answer")
    e.add_argument("--backend", choices=["auto", "hf", "vllm"], help="generation backend (vllm: installed and a GPU)")
    e.add_argument(
        "--label-scoring",
        choices=["first_token", "loglik"],
        help="classification: first-token mass or length-normalised log-likelihood",
    )
    e.add_argument(
        "--label-lang",
        choices=["en", "target"],
        help="classification labels in English (default) or in the evaluated language (polysent)",
    )
    e.add_argument("--tokenize", choices=["flores101", "flores200"], help="translation: spBLEU with this tokenizer")
    e.add_argument("--spm-model", metavar="PATH", help="spBLEU's SentencePiece model (default: sacrebleu's cache)")
    e.add_argument(
        "--comet", metavar="MODEL", help="translation: also score COMET with this local checkpoint (polyalign[comet])"
    )
    e.add_argument(
        "--qa-norm",
        choices=["squad_v1", "mlqa"],
        help="QA answer normalisation (default: squad_v1 for xquad, as published; mlqa for the other QA tasks)",
    )
    e.add_argument("--judge-endpoint", help="score polyinstruct against its references with an LLM judge at this URL")
    e.add_argument("--judge-model", help="the judge's model name")
    e.add_argument("--api-key-env", help="environment variable holding the judge's API key")
    e.add_argument("--seed", type=int, help="seed for demonstrations and bootstrap")
    e.add_argument("--output", "-o", help="output folder (default: runs/eval-<model name>)")
    e.set_defaults(func=cmd_eval)


def cmd_train(args: argparse.Namespace) -> int:
    from polyalign.config import TrainJobConfig
    from polyalign.io import check_apart
    from polyalign.train.job import launch_or_train

    cfg = _recipe(args, TrainJobConfig)
    inputs = {"train_file": cfg.train_file, "model.model_name_or_path": cfg.model.model_name_or_path}
    check_apart(inputs, {"output_dir": cfg.output_dir})
    launch_or_train(cfg, args.nproc)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from polyalign.io import check_apart
    from polyalign.train.export import export

    check_apart({"--base": args.base}, {"OUT": args.out}, replaced={"OUT"})  # SOURCE: export's own check
    out = export(args.source, args.out, mode=args.mode, base=args.base, dtype=args.dtype, overwrite=args.overwrite)
    print(out)
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from polyalign.train.push import push

    print(
        push(args.source, args.repo_id, private=args.private, allow_existing=args.allow_existing, license=args.license)
    )
    return 0


def _add_train_commands(sub) -> None:
    """``polyalign train`` and ``polyalign export``."""
    t = sub.add_parser(
        "train",
        help="tune a model on a training file (LoRA or full; one process, or many with --nproc / torchrun)",
        description="Keys follow Hugging Face TrainingArguments: polyalign train model_name_or_path=M "
        "train_file=data.jsonl output_dir=out learning_rate=2e-4 per_device_train_batch_size=8 ...",
    )
    t.add_argument(
        "recipe", nargs="?", help="YAML with top-level train_file, output_dir, seed and sections model, train"
    )
    t.add_argument(
        "overrides", nargs="*", metavar="key=value", help="settings, e.g. train_file=data.jsonl max_steps=100"
    )
    t.add_argument(
        "--nproc",
        type=checks.whole(1),
        default=1,
        help="start N processes on this host under torchrun (DDP, or FSDP2 with strategy=fsdp)",
    )
    t.set_defaults(func=cmd_train)

    e = sub.add_parser(
        "export", help="merge LoRA into the base model (a plain transformers folder), or save the adapter for peft"
    )
    e.add_argument(
        "source",
        help="a training output_dir or run directory (its model/), an adapter/model folder, "
        "or a checkpoint (OUTPUT_DIR/checkpoints/step-N)",
    )
    e.add_argument("out", help="folder to write: a new path or an empty folder (never the source)")
    e.add_argument("--overwrite", action="store_true", help="replace an earlier export of the same mode at OUT")
    e.add_argument(
        "--mode",
        choices=["merged", "adapter"],
        default="merged",
        help="merged: base + LoRA folded into one transformers model (default); adapter: the adapter alone, for peft",
    )
    e.add_argument("--base", help="base model (default: the one the run recorded)")
    e.add_argument(
        "--dtype", choices=["float32", "bfloat16", "float16"], default="float32", help="dtype of the merged weights"
    )
    e.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "push",
        help="publish an export or a run's tuned model, with its model card, to a Hugging Face Hub repository",
        description="The token is read from HF_TOKEN only (never printed or written). A repository that exists "
        "and was not made by polyalign push is refused unless --allow-existing.",
    )
    p.add_argument("source", help="an export folder, a run directory or arms/<arm> (its model/), or a model folder")
    p.add_argument("repo_id", help="OWNER/NAME on the hub (HF_ENDPOINT picks another hub)")
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument(
        "--allow-existing", action="store_true", help="push into an existing repository not made by polyalign"
    )
    p.add_argument("--license", default="other", help="the card's license field (default: other; see the base model's)")
    p.set_defaults(func=cmd_push)


# --- scaling (issue 11) -------------------------------------------------------------------------


def cmd_scaling_fit(args: argparse.Namespace) -> int:
    from polyalign.io import check_apart, check_output_file, write_json
    from polyalign.scaling.fits import fit_points
    from polyalign.scaling.laws import read_points

    check_apart({"points": args.points}, {"--out": args.out})
    check_output_file(args.out)
    points, notes = read_points(args.points)
    checks.point_langs(args.points, list(points))
    similarity = dict(args.similarity or [])
    if not args.shared:  # the shared fit plans a language with no points from its similarity alone
        checks.fitted(similarity, "--similarity", list(points))
    for note in notes:
        print(f"[polyalign] {args.points}: {note}", file=sys.stderr)
    doc = fit_points(points, args.form, args.bootstrap, args.seed, similarity, args.points, args.shared)
    for note in doc["notes"]:
        print(f"[polyalign] {note}", file=sys.stderr)
    if args.out:
        write_json(args.out, doc)
    shown = {
        lang: {k: v for k, v in f.items() if k not in ("bootstrap_draws", "sizes", "scores")}
        for lang, f in doc["fits"].items()
    }
    extra = {"shared": doc["shared"]} if "shared" in doc else {}
    print(json.dumps({"fits": shown, **extra, "settings": doc["settings"]}, ensure_ascii=False, indent=2))
    return 0


def cmd_scaling_predict(args: argparse.Namespace) -> int:
    from polyalign.scaling.laws import load_fits, predict_sizes

    print(json.dumps({"predicted": predict_sizes(load_fits(args.fits)["fits"], args.size, args.ci)}, indent=2))
    return 0


def cmd_scaling_allocate(args: argparse.Namespace) -> int:
    from polyalign import langs
    from polyalign.io import check_apart, check_output_file, write_json
    from polyalign.scaling.allocate import plan
    from polyalign.scaling.laws import load_fits

    check_apart({"fits": args.fits}, {"--out": args.out})
    check_output_file(args.out)
    fits = load_fits(args.fits)["fits"]
    for code in fits:  # a plan for 'french' would only be refused later, by data build
        if langs.unknown(code) is not None:
            raise InputError(f"fits: {langs.unknown(code)}", args.fits)
    doc = plan(
        fits,
        args.budget,
        args.min_per_lang,
        dict(args.available or []),
        dict(args.weight or []),
    )
    if args.out:
        write_json(args.out, doc)
    print(json.dumps(doc, indent=2))
    return 0


def cmd_scaling_pilot(args: argparse.Namespace) -> int:
    from polyalign.config import PilotConfig
    from polyalign.grid import choose_executor
    from polyalign.io import run_lock
    from polyalign.scaling.pilot import run_pilot

    if args.recipe is None:
        raise InputError("scaling pilot needs a recipe with a scaling: section (see recipes/scaling_pilot.yaml)")
    cfg = _recipe(args, PilotConfig)
    checks.run_inputs_apart(cfg)
    choose_executor(cfg.scaling.launcher, cfg.scaling.cluster)
    with run_lock(cfg.run_dir):
        run_pilot(cfg)
    return 0


def _add_scaling_commands(sub) -> None:
    """``polyalign scaling fit|predict|allocate|pilot``."""
    s = sub.add_parser("scaling", help="fit quality against parallel-data size, plan a budget, run the pilot grid")
    ssub = s.add_subparsers(dest="scaling_command", metavar="SUBCOMMAND")
    ssub.required = True
    f = ssub.add_parser("fit", help="fit a law per language to lang,size,score[,similarity] points")
    f.add_argument("points", help="CSV with columns lang,size,score and optionally similarity")
    f.add_argument("--form", choices=["xllama", "power", "log", "auto"], default="auto", help="law (auto: by AICc)")
    f.add_argument("--out", help="write the fits (with bootstrap draws, for predict --ci and plots) to this JSON")
    f.add_argument("--bootstrap", type=checks.whole(0), default=1000, help="bootstrap resamples for the 95%% intervals")
    f.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    f.add_argument(
        "--similarity",
        type=checks.lang_value(float, 0, inclusive=False),
        action="append",
        metavar="LANG=GAMMA",
        help="xllama γ where the CSV has none",
    )
    f.add_argument(
        "--shared",
        action="store_true",
        help="one α, β for all languages, γ per language (given, else fitted); a --similarity alone plans a language",
    )
    f.set_defaults(func=cmd_scaling_fit)
    p = ssub.add_parser("predict", help="predicted score per language at the given sizes")
    p.add_argument("fits", help="FITS.json from scaling fit --out")
    p.add_argument("--size", type=checks.positive, action="append", required=True, help="parallel pairs (repeatable)")
    p.add_argument("--ci", action="store_true", help="add the 95%% bootstrap interval of each prediction")
    p.set_defaults(func=cmd_scaling_predict)
    a = ssub.add_parser("allocate", help="split a budget of pairs across languages to maximise predicted quality")
    a.add_argument("fits", help="FITS.json from scaling fit --out")
    a.add_argument("--budget", type=checks.whole(1), required=True, help="total parallel pairs N")
    a.add_argument("--min-per-lang", type=checks.whole(1), default=1, help="fewest pairs per language M")
    a.add_argument(
        "--available",
        type=checks.lang_value(int, 0),
        action="append",
        metavar="LANG=K",
        help="at most K pairs for LANG (repeatable)",
    )
    a.add_argument(
        "--weight",
        type=checks.lang_value(float, 0),
        action="append",
        metavar="LANG=W",
        help="weight of LANG's score (default 1)",
    )
    a.add_argument("--out", help="also write the plan here (data build reads it as allocation: PLAN.json)")
    a.set_defaults(func=cmd_scaling_allocate)
    pi = ssub.add_parser("pilot", help="run the pilot grid of a recipe's scaling: section, then fit, plan and plot")
    pi.add_argument("recipe", nargs="?", help="recipe YAML with a scaling: section")
    pi.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. scaling.sizes=50,100,200,400")
    pi.set_defaults(func=cmd_scaling_pilot)


# --- analyze (issue 12) -----------------------------------------------------------------------


def _analysis_model(args: argparse.Namespace):
    from polyalign.models import load_model

    return load_model(args.model, dtype=args.dtype, adapter=args.adapter)


def _analysis_header(args: argparse.Namespace) -> dict:
    from polyalign.io import provenance

    return {"model": args.model, "adapter": args.adapter, "dtype": args.dtype, "provenance": provenance()}


def cmd_analyze_align(args: argparse.Namespace) -> int:
    from pathlib import Path

    from polyalign.analysis.align import add_comparison, align_report, read_pairs
    from polyalign.io import check_output_dir, read_json, write_json
    from polyalign.report.plots import alignment_plot

    checks.analysis_checks(args, **{"--pairs": args.pairs, "--compare": args.compare})
    out = check_output_dir(args.out)
    pairs = read_pairs(args.pairs, args.src_lang, args.tgt_lang, args.limit)
    other = None
    if args.compare:  # read it before the long part: a bad path fails at once
        other_file = Path(args.compare) / "alignment.json"
        if not other_file.is_file():
            raise InputError("no alignment.json to compare with", args.compare)
        other = read_json(other_file)
    model, tok = _analysis_model(args)
    doc = {
        **_analysis_header(args),
        "pairs_file": pairs["file"],
        **align_report(model, tok, pairs, args.pool, args.batch_size, args.seed, args.margin_k),
    }
    if other is not None:
        add_comparison(doc, other, args.compare)
    write_json(out / "alignment.json", doc)
    alignment_plot(doc, out / "alignment.png", other)
    best = doc["best_layer"]
    print(
        json.dumps(
            {
                "alignment": str(out / "alignment.json"),
                "plot": str(out / "alignment.png"),
                "pairs": doc["pairs"],
                "pooling": {k: v for k, v in doc["pooling"].items() if k != "rule"},
                "best_layer": best,
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_analyze_lens(args: argparse.Namespace) -> int:
    from pathlib import Path

    from polyalign import langs
    from polyalign.io import check_output_dir, write_json
    from polyalign.report.plots import lens_plot

    lang = langs.base(langs.check_all([args.lang], "--lang")[0])
    default = "de" if lang == "fr" else "fr"
    source = langs.base(langs.check_all([args.source_lang], "--source-lang")[0]) if args.source_lang else default
    if "en" in (lang, source) or lang == source:
        flag = "--lang" if lang == "en" or not args.source_lang else "--source-lang"
        raise InputError(
            f"{flag}: the lens needs a target ({lang}) and a source ({source}) that differ and are not English "
            "(English is what the lens looks for in the middle layers)"
        )
    checks.analysis_checks(args)  # all before the model loads
    check_output_dir(args.out)
    model, tok = _analysis_model(args)
    from polyalign.analysis.lens import run_lens

    doc = {
        **_analysis_header(args),
        **run_lens(model, tok, args.lang, args.source_lang, args.shots, args.limit, args.batch_size, args.seed),
    }
    out = Path(args.out)
    write_json(out / "lens.json", doc)
    lens_plot(doc, out / "lens.png")
    peak = max(doc["layers"], key=lambda r: r["p_en"])
    print(
        json.dumps(
            {
                "lens": str(out / "lens.json"),
                "plot": str(out / "lens.png"),
                "items": doc["items"],
                "peak_english_layer": peak["layer"],
                "peak_english_p": round(peak["p_en"], 4),
                "final_p_lang": round(doc["layers"][-1]["p_lang"], 4),
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def cmd_analyze_pca(args: argparse.Namespace) -> int:
    from pathlib import Path

    from polyalign import langs
    from polyalign.analysis.align import multiway_texts, pca_report
    from polyalign.io import check_output_dir, write_json
    from polyalign.report.plots import pca_plot

    codes = [langs.base(c) for c in langs.check_all([c.strip() for c in args.langs.split(",") if c.strip()], "--langs")]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise InputError(f"--langs: {', '.join(twice)} named twice (pca compares different languages)")
    texts = multiway_texts(codes, args.limit)
    checks.analysis_checks(args)  # all before the model loads
    check_output_dir(args.out)
    model, tok = _analysis_model(args)
    doc = {**_analysis_header(args), **pca_report(model, tok, texts, args.pool, args.batch_size)}
    out = Path(args.out)
    write_json(out / "pca.json", doc)
    pca_plot(doc, out / "pca.png")
    print(
        json.dumps(
            {
                "pca": str(out / "pca.json"),
                "plot": str(out / "pca.png"),
                "items": doc["items"],
                "pc1_correlation_mean": [round(r["pc1_correlation_mean"], 3) for r in doc["layers"]],
            },
            indent=2,
        )
    )
    return 0


def _add_analyze_commands(sub) -> None:
    """``polyalign analyze align|lens|pca``."""
    from polyalign.config import DEFAULT_MODEL

    a = sub.add_parser("analyze", help="look inside: layer-wise cross-lingual alignment, the logit lens, PCA")
    asub = a.add_subparsers(dest="analyze_command", metavar="SUBCOMMAND")
    asub.required = True

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default=DEFAULT_MODEL, help="hub id or local folder (default: the bundled SmolLM2)")
        p.add_argument("--adapter", help="LoRA adapter folder to apply (a run's model/ folder)")
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--batch-size", type=checks.whole(1), default=32, help="sentences per forward pass")
        p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32", help="model weights")
        p.add_argument("--seed", type=int, default=0)

    al = asub.add_parser("align", help="per-layer cosine, retrieval, margin retrieval and CKA of parallel sentences")
    common(al)
    al.add_argument(
        "--pairs", required=True, help="TSV (source<TAB>target), JSONL (src, tgt), or a built run directory"
    )
    al.add_argument(
        "--pool",
        choices=["mean", "mean-all", "last"],
        default="mean",
        help="mean over content tokens (attention sinks and massive activations left out, counted in "
        "alignment.json), mean over every real token, or the last one",
    )
    al.add_argument("--compare", metavar="OTHER_DIR", help="another analyze align output to overlay and subtract")
    al.add_argument("--src-lang", default="en", help="language of the first column when the file does not say")
    al.add_argument("--tgt-lang", default="es", help="language of the second column when the file does not say")
    al.add_argument("--limit", type=checks.whole(2, " (pairs to tell apart)"), help="use the first N pairs")
    al.add_argument("--margin-k", type=checks.whole(1), default=4, help="neighbours in the ratio margin")
    al.set_defaults(func=cmd_analyze_align)

    le = asub.add_parser("lens", help="logit lens on few-shot word translation into a language")
    common(le)
    le.add_argument("--lang", required=True, help="the language translated into, e.g. es, zh")
    le.add_argument("--source-lang", help="the language translated from (default fr; de when --lang is fr)")
    le.add_argument("--shots", type=checks.whole(0), default=5, help="demonstrations per prompt")
    le.add_argument("--limit", type=checks.whole(1), default=200, help="at most this many items")
    le.set_defaults(func=cmd_analyze_lens, batch_size=16)

    pc = asub.add_parser("pca", help="per-layer 2-D PCA of parallel sentences in several languages")
    common(pc)
    pc.add_argument("--langs", default="en,es,fr,de,zh,ru", help="comma-separated polyinstruct languages")
    pc.add_argument("--pool", choices=["mean", "mean-all", "last"], default="mean")
    pc.add_argument(
        "--limit", type=checks.whole(2, " (items to correlate)"), help="at most this many items per language"
    )
    pc.set_defaults(func=cmd_analyze_pca)


def parser() -> argparse.ArgumentParser:
    p = checks.Parser(prog="polyalign", description="Align an English-centric LLM to other languages, and measure it.")
    p.add_argument("--version", action="version", version=f"polyalign {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    r = sub.add_parser("run", help="data → baseline eval → tune → eval → report (default: the embedded recipe)")
    r.add_argument("recipe", nargs="?", help="recipe YAML (default: the embedded default)")
    r.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe fields, e.g. train.max_steps=10")
    r.add_argument(
        "--nproc",
        type=checks.whole(1),
        default=1,
        help="tune with N processes on this host under torchrun (DDP, or FSDP2 with train.strategy=fsdp)",
    )
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (arms, data, steps, tokens, evaluations, estimated time) without loading a model",
    )
    r.add_argument("--quick", action="store_true", help="every stage at toy size, into runs/<name>-quick")
    r.add_argument(
        "--refresh-data",
        action="store_true",
        help="read the sources again instead of the run's frozen pool (refused once results were built on it)",
    )
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="rebuild a run's report.html, report.md and figures from its JSON files")
    rp.add_argument("run_dir", help="a run directory (runs/<name>)")
    rp.set_defaults(func=cmd_report)

    _add_data_commands(sub)

    _add_score_commands(sub)
    _add_eval_commands(sub)

    _add_train_commands(sub)
    _add_scaling_commands(sub)
    _add_analyze_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args, extra = p.parse_known_args(argv)
    if extra:  # `polyalign train a=1 --nproc 2 b=2`: argparse leaves b=2 over
        if getattr(args, "overrides", None) is not None and all("=" in x and not x.startswith("-") for x in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            p.error("unrecognized arguments: " + " ".join(extra))
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe is found here, inside the handlers below, not at exit
        return code
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `polyalign run --dry-run | head -3`: the reader has what it wanted
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the exit's flush finds no closed pipe either
        return 0
    except OSError as e:  # a user's path that is a folder, missing, unwritable, on a full or read-only disk
        err = describe_os_error(e)
        if err is None:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
