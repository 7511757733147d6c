"""Reading and cleaning the real vendored tweets, and clear errors on bad files."""

import gzip
from pathlib import Path

import pandas as pd
import pytest

from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.text import match_key
from tweet_sentiment.data.cleaning import (
    DataError,
    RowCount,
    clean_training_pool,
    read_semeval_tsv,
    read_tweeteval_split,
    resolve_conflicts,
)
from tweet_sentiment.data.own_data import read_labelled_csv
from tweet_sentiment.data.sources import embedded_splits

EXTERNAL = Path(__file__).resolve().parents[1] / "data" / "external"


@pytest.fixture(scope="module")
def splits() -> dict[str, pd.DataFrame]:
    return embedded_splits(EXTERNAL)[0]


def test_split_sizes_match_the_published_benchmark(splits):
    assert len(splits["val"]) == 2000 and len(splits["test"]) == 12284
    assert splits["test"]["label"].value_counts().to_dict() == {"neutral": 5937, "negative": 3972, "positive": 2375}
    assert 47_000 < len(splits["train"]) < 48_500


def test_no_val_or_test_tweet_leaks_into_train(splits):
    train_keys = set(splits["train"]["text"].map(match_key))
    held_out = pd.concat([splits["val"], splits["test"]])["text"].map(match_key)
    assert not train_keys & set(held_out)


def test_train_is_deduplicated_decoded_and_normalised(splits):
    train = splits["train"]
    assert train["id"].is_unique and train["text"].map(match_key).is_unique
    assert not train["text"].str.contains(r"\\u[0-9a-fA-F]{4}").any()
    tokens = {token for text in train["text"] for token in text.split()}
    assert {t for t in tokens if t.startswith("@") and len(t) > 1} == {"@user"}
    assert {t for t in tokens if t.startswith("http")} == {"http"}
    assert set(train["label"]) == set(LABELS)


def test_real_2013_row_has_its_escapes_decoded():
    raw = read_semeval_tsv(EXTERNAL / "semeval2017-task4a" / "twitter-2013train-A.tsv.gz")
    row, count = clean_training_pool(raw[raw["id"] == "263405084770172928"], [])
    assert (count.read, count.kept) == (1, 1)
    assert row["text"].tolist() == ["Theo Walcott is still shit, watch Rafa and Johnny deal with him on Saturday."]


def test_conflicting_copies_take_the_majority_and_ties_are_dropped():
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5"],
            "text": ["good day", "Good day!", "good  day", "meh", "MEH"],
            "label": ["positive", "positive", "neutral", "neutral", "negative"],
        }
    )
    count = RowCount(read=len(frame))
    kept = resolve_conflicts(frame, count)
    assert kept[["text", "label"]].values.tolist() == [["good day", "positive"]]
    # Lost the vote: "good  day" (neutral), and "meh" and "MEH" (a tie); a later copy: "Good day!".
    assert count.dropped["conflicting_labels"] == 3 and count.dropped["duplicate"] == 1


def test_an_id_listed_twice_with_two_labels_is_a_tie_not_first_come():
    """Real rows: tweet 100154119884513280 is 'positive' in one SemEval file and 'negative' in another."""
    text = "Mail on Sunday: Cesc Fabregas is so desperate to leave Arsenal for Barcelona"
    frame = pd.DataFrame(
        {
            "id": ["100154119884513280", "100154119884513280", "7", "7", "8"],
            "text": [text, text, "same old", "same old", "fine day"],
            "label": ["positive", "negative", "neutral", "neutral", "positive"],
        }
    )
    count = RowCount(read=len(frame))
    kept = resolve_conflicts(frame, count)
    assert kept[["id", "label"]].values.tolist() == [["7", "neutral"], ["8", "positive"]]
    assert count.dropped["conflicting_labels"] == 2 and count.dropped["duplicate"] == 1


def test_real_pool_conflicts_are_voted_before_ids_are_deduplicated(splits):
    train = splits["train"].set_index("id")
    assert "100154119884513280" not in train.index  # positive vs negative: a tie, dropped
    assert train.loc["639222713710604288", "text"].startswith("in that same election- LibDems lower than BNP, ")
    assert "Independent Socialist Party & Indipendant" in train.loc["639222713710604288", "text"]


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_malformed_semeval_line_names_file_and_line(tmp_path: Path):
    path = write(tmp_path / "bad.tsv", "1\tpositive\tfine\n2 no tabs here\n")
    with pytest.raises(DataError, match=r"bad.tsv:2: expected `id<TAB>label<TAB>text`"):
        read_semeval_tsv(path)


def test_unknown_label_is_named(tmp_path: Path):
    path = write(tmp_path / "bad.tsv", "1\tpositive\tfine\n2\tmixed\tunsure\n")
    with pytest.raises(DataError, match=r"bad.tsv:2: unknown label 'mixed'"):
        read_semeval_tsv(path)


def test_non_utf8_file_names_the_line(tmp_path: Path):
    path = write(tmp_path / "latin1.tsv", b"1\tpositive\tfine\n2\tneutral\tcaf\xe9\n")
    with pytest.raises(DataError, match=r"latin1.tsv:2: not valid UTF-8"):
        read_semeval_tsv(path)


def test_corrupt_gzip_and_missing_file(tmp_path: Path):
    with pytest.raises(DataError, match="not a valid gzip file"):
        read_semeval_tsv(write(tmp_path / "x.tsv.gz", b"not gzip"))
    with pytest.raises(DataError, match="file not found"):
        read_semeval_tsv(tmp_path / "absent.tsv")


def test_tweeteval_labels_must_pair_with_texts(tmp_path: Path):
    texts = write(tmp_path / "val_text.txt", "a\nb\n")
    with pytest.raises(DataError, match="has 2 lines but"):
        read_tweeteval_split(texts, write(tmp_path / "val_labels.txt", "0\n"))
    with pytest.raises(DataError, match=r"val_labels.txt:2: unknown label id '7'"):
        read_tweeteval_split(texts, write(tmp_path / "val_labels.txt", "0\n7\n"))


def test_user_csv_accepts_names_and_ids_and_names_missing_columns(tmp_path: Path):
    path = write(tmp_path / "mine.csv", "tweet,sentiment\nlove it,Positive\nhate it,0\nmeh,1\nyay,2\n")
    frame, count = read_labelled_csv(str(path), "tweet", "sentiment")
    assert (count.read, count.kept) == (len(frame), len(frame))
    assert frame["label"].tolist() == ["positive", "negative", "neutral", "positive"]
    assert frame["id"].tolist() == ["csv-0", "csv-1", "csv-2", "csv-3"]
    with pytest.raises(DataError, match=r"missing column\(s\) \['text'\]; it has \['tweet', 'sentiment'\]"):
        read_labelled_csv(str(path), "text", "sentiment")


def test_gzipped_files_are_read_transparently(tmp_path: Path):
    path = write(tmp_path / "x.tsv.gz", gzip.compress(b"9\tneutral\thello\n"))
    assert read_semeval_tsv(path)["text"].tolist() == ["hello"]
