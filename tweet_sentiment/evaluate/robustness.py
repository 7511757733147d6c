"""Controlled shifts of tweet text, to score the model under drift.

Each perturbation is a small function `(text, rng) -> str` that mimics one way
served tweets may differ from TweetEval: typos, case, styled letters, no emoji (or hashtags),
extra links and handles, cut-off text. `evaluate` scores the same sample of
test tweets under each, next to `original`, so a drop is the shift's effect
alone. Perturbed text goes through the model's own `normalise()` like any
input (links become `http`, handles `@user`): what is measured is what reaches
the model.

Randomness is seeded per tweet (from the seed and the tweet's text), so a tweet
is perturbed the same way whatever sample or order it comes in.
"""

import re
import zlib
from collections.abc import Callable, Sequence

import emoji
import numpy as np

from tweet_sentiment.core.metrics import headline_scores
from tweet_sentiment.core.text import normalise

Perturbation = Callable[[str, np.random.Generator], str]

TYPO_RATE = 0.25  # share of eligible words that get one typo
_TYPO_MIN_LENGTH = 4  # words longer than 3 characters
_TOKEN = re.compile(r"\S+")
_ALNUM = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
# A hashtag token, `#` plus its word; not an HTML entity's `&#39;`.
_HASHTAG = re.compile(r"(?<![\w&])#\w+")


def _is_link_or_handle(token: str) -> bool:
    return token.startswith(("@", "http"))


def _map_words(text: str, change: Callable[[str], str]) -> str:
    """Apply `change` to every word but links and handles, keeping the whitespace."""
    return _TOKEN.sub(lambda m: m.group() if _is_link_or_handle(m.group()) else change(m.group()), text)


def _typo(word: str, rng: np.random.Generator) -> str:
    """One keyboard slip: two neighbouring characters swapped, one dropped or one doubled."""
    kind = rng.integers(3)
    i = int(rng.integers(len(word) - 1))
    if kind == 0 and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 2:
        return word[: i + 1] + word[i:]
    return word[:i] + word[i + 1 :]  # a drop, or a swap of two equal characters (a no-op otherwise)


def original(text: str, rng: np.random.Generator) -> str:
    """The tweet as it is: the baseline the other rows are compared with."""
    return text


def typos(text: str, rng: np.random.Generator) -> str:
    """About one in four words longer than 3 characters gets one typo: fast phone typing.

    Links, handles and hashtags are left alone (pasted or autocompleted, not
    typed); the word count never changes.
    """

    def maybe_typo(token: str) -> str:
        eligible = len(token) >= _TYPO_MIN_LENGTH and not token.startswith("#")
        return _typo(token, rng) if eligible and rng.random() < TYPO_RATE else token

    return _map_words(text, maybe_typo)


def lowercase(text: str, rng: np.random.Generator) -> str:
    """All lower case, as from users who never press shift."""
    return _map_words(text, str.lower)


def uppercase(text: str, rng: np.random.Generator) -> str:
    """All capitals (shouting); links and handles stay as they were."""
    return _map_words(text, str.upper)


# Mathematical sans-serif bold (U+1D5D4...), what "bold text" generators for social media post.
_STYLED = str.maketrans(
    {
        **{chr(ord("A") + i): chr(0x1D5D4 + i) for i in range(26)},
        **{chr(ord("a") + i): chr(0x1D5EE + i) for i in range(26)},
        **{chr(ord("0") + i): chr(0x1D7EC + i) for i in range(10)},
    }
)


def styled_letters(text: str, rng: np.random.Generator) -> str:
    """Letters and digits in Unicode's mathematical sans-serif bold; links and handles as they were.

    The tokenizer has no word piece for these characters; `normalise` maps them
    back (NFKC), so this shift should cost nothing.
    """
    return _map_words(text, lambda word: word.translate(_STYLED))


def no_emoji(text: str, rng: np.random.Generator) -> str:
    """Every emoji removed (the `emoji` package's, sequences whole): clients or exports that drop them.

    Emoji often carry the sentiment (`😍`, `😡`), so this measures how much the
    model has learned to read them; only tweets with emoji change.
    """
    return " ".join(emoji.replace_emoji(text, " ").split())


def no_emoji_hashtags(text: str, rng: np.random.Generator) -> str:
    """Emoji and whole `#hashtag` tokens removed, as `no_emoji` and then hashtags (`#blessed`)."""
    return " ".join(_HASHTAG.sub(" ", no_emoji(text, rng)).split())


def added_urls_handles(text: str, rng: np.random.Generator) -> str:
    """A reply: an `@handle` in front and a shortened `https://t.co/...` link at the end.

    Neutral noise that tweets from other sources carry more of than TweetEval.
    """
    slug = "".join(rng.choice(_ALNUM, size=10))
    handle = "".join(rng.choice(_ALNUM[:26], size=int(rng.integers(4, 12))))
    return f"@{handle} {text} https://t.co/{slug}"


def truncated(text: str, rng: np.random.Generator) -> str:
    """The first half of the words (rounded up): tweets cut off by a preview or a length limit."""
    words = text.split()
    return " ".join(words[: (len(words) + 1) // 2])


# The shifts in table order, `original` first.
PERTURBATIONS: dict[str, Perturbation] = {
    function.__name__: function
    for function in (
        original,
        typos,
        lowercase,
        uppercase,
        styled_letters,
        no_emoji,
        no_emoji_hashtags,
        added_urls_handles,
        truncated,
    )
}


def _tweet_rng(text: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(text.encode("utf-8"))])


def perturb(texts: Sequence[str], name: str, seed: int) -> list[str]:
    """Each text under perturbation `name`, deterministic for a seed.

    A tweet that the perturbation would leave empty (all emoji, say) is kept
    as it was: the model needs text, and an empty input scores as nothing.
    """
    if name not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {name!r}; known: {', '.join(PERTURBATIONS)}.")
    change = PERTURBATIONS[name]
    perturbed = []
    for text in texts:
        new = change(text, _tweet_rng(text, seed))
        perturbed.append(new if new.strip() or not text.strip() else text)
    return perturbed


def robustness_table(
    predict: Callable[[list[str]], np.ndarray], texts: Sequence[str], y_true: Sequence[int], seed: int
) -> list[dict]:
    """One row per perturbation: headline scores, the macro recall drop vs `original`, share changed.

    `predict` maps texts to predicted label ids. Every row scores the same tweets.
    `changed` is the share of tweets whose normalised text, what reaches the
    model, differs: an edit that normalisation undoes (spacing, say) is no shift.
    """
    reaching_model = [normalise(text) for text in texts]
    rows = []
    for name in PERTURBATIONS:
        perturbed = perturb(texts, name, seed)
        scores = headline_scores(y_true, predict(perturbed))
        baseline = rows[0]["macro_recall"] if rows else scores["macro_recall"]  # `original` comes first
        changed = float(np.mean([a != normalise(b) for a, b in zip(reaching_model, perturbed, strict=True)]))
        rows.append({"shift": name, **scores, "drop": baseline - scores["macro_recall"], "changed": changed})
    return rows
