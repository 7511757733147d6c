"""The model card: the same committed files give the same bytes, its figures are the metrics files',
`release show VERSION` prints the card committed at the version's tag, and the report shows its diff."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.support.registry import commit_version
from tests.support.repo import REPO, run
from tweet_sentiment.card.facts import CARD_FILES, CARD_PARAMS, PARAMS, ModelCardError
from tweet_sentiment.card.metadata import card_for, split_front_matter, with_registry_version
from tweet_sentiment.card.model_card import render_model_card
from tweet_sentiment.core import paths
from tweet_sentiment.core.params import ParamsError, load_params
from tweet_sentiment.release import command, registry
from tweet_sentiment.release.bento_build import build_bento
from tweet_sentiment.release.report import card_section


def metrics(root: Path, path: str):
    return json.loads((root / "metrics" / path).read_text())


def copy_card_inputs(source: Path, target: Path) -> Path:
    """Only the files the card is made from, copied from `source` to `target` (fresh file times, another path)."""
    for path in CARD_FILES:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        if (source / path).is_dir():
            shutil.copytree(source / path, target / path)
        else:
            shutil.copy(source / path, target / path)
    return target


@pytest.fixture(scope="module")
def pipeline(quick_pipeline: Path) -> Path:
    """A clone whose whole pipeline ran (a fresh clone has no models/serving, whose runtime.json the card reads)."""
    return quick_pipeline


@pytest.fixture(scope="module")
def card(pipeline: Path) -> str:
    return render_model_card(pipeline)


def markdown_table(card: str, header: str) -> dict[str, list[str]]:
    """The Markdown table whose header row starts with `| header |`: first cell -> the other cells."""
    lines = card.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.slow
def test_the_same_committed_files_give_the_same_card_bytes(pipeline: Path, card: str, tmp_path: Path, monkeypatch):
    """Two builds of one commit: the package stage's card, and the files copied elsewhere, read from elsewhere."""
    copy = copy_card_inputs(pipeline, tmp_path / "elsewhere")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "Pacific/Chatham")
    assert render_model_card(copy).encode() == card.encode() == (pipeline / paths.MODEL_CARD).read_bytes()


@pytest.mark.slow
def test_a_missing_input_is_named(pipeline: Path, tmp_path: Path):
    copy = copy_card_inputs(pipeline, tmp_path)
    (copy / "metrics/data.json").unlink()
    with pytest.raises(ModelCardError, match=re.escape("metrics/data.json is missing")):
        render_model_card(copy)


@pytest.mark.slow
def test_the_cards_figures_are_the_metrics_files(pipeline: Path, card: str):
    evaluation, data = metrics(pipeline, "eval/metrics.json"), metrics(pipeline, "data.json")
    max_eval_samples = load_params(pipeline / "params.yaml").max_eval_samples
    metadata, _ = split_front_matter(card)
    [index] = metadata["model-index"]
    hub_split = {"validation": "val", "test": "test"}
    found = {
        (hub_split[result["dataset"]["split"]], metric["type"]): metric["value"]
        for result in index["results"]
        for metric in result["metrics"]
    }
    keys = {"recall": "macro_recall", "f1": "macro_f1", "accuracy": "accuracy"}
    expected = {
        (split, hub): round(evaluation[split][key], 4) for split in ("val", "test") for hub, key in keys.items()
    }
    assert found == expected

    splits = markdown_table(card, "split | tweets | macro recall")
    for split, (tweets, recall, f1, accuracy) in splits.items():
        scores = evaluation[split]
        assert [recall, f1, accuracy] == [f"{scores[k]:.4f}" for k in ("macro_recall", "macro_f1", "accuracy")]
        rows = data[split.removesuffix("_synthetic_emoji").removesuffix("_no_emoji").removesuffix("_emoji")]["rows"]
        expected = scores.get("tweets", min(rows, max_eval_samples or rows))  # evaluate scores a sample of each split
        assert tweets == f"{expected:,}"
    assert set(splits) == {
        name for name, value in evaluation.items() if isinstance(value, dict) and "macro_recall" in value
    }

    shifts = markdown_table(card, "shift")
    assert shifts == {
        row["shift"]: [f"{row[k]:.4f}" for k in ("macro_recall", "macro_f1", "accuracy", "drop", "changed")]
        for row in metrics(pipeline, "eval/plots/custom/robustness.json")
    }
    assert {name: cells[0] for name, cells in shifts.items()} == {
        name: f"{row['macro_recall']:.4f}" for name, row in evaluation["robustness"].items()
    }
    per_class_test = markdown_table(card.split("Per class, test")[1], "class")
    assert per_class_test == {
        row["label"]: [f"{row[k]:.4f}" for k in ("precision", "recall", "f1")] + [f"{row['support']:,}"]
        for row in metrics(pipeline, "eval/plots/custom/per_class_test.json")
    }

    classes = markdown_table(card, "split | tweets | negative")
    assert classes == {
        split: [f"{data[split][k]:,}" for k in ("rows", "negative", "neutral", "positive")]
        for split in ("train", "val", "test")
    }
    sources = markdown_table(card, "source")
    assert {name: cells[:2] for name, cells in sources.items()} == {
        name: [f"{source['read']:,}", f"{source['kept']:,}"] for name, source in data["sources"].items()
    }

    candidates = metrics(pipeline, "optimize/metrics.json")
    gate = markdown_table(card, "runtime")
    assert {name: [cells[1], cells[3], cells[5]] for name, cells in gate.items()} == {
        name: [f"{row['test']['macro_recall']:.4f}", f"{row['test']['agreement']:.4f}", "yes" if row["served"] else ""]
        for name, row in candidates.items()
    }
    assert f"`{json.loads((pipeline / 'models/serving/runtime.json').read_text())['name']}`" in card
    gap = evaluation["val"]["macro_recall"] - evaluation["test"]["macro_recall"]
    assert (f"{gap:.4f} lower on test" if gap >= 0 else f"{-gap:.4f} higher on test") in card


@pytest.mark.slow
def test_the_emoji_slices_are_listed_worst_first(pipeline: Path, card: str):
    evaluation = metrics(pipeline, "eval/metrics.json")
    slices = markdown_table(card, "slice")
    differences = [float(cells[3]) for cells in slices.values()]
    assert differences == sorted(differences)
    difference = evaluation["test_emoji"]["macro_recall"] - evaluation["test_no_emoji"]["macro_recall"]
    assert slices["test_emoji"][3] == f"{difference:+.4f}"
    by_emoji = pipeline / "metrics/eval/plots/custom/emoji_accuracy_test.json"
    expected = json.loads(by_emoji.read_text())[:5] if by_emoji.is_file() else []
    if expected:  # the quick run scores 256 test tweets: an emoji may not reach the 20 tweets it needs
        worst = markdown_table(card, "emoji")
        assert worst == {row["emoji"]: [f"{row['tweets']:,}", f"{row['accuracy']:.4f}"] for row in expected}
    else:
        assert "so none is scored on its own" in card


@pytest.mark.slow
def test_the_registry_version_goes_into_the_front_matter(card: str):
    served = with_registry_version(card, "v0.2.0-rc.1+build.5")
    metadata, body = split_front_matter(served)
    assert metadata["registry_version"] == "v0.2.0-rc.1+build.5"
    assert metadata | {"registry_version": None} == split_front_matter(card)[0] | {"registry_version": None}
    assert body == split_front_matter(card)[1]
    again = with_registry_version(served, "1.10")  # a number-like version stays text, and replaces the first
    assert split_front_matter(again)[0]["registry_version"] == "1.10" and again.count("registry_version:") == 1
    with pytest.raises(ValueError, match="no YAML front matter"):
        with_registry_version("# a card without metadata\n", "v0.1.0")


def test_the_package_stage_declares_what_the_card_reads_and_keeps_the_card_in_git():
    """dvc.yaml's `package` reruns when any figure on the card changes, and git holds the card for `release show`."""
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["package"]
    deps = [Path(dep) for dep in stage["deps"]]
    files = [path for path in CARD_FILES if path != PARAMS]
    assert [f for f in files if not any(f == dep or dep in f.parents for dep in deps)] == []
    params = set(stage["params"])
    assert [p for p in CARD_PARAMS if not any(p == k or p.startswith(f"{k}.") for k in params)] == []
    outs = {next(iter(out)) if isinstance(out, dict) else out: out for out in stage["outs"]}
    assert outs[str(paths.MODEL_CARD)] == {str(paths.MODEL_CARD): {"cache": False}}


@pytest.mark.slow
def test_the_bento_is_not_built_without_its_card(pipeline: Path, card: str, tmp_path: Path, monkeypatch):
    """A bentofile whose `include` leaves the card out stops the stage before `bentoml build`, naming the fix."""
    work = copy_card_inputs(pipeline, tmp_path / "work")
    shutil.rmtree(work / paths.SERVING)
    (work / paths.SERVING).symlink_to(pipeline / paths.SERVING)
    bentofile = yaml.safe_load((REPO / "bentofile.yaml").read_text())
    bentofile["include"] = [p for p in bentofile["include"] if p != str(paths.MODEL_CARD)]
    (work / "bentofile.yaml").write_text(yaml.safe_dump(bentofile))
    monkeypatch.chdir(work)
    with pytest.raises(ParamsError, match=re.escape("must take models/model_card.md")):
        build_bento(load_params(REPO / "params.yaml"))
    assert (work / paths.MODEL_CARD).read_text() == card  # written first, for the build


def commit_card(repo: Path, text: str) -> str:
    (repo / paths.MODEL_CARD).parent.mkdir(exist_ok=True)
    (repo / paths.MODEL_CARD).write_text(text)
    return commit_version(repo, 0.70, 0.73, text[:3])


def test_release_show_prints_the_card_committed_at_the_versions_tag(registry_repo: Path, monkeypatch, capsys, caplog):
    registry.register(registry_repo, commit_version(registry_repo, 0.70, 0.73, "a"), "before cards")
    registry.register(registry_repo, commit_card(registry_repo, "---\nlicense: x\n---\n\n# v0.2.0's\n"), "carded")
    commit_card(registry_repo, "---\nlicense: x\n---\n\n# a later commit's\n")
    monkeypatch.chdir(registry_repo)
    assert command.main(["show", "v0.2.0"]) == command.EXIT_OK
    assert capsys.readouterr().out == "---\nlicense: x\n---\n\n# v0.2.0's\n"
    for version, error in [
        ("v0.1.0", "tweet-sentiment@v0.1.0 has no model card: models/model_card.md is not committed at its tag"),
        ("v0.3.0", "tweet-sentiment@v0.3.0 is not registered (registered: v0.1.0, v0.2.0)"),
        ("0.2.0", "'0.2.0' is not a version"),
    ]:
        caplog.clear()
        assert command.main(["show", version]) == command.EXIT_CANNOT
        [record] = [r for r in caplog.records if r.levelname == "ERROR"]
        assert record.getMessage().startswith(error) and "\n" not in record.getMessage()
    assert capsys.readouterr().out == ""


def test_the_report_shows_the_cards_unified_diff(registry_repo: Path):
    card = registry_repo / paths.MODEL_CARD
    assert card_section(registry_repo, "HEAD").startswith("No model card in the workspace")
    commit_version(registry_repo, 0.70, 0.73, "a")
    card.write_text("# card\n\nmacro recall 0.6981\n")
    assert card_section(registry_repo, "HEAD").startswith("HEAD has no model card; all of it is new.")
    run(["git", "add", "-A"], cwd=registry_repo)
    run(["git", "commit", "-qm", "card"], cwd=registry_repo)
    assert card_section(registry_repo, "HEAD") == "The model card is the same as HEAD's."
    card.write_text("# card\n\nmacro recall 0.7012\n")
    assert card_section(registry_repo, "HEAD") == (
        "```diff\n--- HEAD:models/model_card.md\n+++ workspace:models/model_card.md\n"
        "@@ -1,3 +1,3 @@\n # card\n \n-macro recall 0.6981\n+macro recall 0.7012\n```"
    )


@pytest.mark.slow
def test_the_service_serves_a_card_only_for_the_weights_it_describes(card: str):
    metadata = split_front_matter(card)[0]
    weights, runtime = metadata["model_version"], metadata["runtime"]
    served = card_for(card, weights, runtime, "v0.3.0")
    assert served is not None and split_front_matter(served)[0]["registry_version"] == "v0.3.0"
    assert card_for(card, "0123456789ab", runtime, "v0.3.0") is None  # a card beside other weights is not theirs
    assert card_for(card, weights, "torchscript-bf16", "v0.3.0") is None  # nor the same weights' trace's
    assert card_for("# no front matter\n", weights, runtime, "v0.3.0") is None


@pytest.mark.slow
def test_get_card_on_a_running_service_is_the_card_of_what_it_serves(pipeline: Path, tmp_path: Path):
    """The quick pipeline's Bento contents served: its card, with the registry version, figures = metrics files."""
    import urllib.request

    from tests.support.server import serving

    served_dir = pipeline / paths.SERVING
    version = {"TWEET_SENTIMENT_REGISTRY_VERSION": "v0.7.0-rc.2"}
    with serving(served_dir, tmp_path / "log", **version) as url, urllib.request.urlopen(f"{url}/card") as answer:
        media_type, served = answer.headers["content-type"], answer.read().decode()
    assert media_type.startswith("text/markdown")
    assert served == with_registry_version((pipeline / paths.MODEL_CARD).read_text(), "v0.7.0-rc.2")
    metadata, _ = split_front_matter(served)
    assert metadata["registry_version"] == "v0.7.0-rc.2"
    assert metadata["model_version"] == json.loads((served_dir / "runtime.json").read_text())["model_version"]
    evaluation = metrics(pipeline, "eval/metrics.json")
    for result in metadata["model-index"][0]["results"]:
        split = {"validation": "val", "test": "test"}[result["dataset"]["split"]]
        [recall] = [m["value"] for m in result["metrics"] if m["type"] == "recall"]
        assert recall == round(evaluation[split]["macro_recall"], 4)
