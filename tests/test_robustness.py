"""Drift shifts: deterministic, changing what they claim, never emptying a tweet; the stage's table lists each."""

import json
import re
import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from tests.support.repo import REPO
from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.core.params import ParamsError, load_params
from tweet_sentiment.core.text import normalise
from tweet_sentiment.evaluate import run as evaluate_run
from tweet_sentiment.evaluate.robustness import PERTURBATIONS, perturb, robustness_table
from tweet_sentiment.evaluate.run import evaluate_served
from tweet_sentiment.serving.runtimes import Runtime

LONG = (
    "Honestly this morning commute was absolutely terrible again, the trains were delayed "
    "forever and nobody told passengers anything useful until everyone started complaining loudly online"
)
TWEETS = [
    LONG,
    "@user I love this phone so much 😀 #win http",
    "The meeting is at 5pm.",
    "It&#39;s #1 on the charts ❤️ 👍🏽 🇬🇧",
    "ok",
]
# Tweets a careless shift could empty, or that are already minimal.
EDGE_TWEETS = ["a", "ok", "😀", "😀😀 🎉", "#win", "#win #fail 😭", "@user", "http", "@user http", "  hi  "]
SHIFTS = list(PERTURBATIONS)


def test_original_comes_first_and_is_the_identity():
    assert SHIFTS[0] == "original"
    assert set(SHIFTS) == {
        "original",
        "typos",
        "lowercase",
        "uppercase",
        "styled_letters",
        "no_emoji",
        "no_emoji_hashtags",
        "added_urls_handles",
        "truncated",
    }
    assert perturb([*TWEETS, *EDGE_TWEETS, ""], "original", seed=0) == [*TWEETS, *EDGE_TWEETS, ""]


@pytest.mark.parametrize("name", SHIFTS)
def test_every_shift_is_deterministic_for_a_seed_and_per_tweet(name: str):
    first = perturb(TWEETS, name, seed=7)
    assert perturb(TWEETS, name, seed=7) == first
    # A tweet's perturbation depends on the tweet and the seed, not on the sample it is in.
    assert perturb(TWEETS[::-1], name, seed=7) == first[::-1]
    assert perturb(TWEETS[1:2], name, seed=7) == first[1:2]


@pytest.mark.parametrize("name", ["typos", "added_urls_handles"])
def test_random_shifts_follow_the_seed(name: str):
    assert perturb([LONG], name, seed=1) != perturb([LONG], name, seed=2)


@pytest.mark.parametrize("name", SHIFTS)
def test_no_shift_empties_a_tweet_and_empty_input_stays_valid(name: str):
    for original, perturbed in zip(EDGE_TWEETS + TWEETS, perturb(EDGE_TWEETS + TWEETS, name, seed=3), strict=True):
        assert isinstance(perturbed, str) and perturbed.strip(), (original, perturbed)
    assert isinstance(perturb([""], name, seed=3)[0], str)
    assert perturb([], name, seed=3) == []


def test_typos_change_about_one_in_four_long_words_by_one_edit():
    words = " ".join([LONG] * 8).split()
    perturbed = perturb([" ".join(words)], "typos", seed=0)[0].split()
    assert len(perturbed) == len(words)  # same word count
    changed = [(old, new) for old, new in zip(words, perturbed, strict=True) if old != new]
    assert all(len(old) > 3 for old, _ in changed)  # short words are never touched
    for old, new in changed:  # one character dropped or doubled, or two swapped
        assert abs(len(old) - len(new)) == 1 or sorted(old) == sorted(new), (old, new)
    eligible = sum(len(word) > 3 for word in words)
    assert 0.15 < len(changed) / eligible < 0.35


def test_typos_leave_handles_links_and_hashtags_alone():
    tweet = " ".join(["@someone https://t.co/abcdefghij #hashtagging"] * 30)
    assert perturb([tweet], "typos", seed=0) == [tweet]


def test_case_shifts_change_words_but_not_links_or_handles():
    tweet = "I LOVE it @SomeOne https://t.co/AbCd so Much"
    assert perturb([tweet], "lowercase", seed=0) == ["i love it @SomeOne https://t.co/AbCd so much"]
    assert perturb([tweet], "uppercase", seed=0) == ["I LOVE IT @SomeOne https://t.co/AbCd SO MUCH"]


def test_styled_letters_change_every_word_and_normalise_back():
    tweet = "Great game 2night @SomeOne https://t.co/AbCd 😀"
    [styled] = perturb([tweet], "styled_letters", seed=0)
    assert styled == "𝗚𝗿𝗲𝗮𝘁 𝗴𝗮𝗺𝗲 𝟮𝗻𝗶𝗴𝗵𝘁 @SomeOne https://t.co/AbCd 😀"  # noqa: RUF001 (styled on purpose)
    assert normalise(styled) == normalise(tweet)  # NFKC in normalise: the model reads the same words


def test_no_emoji_removes_whole_emoji_sequences_and_nothing_else():
    before = ["So happy 😀 #win today!", "Family 👨‍👩‍👧 time ☀️✨", "thumbs 👍🏽 up 🇬🇧", ":) plain <3 text ♡"]
    after = perturb(before, "no_emoji", seed=0)
    assert after == ["So happy #win today!", "Family time", "thumbs up", ":) plain <3 text ♡"]  # ♡ is not an emoji
    assert perturb(["😡😡😡"], "no_emoji", seed=0) == ["😡😡😡"]  # would be empty: kept as it was


def test_no_emoji_hashtags_strips_emoji_and_whole_hashtags():
    before = ["So happy 😀 #win today!", TWEETS[3], "Family 👨‍👩‍👧 time ☀️✨", "no #hashtag_here, #2024 ok"]
    after = perturb(before, "no_emoji_hashtags", seed=0)
    assert after == ["So happy today!", "It&#39;s on the charts", "Family time", "no , ok"]
    assert perturb(["😀 #win"], "no_emoji_hashtags", seed=0) == ["😀 #win"]  # would be empty: kept as it was
    assert perturb([":) plain text"], "no_emoji_hashtags", seed=0) == [":) plain text"]  # emoticons are text


def test_added_urls_handles_wraps_the_tweet_in_a_handle_and_a_link():
    [perturbed] = perturb(["great game tonight"], "added_urls_handles", seed=0)
    assert re.fullmatch(r"@[a-z]{4,11} great game tonight https://t\.co/[A-Za-z0-9]{10}", perturbed), perturbed
    assert normalise(perturbed) == "@user great game tonight http"  # what the model sees


def test_truncated_keeps_the_first_half_of_the_words():
    texts = ["one two three four", "one two three four five", "single", "a  b\nc d"]
    assert perturb(texts, "truncated", seed=0) == ["one two", "one two three", "single", "a b"]


def test_unknown_shift_is_named():
    with pytest.raises(ValueError, match="unknown perturbation 'emoji'"):
        perturb(TWEETS, "emoji", seed=0)


def _keyword_labels(texts: list[str]) -> np.ndarray:
    """A stand-in model: `#win` or `love` is positive, `hate` negative, anything else neutral."""
    return np.array(
        [
            LABEL2ID["positive"]
            if "#win" in text or "love" in text.lower()
            else LABEL2ID["negative"]
            if "hate" in text.lower()
            else LABEL2ID["neutral"]
            for text in texts
        ]
    )


def test_robustness_table_scores_every_shift_against_original():
    # "meeting  at 5" is stored as sent, two spaces: shifts that re-space it do not change it.
    texts = ["what a #win", "I love it", "I hate mondays", "meeting  at 5", "#win", "LOVE LOVE LOVE"]
    labels = _keyword_labels(texts)  # the stand-in is perfect on the original texts
    rows = robustness_table(_keyword_labels, texts, labels, seed=0)
    assert [row["shift"] for row in rows] == SHIFTS
    by_shift = {row["shift"]: row for row in rows}
    assert by_shift["original"]["macro_recall"] == 1.0 and by_shift["original"]["drop"] == 0.0
    assert by_shift["original"]["changed"] == 0.0
    # Without `#win` the first tweet looks neutral; `#win` alone would be empty, so it is kept.
    assert by_shift["no_emoji_hashtags"]["drop"] > 0
    assert by_shift["no_emoji_hashtags"]["changed"] == pytest.approx(1 / 6)
    assert by_shift["no_emoji"]["changed"] == 0.0  # no emoji in these
    assert by_shift["lowercase"]["drop"] == 0.0
    for row in rows:
        assert row["drop"] == pytest.approx(1.0 - row["macro_recall"])
        assert set(row) == {"shift", "macro_recall", "macro_f1", "accuracy", "drop", "changed"}


@pytest.mark.parametrize(("written", "expected"), [("null", None), ("3", 3)])
def test_robustness_samples_param(tmp_path: Path, written: str, expected):
    text = (REPO / "params.yaml").read_text()
    assert "robustness_samples: 2000" in text
    (tmp_path / "params.yaml").write_text(re.sub(r"robustness_samples: 2000", f"robustness_samples: {written}", text))
    assert load_params(tmp_path / "params.yaml").evaluate.robustness_samples == expected


def test_robustness_samples_must_be_positive(tmp_path: Path):
    text = (REPO / "params.yaml").read_text().replace("robustness_samples: 2000", "robustness_samples: 0")
    (tmp_path / "params.yaml").write_text(text)
    with pytest.raises(ParamsError, match=re.escape("`evaluate.robustness_samples` must be positive")):
        load_params(tmp_path / "params.yaml")


class _FakePredictor:
    """The stage's `Predictor` stand-in: keyword labels as one-hot probabilities, batch sizes recorded."""

    calls: ClassVar[list[int]] = []

    runtime = Runtime("fake", "openvino", "fp32")
    bf16 = False

    def __init__(self, model_dir, batch_size: int) -> None:
        assert Path(model_dir) == Path("models/serving")  # evaluate scores what is served

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        type(self).calls.append(len(texts))
        return np.eye(len(LABELS), dtype=np.float32)[_keyword_labels(list(texts))]


def test_evaluate_stage_logs_a_robustness_row_and_metrics_per_shift(tmp_path: Path, monkeypatch):
    texts = ["what a #win 😀", "I love it", "I hate mondays", "meeting at 5", "so much hate", "nice #win"] * 2
    prepared = tmp_path / "data/prepared"
    prepared.mkdir(parents=True)
    for split in ("val", "test"):
        frame = pd.DataFrame({"text": texts, "label": [LABELS[i] for i in _keyword_labels(texts)]})
        frame.insert(0, "id", [f"{split}-{i}" for i in range(len(texts))])
        frame.to_csv(prepared / f"{split}.csv", index=False)
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copytree(REPO / "data/emoji_sentiment", tmp_path / "data/emoji_sentiment")  # val_synthetic_emoji's
    params_text = (tmp_path / "params.yaml").read_text().replace("robustness_samples: 2000", "robustness_samples: 5")
    (tmp_path / "params.yaml").write_text(params_text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(evaluate_run, "Predictor", _FakePredictor)
    monkeypatch.setattr(_FakePredictor, "calls", [])

    evaluate_served(load_params(Path("params.yaml")))

    # val, test, val with emoji drawn for its labels, then the 5-tweet sample under each shift.
    assert _FakePredictor.calls == [len(texts), len(texts), len(texts)] + [5] * len(SHIFTS)
    metrics = json.loads(Path("metrics/eval/metrics.json").read_text())
    assert metrics["test"]["macro_recall"] == 1.0
    # Two of the twelve test tweets hold an emoji: each part is scored and counted.
    assert (metrics["test_emoji"]["tweets"], metrics["test_no_emoji"]["tweets"]) == (2, 10)
    assert metrics["test_emoji"]["accuracy"] == metrics["test_no_emoji"]["accuracy"] == 1.0
    assert set(metrics["val_synthetic_emoji"]) == {"macro_recall", "macro_f1", "accuracy"}
    assert list(metrics["robustness"]) == SHIFTS
    assert metrics["robustness"]["original"] == {"macro_recall": 1.0, "drop": 0.0}
    table = json.loads(Path("metrics/eval/plots/custom/robustness.json").read_text())
    assert [row["shift"] for row in table] == SHIFTS
    # The plot shows the numbers `dvc metrics diff` compares, shift by shift.
    assert {row["shift"]: row["macro_recall"] for row in table} == {
        shift: scores["macro_recall"] for shift, scores in metrics["robustness"].items()
    }
