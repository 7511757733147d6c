"""Tweet text normalisation, shared by training and serving.

`normalise` is TweetEval's own preprocessing (the cardiffnlp model cards'
`preprocess`): a token that starts with `@` becomes `@user`, one that starts
with `http` becomes `http`. Before that, so that the model reads the whole
tweet: HTML entities that Twitter's API left in the text (`&amp;`, `&lt;`...)
are decoded, emoji become their CLDR names as plain words (BERTweet's
`emoji.demojize` step; this tokenizer has no entry for almost any emoji),
invisible format and control characters are dropped, styled letters become
plain ones (NFKC of letters and digits: mathematical bold, full-width), and a
pair of double quotes wrapping the whole tweet (a TSV export's) is removed. Training,
evaluation and serving all apply this one function, so a model sees served
tweets exactly as it saw training tweets.
"""

import functools
import html
import re
import unicodedata

import emoji

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_NOT_WORD = re.compile(r"[\W_]+")
# Fitzpatrick skin-tone modifiers: no sentiment, and the Emoji Sentiment Ranking
# (2015) that teaches the model what emoji mean lists no toned variant.
_SKIN_TONE = re.compile("[\U0001f3fb-\U0001f3ff]")
_TONE_WORDS = re.compile(r"_(?:light|medium-light|medium|medium-dark|dark)_skin_tone")
# A run of two or more numeric character references (`&#55357;&#56834;`), and one of them.
_REFERENCE_RUN = re.compile(r"(?:&#(?:[xX][0-9a-fA-F]+|[0-9]+);){2,}")
_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Variation selectors left over once emoji are words (text/emoji presentation).
_VARIATION_SELECTOR = re.compile("[\ufe0e\ufe0f]")
# The control characters of ASCII that are not whitespace (the rest of Cc and Cf is not ASCII).
_ASCII_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f]")
# The characters beyond ASCII an emoji can start with; no emoji is ASCII alone (keycaps
# such as #️⃣ end in U+20E3). Text without one skips the emoji package's tokenizer
# (about 140 us a tweet on a 2-core AVX2 EPYC, whether or not the tweet holds an emoji).
_EMOJI_STARTS = frozenset(sequence[0] for sequence in emoji.EMOJI_DATA if not sequence[0].isascii()) | {"\u20e3"}
# Format characters that stand between words (zero-width space, bidi marks, BOM): a space,
# so that `hi\u200e@bob` keeps `@bob` a handle. The other Cf characters (soft hyphen,
# joiners) sit inside a word and are removed.
_WORD_BREAK_FORMAT = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _untoned_names() -> dict[str, str]:
    """Each emoji with a skin tone -> the `emoji` package name of its untoned form (`""` for a lone tone).

    The name with its tone words removed (`:handshake_light_skin_tone_dark_skin_tone:`
    -> `:handshake:`, the name of 🤝). CLDR names the gender-neutral couples
    `couple with heart: person, person, <tones>`, whose untoned form is the single
    character 💑 (`:couple_with_heart:`), so `_person_person` goes too where only
    that names an untoned emoji. Every toned emoji of the pinned package resolves
    (tests/test_text.py checks).
    """
    untoned = {data["en"] for sequence, data in emoji.EMOJI_DATA.items() if not _SKIN_TONE.search(sequence)}
    names = {}
    for sequence, data in emoji.EMOJI_DATA.items():
        if _SKIN_TONE.search(sequence):
            name = _TONE_WORDS.sub("", data["en"])
            if name not in untoned:
                name = name.replace("_person_person:", ":")
            names[sequence] = "" if _SKIN_TONE.fullmatch(sequence) else name
    return names


UNTONED_NAMES = _untoned_names()


def decode_escapes(text: str) -> str:
    r"""Decode literal `\uXXXX` escapes left in the 2013/2014 SemEval files."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def strip_wrapping_quotes(text: str) -> str:
    """Drop the pair of double quotes that a TSV export wrapped a tweet in (inner `""` become `"`)."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def _may_hold_emoji(text: str) -> bool:
    return not (text.isascii() or _EMOJI_STARTS.isdisjoint(text))


def _emoji_words(sequence: str, data: dict) -> str:
    name = UNTONED_NAMES.get(sequence, data["en"])
    return f" {name.strip(':').replace('_', ' ')} "


def emoji_as_words(text: str) -> str:
    """Each emoji as its CLDR name in plain words, skin tone dropped: `I am 😡` -> `I am enraged face`.

    Names come from the pinned `emoji` package (`data["en"]`, e.g.
    `:face_with_tears_of_joy:`), colons and underscores turned into spaces so
    that WordPiece reads ordinary words. ZWJ sequences are one emoji (`👨‍👩‍👧`
    -> `family man woman girl`); emoticons such as `:)` are left as they are.
    Skin tones are dropped once a sequence is matched, not before: removing them
    first breaks two-tone sequences apart (`🫱🏻‍🫲🏿` would read `rightwards hand
    leftwards hand`, carpedm20/emoji#204); matched whole, it reads as 🤝 does.
    """
    if not _may_hold_emoji(text):
        return text
    return emoji.replace_emoji(text, replace=_emoji_words)


def has_emoji(text: str) -> bool:
    """Whether `text` holds an emoji, by the `emoji` package's count (how `evaluate` splits test in two)."""
    text = decode_entities(text)  # `&#128512;` reaches the model as an emoji
    return _may_hold_emoji(text) and emoji.emoji_count(text) > 0


def drop_invisible(text: str) -> str:
    """Remove Unicode format (Cf) and control (Cc) characters; whitespace stays, word-break ones become a space.

    Zero-width space/joiners, BOM, soft hyphen, bidi marks and NUL would
    otherwise glue to the word next to them (`@bob\u200bawful` is one token,
    all of it `@user`). Run after `emoji_as_words`, which needs the joiners.
    """
    if text.isascii():
        return _ASCII_CONTROL.sub("", text)
    text = _VARIATION_SELECTOR.sub("", _WORD_BREAK_FORMAT.sub(" ", text))
    return "".join(c for c in text if c.isspace() or unicodedata.category(c) not in ("Cf", "Cc"))


def _normalise_token(token: str) -> str:
    if token.startswith("@") and len(token) > 1:
        return "@user"
    if token.startswith("http"):
        return "http"
    return token


def _join_surrogate_halves(run: re.Match) -> str:
    """A run of numeric references with each UTF-16 pair (`&#55357;&#56834;`) as the character it spells (😂)."""
    references = [(m[0], int(m[1], 16) if m[1] else int(m[2])) for m in _REFERENCE.finditer(run[0])]
    joined, i = [], 0
    while i < len(references):
        reference, point = references[i]
        low = references[i + 1][1] if i + 1 < len(references) else 0
        if 0xD800 <= point < 0xDC00 and 0xDC00 <= low < 0xE000:
            joined.append(chr(0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00)))
            i += 2
        else:
            joined.append(reference)
            i += 1
    return "".join(joined)


def _unescape(text: str) -> str:
    """`html.unescape`, with references to UTF-16 surrogate halves joined first.

    HTML 5 decodes a reference to a lone surrogate as U+FFFD, so `&#55357;&#56834;`,
    the form some exporters write an emoji in (zzzprojects/html-agility-pack#323),
    would reach the model as two replacement characters.
    """
    if "&#" in text:
        text = _REFERENCE_RUN.sub(_join_surrogate_halves, text)
    return html.unescape(text)


def decode_entities(text: str) -> str:
    """Decode HTML entities until none is left, so that normalising twice changes nothing.

    Some training tweets were escaped twice (`&amp;amp;`); evaluation normalises
    text that `download` already normalised, and must see what serving sees.
    """
    while (decoded := _unescape(text)) != text:
        text = decoded
    return text


@functools.lru_cache(maxsize=4096)
def _plain_form(char: str) -> str:
    return unicodedata.normalize("NFKC", char) if unicodedata.category(char)[0] in "LN" else char


def compatibility_forms(text: str) -> str:
    """Styled and full-width letters and digits as plain ones (Unicode NFKC, letters and digits only).

    The tokenizer's own normaliser (NFD, lower case, accents off) keeps
    mathematical bold letters (U+1D5D4...) and full-width ones (U+FF41...) as
    characters it has no word piece for, so they reach the model as `[UNK]`.
    Punctuation and symbols keep their form: the tokenizer knows `…` (U+2026),
    and NFKC of the whole text, which writes it `...`, changed 1,337 TweetEval
    test tweets and cost 0.0007 test macro recall with the same weights (no
    training or validation tweet changes either way; docs/pipeline.md). Run after
    `emoji_as_words`: NFKC would turn the emoji trade mark (U+2122) and
    information (U+2139) into the letters `TM` and `i`.
    """
    return text if text.isascii() else _NON_ASCII.sub(lambda match: _plain_form(match[0]), text)


def _normalise_once(text: str) -> str:
    text = compatibility_forms(drop_invisible(emoji_as_words(decode_entities(text)))).strip()
    while (unwrapped := strip_wrapping_quotes(text).strip()) != text:
        text = unwrapped
    return " ".join(_normalise_token(token) for token in text.split())


def normalise(text: str) -> str:
    """A tweet as the model reads it: entities decoded, emoji as words, plain letters, no invisible marks or quotes.

    Then TweetEval's rules: `@user` for handles, `http` for links. Applied until
    nothing changes (one pass, rarely two: removing a soft hyphen can join `&am`
    and `p;`), so normalising twice changes nothing; evaluation re-normalises
    prepared text. May return "" (blank or invisible-only input).
    """
    while (normalised := _normalise_once(text)) != text:
        text = normalised
    return text


def match_key(text: str) -> str:
    """A loose key under which two copies of one tweet compare equal.

    Finds the same tweet across sources that differ in escaping, quoting, links
    (TweetEval dropped some), case, punctuation and whitespace; used for
    duplicate and leakage removal, never as model input.
    """
    tokens = normalise(decode_escapes(text)).split()
    text = " ".join(token for token in tokens if token != "http")
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())
