"""The `evaluate` stage's work: score what is served on TweetEval val and test, and under drift.

It scores `models/serving`, the runtime the `optimize` stage chose and
`package` ships, through `Predictor`, the service's own prediction path: these
are the pipeline's headline metrics. The fp32 model's scores stand beside
them in `metrics/optimize`. The user's held-out tweets (`data.eval_share`),
when `download` wrote some, are scored the same way as a third split, `custom`.
A split with emoji in some tweets (the `emoji` package's count: 809 of TweetEval
test's 12,284) is also scored in two parts, `<split>_emoji` and
`<split>_no_emoji`, each with its tweet count. Validation has no emoji, so
`val_synthetic_emoji` scores its tweets with emoji drawn for their labels as
training's are (another seed): the split to choose `tokenize.emoji_share` on,
never test. The robustness table scores a seeded sample of the test split under
each shift of `tweet_sentiment.evaluate.robustness`.
"""

import logging
import time

import numpy as np
import pandas as pd
from dvclive import Live

from tweet_sentiment.core import paths
from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.core.metrics import headline_scores, per_class_scores
from tweet_sentiment.core.params import Params
from tweet_sentiment.core.text import has_emoji
from tweet_sentiment.evaluate.emoji_accuracy import MIN_EMOJI_TWEETS, accuracy_by_emoji
from tweet_sentiment.evaluate.emoji_slices import emoji_subsets, synthetic_emoji_texts
from tweet_sentiment.evaluate.robustness import robustness_table
from tweet_sentiment.evaluate.splits import evaluation_frame, scored_splits
from tweet_sentiment.serving.predictor import Predictor

log = logging.getLogger("evaluate")


def log_scores(live: Live, name: str, scores: dict[str, float], tweets: int) -> None:
    """Headline scores as `<name>/<metric>` in metrics/eval, and one log line."""
    for metric, value in scores.items():
        live.log_metric(f"{name}/{metric}", value, plot=False)
    log.info("%s: %s (%d tweets)", name, scores, tweets)


def evaluate_split(live: Live, predictor: Predictor, name: str, frame: pd.DataFrame) -> None:
    started = time.perf_counter()
    predicted = predictor.predict_proba(list(frame["text"])).argmax(axis=1)
    seconds = time.perf_counter() - started
    actual = frame["label"].map(LABEL2ID).to_numpy()
    log_scores(live, name, headline_scores(actual, predicted), len(frame))
    log.info("%s: %.0f tweets/s", name, len(frame) / seconds)
    live.log_sklearn_plot(
        "confusion_matrix",
        [LABELS[i] for i in actual],
        [LABELS[i] for i in predicted],
        name=f"confusion_matrix_{name}.json",
        title=f"Confusion matrix ({name})",
    )
    live.log_plot(
        f"per_class_{name}",
        per_class_scores(actual, predicted),
        x="recall",
        y="label",
        template="bar_horizontal",
        title=f"Per-class recall ({name})",
    )
    with_emoji = frame["text"].map(has_emoji).to_numpy()
    evaluate_emoji_subsets(live, name, with_emoji, actual, predicted)
    if with_emoji.any():  # written even when no emoji is frequent enough ([]), so `dvc plots show` finds it
        live.log_plot(
            f"emoji_accuracy_{name}",
            accuracy_by_emoji(list(frame["text"]), actual, predicted),
            x="accuracy",
            y="emoji",
            template="bar_horizontal",
            title=f"Accuracy on the tweets holding each emoji ({name}, at least {MIN_EMOJI_TWEETS} tweets)",
        )


def evaluate_emoji_subsets(
    live: Live, name: str, with_emoji: np.ndarray, actual: np.ndarray, predicted: np.ndarray
) -> None:
    """Headline scores and tweet counts of the tweets with emoji and of the rest; nothing when either is empty."""
    for subset, rows in emoji_subsets(name, with_emoji):
        log_scores(live, subset, headline_scores(actual[rows], predicted[rows]), int(rows.sum()))
        live.log_metric(f"{subset}/tweets", int(rows.sum()), plot=False)


def evaluate_synthetic_emoji(live: Live, predictor: Predictor, val: pd.DataFrame, seed: int) -> None:
    """Every val tweet with 1-3 emoji drawn for its label (seed + 1: not training's draws): headline scores."""
    texts = synthetic_emoji_texts(val, seed)
    actual = val["label"].map(LABEL2ID).to_numpy()
    log_scores(
        live, "val_synthetic_emoji", headline_scores(actual, predictor.predict_proba(texts).argmax(axis=1)), len(val)
    )


def evaluate_robustness(live: Live, predictor: Predictor, frame: pd.DataFrame, samples: int | None, seed: int) -> None:
    """Score a seeded sample of `frame` under every shift: metrics, a log line each, one table."""
    if samples is not None and samples < len(frame):
        frame = frame.sample(n=samples, random_state=seed)
    rows = robustness_table(
        lambda texts: predictor.predict_proba(texts).argmax(axis=1),
        list(frame["text"]),
        frame["label"].map(LABEL2ID).to_numpy(),
        seed,
    )
    for row in rows:
        live.log_metric(f"robustness/{row['shift']}/macro_recall", row["macro_recall"], plot=False)
        live.log_metric(f"robustness/{row['shift']}/drop", row["drop"], plot=False)
        log.info(
            "robustness %s: macro recall %.4f (drop %.4f vs original, %.0f%% of tweets changed)",
            row["shift"],
            row["macro_recall"],
            row["drop"],
            100 * row["changed"],
        )
    live.log_plot(
        "robustness",
        rows,
        x="macro_recall",
        y="shift",
        template="bar_horizontal",
        title=f"Macro recall under drift (TweetEval test, {len(frame)} tweets)",
    )


def evaluate_served(params: Params) -> None:
    predictor = Predictor(paths.SERVING, batch_size=params.evaluate.batch_size)
    log.info("scoring %s (%s, bf16 maths: %s)", paths.SERVING, predictor.runtime.name, predictor.bf16)
    with Live(str(paths.EVAL_LIVE), dvcyaml=False, save_dvc_exp=False) as live:
        # The scores depend on it (docs/pipeline.md: Reproducibility).
        live.log_metric("bf16", int(predictor.bf16), plot=False)
        frames = {name: evaluation_frame(name, params) for name in scored_splits()}
        for name, frame in frames.items():
            evaluate_split(live, predictor, name, frame)
        evaluate_synthetic_emoji(live, predictor, frames["val"], params.seed)
        evaluate_robustness(live, predictor, frames["test"], params.evaluate.robustness_samples, params.seed)
