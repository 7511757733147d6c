"""The drift checks and the drift command, on synthetic features and a log written by QueryLog."""

import gzip
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import recall_score

from tests.support.drift import SETTINGS, synthetic
from tests.support.repo import REPO
from tweet_sentiment.core.labels import LABELS
from tweet_sentiment.core.language import detect_languages
from tweet_sentiment.core.params import load_params
from tweet_sentiment.monitor.drift import command, rates
from tweet_sentiment.monitor.drift.checks import DriftSettings, mmd_permutation_test, run_checks
from tweet_sentiment.monitor.drift.features import Features
from tweet_sentiment.monitor.drift.reference import Reference, load_reference, save_reference
from tweet_sentiment.serving.querylog import QueryLog, RequestIds
from tweet_sentiment.serving.tokenizer import TokenCounts


def verdicts(current: Features, settings: DriftSettings = SETTINGS) -> dict[str, bool]:
    return {check.name: check.drift for check in run_checks(synthetic(2000, seed=1), current, settings)}


def test_same_distribution_no_drift_and_each_shift_is_caught_by_its_check():
    assert not any(verdicts(synthetic(500, seed=3)).values())
    assert verdicts(synthetic(500, seed=3, shares=(0.6, 0.2, 0.2)))["prediction_drift"]
    assert verdicts(synthetic(500, seed=3, confidence_shift=0.2))["confidence_drift"]
    longer = synthetic(500, seed=3)
    longer = Features(longer.predicted, longer.confidence, longer.chars + 60, longer.unknown_share, longer.embedding)
    assert verdicts(longer) == verdicts(longer) | {"length_drift": True}
    moved = synthetic(500, seed=3)
    moved = Features(moved.predicted, moved.confidence, moved.chars, moved.unknown_share, moved.embedding + 0.5)
    assert verdicts(moved)["embedding_drift"]


def test_thresholds_share_alpha_between_the_checks_run():
    with_embeddings = run_checks(synthetic(1000, 1), synthetic(200, 2), SETTINGS)
    without = synthetic(200, 2)
    without = Features(without.predicted, without.confidence, without.chars, without.unknown_share, None)
    hashed_only = run_checks(synthetic(1000, 1), without, SETTINGS)
    assert {c.threshold["p_value"] for c in with_embeddings} == {0.01} and len(with_embeddings) == 5
    assert {c.threshold["p_value"] for c in hashed_only} == {0.0125}
    assert "embedding_drift" not in {c.name for c in hashed_only}


def test_a_significant_but_small_difference_is_no_drift():
    big_window = synthetic(20_000, seed=3, shares=(0.24, 0.38, 0.38))  # 4 points off: significant at this size
    [check] = [c for c in run_checks(synthetic(20_000, seed=1), big_window, SETTINGS) if c.name == "prediction_drift"]
    assert check.p_value < check.threshold["p_value"] and check.effect == pytest.approx(0.04, abs=0.01)
    assert not check.drift
    strict = replace(SETTINGS, min_label_shift=0.01)
    assert verdicts(big_window, strict)["prediction_drift"]


def test_mmd_p_value_is_small_for_shifted_samples_and_not_for_equal_ones():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
    _, same = mmd_permutation_test(x, y, 200, np.random.default_rng(1))
    _, shifted = mmd_permutation_test(x, y + 0.6, 200, np.random.default_rng(1))
    assert same > 0.05 and shifted == 1 / 201


def test_reference_round_trip(tmp_path: Path):
    reference = Reference(synthetic(100, 0), np.array([str(i) for i in range(100)]), "v1", SETTINGS)
    save_reference(reference, tmp_path / "ref.npz")
    loaded = load_reference(tmp_path / "ref.npz")
    assert (loaded.model_version, loaded.settings) == ("v1", SETTINGS)
    np.testing.assert_array_equal(loaded.features.predicted, reference.features.predicted)
    np.testing.assert_allclose(loaded.features.embedding, reference.features.embedding, atol=1e-2)
    assert list(loaded.ids[:3]) == ["0", "1", "2"]
    assert reference.summary()["tweets"] == 100


def write_log(
    directory: Path, features: Features, feedback: list[tuple[str, str]] = (), langs: list[str] | None = None
) -> None:
    """A query log written by the service's own writer, with these features (and languages; default `und`)."""
    log, ids = QueryLog(str(directory), "v1", log_text=False), RequestIds(b"k")
    for i in range(len(features)):
        scores = dict.fromkeys(LABELS, (1 - float(features.confidence[i])) / 2)
        scores[LABELS[features.predicted[i]]] = float(features.confidence[i])
        label, lang = LABELS[features.predicted[i]], "und" if langs is None else langs[i]
        result = {"pred_id": int(features.predicted[i]), "pred_label": label, "scores": scores, "lang": lang}
        text = "x" * int(features.chars[i])
        log.predictions([text], [result], [ids.issue(result["pred_id"])], [TokenCounts(10, 0)], 0.01)
    for label, predicted in feedback:
        log.feedback(label, predicted, None)
    log.close()


@pytest.fixture
def reference_file(tmp_path: Path) -> Path:
    path = tmp_path / "reference.npz"
    save_reference(Reference(synthetic(2000, 1), np.arange(2000).astype(str), "v1", SETTINGS), path)
    return path


def run_cli(log_dir: Path, out: Path, reference: Path, *extra: str) -> tuple[int, dict | None]:
    arguments = [str(log_dir), "--out", str(out), "--reference", str(reference), "--model-dir", "none", *extra]
    status = command.main(arguments)
    result = out / "drift.json"
    return status, json.loads(result.read_text()) if result.exists() else None


def test_command_on_in_distribution_log_finds_no_drift_and_scores_feedback(tmp_path: Path, reference_file: Path):
    feedback = [("negative", "negative"), ("negative", "neutral"), ("neutral", "neutral"), ("positive", "positive")]
    write_log(tmp_path / "log", synthetic(400, seed=5), feedback)
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file)
    assert status == 0 and result["drift_detected"] is False
    assert result["predictions"] == 400 and result["feedback"] == 4
    assert set(result["checks"]) == {
        *("prediction_drift", "confidence_drift", "length_drift", "unknown_token_drift", "non_english_share")
    }
    assert result["skipped_checks"] == {"embedding_drift": "no model given (--model-dir)"}
    accuracy = result["live_accuracy"]
    expected = recall_score([a for a, _ in feedback], [p for _, p in feedback], average="macro")
    assert accuracy["macro_recall"] == round(expected, 4) and accuracy["confusion_matrix"][0] == [1, 1, 0]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "No drift detected" in html and html.count("<svg") == 4 and "https://" not in html


def test_command_on_a_one_sided_log_finds_drift(tmp_path: Path, reference_file: Path):
    write_log(tmp_path / "log", synthetic(400, seed=5, shares=(0.9, 0.05, 0.05)))
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file)
    assert status == 1 and result["drift_detected"] is True
    assert result["checks"]["prediction_drift"]["drift"] is True
    assert result["checks"]["prediction_drift"]["current"]["negative"] > 0.8
    assert "Drift detected: prediction_drift" in (tmp_path / "out" / "report.html").read_text()


def test_last_judges_only_the_newest_predictions(tmp_path: Path, reference_file: Path):
    write_log(tmp_path / "log", synthetic(300, seed=5, shares=(0.9, 0.05, 0.05)))
    write_log(tmp_path / "log", synthetic(300, seed=6))  # logged later
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file, "--last", "300")
    assert (status, result["predictions"], result["drift_detected"]) == (0, 300, False)


def test_too_few_predictions_is_a_message_not_a_verdict(tmp_path: Path, reference_file: Path, caplog):
    write_log(tmp_path / "log", synthetic(20, seed=5))
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file)
    assert status == 2 and result is None
    assert "only 20 logged predictions" in caplog.text and "at least 50" in caplog.text


def test_a_missing_reference_or_log_is_a_clear_error(tmp_path: Path, reference_file: Path, caplog):
    assert run_cli(tmp_path / "nowhere", tmp_path / "out", reference_file) == (2, None)
    assert "pass the query-log directory" in caplog.text
    (tmp_path / "log").mkdir()
    assert run_cli(tmp_path / "log", tmp_path / "out", tmp_path / "missing.npz") == (2, None)
    assert "dvc repro reference" in caplog.text


def test_rates_count_flagged_windows_per_stream_and_check():
    reference = Reference(synthetic(2000, 1), np.arange(2000).astype(str), "v1", SETTINGS)
    streams = {"same": synthetic(600, seed=3), "one_sided": synthetic(600, seed=3, shares=(0.9, 0.05, 0.05))}
    rows = rates.measure(
        reference,
        [rates.Stream(name, name != "same", name, np.arange(600), name) for name in streams],
        streams,
        window=300,
        windows=4,
    )
    by_stream = {row["stream"]: row for row in rows}
    assert (by_stream["same"]["any"], by_stream["one_sided"]["any"]) == (0.0, 1.0)
    assert by_stream["one_sided"]["prediction_drift"] == 1.0 and by_stream["one_sided"]["windows"] == 4
    table = rates.markdown(rows)
    assert "| one_sided | one_sided | shifted: detection | 600 | 4 | 100% | 100% |" in table


def test_live_macro_recall_counts_only_the_classes_that_got_feedback():
    accuracy = command.live_accuracy(
        [{"label": "negative", "predicted": "negative"}, {"label": "negative", "predicted": "negative"}]
    )
    assert (accuracy["macro_recall"], accuracy["classes"]) == (1.0, ["negative"])
    assert accuracy["confusion_matrix"] == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]
    assert command.live_accuracy([{"label": "happy", "predicted": "negative"}]) is None


def test_with_last_feedback_counts_from_the_window_start(tmp_path: Path, reference_file: Path):
    write_log(tmp_path / "log", synthetic(100, seed=5), [("negative", "positive")])  # old feedback
    time.sleep(0.01)  # the log's times have millisecond resolution
    write_log(tmp_path / "log", synthetic(200, seed=6), [("negative", "negative")])
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file, "--last", "200")
    assert status == 0 and result["live_accuracy"]["labelled"] == 1 and result["live_accuracy"]["accuracy"] == 1.0


def test_incomplete_prediction_records_are_skipped_not_fatal(tmp_path: Path, reference_file: Path, caplog):
    write_log(tmp_path / "log", synthetic(120, seed=5))
    good = json.loads((next((tmp_path / "log").glob("queries-*.jsonl"))).read_text().splitlines()[0])
    broken = [
        {k: v for k, v in good.items() if k != "chars"},
        good | {"scores": [0.1, 0.2, 0.7]},
        good | {"label": "happy"},
        good | {"tokens": "many"},
        good | {"time": "yesterday"},
    ]
    (tmp_path / "log" / "queries-9.jsonl").write_text("".join(json.dumps(r) + "\n" for r in broken))
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file)
    assert (status, result["predictions"], result["skipped_lines"]) == (0, 120, 5)
    assert "skipped 5 of 125 log lines: invalid_records 5" in caplog.text


def test_an_old_reference_asks_for_a_rebuild(tmp_path: Path, caplog):
    path = tmp_path / "old.npz"
    save_reference(Reference(synthetic(100, 0), np.arange(100).astype(str), "v1", SETTINGS), path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["meta"]))
    del meta["settings"]["min_ks"]  # written before the effect floors existed
    arrays["meta"] = np.array(json.dumps(meta))
    with path.open("wb") as file:
        np.savez(file, **arrays)
    (tmp_path / "log").mkdir()
    assert run_cli(tmp_path / "log", tmp_path / "out", path) == (2, None)
    assert "rebuild it with `dvc repro reference`" in caplog.text


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_window_sizes_must_be_positive(tmp_path: Path, value: str, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.main([str(tmp_path), "--out", str(tmp_path / "out"), "--last", value])
    assert exit_info.value.code == 2 and "not a positive whole number" in capsys.readouterr().err


ENGLISH_TWEETS = REPO / "data/external/tweeteval-sentiment/test_text.txt.gz"  # TweetEval's test tweets (in git)
LANGUAGE_SAMPLE = Path(__file__).parent / "data/language_sample.tsv"


def write_languages(directory: Path, langs: list[str | None], seed: int = 5) -> None:
    """A log written by QueryLog with these `lang`s; a None one is left out, as in records logged before it."""
    write_log(directory, synthetic(len(langs), seed=seed), langs=[lang or "und" for lang in langs])
    file = next(directory.glob("queries-*.jsonl"))
    records = [json.loads(line) for line in file.read_text().splitlines()]
    for record, lang in zip(records, langs, strict=True):
        if lang is None:
            del record["lang"]
    file.write_text("".join(json.dumps(record) + "\n" for record in records))


def english_tweets(n: int) -> list[str]:
    with gzip.open(ENGLISH_TWEETS, "rt", encoding="utf-8") as lines:
        return [line.strip() for _, line in zip(range(n), lines, strict=False)]


def spanish_tweets() -> list[str]:
    rows = LANGUAGE_SAMPLE.read_text(encoding="utf-8").splitlines()[1:]
    return [text for lang, text in (row.split("\t", 1) for row in rows) if lang == "es"]


def test_the_non_english_share_fires_on_spanish_tweets_and_not_on_english_ones(
    tmp_path: Path, reference_file: Path, monkeypatch
):
    monkeypatch.chdir(REPO)  # the ceiling comes from params.yaml where the command runs
    ceiling = load_params().monitor.max_non_english_share
    write_languages(tmp_path / "english", detect_languages(english_tweets(400)))
    status, result = run_cli(tmp_path / "english", tmp_path / "out-english", reference_file)
    check = result["checks"]["non_english_share"]
    assert (status, check["drift"], check["threshold"]["effect"]) == (0, False, ceiling)
    assert check["current"]["non_english_share"] < ceiling / 3 and check["current"]["with_lang"] == 400
    spanish = detect_languages(spanish_tweets())
    write_languages(tmp_path / "spanish", spanish)
    status, result = run_cli(tmp_path / "spanish", tmp_path / "out-spanish", reference_file)
    check = result["checks"]["non_english_share"]
    assert (status, check["drift"], len(spanish)) == (1, True, 65)
    assert check["current"]["non_english_share"] > 0.9 and check["current"]["languages"]["es"] > 60
    assert "Drift detected: non_english_share" in (tmp_path / "out-spanish" / "report.html").read_text()


def test_the_language_check_shares_alpha_with_the_others(tmp_path: Path, reference_file: Path):
    write_languages(tmp_path / "log", ["en"] * 200)
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file, "--max-non-english-share", "0.1")
    assert status == 0 and len(result["checks"]) == 5 and "non_english_share" not in result["skipped_checks"]
    assert {check["threshold"]["p_value"] for check in result["checks"].values()} == {0.05 / 5}
    assert "non_english_share" in (tmp_path / "out" / "report.html").read_text()


def test_a_small_excess_over_the_ceiling_is_not_enough(tmp_path: Path, reference_file: Path):
    write_languages(tmp_path / "log", ["es"] * 12 + ["en"] * 88)  # 12% against 10%: not significant in 100
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file, "--max-non-english-share", "0.1")
    check = result["checks"]["non_english_share"]
    assert status == 0 and check["effect"] == 0.12 and check["p_value"] > check["threshold"]["p_value"]


def test_records_without_lang_count_as_unknown(tmp_path: Path, reference_file: Path, caplog):
    write_languages(tmp_path / "log", [None] * 60 + ["es"] * 60 + ["und"] * 40, seed=7)  # older lines first
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file, "--max-non-english-share", "0.1")
    current = result["checks"]["non_english_share"]["current"]
    assert status == 1 and (current["unknown"], current["with_lang"], current["non_english_share"]) == (60, 100, 0.6)
    assert "60 of 160 predictions carry no `lang`" in caplog.text
    write_languages(tmp_path / "old", [None] * 120)
    status, result = run_cli(tmp_path / "old", tmp_path / "out-old", reference_file, "--max-non-english-share", "0.1")
    assert status == 0 and "non_english_share" not in result["checks"]
    assert result["skipped_checks"]["non_english_share"].startswith("only 0 predictions carry `lang` (120 were")


def test_without_params_yaml_or_flag_the_language_check_is_skipped(tmp_path: Path, reference_file: Path, monkeypatch):
    write_languages(tmp_path / "log", ["es"] * 100)
    monkeypatch.chdir(tmp_path)
    status, result = run_cli(tmp_path / "log", tmp_path / "out", reference_file)
    assert status == 0 and result["skipped_checks"]["non_english_share"].startswith("no ceiling")


@pytest.mark.parametrize("value", ["0", "1", "-0.1", "half"])
def test_the_ceiling_must_be_a_share(tmp_path: Path, value: str, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command.main([str(tmp_path), "--out", str(tmp_path / "out"), "--max-non-english-share", value])
    assert exit_info.value.code == 2 and "is not a share between 0 and 1" in capsys.readouterr().err
