"""Typed recipe configuration: one dataclass per recipe section, one docstring per field.

A recipe (see :mod:`polyalign.recipe`, which reads YAML and ``key=value`` overrides into these)
is a mapping of sections: here the ones a single job reads (model, data, train, eval, translate)
and :class:`TrainJobConfig`, what ``polyalign train`` reads; the run recipe itself and the
experiment's sections are in :mod:`polyalign.run_config`. Field names follow Hugging Face
``TrainingArguments`` where one exists. Checks live in each class's ``__post_init__``.

This module imports neither torch nor transformers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from polyalign import langs
from polyalign.hub import DEFAULT_MODEL
from polyalign.langs import COMMON_LANGUAGES, LANGID_CODES, base


def check_langs(codes: list[str], what: str) -> None:
    """Every code names a language polyalign knows, before any work (``fr,klingon`` fails at once).

    A code with a script subtag is replaced in ``codes`` by the one code it maps to; a bad code is a
    ``ValueError`` naming ``what`` (the recipe loader adds the key's file and line)."""
    for i, code in enumerate(codes):
        task, _, spec = str(code).rpartition("/")  # TASK/SPEC: one task's languages
        text = spec
        parts = text.split("-")
        if len(parts) == 2 and "_" not in text and all(2 <= len(p) <= 3 for p in parts):  # a pair: en-es
            for part in parts:
                msg = langs.unknown(part)
                if msg is not None:
                    raise ValueError(f"{what}: {msg}")
            continue
        msg = langs.unknown(text)  # the code as written: zh-Hans, pt_BR, spa_Latn
        if msg is not None:
            raise ValueError(f"{what}: {msg}")
        if re.search(r"[-_][A-Za-z]{4}\b", text):  # a script subtag: stored as the one code it maps to
            codes[i] = f"{task}/{langs.normalize(text)}" if task else langs.normalize(text)


@dataclass
class ModelConfig:
    model_name_or_path: str = DEFAULT_MODEL
    """Hugging Face hub id or local folder. The default id resolves offline to the bundled copy."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Weights' dtype when loading."""
    trust_remote_code: bool = False
    """Run code shipped with a hub model. Off unless you trust the model's authors."""
    attn_implementation: Literal["auto", "polyalign_varlen", "sdpa", "eager", "flash_attention_2"] = "auto"
    """Attention kernel for training. ``auto``: flash-attention 2's varlen path on a CUDA device
    when ``flash-attn`` is installed and compute is 16-bit; otherwise ``polyalign_varlen`` with
    packing (SDPA, causal, one packed example at a time) and ``sdpa`` without. ``sdpa`` or
    ``eager`` with packing: rows of packed examples under a block-diagonal mask."""


@dataclass
class DataConfig:
    builder: Literal["coit", "muit", "qalign"] = "coit"
    """``coit``: one language, English + translated instructions + translation tasks; ``muit``: the
    same for every language in one shuffled set; ``qalign``: questions → English, no answers."""
    languages: list[str] = field(default_factory=lambda: ["es"])
    """Target (training) languages (ISO 639-1 codes or gettext locale names such as ``pt_BR``)."""
    sources: list[str] = field(default_factory=lambda: ["gettext"])
    """Where parallel English↔X pairs come from: ``gettext``, ``pycountry``, ``babel``, ``django``,
    ``bible``, ``po:PATH``, a parallel file (JSONL/JSON/TSV/Parquet/Arrow), ``text:SRC,TGT`` or
    ``hf:ORG/NAME[:CONFIG][@SPLIT]`` (see ``polyalign data sources``)."""
    gettext_dirs: list[str] = field(default_factory=list)
    """Locale folders to search for ``*.mo`` catalogs; empty means the system's usual places."""
    pool: str | None = None
    """A frozen candidate pool (a folder ``polyalign data snapshot`` wrote) to read the pairs from
    instead of ``sources``, so every machine makes the same selection; ``null``: the run freezes its
    own from ``sources`` at its first data stage (``runs/<name>/data/pool``)."""
    instructions: list[str] = field(default_factory=lambda: ["polyinstruct"])
    """Instruction sets: ``polyinstruct`` (shipped, all its languages, train split) or files in
    alpaca/sharegpt/messages form, English unless written ``LANG=PATH`` (translated ones)."""
    direction: Literal["en-x", "x-en", "both"] = "en-x"
    """Translation direction of the training tasks (evaluation uses the same directions)."""
    template: Literal["translate_v1"] = "translate_v1"
    """Versioned set of translation-instruction paraphrases wrapping each pair."""
    qalign_template: Literal["qalign_v1"] = "qalign_v1"
    """Versioned question-alignment wording (``builder: qalign``)."""
    english_ratio: float = 1.0
    """Share of the English instructions used: 0.5 keeps a seeded half, 2.0 repeats them twice."""
    translated_ratio: float = 1.0
    """Share of the translated (X-language) instructions used, as ``english_ratio``."""
    translation_ratio: float = 1.0
    """Share of the translation tasks used, as ``english_ratio``."""
    allocation: str = "uniform"
    """MuIT pairs per language: ``uniform``, ``proportional`` (to the clean pairs available) or the
    path of a plan file ``{"allocation": {LANG: PAIRS}}``."""
    pair_budget: int | None = None
    """MuIT total of training pairs over all languages; ``null``: each gets ``max_train_pairs``."""
    eval_languages: list[str] = field(default_factory=list)
    """Question alignment: languages whose held-out questions are evaluated (empty: the training ones)."""
    min_words: int = 3
    """Drop pairs whose English side has fewer words (single-word UI labels teach little)."""
    max_words: int = 40
    """Drop pairs whose English side has more words."""
    max_chars: int = 400
    """Drop pairs with a side longer than this many characters."""
    max_length_ratio: float | None = 3.0
    """Drop pairs where one side is more than this many times longer than the other; ``null``: off."""
    language_id: bool = True
    """Check both sides' language with ``langid`` (offline) and drop pairs in the wrong language."""
    max_similarity: float | None = 0.8
    """Drop a pair whose English side is at least this similar (character 4-gram Jaccard, found
    with MinHash) to one already chosen, in training or test; ``null``: off."""
    max_train_pairs: int | None = 2000
    """Use at most this many training pairs per language (after cleaning); ``null`` for all."""
    test_size: int = 100
    """Held-out pairs per language, disjoint from training by English source string."""
    split_seed: int = 0
    """Seed of the deterministic train/test split, of the samples and of the mixture's order."""

    def __post_init__(self) -> None:
        if not self.languages:
            raise ValueError("data.languages must name at least one language")
        check_langs(self.languages, "data.languages")
        check_langs(self.eval_languages, "data.eval_languages")
        if self.min_words < 0 or self.max_words < self.min_words:
            raise ValueError("need 0 <= data.min_words <= data.max_words")
        if self.test_size < 1:
            raise ValueError("data.test_size must be at least 1")
        if min(self.english_ratio, self.translated_ratio, self.translation_ratio) < 0:
            raise ValueError("mixing ratios cannot be negative")
        if self.max_length_ratio is not None and self.max_length_ratio < 1:
            raise ValueError("data.max_length_ratio must be at least 1")
        if self.max_similarity is not None and not 0 < self.max_similarity <= 1:
            raise ValueError("data.max_similarity must be in (0, 1]")
        if self.pair_budget is not None and self.pair_budget < 0:
            raise ValueError("data.pair_budget cannot be negative")

    def check_pool(self) -> None:
        """``data.pool`` names a frozen pool (a folder with ``pool.json``): checked when a recipe is
        read, not in ``__post_init__``, since a run fills ``pool`` in before its pool is frozen."""
        if self.pool and not Path(self.pool).exists():
            raise ValueError(f"data.pool: {self.pool}: no such folder (make a pool with polyalign data snapshot)")
        if self.pool and not (Path(self.pool) / "pool.json").is_file():
            raise ValueError(f"data.pool: {self.pool} is not a frozen pool (make one with polyalign data snapshot)")


@dataclass
class TrainConfig:
    finetuning_type: Literal["lora", "full"] = "lora"
    """``lora``: train low-rank adapters (peft); ``full``: train every parameter."""
    lora_rank: int = 16
    """LoRA rank r."""
    lora_alpha: float = 32.0
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA input."""
    lora_target: str = "all-linear"
    """``all-linear`` or comma-separated module names such as ``q_proj,v_proj``."""
    learning_rate: float = 1e-3
    """Peak learning rate."""
    weight_decay: float = 0.0
    """AdamW decoupled weight decay."""
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    """Clip the global gradient norm to this; 0 disables clipping."""
    per_device_train_batch_size: int = 16
    """Examples per micro-batch."""
    gradient_accumulation_steps: int = 1
    """Micro-batches per optimizer step."""
    num_train_epochs: float = 1.0
    """Passes over the training set (ignored when ``max_steps`` > 0)."""
    max_steps: int = -1
    """Optimizer steps to run; -1 means derive from ``num_train_epochs``."""
    warmup_steps: float = 0.05
    """Steps of linear warmup from 0, with the installed transformers' meaning: a step count when
    ``>= 1``, a ratio of the total steps (rounded up) when ``< 1``."""
    warmup_ratio: float | None = None
    """Alias kept for older recipes (transformers 5 dropped it): ``warmup_ratio: 0.1`` means
    ``warmup_steps: 0.1``. Give one of the two."""
    lr_scheduler_type: Literal[
        "cosine", "linear", "constant", "constant_with_warmup", "polynomial", "inverse_sqrt", "cosine_with_restarts"
    ] = "cosine"
    """Learning-rate shape after warmup, built by ``transformers.get_scheduler`` (same names and
    multipliers as the Trainer's)."""
    max_seq_length: int = 512
    """Longest tokenised example (and, with packing, the longest packed row)."""
    truncation: Literal["drop", "truncate"] = "drop"
    """What to do with an example longer than ``max_seq_length``: ``drop`` it, or ``truncate``
    it to its first ``max_seq_length`` tokens. Either way it is counted and reported."""
    packing: bool = True
    """Lay each micro-batch's examples end to end in rows of up to ``max_seq_length`` tokens,
    positions restarting per example and no attention across examples. Same examples and same
    loss as padding (a test holds them equal), no compute spent on padding."""
    gradient_checkpointing: bool = False
    """Recompute each layer's activations in the backward pass: less memory, ~30% more compute."""
    bf16: bool = False
    """Compute in bfloat16 autocast (weights and optimizer state stay float32)."""
    strategy: Literal["ddp", "fsdp"] = "ddp"
    """With several processes: ``ddp`` replicates the model; ``fsdp`` shards parameters,
    gradients and optimizer state with FSDP2 (``fully_shard``), one unit per decoder layer."""
    save_steps: int = 0
    """Write a checkpoint every this many optimizer steps; 0 writes only the final one."""
    save_total_limit: int = 2
    """Keep this many most recent checkpoints."""
    keep_at_examples: list[int] = field(default_factory=list)
    """Also keep the model as it was once it had seen each of these numbers of training examples (each a
    multiple of the global batch), in ``model-at/<N>/``: the scaling pilot's points as snapshots of one run."""
    resume_from_checkpoint: str | None = None
    """``latest`` (the newest checkpoint under ``output_dir``, if any) or a checkpoint folder.
    ``polyalign run`` always resumes from the latest."""
    logging_steps: int = 10
    """Refresh the progress bar's loss, learning rate and tokens/s every this many steps
    (the JSONL log gets every step)."""
    report_to: list[Literal["none", "tensorboard", "mlflow", "wandb"]] = field(default_factory=list)
    """Also log to these trackers, as Hugging Face's Trainer does (``report_to=mlflow,wandb``): the
    recipe as parameters, per-step loss, learning rate, gradient norm and tokens/s, and in ``polyalign
    run`` every model's results, the claims and the report (:mod:`polyalign.tracking`). Each needs its
    extra (``polyalign[tensorboard]``, ``[mlflow]``, ``[wandb]``)."""

    def __post_init__(self) -> None:
        if self.per_device_train_batch_size < 1 or self.gradient_accumulation_steps < 1:
            raise ValueError("batch size and gradient_accumulation_steps must be at least 1")
        if self.warmup_ratio is not None:
            if self.warmup_steps != 0.05 and self.warmup_steps != self.warmup_ratio:
                raise ValueError("give warmup_steps or its alias warmup_ratio, not both")
            if not 0.0 <= self.warmup_ratio < 1.0:
                raise ValueError("warmup_ratio must be in [0, 1) (or give warmup_steps)")
            self.warmup_steps, self.warmup_ratio = self.warmup_ratio, None
        if self.warmup_steps < 0 or (self.warmup_steps >= 1 and self.warmup_steps != int(self.warmup_steps)):
            raise ValueError("warmup_steps must be a whole number of steps (>= 1) or a ratio in [0, 1)")
        if self.learning_rate <= 0:
            raise ValueError("learning_rate must be positive")
        if self.max_steps < -1:  # transformers' -1 (train by epochs) is the one value below 1 with a meaning
            raise ValueError(
                f"max_steps must be a positive number of steps, or -1 to train num_train_epochs, got {self.max_steps}"
            )
        if self.max_steps == 0 or (self.max_steps < 0 and self.num_train_epochs <= 0):
            raise ValueError("set max_steps > 0 or num_train_epochs > 0")
        if self.max_seq_length < 2:
            raise ValueError("max_seq_length must be at least 2")
        if self.save_steps < 0 or self.save_total_limit < 1 or self.logging_steps < 1:
            raise ValueError("need save_steps >= 0, save_total_limit >= 1, logging_steps >= 1")
        if any(n < 1 for n in self.keep_at_examples) or len(set(self.keep_at_examples)) != len(self.keep_at_examples):
            raise ValueError("keep_at_examples must be distinct numbers of examples, each at least 1")

    def trainable(self) -> dict[str, Any]:
        """What :func:`polyalign.models.set_trainable` needs of these settings, as its arguments."""
        return {
            "finetuning_type": self.finetuning_type,
            "lora_rank": self.lora_rank,
            "lora_alpha": self.lora_alpha,
            "lora_dropout": self.lora_dropout,
            "lora_target": self.lora_target,
            "gradient_checkpointing": self.gradient_checkpointing,
        }


@dataclass
class EvalConfig:
    """How a run evaluates: its held-out translation pairs always (BLEU, chrF++, fidelity), and
    the tasks of ``suite`` when it names any."""

    batch_size: int = 16
    """Prompts per generation batch."""
    max_new_tokens: int = 96
    """Longest generated answer, in tokens; for a translation the floor: a sentence may run to 1.5 × its
    source's tokens × the language pair's token ratio (measured on polymt's dev split) where that is more."""
    limit: int | None = None
    """Evaluate at most this many examples per task and language: a seeded sample stratified over the
    set's topics, labels or domains, the same for every model of the run (recorded in results.json)."""
    suite: list[str] = field(default_factory=list)
    """Tasks ``polyalign eval RECIPE`` runs: xquad, mlqa, flores, pawsx, xnli, sentiment, mgsm,
    polyinstruct, polyqa, polyqa_v2, polysent, polymt, local_qa, local_translation, local_classification."""
    suite_langs: list[str] = field(default_factory=list)
    """Language specs for the suite (``es``; ``en-es`` for translation; ``es-en`` context-question
    for MLQA); ``TASK/SPEC`` (``polymt/en-es``) names one task's specs only; a task with no spec of
    its own and no plain one is evaluated in every language of its dataset (a shipped translation
    set: English into each other language)."""
    task_limits: list[str] = field(default_factory=list)
    """Per-task limits as ``TASK=N`` (``polymt=40``): items per language of that task, instead of ``limit``."""
    data_files: list[str] = field(default_factory=list)
    """Local data for suite tasks as ``TASK=PATH`` (PATH may hold ``{lang}``); other tasks load
    from the Hugging Face hub."""
    num_fewshot: int = 0
    """Demonstrations per prompt in suite tasks."""
    qalign_fewshot: int = 3
    """Demonstrations per suite prompt, at least, in a run with a question-alignment arm (or a plain
    ``qalign`` run): the question-alignment paper evaluates few-shot, with constrained decoding
    over the label words for classification. The base and every arm are evaluated alike, so each
    comparison stays paired on the same prompts and items; 0 leaves ``num_fewshot`` as it is."""
    fewshot_lang: Literal["target", "en"] = "target"
    """Demonstrations in the evaluated language or in English."""
    prompt_format: Literal["chat", "raw"] = "chat"
    """Suite prompts through the model's chat template, or as raw text to continue."""
    backend: Literal["auto", "hf", "vllm"] = "auto"
    """Generation backend; ``auto`` uses vLLM when it is installed and a GPU is present."""
    label_scoring: Literal["first_token", "loglik"] = "first_token"
    """Classification: first-token probability mass of each label (one forward pass per example),
    or length-normalised log-likelihood of the full label strings."""
    heldout: Literal["both", "from_en", "none"] = "both"
    """Which of the run's held-out translation directions (``data/test_*.jsonl``) are scored: ``both``;
    ``from_en``, English into each language only (what a scaling pilot's law reads); ``none``, when
    the suite scores the claims' directions on a shipped set (polymt) instead."""
    arm_tasks: Literal["claims", "all"] = "claims"
    """Suite tasks an experiment's arms are scored on (the base is scored on all of them): ``claims``,
    what each arm's claims read (a CoIT or MuIT arm: the translation directions of its own languages
    when the suite names directions; a question-alignment arm: QA and classification, not
    translation); ``all``: the whole suite for every arm (the full transfer matrix, at its cost)."""
    baseline: bool = True
    """Also evaluate the untuned model (``eval/before``). A scaling pilot turns it off in its
    points: they share one base model and the same held-out test, so one baseline would do."""
    label_lang: Literal["en", "target"] = "en"
    """Classification labels in English (as in the question-alignment paper) or, where the data
    has them (polysent), in the evaluated language's own words."""
    tokenize: Literal["flores101", "flores200"] | None = None
    """BLEU tokenizer for translation (held-out pairs and suite): ``null`` chooses by target
    language (13a, zh, char); ``flores101`` / ``flores200`` is spBLEU, as the FLORES papers score."""
    spm_model: str | None = None
    """spBLEU's SentencePiece model file; ``null``: sacrebleu's cache (``~/.sacrebleu/models``)."""
    comet_model: str | None = None
    """Also score translations (held-out pairs, flores, polymt) with COMET from this local
    checkpoint (a ``.ckpt``, a model folder or a cached hub id; needs ``polyalign[comet]``)."""
    qa_norm: Literal["squad_v1", "mlqa"] | None = None
    """QA answer normalisation: ``squad_v1`` (the SQuAD v1.1 script's, as XQuAD is published) or
    ``mlqa`` (MLQA's per-language rules); ``null``: squad_v1 for xquad, mlqa for the other QA tasks."""
    drift_languages: list[str] = field(default_factory=lambda: list(COMMON_LANGUAGES))
    """Languages a model may drift into. Language fidelity's identifier chooses among these,
    English, the run's languages and the evaluated language, never among all 97 it knows (which
    calls short Spanish strings Galician or Catalan). Default: widely used languages
    (``polyalign.langs.COMMON_LANGUAGES``), no regional close relatives; name those to count them."""

    def __post_init__(self) -> None:  # suite task names are checked by the recipe loader (recipe.py)
        if self.num_fewshot < 0:
            raise ValueError("eval.num_fewshot must be >= 0")
        if self.qalign_fewshot < 0:
            raise ValueError("eval.qalign_fewshot must be >= 0")
        if self.limit is not None and self.limit < 1:  # -1 would evaluate all but the last item
            raise ValueError(f"eval.limit must be at least 1 (null: every item), got {self.limit}")
        check_langs(self.suite_langs, "eval.suite_langs")
        for code in self.drift_languages:
            if base(code) not in LANGID_CODES:
                raise ValueError(f"eval.drift_languages: the language identifier (langid) does not know {code!r}")

    def scores_heldout(self, src: str) -> bool:
        """Whether ``heldout`` scores a held-out direction that translates out of ``src`` (``en``, or the
        other language)."""
        return self.heldout == "both" or (self.heldout == "from_en" and src == "en")


@dataclass
class TranslateConfig:
    input: str = ""
    """Instruction file to translate (alpaca, sharegpt or messages; JSONL, JSON, Parquet, Arrow or ``hf:``)."""
    format: Literal["auto", "alpaca", "sharegpt", "messages"] = "auto"
    """Format of ``input``; ``auto`` looks at its first record."""
    source_language: str = "en"
    """Language of ``input``."""
    target_languages: list[str] = field(default_factory=lambda: ["es"])
    """Languages to translate into; one output file each."""
    output_dir: str = "translated"
    """Folder of the outputs ``<stem>.<lang>.jsonl`` and their journals ``<stem>.<lang>.journal.jsonl``."""
    backend: Literal["http", "seq2seq", "self"] = "http"
    """``http``: an OpenAI-compatible endpoint; ``seq2seq``: a Hugging Face MT model; ``self``: the
    recipe's model, few-shot."""
    model: str = ""
    """http: the endpoint's model name; seq2seq: an MT model id or folder; self: empty for
    ``model.model_name_or_path``."""
    base_url: str = "http://127.0.0.1:8000/v1"
    """http: the API base URL (``/chat/completions`` is appended)."""
    api_key_env: str | None = None
    """http: NAME of the environment variable holding the API key (the key itself never goes in a recipe)."""
    concurrency: int = 4
    """http: requests in flight at once."""
    max_retries: int = 5
    """http: retries of a request on 429, 5xx, timeouts and connection errors, with exponential backoff."""
    timeout: float = 60.0
    """http: seconds to wait for one response."""
    backoff: float = 1.0
    """http: first retry delay in seconds; doubled at each retry (a Retry-After header wins)."""
    batch_chars: int = 1200
    """http: pack short texts into one request up to this many characters."""
    max_batch: int = 8
    """http: at most this many texts per request (1 disables batching)."""
    batch_size: int = 16
    """seq2seq/self: texts per generation batch."""
    max_new_tokens: int = 256
    """seq2seq/self: longest translation, in tokens."""
    lang_codes: Literal["auto", "m2m100", "nllb", "marian", "t5", "none"] = "auto"
    """seq2seq: the model family's language-code convention; ``auto`` detects it."""
    shots: int = 3
    """self: parallel examples in the few-shot prompt."""

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.max_retries < 0 or self.timeout <= 0:
            raise ValueError("translate: need concurrency >= 1, max_retries >= 0 and timeout > 0")
        if not self.target_languages:
            raise ValueError("translate.target_languages must name at least one language")
        check_langs([self.source_language], "translate.source_language")
        check_langs(self.target_languages, "translate.target_languages")


@dataclass
class TrainJobConfig:
    """What ``polyalign train`` reads: a training file, a model, and the training settings.

    Every key works bare on the command line (``learning_rate=1e-4``, ``train_file=...``).
    """

    train_file: str = ""
    """Training data: a JSON/JSONL file of conversations (``messages``), alpaca records
    (``instruction``, ``input``, ``output``) or sharegpt records (``conversations``); or a
    ``polyalign run`` directory, whose built mixture ``data/train.jsonl`` is used."""
    output_dir: str = "runs/train"
    """Where checkpoints, logs and the trained model (``output_dir/model``) go."""
    seed: int = 0
    """Seed for data order, initialisation and dropout."""
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if not self.train_file:
            raise ValueError("train_file is required (train_file=PATH)")
