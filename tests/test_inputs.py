"""The input layer's promises, one example each: what a file is, which file, which separator, what a bad line costs.

The generated files of tests/test_inputs_properties.py cover the space; these pin the messages and the
limits a generator would rarely reach (a zip bomb, a line over the cap, a many-file zip).
"""

import bz2
import gzip
import lzma
import re
import zipfile
from pathlib import Path

import pytest

from tweet_sentiment.inputs import containers, locate, text
from tweet_sentiment.inputs.accounting import ReadCount, Rejection
from tweet_sentiment.inputs.errors import InputError
from tweet_sentiment.inputs.query_log import read_log
from tweet_sentiment.inputs.tables import read_chunks

CSV = "id,text\n1,I love it\n2,I hate it\n"


def texts(path: Path, **options) -> list[object]:
    return [value for chunk in read_chunks(str(path), "text", None, 100, **options) for value in chunk.values]


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("plain.csv", lambda data: data),
        ("gzip-named.csv", gzip.compress),
        ("bzip2.csv.bz2", bz2.compress),
        ("xz.csv.xz", lzma.compress),
        ("two-members.csv.gz", lambda data: gzip.compress(data[:12]) + gzip.compress(data[12:])),
    ],
)
def test_compression_is_read_through_by_the_bytes(tmp_path: Path, name: str, compress):
    (tmp_path / name).write_bytes(compress(CSV.encode()))
    assert texts(tmp_path / name) == ["I love it", "I hate it"]


def test_a_one_file_zip_is_read_and_a_many_file_zip_is_named(tmp_path: Path):
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    with zipfile.ZipFile(one, "w") as archive:
        archive.writestr("tweets.csv", CSV)
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("a.csv", CSV)
        archive.writestr("b.csv", CSV)
    assert texts(one) == ["I love it", "I hate it"]
    with pytest.raises(InputError, match=r"a zip archive of 2 files \(a.csv, b.csv\), not one file; unzip it"):
        texts(many)


def test_a_zip_bomb_is_refused_at_the_cap_not_read(tmp_path: Path):
    bomb = tmp_path / "bomb.csv"
    bomb.write_bytes(gzip.compress(b"text\n" + b"a" * 5_000_000))  # 5 MB from about 5 KB
    assert bomb.stat().st_size < 10_000
    with pytest.raises(InputError, match="decompresses to over 1,000,000 bytes"):  # noqa: SIM117
        with containers.open_content(str(bomb), limit=1_000_000) as opened:
            opened.stream.read()


def test_a_truncated_gzip_costs_its_tail_counted(tmp_path: Path):
    lines = "".join(f'{{"id": {i}, "text": "tweet number {i}"}}\n' for i in range(2000)).encode()
    whole = gzip.compress(lines)
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    values = texts(tmp_path / "cut.jsonl.gz")
    read = [v for v in values if isinstance(v, str)]
    assert read == [f"tweet number {i}" for i in range(len(read))] and 0 < len(read) < 2000
    lost = [v for v in values if isinstance(v, Rejection)]
    assert [r.reason for r in lost][-1] == "truncated"
    assert len(lost) <= 2  # the line cut in half (bad_record), then the tail


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "an old Excel or Office file (OLE2, .xls)"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\x28\xb5\x2f\xfd" + b"\x00" * 16, "a zstd-compressed file"),
    ],
)
def test_a_container_it_cannot_read_is_named_with_the_fix(tmp_path: Path, head: bytes, what: str):
    (tmp_path / "x.csv").write_bytes(head)
    with pytest.raises(InputError, match=re.escape(f"the file is {what}, not text or Parquet; open it in its program")):
        texts(tmp_path / "x.csv")


@pytest.mark.parametrize("page", [b"\n<!DOCTYPE html>\n<html>", b"\xef\xbb\xbf<html lang=en>", b"  <HTML>"])
def test_a_web_page_saved_as_data_is_named_a_web_page(tmp_path: Path, page: bytes):
    (tmp_path / "labelled.csv").write_bytes(page + b"<body>text,label</body></html>\n")
    with pytest.raises(InputError, match=re.escape("the file is a web page (HTML), not a data file; save the file")):
        texts(tmp_path / "labelled.csv")
    (tmp_path / "fine.csv").write_bytes(b"text,label\n<html> is a tag,neutral\n")
    assert texts(tmp_path / "fine.csv") == ["<html> is a tag"]  # a tweet about HTML is a tweet


def test_an_xlsx_named_csv_is_named_an_excel_workbook(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "book.csv", "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InputError, match=r"an Excel workbook \(.xlsx\) \(a zip container\), not CSV text"):
        texts(tmp_path / "book.csv")


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_bom_are_told_by_their_zero_bytes(tmp_path: Path, encoding: str):
    (tmp_path / "in.csv").write_bytes("id,text\n1,café au lait\n".encode(encoding))
    assert texts(tmp_path / "in.csv") == ["café au lait"]


def test_binary_data_is_refused_not_read_as_rows(tmp_path: Path):
    (tmp_path / "in.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match=r"binary data \(NUL bytes\), not text"):
        texts(tmp_path / "in.csv")


def test_cp1252_is_read_as_excel_writes_it_and_a_stray_byte_in_utf8_costs_its_row(tmp_path: Path):
    excel = "€5 café \u2013 naïve"  # the euro sign and the en dash: where cp1252 differs from Latin-1
    (tmp_path / "excel.csv").write_bytes(f"id,text\n1,{excel}\n".encode("cp1252"))
    assert texts(tmp_path / "excel.csv") == [excel]
    utf8 = '{"text": "naïve"}\n{"text": "café"}\n'.encode()
    (tmp_path / "utf8.jsonl").write_bytes(utf8 + b'{"text": "caf\xe9"}\n')
    [good, also_good, bad] = texts(tmp_path / "utf8.jsonl")
    assert (good, also_good) == ("naïve", "café") and bad.reason == "undecodable"


def test_a_line_over_the_cap_costs_that_line_only(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(text, "MAX_LINE_CHARS", 100)
    (tmp_path / "in.jsonl").write_text('{"text": "short"}\n{"text": "' + "x" * 500 + '"}\n{"text": "after"}\n')
    [before, lost, after] = texts(tmp_path / "in.jsonl")
    assert (before, lost.reason, after) == ("short", "too_large", "after")


@pytest.mark.parametrize(("separator", "name"), [(";", ";"), ("\t", "\\t"), ("|", "|")])
def test_a_separator_is_sniffed_and_a_wrong_one_given_is_refused_naming_the_right_one(
    tmp_path: Path, separator: str, name: str
):
    (tmp_path / "in.csv").write_text(f"id{separator}text\n1{separator}a, b and c\n2{separator}d\n")
    assert texts(tmp_path / "in.csv") == ["a, b and c", "d"]
    assert texts(tmp_path / "in.csv", separator=separator) == ["a, b and c", "d"]
    with pytest.raises(InputError, match=re.escape(f"the header line has no ',' but splits on '{name}'")):
        texts(tmp_path / "in.csv", separator=",")


def test_cr_only_and_mixed_line_ends_are_rows(tmp_path: Path):
    (tmp_path / "in.csv").write_bytes(b'id,text\r1,one\n2,"two\rlines"\r\n3,three\r')
    assert texts(tmp_path / "in.csv") == ["one", "two\rlines", "three"]


@pytest.mark.parametrize("content", ["id,text,id\n1,a,2\n", "text,text\na,b\n"])
def test_a_repeated_column_name_is_refused_naming_it(tmp_path: Path, content: str):
    (tmp_path / "in.csv").write_text(content)
    with pytest.raises(InputError, match=r"the column name\(s\) '(id|text)' appear more than once; rename them"):
        texts(tmp_path / "in.csv")


def test_a_repeated_parquet_column_is_refused(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table([pa.array(["a"]), pa.array(["b"])], names=["text", "text"]), tmp_path / "in.parquet")
    with pytest.raises(InputError, match=r"the column name\(s\) 'text' appear more than once"):
        texts(tmp_path / "in.parquet")


def test_json_lines_cost_their_line_for_depth_duplicate_keys_and_nan_is_a_value(tmp_path: Path):
    deep = '{"text": "deep", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    lines = [deep, '{"text": "a", "text": "b"}', '{"text": "nan", "score": NaN}', "[1]", "", '{"text": "ok"}']
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    values = texts(tmp_path / "in.jsonl")
    assert [v.reason if isinstance(v, Rejection) else v for v in values] == [
        "too_deep",
        "duplicate_key",
        "nan",
        "bad_record",
        "bad_record",
        "ok",
    ]


def test_a_name_that_exists_is_that_file_and_only_a_missing_one_is_a_glob(tmp_path: Path):
    (tmp_path / "tweets[1].csv").write_text(CSV)
    (tmp_path / "tweets1.csv").write_text(CSV)
    literal = str(tmp_path / "tweets[1].csv")
    assert locate.expand([literal], lambda _: True, "file") == [literal]
    assert locate.expand([str(tmp_path / "tweets[1]*.csv")], lambda _: True, "file") == [str(tmp_path / "tweets1.csv")]
    (tmp_path / "tweets1.csv").unlink()
    assert locate.expand([literal], lambda _: True, "file") == [literal]


def test_a_rotated_compressed_log_reads_like_the_plain_one(tmp_path: Path):
    record = '{"type": "feedback", "time": "2026-12-07T00:00:00Z", "label": "negative"}\n'
    plain, rotated = tmp_path / "plain", tmp_path / "rotated"
    for folder in (plain, rotated):
        folder.mkdir()
    (plain / "queries-1.jsonl").write_text(record * 3)
    (rotated / "queries-1.jsonl.1.gz").write_bytes(gzip.compress((record * 2).encode()))
    (rotated / "queries-1.jsonl").write_text(record)
    (rotated / ".queries-1.jsonl.swp").write_bytes(b"\x00\x01 an editor's swap file is hidden, not log")
    counts = ReadCount(), ReadCount()
    assert list(read_log(plain, counts[0])) == list(read_log(rotated, counts[1]))
    assert [(c.read, c.kept, sum(c.lost.values())) for c in counts] == [(3, 3, 0), (3, 3, 0)]


def test_a_record_holding_half_a_character_or_a_stray_byte_costs_that_record(tmp_path: Path):
    (tmp_path / "in.jsonl").write_text('{"text": "ok", "x": "\\ud83d"}\n{"text": "fine \\ud83d\\ude00"}\n')
    [half, pair] = texts(tmp_path / "in.jsonl")
    assert (half.reason, pair) == ("undecodable", "fine 😀")
    (tmp_path / "in.csv").write_bytes(b"id,text,who\n1,na\xc3\xafve,Zo\xc3\xab\n2,fine,Jos\xe9\n")
    [good, stray] = texts(tmp_path / "in.csv")
    assert (good, stray.reason) == ("naïve", "undecodable")  # the bad byte sits in another column: the row still goes


def test_an_ascii_head_does_not_decide_for_a_cp1252_tail(tmp_path: Path):
    rows = "".join(f"{i},plain row\n" for i in range(5000))
    (tmp_path / "in.csv").write_bytes(f"id,text\n{rows}5000,café crème\n".encode("cp1252"))
    assert texts(tmp_path / "in.csv")[-1] == "café crème"


def test_cp1252_whose_bytes_happen_to_form_one_utf8_sequence_is_still_cp1252(tmp_path: Path):
    text = ["un café\xa0» génial", "très bien", "à bientôt"]  # é + no-break space + » is valid UTF-8 (頻)
    (tmp_path / "in.csv").write_bytes(("text\n" + "\n".join(text) + "\n").encode("cp1252"))
    assert texts(tmp_path / "in.csv") == text


def test_empty_column_names_are_named_as_pandas_names_them(tmp_path: Path):
    (tmp_path / "in.csv").write_text("text,label,,\nhi,positive,,\n")
    [chunk] = read_chunks(str(tmp_path / "in.csv"), "text", None, 10)
    assert list(chunk.frame.columns) == ["text", "label", "Unnamed: 2", "Unnamed: 3"]


def test_an_over_long_line_inside_a_quoted_field_costs_its_record(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(text, "MAX_LINE_CHARS", 50)
    (tmp_path / "in.csv").write_text('id,text\n1,"start\n' + "x" * 200 + '\nend"\n2,after\n')
    [lost, after] = texts(tmp_path / "in.csv")
    assert (lost.reason, after) == ("too_large", "after")


def test_macos_zip_metadata_is_not_a_second_file(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as archive:
        archive.writestr("tweets.csv", CSV)
        archive.writestr("__MACOSX/._tweets.csv", b"\x00\x05\x16\x07 AppleDouble")
    assert texts(tmp_path / "in.zip") == ["I love it", "I hate it"]


def test_a_glob_like_a_folder_takes_the_files_named_as_tables(tmp_path: Path):
    for name in ("a.csv", "b.csv.bz2", "README.md"):
        (tmp_path / name).write_text(CSV)
    wanted = lambda name: name.endswith((".csv", ".csv.bz2"))  # noqa: E731
    expected = [str(tmp_path / "a.csv"), str(tmp_path / "b.csv.bz2")]
    assert locate.expand([str(tmp_path / "*")], wanted, "table") == expected
    assert locate.expand([str(tmp_path)], wanted, "table") == expected
