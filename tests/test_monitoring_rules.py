"""Alert rules and dashboard of monitoring/: valid for promtool, and only series that exist.

Metric names are checked against what actually produces them: our own series, the
recording rules, and BentoML's installed source (so a renamed or invented BentoML
metric fails here, not silently on a dashboard that stays empty).
"""

import functools
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tweet_sentiment.core.labels import LABELS

REPO = Path(__file__).resolve().parents[1]
ALERTS = REPO / "monitoring/alerts.yml"
ALERTS_TEST = REPO / "monitoring/alerts_test.yml"
DASHBOARD = REPO / "monitoring/grafana-dashboard.json"
REFERENCE = REPO / "metrics/reference.json"
REFERENCE_RULE = "tweet_sentiment:reference_label_share"

# Series of tweet_sentiment/serving/prometheus.py, as /metrics exposes them, and Prometheus' own.
OUR_METRICS = {
    "tweet_sentiment_predictions_total",
    "tweet_sentiment_input_chars_bucket",
    "tweet_sentiment_input_chars_sum",
    "tweet_sentiment_input_chars_count",
    "tweet_sentiment_feedback_total",
}
PROMETHEUS_METRICS = {"up"}
# Suffixes prometheus_client adds to a metric's name in the exposition.
EXPOSITION_SUFFIXES = ("_bucket", "_sum", "_count", "_total")
# Grafana variables, replaced by values that make the query plain PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$job": "tweet_sentiment"}
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool"}

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not on PATH; .ci/run installs it (Debian/Ubuntu package `prometheus`)",
)


def promtool(*args: str | Path) -> subprocess.CompletedProcess:
    """Run promtool from the repository root; on failure show its output in the assertion."""
    result = subprocess.run([PROMTOOL, *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"promtool {' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}"
    return result


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_panels() -> list[dict]:
    """Every panel, those inside collapsed rows too."""
    panels = dashboard()["panels"]
    return panels + [inner for panel in panels for inner in panel.get("panels", [])]


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard_panels() for target in panel.get("targets", [])]


def as_promql(query: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    return query


def metric_names(expr: str) -> set[str]:
    """Names of the series a PromQL expression selects (not functions, keywords or labels)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings, label values included
    expr = re.sub(r"\{[^}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)  # range and subquery windows
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)  # label lists
    expr = re.sub(r"\$\w+", " ", expr)  # Grafana variables outside matchers
    names = set()
    for match in re.finditer(r"(?<![\w.:])[a-zA-Z_:][\w:]*", expr):
        is_function = expr[match.end() :].lstrip().startswith("(")
        if not is_function and match.group() not in PROMQL_KEYWORDS:
            names.add(match.group())
    return names


@functools.cache
def bentoml_source() -> str:
    """The text of the installed BentoML packages (Python and the default configurations)."""
    texts = []
    for package in ("bentoml", "_bentoml_impl", "_bentoml_sdk"):
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        root = Path(spec.origin).parent
        texts += [path.read_text(errors="replace") for pattern in ("*.py", "*.yaml") for path in root.rglob(pattern)]
    assert texts, "BentoML's source is not installed where Python finds it"
    return "\n".join(texts)


def is_bentoml_metric(name: str) -> bool:
    """Whether BentoML's source defines `name`: a metric namespace it uses, plus a metric `name=` in that source."""
    source = bentoml_source()
    namespaces = set(re.findall(r"""namespace(?:\s*=\s*|:\s*)["']?(bentoml_\w+)""", source))
    for namespace in namespaces:
        if not name.startswith(namespace + "_"):
            continue
        base = name.removeprefix(namespace + "_")
        candidates = {base} | {base.removesuffix(suffix) for suffix in EXPOSITION_SUFFIXES if base.endswith(suffix)}
        if any(re.search(rf"""name\s*=\s*["']{re.escape(candidate)}["']""", source) for candidate in candidates):
            return True
    return False


def known_metric(name: str, recorded: set[str]) -> bool:
    return name in recorded or name in OUR_METRICS or name in PROMETHEUS_METRICS or is_bentoml_metric(name)


@needs_promtool
def test_rules_pass_promtool_check():
    result = promtool("check", "rules", ALERTS)
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_alerts_fire_on_failures_and_stay_quiet_on_healthy_series():
    """monitoring/alerts_test.yml: drift at 90 % negative, 5xx at 20 %, slow p99, ... and the healthy cases."""
    promtool("test", "rules", ALERTS_TEST)


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path: Path):
    """Each query, Grafana variables filled in, parses as the expression of a recording rule."""
    queries = [as_promql(query) for query in dashboard_queries()]
    as_rules = [{"record": f"dashboard_query_{i}", "expr": query} for i, query in enumerate(queries)]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": as_rules}]}))
    promtool("check", "rules", path)


def test_every_alert_has_a_severity_a_summary_and_a_runbook():
    alerts = [rule for rule in rules() if "alert" in rule]
    assert len(alerts) >= 5
    for alert in alerts:
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        assert "Runbook:" in alert["annotations"]["description"], alert["alert"]


def test_metric_names_are_found_in_promql():
    expr = 'sum by (le) (rate(a_bucket{job="x", le="1e3"}[5m])) / on (job) group_left b:c:1h > 1e3 and $__all'
    assert metric_names(expr) == {"a_bucket", "b:c:1h"}


def test_bentoml_metric_names_come_from_bentoml_source():
    """The check behind the next test: BentoML 1.4's real series pass, invented ones do not."""
    assert is_bentoml_metric("bentoml_service_request_total")
    assert is_bentoml_metric("bentoml_service_request_duration_seconds_bucket")
    assert is_bentoml_metric("bentoml_service_adaptive_batch_size_sum")
    assert not is_bentoml_metric("bentoml_service_request_latency_seconds_bucket")
    assert not is_bentoml_metric("bentoml_service_requests_total")
    assert not is_bentoml_metric("bentoml_http_request_total")


def test_rules_and_dashboard_use_only_series_that_exist():
    """Every series is recorded in alerts.yml, exported by serving.py, or defined in BentoML's source."""
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    names_in_rules = set().union(*(metric_names(rule["expr"]) for rule in rules()))
    names_in_dashboard = set().union(*(metric_names(query) for query in dashboard_queries()))
    # the parser sees the queries at all
    assert {"bentoml_service_request_total", "tweet_sentiment_predictions_total"} <= names_in_rules
    assert {"bentoml_service_request_duration_seconds_bucket", REFERENCE_RULE} <= names_in_dashboard
    unknown = {name for name in names_in_rules | names_in_dashboard if not known_metric(name, recorded)}
    assert not unknown, f"series no rule, serving.py or BentoML defines: {sorted(unknown)}"


def test_dashboard_panels_have_unique_ids_and_fit_the_grid():
    panels = dashboard_panels()
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {ids}"
    taken: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["w"] > 0 and pos["h"] > 0 and pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not cells & taken, f"panel {panel['title']!r} overlaps another"
        taken |= cells


def test_dashboard_queries_go_to_the_chosen_prometheus():
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert [item["name"] for item in board["__inputs"]] == ["DS_PROMETHEUS"]
    assert "DS_PROMETHEUS" in {variable["name"] for variable in board["templating"]["list"]}
    for panel in dashboard_panels():
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]


def reference_shares() -> dict[str, float]:
    """The reference shares as the recording rules set them: `vector(<share>)` with a `label` label."""
    shares = {}
    for rule in rules():
        if rule.get("record") == REFERENCE_RULE:
            match = re.fullmatch(r"vector\(([0-9.]+)\)", rule["expr"].strip())
            assert match, f"{REFERENCE_RULE} should be vector(<share>), not {rule['expr']!r}"
            shares[rule["labels"]["label"]] = float(match.group(1))
    return shares


def test_reference_shares_cover_every_label_and_sum_to_one():
    shares = reference_shares()
    assert sorted(shares) == sorted(LABELS)
    assert sum(shares.values()) == pytest.approx(1, abs=0.015)  # three values rounded to 2 decimals


@pytest.mark.skipif(not REFERENCE.exists(), reason="metrics/reference.json is not written by the pipeline yet")
def test_reference_shares_are_the_pipelines_rounded_to_two_decimals():
    predicted_share = json.loads(REFERENCE.read_text())["predicted_share"]
    assert reference_shares() == {label: round(share, 2) for label, share in predicted_share.items()}
