"""What a file is, by its first bytes, and its content read through: gzip, bz2 and xz streams, a one-file zip.

Names lie (a gzip file saved as `.csv`, an `.xlsx` renamed `.csv`, a rotated
`queries-N.jsonl.1.gz`), so the magic numbers decide. Compressed streams are
decompressed as they are read, with two promises:

- a truncated or corrupt stream costs only its unreadable tail: what decompressed
  before the damage is read, and `Opened.damage` says what was lost, for the reader to count;
- decompressed size is capped (`MAX_DECOMPRESSED_BYTES`): past it the file is refused
  as a likely zip bomb (deflate expands up to 1,032:1, so a 10 MB gzip can hold 10 GB).

A container the product cannot read (an Excel workbook, an OLE2 `.xls`, a PDF,
a zstd stream, a compressed Parquet file) is an `InputError` naming it, with the fix.
"""

import bz2
import io
import lzma
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import fsspec

from tweet_sentiment.inputs.errors import InputError

MAX_DECOMPRESSED_BYTES = 16 * 1024**3  # 16 GiB: a large corpus passes, a bomb stops there
_CHUNK = 1 << 20
_STREAMS = {  # magic -> name: the compressions read through
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
}
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
PARQUET_MAGIC = b"PAR1"
# Containers named so the message can say what the file is and how to get text out of it.
_UNREADABLE = {
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an old Excel or Office file (OLE2, .xls)",
    b"%PDF": "a PDF document",
    b"\x28\xb5\x2f\xfd": "a zstd-compressed file",
    b"SQLite format 3\x00": "an SQLite database",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
}
_TO_CSV = "open it in its program and save it as CSV UTF-8 (Excel: File > Save As > CSV UTF-8), then read that"
# A web page where a data file was expected: a GitHub blob page, a login or error page (public report 12).
_HTML = (b"<!doctype html", b"<html>", b"<html ")
_WEB_PAGE = "the file is a web page (HTML), not a data file; save the file itself (a page's Raw or Download link)"


@dataclass
class Opened:
    """A file opened for reading: `stream` gives its content (decompressed), `kind` says what it is.

    `kind` is `text` (bytes to decode), `parquet`, or `empty`; `compression` is
    the container read through (`gzip`, `bz2`, `xz`, `zip`) or None; `damage`
    is set once the stream ended early (truncated or corrupt), saying where.
    """

    stream: IO[bytes]
    kind: str
    compression: str | None
    head: bytes
    damage: Callable[[], str | None]


def is_web_page(head: bytes) -> bool:
    """Whether a file's first bytes are an HTML page's (after a BOM and whitespace)."""
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().lower().startswith(_HTML)


def kind_of(head: bytes) -> str:
    """`gzip`, `bz2`, `xz`, `zip`, `parquet`, `empty` or `text` from a file's first bytes; `InputError` for others."""
    if not head:
        return "empty"
    for magic, name in _STREAMS.items():
        if head.startswith(magic):
            return name
    if head.startswith(_ZIP):
        return "zip"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    for magic, what in _UNREADABLE.items():
        if head.startswith(magic):
            raise InputError(f"the file is {what}, not text or Parquet; {_TO_CSV}")
    if is_web_page(head):
        raise InputError(_WEB_PAGE)
    return "text"


class _Decompressing(io.RawIOBase):
    """A compressed stream's content, decompressed chunk by chunk; stops, without raising, where it is damaged.

    Concatenated members (`cat a.gz b.gz`, multi-stream bz2/xz) are read one after
    another, as `gzip -d` does. Past `limit` decompressed bytes it raises `InputError`.
    """

    def __init__(self, source: IO[bytes], compression: str, limit: int) -> None:
        self.source, self.compression, self.limit = source, compression, limit
        self.decompressor = self._new()
        self.pending, self.offset = b"", 0  # decompressed bytes not yet read, from `offset`
        self.produced = 0
        self.damage: str | None = None
        self.finished = False

    def _new(self):
        if self.compression == "gzip":
            return zlib.decompressobj(wbits=31)
        return bz2.BZ2Decompressor() if self.compression == "bz2" else lzma.LZMADecompressor()

    def readable(self) -> bool:
        return True

    def _compressed(self) -> bytes | None:
        """The compressed bytes to give the decompressor next; None at the clean end of the last stream.

        Each call asks for at most `_CHUNK` bytes of output, so memory stays bounded
        however far a chunk expands (bz2 packs 256 MiB into 208 bytes): zlib keeps
        what it did not consume in `unconsumed_tail`, bz2 and lzma keep it inside.
        """
        decompressor = self.decompressor
        if decompressor.eof:  # a stream ended: another may follow (concatenated members)
            data = decompressor.unused_data or self.source.read(_CHUNK)
            if not data.strip(b"\x00"):  # trailing zero padding ends a file, as gzip -d allows
                return None
            self.decompressor = self._new()
            return data
        if self.compression == "gzip" and decompressor.unconsumed_tail:
            return decompressor.unconsumed_tail
        if self.compression != "gzip" and not decompressor.needs_input:
            return b""
        data = self.source.read(_CHUNK)
        if not data:
            self.damage = f"the {self.compression} stream ends early after {self.produced:,} bytes (truncated)"
        return data or None

    def _fill(self) -> None:
        while self.offset == len(self.pending) and not self.finished:
            data = self._compressed()
            if data is None:
                self.finished = True
                return
            try:
                self.pending, self.offset = self.decompressor.decompress(data, _CHUNK), 0
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as error:
                self.damage = f"the {self.compression} stream is corrupt after {self.produced:,} bytes ({error})"
                self.finished = True
                return
            self.produced += len(self.pending)
            if self.produced > self.limit:
                raise InputError(
                    f"decompresses to over {self.limit:,} bytes (a zip bomb?); decompress it yourself if it is real"
                )

    def readinto(self, buffer) -> int:
        self._fill()
        size = min(len(buffer), len(self.pending) - self.offset)
        buffer[:size] = memoryview(self.pending)[self.offset : self.offset + size]
        self.offset += size
        return size


class _Capped(io.RawIOBase):
    """A zip member read with the same decompressed-size cap (its CRC checked by `_check_member` first)."""

    def __init__(self, source: IO[bytes], limit: int) -> None:
        self.source, self.limit, self.produced = source, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        self.produced += len(data)
        if self.produced > self.limit:
            raise InputError(f"unzips to over {self.limit:,} bytes (a zip bomb?); unzip it yourself if it is real")
        buffer[: len(data)] = data
        return len(data)


def _zip_member(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The one file a zip holds; `InputError` naming an Office document or a many-file archive."""
    names = archive.namelist()
    if "[Content_Types].xml" in names:
        what = "an Excel workbook (.xlsx)" if any(n.startswith("xl/") for n in names) else "an Office document"
        raise InputError(f"the file is {what} (a zip container), not CSV text; {_TO_CSV}")
    if "mimetype" in names and "content.xml" in names:
        raise InputError(f"the file is an OpenDocument file (.ods/.odt, a zip container), not CSV text; {_TO_CSV}")
    # macOS's "Compress" adds AppleDouble metadata (`__MACOSX/._name`) beside each file: not data.
    files = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not info.filename.rsplit("/", 1)[-1].startswith("._")
    ]
    if len(files) != 1:
        listed = ", ".join(info.filename for info in files[:5]) + (", ..." if len(files) > 5 else "")
        raise InputError(
            f"the file is a zip archive of {len(files)} files ({listed or 'none'}), not one file; "
            "unzip it and pass the files or their folder"
        )
    return files[0]


def _check_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> None:
    """Read the member once, under the cap, so a bad CRC refuses the file before any row of it is read.

    A zip's checksum covers the whole member and is checked only at its end: rows
    read before it would be read from damaged bytes with nothing to tell which.
    """
    with archive.open(member) as source:
        capped = _Capped(source, limit)
        buffer = bytearray(_CHUNK)
        while capped.readinto(buffer):
            pass


def _head(stream: IO[bytes], size: int) -> tuple[bytes, IO[bytes]]:
    """The first `size` bytes of a non-seekable stream, and a stream that still starts with them."""
    buffered = io.BufferedReader(stream, buffer_size=_CHUNK) if not isinstance(stream, io.BufferedReader) else stream
    return buffered.peek(size)[:size], buffered


@contextmanager
def open_content(url: str, limit: int = MAX_DECOMPRESSED_BYTES) -> Iterator[Opened]:
    """The file at `url` (local path or fsspec URL), its content decompressed, with what kind it is.

    Raises `InputError` for a container it cannot read (naming it, with the fix),
    a compressed file inside another or a compressed Parquet file, and while
    reading, past `limit` decompressed bytes.
    """
    with fsspec.open(url, "rb") as opened_raw:
        raw: IO[bytes] = opened_raw
        if not raw.seekable():  # a streamed HTTP body: the head is peeked, not read and sought back
            head, raw = _head(raw, 16)
        else:
            head = raw.read(16)
            raw.seek(0)
        try:
            kind = kind_of(head)
        except InputError as error:
            raise InputError(f"{url}: {error}") from None
        if kind in ("text", "parquet", "empty"):
            yield Opened(raw, kind, None, head, lambda: None)
            return
        if kind == "zip":
            if not raw.seekable():  # a zip's directory is at its end: keep a seekable copy
                spooled = tempfile.TemporaryFile()  # noqa: SIM115 (closed with the file, below)
                shutil.copyfileobj(raw, spooled)
                spooled.seek(0)
                raw = spooled
            try:
                archive = zipfile.ZipFile(raw)
                member = _zip_member(archive)
                _check_member(archive, member, limit)
            except RuntimeError as error:  # zipfile: "File ... is encrypted, password required"
                raise InputError(f"{url}: a password-protected zip ({error}); unzip it, then read the file") from None
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as error:
                raise InputError(f"{url}: a damaged zip file ({error}); unzip it to check it") from None
            except InputError as error:
                raise InputError(f"{url}: {error}") from None
            stream: IO[bytes] = io.BufferedReader(_Capped(archive.open(member), limit), buffer_size=_CHUNK)
            damage: Callable[[], str | None] = lambda: None  # noqa: E731 (zipfile checks each member's CRC itself)
        else:
            decompressing = _Decompressing(raw, kind, limit)
            stream = io.BufferedReader(decompressing, buffer_size=_CHUNK)
            damage = lambda: decompressing.damage  # noqa: E731
        inner_head, stream = _head(stream, 16)
        try:
            inner = kind_of(inner_head)
        except InputError as error:
            raise InputError(f"{url}: {kind}-compressed, and inside {error}") from None
        if inner == "parquet":
            raise InputError(
                f"{url}: a {kind}-compressed Parquet file; decompress it first (Parquet compresses its own columns)"
            )
        if inner not in ("text", "empty"):
            raise InputError(f"{url}: {inner} inside {kind}; decompress it to one plain file first")
        yield Opened(stream, inner, kind, inner_head, damage)
