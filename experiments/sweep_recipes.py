"""A recipe sweep over seeds: each setting x seed fine-tuned as `finetune` does and scored as `evaluate` does.

The seed alone moves TweetEval test macro recall by about 0.3 points (standard
deviation) and the 809 test tweets with emoji by about 1 (docs/pipeline.md), as
much as the settings differ, so a setting is judged by its mean over seeds. This runs
`--workers` trainings at once (a GPU holds many of this 22.7M-parameter model;
on a CPU use 1) and writes, as each run ends:

- `OUT/results.jsonl`: one line per run: the setting, seed, validation macro
  recall per epoch and of the kept weights, `val_synthetic_emoji`, `test`,
  `test_emoji` and `test_no_emoji`, recall per class on the emoji tweets, the
  training time in seconds and the device; a `tapt-pretraining` line gives the
  TAPT encoder's seed and time. Lines are appended to an existing file;
- `OUT/probabilities.npz`: each run's class probabilities on val and test
  (float16, shape (tweets, 3)) under `setting/seed/split`, for seed averages;
  runs already in the file are kept.

The `distil*` settings train as `finetune` does with `teacher.weight` > 0: on the
committed teacher's logits (data/teacher) and its share of the transfer tweets
(docs/distillation.md). Choose settings on `val` and `val_synthetic_emoji` only;
test is the outcome.
Needs data/prepared (`dvc repro download`) and, for `tapt`, nothing else:
continued masked-LM pretraining on the training tweets (Gururangan et al. 2020,
"Don't Stop Pretraining") is done here, once per sweep (seeded with the first
seed, in one of the `--workers` slots), not by the pipeline.

    python experiments/sweep_recipes.py --out sweep --workers 14 --seeds 42 1 2 --settings default emoji0.05
    python experiments/sweep_recipes.py --out distil --workers 8 --settings default distil0.3 distil0.5 distil0.8
"""

import argparse
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import Params, load_params

log = logging.getLogger("sweep")
TAPT = {"epochs": 1, "lr": 1e-4, "batch_size": 64, "mlm_probability": 0.15}


class Setting(NamedTuple):
    changes: dict[str, float | int]  # to params.yaml, as `section.key` (or `key`): value
    from_tapt: bool = False  # fine-tune the TAPT encoder instead of the base model


SETTINGS = {
    "default": Setting({}),
    "emoji0.05": Setting({"tokenize.emoji_share": 0.05}),
    "emoji0.1": Setting({"tokenize.emoji_share": 0.1}),
    "epochs3": Setting({"epochs": 3}),
    "tapt": Setting({}, from_tapt=True),
    # Distillation from the committed teacher logits (data/teacher, docs/distillation.md), Hinton's T 2 first.
    **{f"distil{w}": Setting({"teacher.weight": w}) for w in (0.3, 0.5, 0.8)},
    **{f"distil0.5T{t}": Setting({"teacher.weight": 0.5, "teacher.temperature": t}) for t in (1.0, 4.0)},
}


def with_changes(params: Params, changes: dict[str, float | int]) -> Params:
    """`params` with `section.key` (or top-level `key`) values replaced."""
    for dotted, value in changes.items():
        section, _, key = dotted.rpartition(".")
        params = (
            replace(params, **{section: replace(getattr(params, section), **{key: value})})
            if section
            else replace(params, **{key: value})
        )
    return params


def prepare_splits(work: Path, tokenizer_dir: Path) -> None:
    """Normalised train (pickle), tokenized val/test/val_synthetic_emoji and the test emoji mask, under `work`."""
    from tweet_sentiment.core.text import has_emoji, normalise
    from tweet_sentiment.data.tokenized import TokenizedSplit
    from tweet_sentiment.evaluate.emoji_slices import synthetic_emoji_texts
    from tweet_sentiment.train.models import load_tokenizer

    params = load_params()
    tokenizer = load_tokenizer(str(tokenizer_dir))
    frames = {
        name: pd.read_csv(paths.PREPARED / f"{name}.csv", dtype=str, keep_default_na=False) for name in paths.SPLITS
    }
    np.save(work / "test_has_emoji.npy", frames["test"]["text"].map(has_emoji).to_numpy())
    normalised = {name: frame.assign(text=frame["text"].map(normalise)) for name, frame in frames.items()}
    normalised["train"].to_pickle(work / "train.pkl")
    val = normalised["val"]
    # `evaluate`'s own draw, with params.yaml's seed: the same set for every run.
    synthetic = val.assign(text=synthetic_emoji_texts(val, params.seed))
    for name, frame in {"val": val, "test": normalised["test"], "val_synthetic_emoji": synthetic}.items():
        TokenizedSplit.from_frame(frame, tokenizer, params.tokenize.max_length).save(work / f"{name}.npz")


def upcast_base_model(source: Path, target: Path) -> None:
    """The base encoder in fp32 (a half-precision copy travels in half the bytes), with its tokenizer."""
    import torch
    from transformers import AutoModel

    from tweet_sentiment.train.models import load_tokenizer

    AutoModel.from_pretrained(source, dtype=torch.float32).save_pretrained(target)
    load_tokenizer(str(source)).save_pretrained(target)


def continue_pretraining(base: Path, work: Path, target: Path, seed: int, limit: int | None) -> dict:
    """Masked-LM training of the base encoder on the training tweets (TAPT); saves the encoder to `target`.

    The MLM head is new (the sentence-transformers checkpoint has none); only the
    encoder is kept, with the base model's pooler, which MLM does not train.
    Raises RuntimeError if the encoder's weights do not carry over by name.
    """
    import torch
    from transformers import (
        AutoModel,
        AutoModelForMaskedLM,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainingArguments,
        set_seed,
    )
    from transformers.utils import logging as hf_logging

    from tweet_sentiment.train.models import load_tokenizer

    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    set_seed(seed)
    tokenizer = load_tokenizer(str(base))
    texts = pd.read_pickle(work / "train.pkl")["text"]
    if limit is not None and limit < len(texts):
        texts = texts.sample(n=limit, random_state=seed)
    encoded = tokenizer(texts.tolist(), truncation=True, max_length=load_params().tokenize.max_length)["input_ids"]
    dataset = [{"input_ids": ids} for ids in encoded]
    mlm = AutoModelForMaskedLM.from_pretrained(base, dtype=torch.float32)
    started = time.perf_counter()
    Trainer(
        model=mlm,
        args=TrainingArguments(
            output_dir=str(work / "tapt-checkpoints"),
            learning_rate=TAPT["lr"],
            num_train_epochs=TAPT["epochs"],
            per_device_train_batch_size=TAPT["batch_size"],
            warmup_steps=0.06,
            weight_decay=0.01,
            save_strategy="no",
            report_to="none",
            logging_steps=100,
            seed=seed,
        ),
        train_dataset=dataset,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=TAPT["mlm_probability"]),
    ).train()
    encoder = AutoModel.from_pretrained(base, dtype=torch.float32)
    loaded = encoder.load_state_dict(mlm.base_model.state_dict(), strict=False)
    if loaded.unexpected_keys or any(not key.startswith("pooler.") for key in loaded.missing_keys):
        raise RuntimeError(f"the MLM encoder's weights do not match the base model's: {loaded}")
    encoder.save_pretrained(target)
    tokenizer.save_pretrained(target)
    seconds = round(time.perf_counter() - started, 1)
    return {"tapt_seed": seed, "tapt_seconds": seconds, "kept_from_base": loaded.missing_keys}


def predict_proba(model, split, tokenizer) -> np.ndarray:
    """Class probabilities, shape (len(split), 3), in the split's order.

    Not `Trainer.predict`: with `group_by_length` it batches evaluation tweets by
    length too, so its predictions come in another order than the split's rows.
    """
    import torch
    from transformers import DataCollatorWithPadding

    loader = torch.utils.data.DataLoader(split, batch_size=256, collate_fn=DataCollatorWithPadding(tokenizer))
    model.eval()
    batches = []
    with torch.no_grad():
        for batch in loader:
            inputs = {key: value.to(model.device) for key, value in batch.items() if key != "labels"}
            batches.append(torch.softmax(model(**inputs).logits.float(), dim=-1).cpu().numpy())
    return np.concatenate(batches)


def train_and_score(setting: str, seed: int, base: Path, work: Path, limit: int | None) -> dict:
    """One run: `finetune`'s Trainer on the setting's training tweets, then val, synthetic-emoji and test scores."""
    import torch
    from transformers import set_seed
    from transformers.utils import logging as hf_logging

    from tweet_sentiment.core.metrics import headline_scores, per_class_scores
    from tweet_sentiment.data.augmentation import EmojiRanking, add_emoji
    from tweet_sentiment.data.tokenized import TokenizedSplit
    from tweet_sentiment.evaluate.emoji_slices import emoji_subsets
    from tweet_sentiment.train.distillation.student import training_set
    from tweet_sentiment.train.models import load_classifier, load_tokenizer
    from tweet_sentiment.train.trainer import build_trainer, finetune

    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()  # also turns the Trainer's progress bars off: many runs share one log
    changes, from_tapt = SETTINGS[setting]
    params = with_changes(load_params(), {**changes, "seed": seed, "max_train_samples": limit, "train.bf16": False})
    set_seed(seed)
    tokenizer = load_tokenizer(str(base))
    train = pd.read_pickle(work / "train.pkl")
    if (share := params.tokenize.emoji_share) > 0:
        train = train.assign(text=add_emoji(train["text"], train["label"], share, seed, EmojiRanking.load()))
    full_train = TokenizedSplit.from_frame(train, tokenizer, params.tokenize.max_length)
    train_split = training_set(  # as finetune builds it
        full_train,
        full_train.subset_rows(limit, seed),
        params.teacher.weight,
        paths.TEACHER,
        paths.PREPARED / "train.csv",
        tokenizer,
        params.tokenize.max_length,
    )
    splits = {name: TokenizedSplit.load(work / f"{name}.npz") for name in ("val", "test", "val_synthetic_emoji")}
    model = load_classifier(str(work / "tapt" if from_tapt else base))
    run_dir = work / f"run-{setting}-{seed}"
    started = time.perf_counter()
    trainer = finetune(build_trainer(params, model, tokenizer, train_split, splits["val"], None, run_dir))
    seconds = time.perf_counter() - started
    shutil.rmtree(run_dir, ignore_errors=True)
    probabilities = {name: predict_proba(trainer.model, split, tokenizer) for name, split in splits.items()}
    predicted = {name: split_probabilities.argmax(axis=1) for name, split_probabilities in probabilities.items()}
    scores = {name: headline_scores(split.labels, predicted[name])["macro_recall"] for name, split in splits.items()}
    has_emoji = np.load(work / "test_has_emoji.npy")
    test_labels, test_predicted = splits["test"].labels, predicted["test"]
    for subset, mask in emoji_subsets("test", has_emoji):  # evaluate's slices
        scores[subset] = headline_scores(test_labels[mask], test_predicted[mask])["macro_recall"]
    history = [entry["eval_macro_recall"] for entry in trainer.state.log_history if "eval_macro_recall" in entry]
    emoji_recall = {
        row["label"]: row["recall"] for row in per_class_scores(test_labels[has_emoji], test_predicted[has_emoji])
    }
    result = {
        "setting": setting,
        "seed": seed,
        **{name: round(score, 4) for name, score in scores.items()},
        "val_per_epoch": [round(score, 4) for score in history],
        "test_emoji_recall_per_class": {label: round(value, 3) for label, value in emoji_recall.items()},
        "train_seconds": round(seconds, 1),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
    }
    return {
        "result": result,
        "probabilities": {k: v.astype(np.float16) for k, v in probabilities.items() if k != "val_synthetic_emoji"},
    }


Job = tuple[str, int | None]  # (setting, seed); TAPT_JOB has no seed
TAPT_JOB: Job = ("tapt-pretraining", None)


def next_job(pending: list[Job], tapt_ready: bool) -> Job | None:
    """The first pending (setting, seed) that can start: a `tapt` run waits for the TAPT encoder."""
    return next((job for job in pending if tapt_ready or not SETTINGS[job[0]].from_tapt), None)


def schedule(
    pool: Executor,
    pending: list[Job],
    start: Callable[[Executor, Job], Future],
    record: Callable[[Job, dict], None],
    workers: int,
    deadline: float,
) -> list[Job]:
    """Run `pending` on `pool`, at most `workers` at once, none started after `deadline` (time.monotonic).

    The TAPT encoder is trained first, in one of the slots, where a `tapt` run is
    pending; `tapt` runs start once it is there, and are dropped if it fails. A
    failed run is logged and skipped. `record` gets each finished job and its
    result. Returns the jobs that were never started.
    """
    pending = list(pending)
    running: dict[Future, Job] = {}
    tapt_ready = not any(SETTINGS[setting].from_tapt for setting, _ in pending)
    if not tapt_ready:
        running[start(pool, TAPT_JOB)] = TAPT_JOB
    while running or (pending and time.monotonic() < deadline):
        while len(running) < workers and time.monotonic() < deadline:
            if (job := next_job(pending, tapt_ready)) is None:
                break
            pending.remove(job)
            running[start(pool, job)] = job
        if not running:
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            job = running.pop(future)
            if future.exception() is not None:
                log.error("%s seed %s failed: %r", *job, future.exception())
                if job == TAPT_JOB:  # no encoder: its runs cannot start
                    pending = [(setting, seed) for setting, seed in pending if not SETTINGS[setting].from_tapt]
                continue
            tapt_ready = tapt_ready or job == TAPT_JOB
            record(job, future.result())
    return pending


def run_sweep(args: argparse.Namespace) -> None:
    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    base = work / "base"
    upcast_base_model(Path(args.base_model), base)
    prepare_splits(work, base)
    log.info("splits ready")
    saved = out / "probabilities.npz"
    probabilities: dict[str, np.ndarray] = dict(np.load(saved)) if saved.is_file() else {}

    def start(pool: Executor, job: Job) -> Future:
        if job == TAPT_JOB:
            return pool.submit(continue_pretraining, base, work, work / "tapt", args.seeds[0], args.max_train_samples)
        return pool.submit(train_and_score, *job, base, work, args.max_train_samples)

    with (out / "results.jsonl").open("a", encoding="utf-8") as results:

        def record(job: Job, outcome: dict) -> None:
            setting, seed = job
            line = {"setting": setting, **outcome} if job == TAPT_JOB else outcome["result"]
            results.write(json.dumps(line) + "\n")
            results.flush()
            log.info("%s", line)
            if job != TAPT_JOB:
                probabilities.update({f"{setting}/{seed}/{split}": p for split, p in outcome["probabilities"].items()})
                np.savez_compressed(saved, **probabilities)

        # Seed-major, so that a spent budget leaves every setting with about as many seeds.
        pending: list[Job] = [(setting, seed) for seed in args.seeds for setting in args.settings]
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            left = schedule(pool, pending, start, record, args.workers, time.monotonic() + args.budget_s)
    if left:
        log.info("not run (budget spent): %s", left)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="results.jsonl and probabilities.npz go here")
    parser.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp") + "/sweep-work")
    parser.add_argument("--base-model", default=None, help="a save_pretrained dir (default: the embedded MiniLM)")
    parser.add_argument("--workers", type=int, default=1, help="runs at once (TAPT pretraining takes one slot)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--max-train-samples", type=int, default=None, help="a seeded sample (a quick check)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=float("inf"),
        help="start no run this many seconds after the splits are ready (runs under way finish)",
    )
    args = parser.parse_args()
    if args.base_model is None:
        from tweet_sentiment.train.models import resolve_model_source
        from tweet_sentiment.train.wheels import resolve_base_model

        args.base_model = resolve_model_source(resolve_base_model(load_params().base_model))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_sweep(args)


if __name__ == "__main__":
    main()
