"""The language of a tweet: an ISO 639-1 code, or `und` (undetermined) where the text cannot tell.

The model is trained on English tweets; this says which predictions were made
on something else. Detection is py3langid's naive Bayes over byte n-grams (its
model ships inside its wheel: nothing is downloaded at run time), restricted to
`CANDIDATES`. Before detection, URLs, @mentions, emoji, digits and punctuation
are removed; a text is `und` when what is left is empty or a single word (for
scripts written without spaces, Japanese, Chinese, Thai, fewer than
`MIN_UNSPACED_CHARS` characters), or when the detector's probability for its
answer is below `MIN_CONFIDENCE`.

Measured by `python -m benchmarks.language_detectors` (docs/language.md has the
table) on tests/data/language_sample.tsv, 585 short tweets in 9 languages
written for the test and 72 emoji-only, URL/mention/number-only and one-word
texts: 99.7% of the 585 get their language (each language's recall at least
98.5%) and all 72 others get `und`; of 2,000 TweetEval test tweets (English),
1.2% get another language (a third of those 24 are not English indeed: Spanish,
Catalan, Indonesian; the others are mostly names and hashtags). On a 2-core AMD EPYC
(AVX512), one thread: a median 52 to 59 µs a tweet in different runs, cleaning
included; the first call loads the model in 0.3 to 0.5 s and adds 51 MB of RSS.

Import-light (no numpy or model until the first call), and thread-safe: the
detector is loaded once per process, under a lock, and only read afterwards.
"""

import re
import threading
import unicodedata
from collections.abc import Sequence
from typing import Any

import emoji

from tweet_sentiment.core.text import decode_entities

UNDETERMINED = "und"
OTHER = "other"
# The values of the `lang` label of the service's metrics: a fixed, bounded set (each label
# value is a time series), the languages of the sample, `und`, and `other` for every other one.
LANGUAGE_LABELS: tuple[str, ...] = ("en", "es", "pt", "fr", "de", "it", "ja", "ar", "tr", UNDETERMINED, OTHER)
# The languages the detector chooses among: the sample's nine and other large ones. py3langid
# knows 140; with all of them it called 7.1% of 2,000 English TweetEval test tweets another
# language (3.5% Nigerian Pidgin, `pcm`), with these 2.3% (before the `und` rules). A language
# outside the set comes out as the nearest one inside it: not English either way.
CANDIDATES: tuple[str, ...] = (
    *("en", "es", "pt", "fr", "de", "it", "tr", "ja", "ar", "arz", "ary"),
    *("nl", "ca", "sv", "pl", "ru", "uk", "el", "he", "fa", "ur", "hi", "id", "ms", "tl", "ko", "th", "zh"),
)
# Egyptian and Moroccan Arabic have no ISO 639-1 code of their own: both are `ar`.
ALIASES = {"arz": "ar", "ary": "ar"}
# Below this probability the answer is `und`: the highest threshold that kept every right answer
# on the sample; it takes the English TweetEval tweets called another language from 2.1% to 1.2%.
MIN_CONFIDENCE = 0.3
MIN_WORDS = 2  # of scripts written with spaces; one word alone is `und` ("lol", "gracias!")
MIN_UNSPACED_CHARS = 4  # of scripts written without spaces ("すごい" is `und`, "おはようございます" is Japanese)

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@\w+")
# Kana, CJK ideographs, half-width katakana, Thai, Lao, Myanmar, Khmer.
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]"
)
# Variation selectors and the keycap mark are marks (Mn, Me) but belong to emoji, not to words.
_EMOJI_MARKS = frozenset("\ufe0e\ufe0f\u20e3")
_LOAD_LOCK = threading.Lock()
_IDENTIFIER: Any = None  # py3langid's identifier, once `_detector` loaded it


def _is_letter(char: str) -> bool:
    """Letters and the combining marks of words (Devanagari vowel signs, Arabic harakat)."""
    if char.isalpha():
        return True
    return not char.isascii() and char not in _EMOJI_MARKS and unicodedata.category(char)[0] == "M"


def words_of(text: str) -> str:
    """`text` without URLs, @mentions, emoji, digits and punctuation: its words, single-spaced.

    HTML entities are decoded first, as the model's normaliser does (tweets from Twitter's
    API arrive with `&amp;`): `Tom &amp; Jerry` is two words, not three.
    """
    text = _MENTION.sub(" ", _URL.sub(" ", decode_entities(text)))
    if not text.isascii():  # every emoji has a character beyond ASCII
        text = emoji.replace_emoji(text, " ")
    return " ".join("".join(char if _is_letter(char) else " " for char in text).split())


def too_short(words: str) -> bool:
    """Whether `words` (from `words_of`) are too few to tell a language by."""
    unspaced = len(_UNSPACED.findall(words))
    spaced = sum(1 for word in words.split() if not _UNSPACED.search(word))
    return unspaced < MIN_UNSPACED_CHARS and spaced < MIN_WORDS


def _load() -> Any:
    """py3langid's model with only the `CANDIDATES` columns.

    Built here rather than by `set_languages`, which keeps the whole 140-language
    table beside the restricted copy: 27 MB more per process, same answers.
    """
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    keep = [i for i, code in enumerate(classes) if code in CANDIDATES]
    return LanguageIdentifier(
        ptc[:, keep], pc[keep], [classes[i] for i in keep], nextmove, output, norm_probs=True, tk_row=row
    )


def _detector() -> Any:
    """py3langid's identifier, restricted to `CANDIDATES`; loaded once, by the first caller of the process.

    Only the first calls take the lock; afterwards the identifier is only read, so threads share it.
    """
    global _IDENTIFIER
    if _IDENTIFIER is None:
        with _LOAD_LOCK:
            if _IDENTIFIER is None:
                _IDENTIFIER = _load()
    return _IDENTIFIER


def classify(words: str) -> tuple[str, float]:
    """The detector's language for `words` (from `words_of`) and its probability, before the `und` rules."""
    language, confidence = _detector().classify(words)
    return ALIASES.get(language, language), confidence


def detect_language(text: str) -> str:
    """The ISO 639-1 code of `text`'s language, or `und` (too short, only emoji/URLs/mentions/numbers, unsure)."""
    words = words_of(text)
    if too_short(words):
        return UNDETERMINED
    language, confidence = classify(words)
    return language if confidence >= MIN_CONFIDENCE else UNDETERMINED


def detect_languages(texts: Sequence[str]) -> list[str]:
    """`detect_language` of each text, in order."""
    return [detect_language(text) for text in texts]


def metric_language(code: str) -> str:
    """`code` if it is one of `LANGUAGE_LABELS`, else `other`: a metric label with a bounded set of values."""
    return code if code in LANGUAGE_LABELS else OTHER
