"""The service's settings: each `TWEET_SENTIMENT_*` variable parsed and checked once, before any worker starts."""

import os
import re
import signal
from pathlib import Path

import pytest

from tests.support.repo import REPO
from tests.support.server import start_server
from tweet_sentiment.serving.settings import Settings, SettingsError, check_query_log

SETTINGS_TABLE = re.compile(r"^\| `(TWEET_SENTIMENT_[A-Z_]+)` \|", re.MULTILINE)


@pytest.fixture
def environment(monkeypatch):
    """Set variables for one test, with every TWEET_SENTIMENT_* of the caller's environment removed first."""
    for name in [name for name in os.environ if name.startswith("TWEET_SENTIMENT_")]:
        monkeypatch.delenv(name)

    def set_variables(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"TWEET_SENTIMENT_{name}", value)

    return set_variables


def test_defaults_and_values_are_parsed(environment):
    assert Settings.from_env().model_dump() == {
        "model_dir": None,
        "workers": 2,
        "parallel": 2,
        "max_body_bytes": 1024 * 1024,
        "query_log": None,
        "log_text": True,
        "query_log_sample": 1.0,
        "ui": True,
        "request_id_key": None,
        "registry_version": None,
    }
    environment(WORKERS="3", LOG_TEXT="0", QUERY_LOG_SAMPLE="0.25", REGISTRY_VERSION="v0.1.0-rc.1", QUERY_LOG="")
    settings = Settings.from_env()
    assert (settings.workers, settings.log_text, settings.query_log_sample) == (3, False, 0.25)
    assert (settings.registry_version, settings.query_log) == ("v0.1.0-rc.1", None)  # empty is unset


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WORKERS", "two", "TWEET_SENTIMENT_WORKERS='two': input should be a valid integer, unable to parse string "
         "as an integer; set the number of worker processes, e.g. 2"),
        ("WORKERS", "0", "TWEET_SENTIMENT_WORKERS='0': input should be greater than or equal to 1; "
         "set the number of worker processes, e.g. 2"),
        ("PARALLEL", "1.5", "TWEET_SENTIMENT_PARALLEL='1.5': input should be a valid integer"),
        ("MAX_BODY_BYTES", "1MB", "TWEET_SENTIMENT_MAX_BODY_BYTES='1MB': input should be a valid integer"),
        ("MAX_BODY_BYTES", "10", "TWEET_SENTIMENT_MAX_BODY_BYTES='10': input should be greater than or equal to 1024"),
        ("LOG_TEXT", "maybe", "TWEET_SENTIMENT_LOG_TEXT='maybe': input should be a valid boolean"),
        ("QUERY_LOG_SAMPLE", "1.5", "TWEET_SENTIMENT_QUERY_LOG_SAMPLE='1.5': input should be less than or equal to 1"),
        ("QUERY_LOG_SAMPLE", "often", "TWEET_SENTIMENT_QUERY_LOG_SAMPLE='often': input should be a valid number"),
        ("REGISTRY_VERSION", "0.2.0", "TWEET_SENTIMENT_REGISTRY_VERSION='0.2.0': not `v` and a SemVer version; "
         "set a registry version (SemVer, as GTO tags it: v0.2.0, v0.2.0-rc.1), or unset it"),
        ("REGISTRY_VERSION", "v1.02.0", "TWEET_SENTIMENT_REGISTRY_VERSION='v1.02.0': not `v` and a SemVer"),
        ("WORKER", "3", "TWEET_SENTIMENT_WORKER='3': no such setting; did you mean TWEET_SENTIMENT_WORKERS?"),
        ("QUERYLOG", "x", "TWEET_SENTIMENT_QUERYLOG='x': no such setting; did you mean TWEET_SENTIMENT_QUERY_LOG?"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_naming_variable_value_and_fix(environment, name, value, message):
    environment(**{name: value})
    with pytest.raises(SettingsError) as raised:
        Settings.from_env()
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("version", ["v0.1.0", "v0.1.0-rc.1", "v1.0.0-alpha.beta.1", "v1.0.0+build.5", "v1.0.0-0.3.7"])
def test_every_semver_registry_version_is_accepted(environment, version: str):
    environment(REGISTRY_VERSION=version)
    assert Settings.from_env().registry_version == version


def test_the_training_images_model_cache_is_accepted(environment):
    environment(MODEL_CACHE="/tmp/cache")
    assert Settings.from_env().workers == 2


def test_the_query_log_folder_is_created_and_probed(environment, tmp_path: Path):
    environment(QUERY_LOG=str(tmp_path / "new" / "logs"))
    check_query_log(Settings.from_env())
    assert (tmp_path / "new" / "logs").is_dir() and list((tmp_path / "new" / "logs").iterdir()) == []
    (tmp_path / "file").write_text("")
    environment(QUERY_LOG=str(tmp_path / "file" / "x"))
    with pytest.raises(SettingsError, match=r"TWEET_SENTIMENT_QUERY_LOG='.*/file/x': cannot write there \(Not a dir"):
        check_query_log(Settings.from_env())


def test_the_docs_table_lists_every_setting_the_service_reads():
    documented = SETTINGS_TABLE.findall((REPO / "docs/serving.md").read_text())
    assert documented == [f"TWEET_SENTIMENT_{field.upper()}" for field in Settings.model_fields]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value"),
    [("QUERY_LOG", "{file}/x"), ("WORKERS", "two"), ("MAX_BODY_BYTES", "1e6"), ("QUERY_LOG_SAMPLE", "2")],
)
def test_serve_stops_at_a_bad_setting_with_one_line(name: str, value: str, tmp_path: Path):
    """BentoML alone restarted the workers forever (48 tracebacks for the query log) or raised at import.

    The model directory is missing too: settings are checked first, so the line names the setting.
    """
    (tmp_path / "file").write_text("")
    variable, value = f"TWEET_SENTIMENT_{name}", value.format(file=tmp_path / "file")
    process, _ = start_server(tmp_path / "no-model", BENTOML_HOME=str(tmp_path / "bentoml"), **{variable: value})
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    assert process.returncode == 1, output
    assert "Traceback" not in output, output
    [line] = [line for line in output.splitlines() if variable in line]
    assert f"cannot serve: {variable}={value!r}: " in line and "; set " in line
