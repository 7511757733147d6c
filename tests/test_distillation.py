"""Distillation's pieces on real files: the transfer set, the teacher's logits on disk, the training set, the loss."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import TrainingArguments

from tweet_sentiment.core.labels import LABEL2ID, LABELS
from tweet_sentiment.core.text import match_key
from tweet_sentiment.data.cleaning import DataError
from tweet_sentiment.data.sources import embedded_splits
from tweet_sentiment.data.tokenized import UNLABELLED, TokenizedSplit
from tweet_sentiment.train.distillation.soft_targets import TRAIN_FILE, TRANSFER_FILE, read_logits, write_logits
from tweet_sentiment.train.distillation.student import (
    DistillationTrainer,
    WithTeacherLogits,
    distillation_set,
    soft_loss,
    training_set,
)
from tweet_sentiment.train.distillation.teacher import teacher_scores
from tweet_sentiment.train.distillation.transfer import read_texts, transfer_set
from tweet_sentiment.train.models import EMBEDDED_MODEL_ID, load_tokenizer
from tweet_sentiment.train.trainer import class_weights, weighted_cross_entropy

REPO = Path(__file__).resolve().parents[1]
TRANSFER = REPO / "data/external/tweeteval-other"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(EMBEDDED_MODEL_ID)


@pytest.fixture(scope="module")
def splits() -> dict[str, pd.DataFrame]:
    """The splits as `download` prepares them, from the vendored data: a fresh clone has no data/prepared."""
    return embedded_splits(REPO / "data" / "external")[0]


def write_gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))


def test_the_vendored_transfer_set_is_tweeteval_s_other_six_tasks():
    """140,886 tweets, as the shared README counts them; the 3,812 with emoji are why they are worth having."""
    texts = read_texts(TRANSFER)
    assert len(texts) == 140_886
    assert {path.parts[len(TRANSFER.parts)] for path in TRANSFER.rglob("*.gz")} == {
        "emoji", "emotion", "hate", "irony", "offensive", "stance",
    }  # fmt: skip


def test_transfer_tweets_matching_an_excluded_tweet_or_each_other_are_dropped(tmp_path: Path):
    write_gz(tmp_path / "irony/train_text.txt.gz", ["I LOVE mondays @someone http://x.co", "ok then", "", "   "])
    write_gz(tmp_path / "hate/val_text.txt.gz", ["i love Mondays @user", "Fine, whatever!", "fine whatever"])
    kept = transfer_set(tmp_path, exclude=["Ok then."], limit=None, seed=0)
    # sorted path order (hate before irony); normalised as training text is (@user, http)
    assert kept == ["i love Mondays @user", "Fine, whatever!"]


def test_the_real_transfer_set_holds_no_val_or_test_tweet_and_samples_reproducibly(splits):
    val_test = pd.concat([splits["val"]["text"], splits["test"]["text"]])
    first = transfer_set(TRANSFER, exclude=val_test, limit=500, seed=1)
    assert first == transfer_set(TRANSFER, exclude=val_test, limit=500, seed=1)
    assert first != transfer_set(TRANSFER, exclude=val_test, limit=500, seed=2)
    assert not {match_key(text) for text in first} & {match_key(text) for text in val_test}
    assert len({match_key(text) for text in first}) == 500


def test_an_empty_or_corrupt_transfer_folder_is_one_clear_error(tmp_path: Path):
    with pytest.raises(DataError, match=r"no \*_text\.txt\.gz files"):
        read_texts(tmp_path)
    (tmp_path / "bad_text.txt.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match=r"bad_text\.txt\.gz: not a gzipped UTF-8 text file"):
        read_texts(tmp_path)


def test_logits_round_trip_to_four_decimals_and_bad_files_say_how_to_fix_them(tmp_path: Path):
    logits = np.array([[1.23456, -0.5, 2.0], [0.0, 3.14159, -7.25]], dtype=np.float32)
    path = tmp_path / "train.csv"
    write_logits(path, "id", ["7", "0012"], logits)
    keys, read = read_logits(path, "id")
    assert keys == ["7", "0012"]  # ids stay strings: leading zeros kept
    np.testing.assert_allclose(read, logits.round(4), atol=1e-6)
    assert path.read_text().splitlines()[0] == "id,negative,neutral,positive"
    with pytest.raises(DataError, match="missing; rerun"):
        read_logits(tmp_path / "absent.csv", "id")
    path.write_text("id,negative,positive\n1,0.1,0.2\n")
    with pytest.raises(DataError, match="expected \\['id', 'negative', 'neutral', 'positive'\\]"):
        read_logits(path, "id")
    path.write_text("id,negative,neutral,positive\n1,0.1,0.2,0.3\n2,0.1,oops,0.3\n")
    with pytest.raises(DataError, match="row 3 holds a logit that is not a finite number"):
        read_logits(path, "id")


def test_soft_loss_is_hinton_s_kl_times_t_squared():
    student = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    teacher = torch.tensor([[1.0, 1.0, -2.0], [0.0, 2.0, 1.0]])
    for temperature in (1.0, 2.0, 4.0):
        p = torch.softmax(teacher / temperature, dim=-1)
        q = torch.softmax(student / temperature, dim=-1)
        expected = (p * (p.log() - q.log())).sum(dim=-1).mean() * temperature**2
        torch.testing.assert_close(soft_loss(student, teacher, temperature), expected)
    assert soft_loss(teacher, teacher, 2.0).item() == pytest.approx(0.0, abs=1e-7)


class Logits(torch.nn.Module):
    """A 'model' whose logits are the batch's `input_ids` (floats): the loss sees exactly these."""

    def forward(self, input_ids, attention_mask=None):
        return type("Output", (), {"logits": input_ids.float()})()


def distillation_trainer(weight: float, tmp_path: Path) -> DistillationTrainer:
    return DistillationTrainer(
        weight=weight,
        temperature=2.0,
        model=Logits(),
        args=TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none"),
        compute_loss_func=weighted_cross_entropy(torch.tensor([1.0, 2.0, 0.5])),
    )


def test_the_loss_mixes_hard_labels_and_the_teacher_and_skips_unlabelled_rows(tmp_path: Path):
    student = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0], [1.0, -1.0, 0.0]])
    teacher = torch.tensor([[1.0, 1.0, -2.0], [0.0, 2.0, 1.0], [3.0, 0.0, 0.0]])
    labels = torch.tensor([0, 2, UNLABELLED])
    hard = torch.nn.functional.cross_entropy(student[:2], labels[:2], weight=torch.tensor([1.0, 2.0, 0.5]))
    soft = soft_loss(student, teacher, 2.0)
    trainer = distillation_trainer(0.25, tmp_path)
    loss = trainer.compute_loss(Logits(), {"input_ids": student, "labels": labels, "teacher_logits": teacher})
    torch.testing.assert_close(loss, 0.75 * hard + 0.25 * soft)
    # a batch of transfer tweets only: the teacher's term alone, not nan
    only = trainer.compute_loss(
        Logits(), {"input_ids": student[2:], "labels": labels[2:], "teacher_logits": teacher[2:]}
    )
    torch.testing.assert_close(only, 0.25 * soft_loss(student[2:], teacher[2:], 2.0))
    # evaluation batches carry no teacher logits: the plain weighted cross-entropy
    evaluation = trainer.compute_loss(Logits(), {"input_ids": student[:2], "labels": labels[:2]})
    torch.testing.assert_close(evaluation, hard)


def test_class_weights_count_labelled_rows_only():
    labels = np.array([0, 1, 1, 2, 2, 2])
    with_transfer = np.concatenate([labels, np.full(50, UNLABELLED)])
    torch.testing.assert_close(class_weights(with_transfer, "balanced"), class_weights(labels, "balanced"))


def prepared_train(tmp_path: Path, splits: dict[str, pd.DataFrame], count: int) -> tuple[Path, pd.DataFrame]:
    frame = splits["train"].head(count)
    path = tmp_path / "prepared/train.csv"
    path.parent.mkdir(parents=True)
    frame.to_csv(path, index=False)
    return path, frame


def test_the_training_set_pairs_each_tweet_with_its_logits_and_adds_a_matching_share_of_transfer(
    tmp_path: Path, tokenizer, splits
):
    path, frame = prepared_train(tmp_path, splits, 40)
    train = TokenizedSplit.from_frame(frame, tokenizer, 128)
    train_logits = np.arange(120, dtype=np.float32).reshape(40, 3)
    transfer = [f"transfer tweet number {i}" for i in range(30)]
    write_logits(tmp_path / "teacher" / TRAIN_FILE, "id", frame["id"].tolist(), train_logits)
    write_logits(tmp_path / "teacher" / TRANSFER_FILE, "text", transfer, -np.ones((30, 3), dtype=np.float32))
    rows = train.subset_rows(20, seed=3)
    without_teacher = training_set(train, rows, 0.0, tmp_path / "teacher", path, tokenizer, 128)
    assert isinstance(without_teacher, TokenizedSplit) and list(without_teacher.labels) == list(train.labels[rows])
    dataset = training_set(train, rows, 0.5, tmp_path / "teacher", path, tokenizer, 128)
    assert len(dataset) == 20 + 15  # half the training split, so half the transfer set
    assert list(dataset.labels[:20]) == list(train.labels[rows])
    assert set(dataset.labels[20:]) == {UNLABELLED}
    for position, row in enumerate(rows[:5]):
        item = dataset[position]
        assert item["input_ids"] == train[int(row)]["input_ids"]
        assert item["teacher_logits"] == train_logits[row].tolist()
    assert dataset[20]["input_ids"] == tokenizer("transfer tweet number 0")["input_ids"]
    assert dataset[34]["teacher_logits"] == [-1.0, -1.0, -1.0]


def test_logits_for_another_training_split_are_refused(tmp_path: Path, tokenizer, splits):
    path, frame = prepared_train(tmp_path, splits, 10)
    train = TokenizedSplit.from_frame(frame, tokenizer, 128)
    write_logits(tmp_path / "teacher" / TRANSFER_FILE, "text", ["a"], np.zeros((1, 3), dtype=np.float32))
    reordered = frame["id"].tolist()[::-1]
    write_logits(tmp_path / "teacher" / TRAIN_FILE, "id", reordered, np.zeros((10, 3), dtype=np.float32))
    with pytest.raises(DataError, match=r"for another training split than .*dvc repro teacher.*teacher\.weight: 0"):
        distillation_set(train, np.arange(10), tmp_path / "teacher", path, tokenizer, 128)


def test_with_teacher_logits_needs_one_row_per_tweet(tokenizer):
    split = TokenizedSplit.from_texts(["a", "b"], np.array([0, 1]), tokenizer, 16)
    with pytest.raises(ValueError, match="2 tweets but 3 rows"):
        WithTeacherLogits(split, np.zeros((3, 3)))


def test_take_and_concatenate_keep_each_tweet_s_tokens_and_label(tokenizer):
    texts = ["one", "two words", "three little words", "and four words here"]
    split = TokenizedSplit.from_texts(texts, np.array([0, 1, 2, 1]), tokenizer, 16)
    rows = split.subset_rows(2, seed=0)
    assert split.subset(2, seed=0)[0] == split[int(rows[0])]
    joined = TokenizedSplit.concatenate([split.take(np.array([3, 0])), split.take(np.array([2]))])
    assert [joined[i] for i in range(3)] == [split[3], split[0], split[2]]


def test_teacher_scores_give_macro_recall_and_each_class_s_recall():
    labels = np.array([LABEL2ID[name] for name in ("negative", "negative", "neutral", "positive")])
    logits = np.eye(3)[[0, 1, 1, 2]]  # one negative called neutral
    scores = teacher_scores(labels, logits)
    assert scores["recall_negative"] == 0.5
    assert scores["recall_neutral"] == scores["recall_positive"] == 1.0
    assert scores["macro_recall"] == pytest.approx(2.5 / 3)
    assert set(scores) >= {f"recall_{label}" for label in LABELS}
