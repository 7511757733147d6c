"""One command, `tweet-sentiment`, and every command the docs name runs as written (its `--help` at least)."""

import re
import shutil
import subprocess
import sys

import pytest

from tests.support.repo import REPO, tool_env
from tweet_sentiment.cli import COMMANDS

DOCUMENTED = re.compile(r"python -m (tweet_sentiment(?:\.\w+)+)")
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# Modules the docs name that parse no arguments of their own.
NO_HELP = {"tweet_sentiment.train.ddp"}  # torchrun's entry point: its arguments are torchrun's


def help_of(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([*command, "--help"], cwd=REPO, env=tool_env(), capture_output=True, text=True, timeout=120)


def test_the_one_command_lists_every_subcommand():
    executable = shutil.which("tweet-sentiment", path=tool_env()["PATH"])
    assert executable, "no `tweet-sentiment` on PATH: ./setup.sh installs it (pip install --no-deps -e .)"
    result = help_of(executable)
    assert result.returncode == 0, result.stderr
    listed = re.findall(r"^  (\w+) ", result.stdout.split("commands:")[1], re.MULTILINE)
    assert listed == ["score", "drift", "release", "report", "retrain"] == list(COMMANDS)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_subcommand_takes_its_modules_arguments(name: str):
    result = help_of(sys.executable, "-m", "tweet_sentiment.cli", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: "), result.stdout


@pytest.mark.parametrize(
    "module",
    sorted({m for doc in DOCS for m in DOCUMENTED.findall(doc.read_text())} - NO_HELP),
)
def test_each_documented_python_m_command_runs(module: str):
    result = help_of(sys.executable, "-m", module)
    assert result.returncode == 0, f"python -m {module} --help: {result.stderr}"
    assert result.stdout.startswith("usage: ")


def test_an_unknown_subcommand_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-m", "tweet_sentiment.cli", "serve"], env=tool_env(), capture_output=True, text=True
    )
    assert result.returncode == 2 and "invalid choice: 'serve'" in result.stderr
