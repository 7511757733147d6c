"""Which rows can be scored: the service's rules for a tweet, applied to the text value of a row.

A row is scored when its text is a string of valid UTF-8 that `POST /predict`
would accept (the service's own `Tweet` validator: not empty or whitespace
only once normalised, at most `MAX_TWEET_CHARS` characters). The model-side rule, that the
tokenizer leaves at least one word piece, is `scoring.score_texts`'s.

Reasons (a `Rejection`'s code) for text: `missing`, `not_text`, `undecodable`,
`blank`, `too_long`, `no_tokens`; besides the input layer's for a record it
could not read (`inputs.accounting.LOSS_REASONS`).
"""

import math

from pydantic import TypeAdapter, ValidationError

from tweet_sentiment.inputs.accounting import Rejection
from tweet_sentiment.serving.limits import MAX_TWEET_CHARS, Tweet

TWEET = TypeAdapter(Tweet)  # the rules each tweet of `POST /predict` is held to


NO_TOKENS = Rejection("no_tokens", "no word piece left once tokenized (replacement characters or combining marks only)")


def is_missing(value: object) -> bool:
    """None, NaN or pandas' NA: a cell with no value."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or type(value).__name__ == "NAType"


def check_text(value: object) -> Rejection | None:
    """None if `value` is a tweet the service would score, else why not.

    `value` is one cell of the text column as read: a `Rejection` already (a
    record that could not be read at all) is returned as it is. Undecodable
    bytes arrive as lone surrogates (`inputs.charsets.ERRORS`) and are refused here.
    """
    if isinstance(value, Rejection):
        return value
    if is_missing(value):
        return Rejection("missing", "no text in this row")
    if not isinstance(value, str):
        return Rejection("not_text", f"the text is a {type(value).__name__}, not a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        byte = ord(value[error.start]) - 0xDC00 if "\udc00" <= value[error.start] <= "\udcff" else None
        where = f"byte 0x{byte:02x}" if byte is not None else "a lone surrogate"
        return Rejection("undecodable", f"not valid UTF-8 ({where} at character {error.start})")
    try:
        TWEET.validate_python(value)
    except ValidationError as error:
        kind = error.errors()[0]["type"]
        if kind == "string_too_long":
            return Rejection("too_long", f"{len(value)} characters, over the service's limit of {MAX_TWEET_CHARS}")
        return Rejection("blank", "empty or whitespace only once normalised (invisible characters count as whitespace)")
    return None
