"""A version's files at its commit: committed metrics through git, DVC-tracked models through DVC's cache."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tweet_sentiment.core import paths


class RevisionError(ValueError):
    """A file cannot be read at a revision; the message says which and how to get it."""


def git(repo: Path, *args: str) -> str:
    """A git command's output; `subprocess.CalledProcessError` (with stderr) if it fails."""
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def repo_root(start: Path) -> Path:
    """The Git repository `start` is in; `RevisionError` outside one."""
    try:
        return Path(git(start, "rev-parse", "--show-toplevel").strip())
    except (subprocess.CalledProcessError, FileNotFoundError):
        raise RevisionError(f"{start} is not in a Git repository: run this from the project's clone") from None


def committed_text(repo: Path, rev: str, path: str) -> str:
    """`path` as committed at `rev` (metrics and `models/bento.json` are in git: `cache: false`)."""
    try:
        return git(repo, "show", f"{rev}:{path}")
    except subprocess.CalledProcessError:
        raise RevisionError(f"{path} is not committed at {rev[:12]}") from None


def serving_dir_at(repo: Path, rev: str, target: Path) -> Path:
    """The served runtime (`models/serving`) of `rev`, copied to `target` from DVC's cache or remote."""
    from dvc.api import DVCFileSystem

    try:
        DVCFileSystem(str(repo), rev=rev).get(str(paths.SERVING), str(target), recursive=True)
    except Exception as error:  # DVC raises many kinds (missing cache, no remote, network)
        raise RevisionError(
            f"cannot get {paths.SERVING} of {rev[:12]} ({type(error).__name__}: {error}); "
            "fetch it with `dvc fetch --all-tags` (or `dvc pull` at that revision)"
        ) from None
    return target
