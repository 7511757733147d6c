"""The model card's Markdown sections, each from `CardInputs` alone (docs/model-card.md: where each figure is from).

Rates are printed with 4 decimals and counts as integers with thousands separators,
so the same inputs give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tweet_sentiment.card.facts import (
    DATA_METRICS,
    EVAL_METRICS,
    OPTIMIZE_METRICS,
    OPTIMIZE_PARAMS,
    PARAMS,
    PER_CLASS,
    ROBUSTNESS,
    RUNTIME,
    TRAIN_METRICS,
    CardInputs,
    evaluated_splits,
)

# Licence of each base model, from its Hugging Face model card; a base model not listed is `other`.
BASE_MODEL_LICENCES = {
    "sentence-transformers/all-MiniLM-L6-v2": "apache-2.0",
    "sentence-transformers/all-mpnet-base-v2": "apache-2.0",
}
SLICE_OF = {"val_synthetic_emoji": "val"}  # every val tweet, with emoji drawn for its label (evaluate/emoji_slices.py)


def licence(base_model: str) -> str:
    """The Hub licence id of the base model's weights, which the fine-tuned ones inherit."""
    return BASE_MODEL_LICENCES.get(base_model, "other")


def plural(amount: float, noun: str) -> str:
    """`noun` as it reads after `amount`: 1 epoch, 2 epochs, 0.33 epochs."""
    return noun if amount == 1 else f"{noun}s"


def rate(value: float) -> str:
    return f"{value:.4f}"


def count(value: int) -> str:
    return f"{value:,}"


def _count_or_dash(value: int | None) -> str:
    return "-" if value is None else count(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A GitHub Markdown table."""
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def model_details(inputs: CardInputs) -> str:
    p, train = inputs.params, inputs.train
    distillation = (
        f"distilled from `{p['teacher.model']}` (teacher weight {p['teacher.weight']})"
        if p["teacher.weight"]
        else "none"
    )
    ema = p["train.ema_epochs"]
    average = f"over {ema} {plural(ema, 'epoch')}" if ema else "none (the last step's weights)"
    return f"""## Model details

- Task: tweet sentiment, three classes (negative, neutral, positive), TweetEval's sentiment task.
- Base model: `{p["base_model"]}`, fine-tuned ({p["train.mode"]}) by this project's `finetune` stage.
- Recipe (`{PARAMS}`): learning rate {p["lr"]}, {p["epochs"]} epochs at most, batch size {p["batch_size"]}, \
seed {p["seed"]}, {p["tokenize.max_length"]} tokens at most, class weighting {p["train.class_weighting"]}, \
weight average: {average}, distillation: {distillation}.
- Training run (`{TRAIN_METRICS}`): {train["epoch"]} epochs, {count(train["step"])} steps, \
bf16 mixed precision: {str(bool(train["bf16"])).lower()}.
- Weights version: `{inputs.runtime["model_version"]}` (the first 12 hex digits of the fine-tuned weights' SHA-256).
- Licence: the base model's ({licence(p["base_model"])}). Data: TweetEval is released "without any restrictions \
but restrictions may apply to individual tasks ... or Twitter"; tweets remain subject to Twitter/X's terms."""


INTENDED_USE = """## Intended use

Sorting English tweets, or posts written like tweets, into negative, neutral and positive, through the Bento's \
`POST /predict`, to measure the sentiment of many posts at once (a corpus, a stream, a topic's share of negative \
posts). Its scores are the softmax of three logits; every figure below is for the label with the highest score."""


def out_of_scope(inputs: CardInputs) -> str:
    wrong = 1 - inputs.evaluation["test"]["accuracy"]
    return f"""## Out-of-scope use

- Languages other than English: it was trained and evaluated on English tweets only.
- Text that is not a tweet: reviews, news, long documents (input is cut at {inputs.params["tokenize.max_length"]} \
tokens), transcripts.
- Decisions about a person (moderation, hiring, credit) from one prediction: {rate(wrong)} of test tweets get the \
wrong label (`{EVAL_METRICS}`, 1 - test accuracy).
- Sarcasm, stance or emotion: other tasks, not trained for."""


def _training_source(inputs: CardInputs) -> str:
    p = inputs.params
    pool = "the SemEval-2017 Task 4A (English) 2013-2016 pool"
    if p["data.source"] != "csv":
        return pool
    return f"the rows of `{p['data.csv_path']}` (`data.csv_path`)" + (
        f" mixed with {pool}" if p["data.mix_embedded"] else ""
    )


def training_data(inputs: CardInputs) -> str:
    sources = inputs.data["sources"]
    source_rows = [
        (
            name,
            count(source["read"]),
            count(source["kept"]),
            ", ".join(f"{why} {count(n)}" for why, n in source["dropped"].items() if n) or "none",
        )
        for name, source in sources.items()
    ]
    split_names = [name for name in inputs.data if name != "sources"]
    labels = [key for key in inputs.data[split_names[0]] if key != "rows"]
    class_rows = [(name, *(count(inputs.data[name][key]) for key in ["rows", *labels])) for name in split_names]
    return f"""## Training data

Training: {_training_source(inputs)}, de-duplicated, with every tweet that is also in TweetEval's validation or \
test split removed. Validation and test: TweetEval's sentiment splits (its test split is SemEval-2017's). Rows per \
source (`{DATA_METRICS}`):

{table(["source", "read", "kept", "dropped (why)"], source_rows)}

Tweets per split and class (`{DATA_METRICS}`):

{table(["split", "tweets", *labels], class_rows)}"""


def scored_tweets(inputs: CardInputs, split: str) -> int | None:
    """The tweets `evaluate` scored in `split`: its count, else its rows capped by `max_eval_samples`; None: unknown."""
    if "tweets" in inputs.evaluation[split]:
        return inputs.evaluation[split]["tweets"]
    rows = inputs.data.get(SLICE_OF.get(split, split), {}).get("rows")
    cap = inputs.params["max_eval_samples"]
    return rows if rows is None or cap is None else min(rows, cap)


def evaluation(inputs: CardInputs) -> str:
    ev = inputs.evaluation
    headline = ("macro_recall", "macro_f1", "accuracy")
    split_rows = [
        (split, _count_or_dash(scored_tweets(inputs, split)), *(rate(ev[split][m]) for m in headline))
        for split in evaluated_splits(ev)
    ]
    class_tables = "\n\n".join(
        f"Per class, {split} (`{PER_CLASS}/per_class_{split}.json`):\n\n"
        + table(
            ["class", "precision", "recall", "F1", "tweets"],
            [(r["label"], rate(r["precision"]), rate(r["recall"]), rate(r["f1"]), count(r["support"])) for r in rows],
        )
        for split, rows in inputs.per_class.items()
    )
    test = scored_tweets(inputs, "test")
    samples = inputs.params["evaluate.robustness_samples"]
    sample = f"{count(test if samples is None else min(samples, test))} test tweets"
    shift_rows = [
        (
            r["shift"],
            rate(r["macro_recall"]),
            rate(r["macro_f1"]),
            rate(r["accuracy"]),
            rate(r["drop"]),
            rate(r["changed"]),
        )
        for r in inputs.robustness
    ]
    return f"""## Evaluation

The served runtime, scored by the `evaluate` stage through the service's own prediction path \
(`{EVAL_METRICS}`; macro recall is TweetEval's headline metric). `*_emoji` / `*_no_emoji`: the split's tweets with \
emoji and the rest; `val_synthetic_emoji`: every validation tweet with 1-3 emoji drawn for its label.

{table(["split", "tweets", "macro recall", "macro F1", "accuracy"], split_rows)}

{class_tables}

Robustness: the same {sample} (drawn with seed {inputs.params["seed"]}) under each shift of their text; drop is \
`original`'s macro recall minus the shift's, changed the share of tweets whose text the shift changed \
(`{ROBUSTNESS}`):

{table(["shift", "macro recall", "macro F1", "accuracy", "drop", "changed"], shift_rows)}"""


def _quantisation(inputs: CardInputs) -> str:
    runtime, p = inputs.runtime, inputs.params
    if runtime["precision"] != "int8":
        return f"none: {runtime['precision']} weights and maths (bf16 only where the CPU has fast bf16, else fp32)"
    # A served int8 runtime is a calibrated one: the uncalibrated (dynamic) one answers per batch and is never served.
    rows = inputs.data["train"]["rows"]  # as optimize/choose.py's calibration_tweets caps it
    samples = min(p["optimize.calibration_samples"], p["max_train_samples"] or rows, rows)
    text = f"post-training int8, activation ranges calibrated on {count(samples)} training tweets"
    if runtime["engine"] == "openvino":
        ops = ", ".join(f"`{op}`" for op in p["optimize.openvino_int8_float_ops"])
        text += f"; operations left in floating point (bf16 where the CPU has it, else fp32): {ops}"
    return text


def _choice(inputs: CardInputs) -> str:
    p = inputs.params
    if p["optimize.runtime"] != "auto":
        return f"named in `optimize.runtime` ({p['optimize.runtime']})"
    if p["optimize.select"] == "listed":
        return "the first of `optimize.candidates` within the gate (`optimize.select: listed`): no CPU timing decides"
    return "the fastest within the gate on the CPU optimize ran on (`optimize.select: measured`)"


def _cpu(inputs: CardInputs) -> str:
    """The kind of CPU the runtime was gated and scored on, as `optimize` recorded it."""
    maths = "bf16" if inputs.evaluation.get("bf16") else "fp32"
    return (
        f"{inputs.cpu} (`{OPTIMIZE_PARAMS}`): the kind of CPU `optimize` timed and gated the candidates on. "
        f"`evaluate`'s CPU computed in {maths} (`{EVAL_METRICS}` `bf16`; bf16 needs AMX or AVX512-BF16). "
        "Another kind of CPU can give slightly different scores, and other speeds."
    )


def served_runtime(inputs: CardInputs) -> str:
    runtime, p, cand = inputs.runtime, inputs.params, inputs.candidates
    baseline = next(iter(cand))  # optimize logs the fp32 model every candidate is gated against first
    fp32 = cand[baseline]["test"]["macro_recall"]
    rows = [
        (
            name,
            rate(row["val"]["macro_recall"]),
            rate(row["test"]["macro_recall"]),
            f"{fp32 - row['test']['macro_recall']:+.4f}",
            rate(row["test"]["agreement"]),
            "yes" if row["passes_gate"] else "no",
            "yes" if row["served"] else "",
        )
        for name, row in cand.items()
    ]
    return f"""## Served runtime

- Runtime: `{runtime["name"]}`: engine {runtime["engine"]}, precision {runtime["precision"]} (`{RUNTIME}`).
- Quantisation: {_quantisation(inputs)}.
- Chosen by the `optimize` stage: {_choice(inputs)}. The gate: test macro recall at most \
{p["optimize.max_recall_drop"]} below {baseline}'s, and the same label as it on at least \
{p["optimize.min_agreement"]} of test tweets (`{OPTIMIZE_METRICS}`):

{table(["runtime", "val macro recall", "test macro recall", "drop from fp32", "agreement", "passes", "served"], rows)}

- The CPU: {_cpu(inputs)}"""
