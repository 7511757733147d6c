"""The model card's limitations, each measured: computed from the committed metrics, never written by hand."""

from __future__ import annotations

from typing import Any

from tweet_sentiment.card.facts import (
    EMOJI_ACCURACY,
    EVAL_METRICS,
    LANGUAGE_DOC,
    PER_CLASS,
    CardInputs,
    evaluated_splits,
)
from tweet_sentiment.card.sections import SLICE_OF, count, plural, rate, table
from tweet_sentiment.evaluate.emoji_accuracy import MIN_EMOJI_TWEETS

WORST_EMOJI = 5  # emoji the card lists


def emoji_pairs(evaluation: dict[str, Any]) -> list[tuple[str, str]]:
    """(emoji slice, compared with): `<split>_emoji` with `<split>_no_emoji`, a synthetic slice with its split."""
    pairs = []
    for name in evaluated_splits(evaluation):
        if name.endswith("_emoji") and not name.endswith("_no_emoji"):
            without = f"{name.removesuffix('_emoji')}_no_emoji"
            against = without if without in evaluation else SLICE_OF.get(name)
            if against in evaluation:
                pairs.append((name, against))
    return pairs


def _emoji(inputs: CardInputs) -> str:
    ev = inputs.evaluation
    pairs = sorted(emoji_pairs(ev), key=lambda pair: ev[pair[0]]["macro_recall"] - ev[pair[1]]["macro_recall"])
    rows = [
        (
            name,
            rate(ev[name]["macro_recall"]),
            against,
            rate(ev[against]["macro_recall"]),
            f"{ev[name]['macro_recall'] - ev[against]['macro_recall']:+.4f}",
        )
        for name, against in pairs
    ]
    shifts = {row["shift"]: row for row in inputs.robustness}
    removed = (
        f"Deleting every emoji from the robustness sample moves its macro recall by "
        f"{-shifts['no_emoji']['drop']:+.4f} (`no_emoji`)."
        if "no_emoji" in shifts
        else ""
    )
    slices = table(["slice", "macro recall", "against", "its macro recall", "difference"], rows)
    parts = [
        f"Emoji: the slices with emoji, worst first, against the same split's tweets without (`{EVAL_METRICS}`):",
        slices,
        removed,
        _worst_emoji(inputs),
    ]
    return "\n\n".join(part for part in parts if part)


def _worst_emoji(inputs: CardInputs) -> str:
    """The emoji whose test tweets it gets wrong most often, from evaluate's accuracy by emoji."""
    if not inputs.emoji_accuracy:
        return f"No emoji is in {MIN_EMOJI_TWEETS} or more of the scored test tweets, so none is scored on its own."
    test = inputs.evaluation["test"]["accuracy"]
    rows = [(row["emoji"], count(row["tweets"]), rate(row["accuracy"])) for row in inputs.emoji_accuracy[:WORST_EMOJI]]
    return f"""The emoji it reads worst: the accuracy on the test tweets holding each emoji found in \
{MIN_EMOJI_TWEETS} or more, lowest first, against {rate(test)} on all of test (`{EMOJI_ACCURACY}`):

{table(["emoji", "tweets", "accuracy"], rows)}"""


def _shifts(inputs: CardInputs) -> str:
    worst = sorted(inputs.robustness, key=lambda row: -row["drop"])[:2]
    listed = ", ".join(f"{row['shift']} {rate(row['drop'])}" for row in worst)
    return f"- Drift: the largest drops of macro recall under a shift of the text are {listed} (Evaluation's table)."


def _weakest_class(inputs: CardInputs) -> str:
    if "test" not in inputs.per_class:
        return ""
    row = min(inputs.per_class["test"], key=lambda r: r["recall"])
    return (
        f"\n- Weakest class on test: {row['label']}, recall {rate(row['recall'])} (precision "
        f"{rate(row['precision'])}, {count(row['support'])} tweets; `{PER_CLASS}/per_class_test.json`)."
    )


def _gap(inputs: CardInputs) -> str:
    val, test = (inputs.evaluation[split]["macro_recall"] for split in ("val", "test"))
    patience = inputs.params["train.early_stopping_patience"]
    gap = f"{rate(val - test)} lower on test" if val >= test else f"{rate(test - val)} higher on test"
    return (
        f"- Validation against test: macro recall {rate(val)} on val, {rate(test)} on test, {gap}. "
        f"Validation chose the checkpoint (training stops after {patience} {plural(patience, 'epoch')} without a "
        "better val macro recall) and the recipe, so its figure is optimistic: expect test's."
    )


def _languages() -> str:
    text = (
        "- Languages: trained and evaluated on English tweets only (SemEval-2017 Task 4A English, TweetEval); "
        "no other language was measured, so its answers on them are unknown. Every answer carries the tweet's "
        f"detected language (`lang`) and the drift report the share of non-English traffic: `{LANGUAGE_DOC}`."
    )
    return text


def limitations(inputs: CardInputs) -> str:
    return (
        f"## Limitations\n\n{_languages()}\n{_gap(inputs)}{_weakest_class(inputs)}\n{_shifts(inputs)}\n\n"
        f"{_emoji(inputs)}"
    )
