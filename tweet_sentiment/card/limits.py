"""The model card's limitations, each measured: computed from the committed metrics, never written by hand."""

from __future__ import annotations

from typing import Any

from tweet_sentiment.card.facts import EVAL_METRICS, LANGUAGE_DOC, PER_CLASS, CardInputs, evaluated_splits
from tweet_sentiment.card.sections import SLICE_OF, count, rate, table


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
        f" Deleting every emoji from the robustness sample moves its macro recall by "
        f"{-shifts['no_emoji']['drop']:+.4f} (`no_emoji`)."
        if "no_emoji" in shifts
        else ""
    )
    return f"""Emoji: the slices with emoji, worst first, against the same split's tweets without (`{EVAL_METRICS}`):

{table(["slice", "macro recall", "against", "its macro recall", "difference"], rows)}

Which single emoji it reads wrong is not measured: the committed metrics score slices, not emoji one by one.{removed}"""


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
    return (
        f"- Validation against test: macro recall {rate(val)} on val, {rate(test)} on test, {rate(val - test)} "
        f"lower on test. Validation chose the checkpoint (training stops after "
        f"{inputs.params['train.early_stopping_patience']} epoch without a better val macro recall) and the recipe, "
        "so its figure is optimistic: expect test's."
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
