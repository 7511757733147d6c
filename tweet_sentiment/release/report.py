"""`tweet-sentiment report [BASE_REV] --out DIR`: what a change does to the model, for its reviewer.

Writes `DIR/report.md`: the params diff and the metrics diff against BASE_REV
(DVC's own `dvc params diff` / `dvc metrics diff` tables), the model card's
unified diff against BASE_REV's card, the release gate's verdict for the
workspace against the version in `prod`, and every plot of `dvc.yaml` for both
revisions as PNG files beside it. The plots are the
Vega-Lite specs `dvc plots diff --json` writes, rendered offline by
`vl-convert-python` (`dvc plots diff`'s HTML loads Vega from a CDN). CI posts
the file on pull requests with `cml comment create`. Exit status: 0 written,
2 not (one ERROR line says why).
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from tweet_sentiment.core import paths
from tweet_sentiment.core.params import ParamsError, load_params
from tweet_sentiment.release import gate, registry
from tweet_sentiment.release.registry import ARTIFACT, RegistryError
from tweet_sentiment.release.revisions import RevisionError, committed_text, repo_root

log = logging.getLogger("tweet_sentiment.report")


def _dvc(repo: Path, *args: str) -> str:
    """A `dvc` command's output, run as a user runs it."""
    result = subprocess.run(["dvc", *args], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise RevisionError(f"dvc {' '.join(args)} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout.strip()


def _file_name(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + ".png"


def render_plots(repo: Path, base: str, out: Path) -> list[tuple[str, str]]:
    """Every `dvc.yaml` plot, workspace against `base`, as PNG files in `out`; (title, file name) each."""
    import vl_convert

    plots = json.loads(_dvc(repo, "plots", "diff", base, "--json"))["data"]
    written = []
    for title, specs in plots.items():
        for spec in specs:
            if spec.get("type") == "vega":
                name = _file_name(title)
                (out / name).write_bytes(vl_convert.vegalite_to_png(spec["content"], scale=1.5))
                written.append((title, name))
    return written


def gate_section(repo: Path) -> str:
    """The gate's table for the workspace's metrics against prod's (throughput is timed at promotion)."""
    params = load_params(repo / "params.yaml")
    candidate = gate.scores_at(lambda path: (repo / path).read_text(encoding="utf-8"))
    prod = registry.in_stage(repo, "prod")
    incumbent = gate.scores_at(lambda path: committed_text(repo, prod.commit, path)) if prod else None
    rows = gate.check(candidate, incumbent, params.release, was_in_staging=None)
    verdict = {True: "ok", False: "**FAILED**", None: "not checked"}
    against = f"{ARTIFACT}@{prod.version} in prod" if prod else "nothing in prod yet: floors only"
    table = tabulate(
        [(r.name, r.candidate, r.incumbent, r.limit, verdict[r.passed]) for r in rows],
        headers=["criterion", "this change", prod.version if prod else "prod", "limit", "verdict"],
        tablefmt="github",
    )
    failures = gate.failed(rows)
    summary = (
        f"would be refused: {'; '.join(failures)}" if failures else "would pass (throughput is timed at promotion)"
    )
    return f"Against {against}: {summary}.\n\n{table}"


def card_section(repo: Path, base: str) -> str:
    """The model card's unified diff, BASE_REV's committed card against the workspace's; a sentence when none."""
    card = repo / paths.MODEL_CARD
    if not card.is_file():
        return f"No model card in the workspace: `dvc repro package` writes {paths.MODEL_CARD}."
    try:
        before = committed_text(repo, base, str(paths.MODEL_CARD))
    except RevisionError:
        before = ""
    diff = "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            card.read_text(encoding="utf-8").splitlines(keepends=True),
            f"{base}:{paths.MODEL_CARD}",
            f"workspace:{paths.MODEL_CARD}",
        )
    )
    if not diff:
        return f"The model card is the same as {base}'s."
    new = f"{base} has no model card; all of it is new.\n\n" if not before else ""
    return f"{new}```diff\n{diff}```"


def write_report(repo: Path, base: str, out: Path) -> Path:
    """`out/report.md` and its PNG plots; the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    params = _dvc(repo, "params", "diff", base, "--md") or "No param changed."
    metrics = _dvc(repo, "metrics", "diff", base, "--md") or "No metric changed."
    plots = render_plots(repo, base, out)
    figures = "\n\n".join(f"### {title}\n\n![{title}]({name})" for title, name in plots)
    text = (
        f"# Model report: workspace against {base}\n\n"
        f"## Params\n\n{params}\n\n## Metrics\n\n{metrics}\n\n## Model card\n\n{card_section(repo, base)}\n\n"
        f"## Release gate\n\n{gate_section(repo)}\n\n## Plots\n\n{figures}\n"
    )
    report = out / "report.md"
    report.write_text(text, encoding="utf-8")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="tweet-sentiment report", description=__doc__.split("\n\n")[0])
    parser.add_argument("base", nargs="?", default="HEAD", metavar="BASE_REV", help="compare with [%(default)s]")
    parser.add_argument("--out", required=True, type=Path, help="folder for report.md and its plots")
    args = parser.parse_args(argv)
    try:
        report = write_report(repo_root(Path.cwd()), args.base, args.out)
    except (RevisionError, RegistryError, ParamsError, OSError, KeyError, ValueError) as error:
        log.error("%s", error)
        return 2
    log.info("wrote %s", report)
    return 0
