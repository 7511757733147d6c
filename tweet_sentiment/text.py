"""Tweet text normalisation, shared by training and serving.

`normalise` is TweetEval's own preprocessing (the cardiffnlp model cards'
`preprocess`): a token that starts with `@` becomes `@user`, one that starts
with `http` becomes `http`; before that, HTML entities that Twitter's API left
in the text (`&amp;`, `&lt;`, `&quot;`...) are decoded. Training, evaluation and
serving all apply this one function, so a model sees served tweets exactly as
it saw training tweets.
"""

import html
import re
import unicodedata

_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_NOT_WORD = re.compile(r"[\W_]+")


def decode_escapes(text: str) -> str:
    r"""Decode literal `\uXXXX` escapes left in the 2013/2014 SemEval files."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def strip_wrapping_quotes(text: str) -> str:
    """Drop the pair of double quotes that a TSV export wrapped a tweet in."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def _normalise_token(token: str) -> str:
    if token.startswith("@") and len(token) > 1:
        return "@user"
    if token.startswith("http"):
        return "http"
    return token


def decode_entities(text: str) -> str:
    """Decode HTML entities until none is left, so that normalising twice changes nothing.

    Some training tweets were escaped twice (`&amp;amp;`); evaluation normalises
    text that `download` already normalised, and must see what serving sees.
    """
    while (decoded := html.unescape(text)) != text:
        text = decoded
    return text


def normalise(text: str) -> str:
    """Normalise a tweet: HTML entities decoded, `@user` for handles, `http` for links."""
    return " ".join(_normalise_token(token) for token in decode_entities(text).split())


def match_key(text: str) -> str:
    """A loose key under which two copies of one tweet compare equal.

    Finds the same tweet across sources that differ in escaping, quoting, links
    (TweetEval dropped some), case, punctuation and whitespace; used for
    duplicate and leakage removal, never as model input.
    """
    tokens = normalise(decode_escapes(text)).split()
    text = " ".join(token for token in tokens if token != "http")
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())
