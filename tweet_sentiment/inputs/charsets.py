"""Which text encoding a file's bytes are in: a byte-order mark first, then what the bytes allow.

The order (the WHATWG Encoding Standard's BOM sniffing, then the usual fallbacks
of spreadsheet exports):

1. a BOM: UTF-32 LE/BE, UTF-8 (Excel's "CSV UTF-8"), UTF-16 LE/BE (Excel's "Unicode Text");
2. no BOM but NUL bytes in a UTF-16/32 pattern (ASCII text with every other byte zero);
3. UTF-8 if the sample decodes, or if its well-formed multi-byte UTF-8 sequences
   are at least as many as its invalid bytes (then a stray bad byte costs only its record);
4. cp1252, what Excel writes as "CSV" on Western-European Windows (a superset of
   Latin-1's printable range), when they do not;
5. an ASCII sample decides nothing: the file is read as UTF-8 until its first
   non-ASCII byte, and from there as UTF-8 if that byte starts well-formed UTF-8,
   else as cp1252 (`utf_8_or_cp1252`), so a long ASCII head does not decide for the tail.

Bytes a chosen codec cannot decode become lone surrogates (the `ERRORS` handler:
`surrogateescape`'s U+DC80-U+DCFF for bytes from 0x80, and U+DC00-U+DC7F below,
which a UTF-16/32 decoder can also meet), so the record that holds them is
refused as `undecodable` instead of read wrong; written back with the same
handler they are the same bytes.
"""

import codecs
import re

from tweet_sentiment.inputs.errors import InputError

SAMPLE_BYTES = 64 * 1024
ERRORS = "tweet_sentiment.undecodable"  # the codecs error handler for reading and writing back undecodable bytes
UNDECODABLE = re.compile("[\udc00-\udcff]")  # a byte the file's encoding could not decode, as read
_BOMS = (  # longest first: UTF-32 LE's BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MULTIBYTE_UTF8 = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _undecodable(error: UnicodeError) -> tuple[str | bytes, int]:
    """Each undecodable byte as the lone surrogate U+DC00 + byte; each such surrogate back as its byte."""
    if isinstance(error, UnicodeDecodeError):
        return "".join(chr(0xDC00 + byte) for byte in error.object[error.start : error.end]), error.end
    if isinstance(error, UnicodeEncodeError):
        chars = error.object[error.start : error.end]
        if all(0xDC00 <= ord(char) <= 0xDCFF for char in chars):
            return bytes(ord(char) - 0xDC00 for char in chars), error.end
    raise error


codecs.register_error(ERRORS, _undecodable)


def _zero_pattern(sample: bytes) -> str | None:
    """UTF-16/32 without a BOM, from where the NUL bytes of ASCII characters fall; None if they fit no pattern."""
    sample = sample[: 4096 - 4096 % 4]
    if len(sample) < 4:
        return None
    zeros = [sample[i::4].count(0) / len(sample[i::4]) for i in range(4)]
    high, low = [z > 0.9 for z in zeros], [z < 0.5 for z in zeros]
    patterns = {
        "utf-32-le": low[0] and all(high[1:]),
        "utf-32-be": all(high[:3]) and low[3],
        "utf-16-le": low[0] and high[1] and low[2] and high[3],
        "utf-16-be": high[0] and low[1] and high[2] and low[3],
    }
    return next((name for name, matches in patterns.items() if matches), None)


class _Utf8OrCp1252(codecs.IncrementalDecoder):
    """UTF-8 until the first non-ASCII byte says otherwise: well-formed UTF-8 keeps it UTF-8, a byte that
    is not switches the rest of the file to cp1252 (all decoded before it was ASCII, the same in both)."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self.mode: str | None = None  # None: ASCII so far
        self.pending = b""

    def decode(self, input: bytes, final: bool = False) -> str:
        data, self.pending = self.pending + bytes(input), b""
        if self.mode is not None:
            return codecs.decode(data, self.mode, self.errors) if self.mode == "cp1252" else self._utf8(data, final)
        try:
            text, used = codecs.utf_8_decode(data, "strict", final)
        except UnicodeDecodeError as error:
            prefix = data[: error.start].decode("utf-8")
            if not prefix.isascii():
                self.mode = "utf-8"
                return prefix + self._utf8(data[error.start :], final)
            self.mode = "cp1252"
            return codecs.decode(data, "cp1252", self.errors)
        if not text.isascii():
            self.mode = "utf-8"
        self.pending = data[used:]
        return text

    def _utf8(self, data: bytes, final: bool) -> str:
        text, used = codecs.utf_8_decode(data, self.errors, final)
        self.pending = data[used:]
        return text

    def reset(self) -> None:
        self.mode, self.pending = None, b""

    def getstate(self) -> tuple[bytes, int]:
        return self.pending, {None: 0, "utf-8": 1, "cp1252": 2}[self.mode]

    def setstate(self, state: tuple[bytes, int]) -> None:
        self.pending, self.mode = state[0], (None, "utf-8", "cp1252")[state[1]]


UTF8_OR_CP1252 = "utf_8_or_cp1252"
_AUTO = codecs.CodecInfo(
    name=UTF8_OR_CP1252,
    encode=codecs.utf_8_encode,
    decode=lambda data, errors="strict": (_Utf8OrCp1252(errors).decode(data, final=True), len(data)),
    incrementaldecoder=_Utf8OrCp1252,
)
codecs.register(lambda name: _AUTO if name == UTF8_OR_CP1252 else None)


def detect(sample: bytes) -> str:
    """The Python codec name for text starting with `sample` (its first `SAMPLE_BYTES` or all of it).

    Raises `InputError` for binary data: NUL bytes in no UTF-16/32 pattern.
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    if b"\x00" in sample:
        name = _zero_pattern(sample)
        if name is None:
            raise InputError("binary data (NUL bytes), not text; read the file with the program that wrote it")
        return name
    if sample.isascii():
        return UTF8_OR_CP1252  # decided by the first non-ASCII byte, wherever it is
    invalid = _invalid_utf8(sample)
    if not invalid:
        return "utf-8"
    # A few stray bytes in a UTF-8 file cost their records; cp1252 text forms multi-byte UTF-8 only by
    # chance (`é` + no-break space + `»` is one such sequence), less often than its invalid bytes.
    return "utf-8" if len(_MULTIBYTE_UTF8.findall(sample)) >= invalid else "cp1252"


def _invalid_utf8(sample: bytes) -> int:
    """How many bytes of `sample` are not UTF-8 (a sequence cut at its end does not count)."""
    count = 0

    def counting(error: UnicodeDecodeError) -> tuple[str, int]:
        nonlocal count
        count += error.end - error.start
        return "", error.end

    codecs.register_error("tweet_sentiment.count", counting)
    codecs.getincrementaldecoder("utf-8")("tweet_sentiment.count").decode(sample, final=False)
    return count
