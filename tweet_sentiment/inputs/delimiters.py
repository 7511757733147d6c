"""Which separator a delimited text file uses: given, or sniffed from its first lines.

Candidates are `,` `;` tab and `|` (Excel writes `;` where the decimal mark is a
comma). Sniffing parses the first `SAMPLE_LINES` lines with each candidate and
takes the one that splits the header into the most consistent rows: the share of
records as wide as the header, then the header's width, then the order above.
A header that splits on no candidate is a one-column file (`,`).

A separator the user gave is used as given, unless the header holds none of it
but splits on another: then the file is refused naming the one it uses, since
reading it would give one column holding whole lines.
"""

import csv
import io
import itertools

from tweet_sentiment.inputs.errors import InputError

CANDIDATES = (",", ";", "\t", "|")
NAMES = {",": ",", ";": ";", "\t": "\\t", "|": "|"}  # as written in params.yaml and on a command line
SAMPLE_LINES = 50


def parse(value: str | None) -> str | None:
    """A separator as a user writes it (`\\t` or `tab` for a tab) -> the character; None: sniff it.

    Raises `InputError` for anything but one of `CANDIDATES`.
    """
    if value is None:
        return None
    separator = {"\\t": "\t", "tab": "\t"}.get(value, value)
    if separator not in CANDIDATES:
        known = " ".join(f"'{name}'" for name in NAMES.values())
        raise InputError(f"separator '{value}' is not one of {known}; pick one, or leave it unset")
    return separator


def _widths(sample: str, separator: str) -> list[int]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=separator)
    widths = []
    try:
        for fields in itertools.islice(reader, SAMPLE_LINES):
            if fields:
                widths.append(len(fields))
    except csv.Error:
        pass
    return widths


def choose(sample: str, given: str | None, where: str) -> str:
    """The separator for a file whose first lines are `sample`; `given` if set and it fits the header.

    Raises `InputError` when `given` does not split the header but another candidate does.
    """
    widths = {separator: _widths(sample, separator) for separator in CANDIDATES}
    splitting = [s for s in CANDIDATES if widths[s] and widths[s][0] > 1]
    if given is not None:
        if given in splitting or not splitting:
            return given
        other = max(splitting, key=lambda s: widths[s][0])
        raise InputError(
            f"{where}: the header line has no '{NAMES[given]}' but splits on '{NAMES[other]}'; "
            f"set the separator to '{NAMES[other]}' (or leave it unset to sniff it)"
        )
    if not splitting:
        return ","

    def fit(separator: str) -> tuple[float, int, int]:
        rows = widths[separator]
        consistent = sum(1 for width in rows[1:] if width == rows[0]) / max(1, len(rows) - 1)
        return consistent, rows[0], -CANDIDATES.index(separator)

    return max(splitting, key=fit)
