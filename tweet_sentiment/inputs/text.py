"""A text file's lines, whatever its container, encoding and line ends, each once and numbered.

Lines end at `\\n`, `\\r\\n` or a lone `\\r` (Excel for Mac's "CSV (Macintosh)"),
mixed in one file too; each line keeps its end, so a CSV reader still sees a
quoted line break inside a field. A line longer than `MAX_LINE_CHARS` is not
held in memory: it is skipped to its end and reported, so its record is lost
with the reason `too_large` and nothing else moves.
"""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tweet_sentiment.inputs import charsets
from tweet_sentiment.inputs.accounting import Rejection
from tweet_sentiment.inputs.containers import MAX_DECOMPRESSED_BYTES, Opened, open_content
from tweet_sentiment.inputs.errors import InputError

MAX_LINE_CHARS = 4 * 1024 * 1024  # a record's line: 15,000 tweets' worth; past it the line is lost, counted
OVERSIZED = "\n"  # what an over-long line reads as: a blank line, its loss reported in `TextInput.oversized`


class _Prefixed(io.RawIOBase):
    """`head` then the rest of `stream`: the sample the encoding was guessed from is read again, not lost."""

    def __init__(self, head: bytes, stream) -> None:
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class TextInput:
    """A text file being read: what it was (`compression`, `encoding`), its lines, and what could not be read.

    `oversized` holds the numbers of lines skipped for being over `MAX_LINE_CHARS`;
    `damage()` says, once the lines are exhausted, whether a compressed stream
    ended early (its unreadable tail is lost).
    """

    url: str
    compression: str | None
    encoding: str
    text: io.TextIOWrapper
    opened: Opened
    start: str  # the first character that is not whitespace ("" for none in the first bytes)
    oversized: set[int] = field(default_factory=set)

    def lines(self) -> Iterator[str]:
        """Every line with its end; an over-long one as a bare `\\n`, its number put in `oversized`.

        A last line without an end in a compressed file that ended early is cut:
        it is not yielded, and `tail_loss` covers it with the rest.
        """
        number = 0
        while True:
            line = self.text.readline(MAX_LINE_CHARS)
            if not line:
                return
            if not line.endswith(("\n", "\r")) and len(line) < MAX_LINE_CHARS and self.opened.damage():
                return
            number += 1
            if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
                while (rest := self.text.readline(MAX_LINE_CHARS)) and not rest.endswith(("\n", "\r")):
                    pass
                self.oversized.add(number)
                line = OVERSIZED
            yield line

    def tail_loss(self) -> Rejection | None:
        """The loss of a compressed file's unreadable tail, once its lines are read; None if it was whole."""
        damage = self.opened.damage()
        return Rejection("truncated", f"{damage}; the rest of the file is lost") if damage else None


def oversized_rejection() -> Rejection:
    return Rejection("too_large", f"a line over {MAX_LINE_CHARS:,} characters; split the record or shorten it")


@contextmanager
def open_text(url: str, limit: int = MAX_DECOMPRESSED_BYTES) -> Iterator[TextInput]:
    """The file at `url` as text; `InputError` if it is Parquet or a container the layer cannot read."""
    with open_content(url, limit) as opened:
        if opened.kind == "parquet":
            raise InputError(f"{url}: a Parquet file, where text (CSV or JSON lines) was expected")
        head = opened.stream.read(charsets.SAMPLE_BYTES)
        try:
            encoding = charsets.detect(head)
        except InputError as error:
            raise InputError(f"{url}: {error}") from None
        raw = io.BufferedReader(_Prefixed(head, opened.stream), buffer_size=1 << 20)
        text = io.TextIOWrapper(raw, encoding=encoding, errors=charsets.ERRORS, newline="")
        start = head.decode(encoding, errors="ignore").lstrip()[:1]
        yield TextInput(url, opened.compression, encoding, text, opened, start)
