"""``polyalign eval``: evaluate a model on tasks through the one evaluation path."""

from __future__ import annotations

import argparse

import polyalign.cli.checks as checks
from polyalign.eval.request import build_request
from polyalign.outputs import check_apart


def cmd_eval(args: argparse.Namespace) -> int:
    from polyalign.eval.runner import run_eval

    # overrides alone adjust a plain evaluation: the embedded experiment's suite protocol (2-shot raw prompts,
    # 40 polymt items) is the default run's, not what `polyalign eval` does without a recipe
    recipe = checks.args_recipe(args, embedded=False) if args.recipe or args.overrides else None
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


def add_commands(sub) -> None:
    e = sub.add_parser("eval", help="evaluate a model on multilingual tasks; writes results.json and samples")
    e.add_argument("recipe", nargs="?", help="recipe YAML: its model and eval sections (flags override)")
    e.add_argument("overrides", nargs="*", metavar="key=value", help="override recipe fields")
    e.add_argument("--model", help="hub id or local folder (default: the recipe's, else the bundled SmolLM2)")
    e.add_argument("--adapter", help="LoRA adapter folder to apply")
    e.add_argument(
        "--tasks",
        help="comma-separated: xquad, mlqa, flores, pawsx, xnli, sentiment, mgsm, polyinstruct, "
        "polyqa, polyqa_v2, polysent, polymt, local_qa, local_translation, local_classification",
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
    e.add_argument(
        "--max-new-tokens",
        type=checks.whole(1),
        help="longest generated answer (for a translation the floor: room for 1.5× its expected length where more)",
    )
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
