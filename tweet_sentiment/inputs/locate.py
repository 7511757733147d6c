"""Which files an argument means: a path that exists is that file or folder, whatever its name holds.

fsspec and `glob` read `[`, `]`, `*` and `?` as patterns, so `tweets[1].csv`
would read its neighbour `tweets1.csv` (fsspec/filesystem_spec#1476, #838). Here
only an argument that names nothing is expanded as a glob. For the rare name
that both exists and is meant as a pattern, write the pattern so that it names
no file, e.g. `tweets[1]*.csv` for `tweets1.csv`, or list the files.

Globs and folders leave out every path whose part below the glob's folder
starts with `.` or `_` (hidden and temporary folders too), as Spark, Arrow and
Dataflow readers do (apache/arrow PR #860, PR #7907).
"""

import posixpath
from collections.abc import Callable

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from tweet_sentiment.inputs.errors import InputError

GLOB_CHARS = "*?["


def url_of(fs, path: str) -> str:
    """A path `fs` returned, as a URL that names its filesystem (a plain path for local files)."""
    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


def hidden(name: str) -> bool:
    """A hidden or bookkeeping name (`.x.partial`, `_SUCCESS`, `_errors`, `.ipynb_checkpoints`, `_temporary`)."""
    return name.startswith((".", "_"))


def _glob_root(pattern: str) -> str:
    """The folder a glob searches: its path up to the first part holding a glob character."""
    parts = pattern.split("/")
    fixed = next(i for i, part in enumerate(parts) if any(char in part for char in GLOB_CHARS))
    return "/".join(parts[:fixed])


def _visible(path: str, root: str) -> bool:
    relative = posixpath.relpath(path, root) if root else path
    return not any(hidden(part) for part in relative.split("/"))


def expand(patterns: list[str], wanted: Callable[[str], bool], what: str) -> list[str]:
    """Every file the arguments name, sorted within each argument, each once, as URLs.

    A file is taken as named, whatever its name; a folder gives its visible files
    that `wanted` accepts, and so does a missing path with a glob character among
    the files it matches (`corpus/*` skips a README). Raises `InputError` when an
    argument matches nothing (`what` names what was looked for), is not a valid
    glob, or arguments are on different filesystems.
    """
    found: dict[str, None] = {}  # ordered, each once
    protocols = set()
    for pattern in patterns:
        fs, path = url_to_fs(pattern)
        protocols.add(fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0])
        if fs.isfile(path):
            matches = [path]
        elif fs.isdir(path):
            files = [info["name"] for info in fs.ls(path, detail=True) if info["type"] == "file"]
            matches = sorted(name for name in files if _visible(name, path) and wanted(name))
        elif any(char in path for char in GLOB_CHARS):  # one listing, no request per file (GCS)
            try:
                listed = fs.glob(path, detail=True)
            except ValueError as error:  # fsspec: `**` inside a name ("t**.csv")
                raise InputError(
                    f"{pattern}: no such file, and not a valid glob ({error}); use * or ** alone"
                ) from None
            files = [name for name, info in listed.items() if info["type"] == "file"]
            root = _glob_root(path)
            matches = sorted(name for name in files if _visible(name, root) and wanted(name))
        else:
            raise InputError(f"{pattern}: no such file or folder")
        if not matches:
            raise InputError(f"{pattern}: matches no {what}")
        found |= dict.fromkeys(url_of(fs, p) for p in matches)
    if len(protocols) > 1:
        raise InputError(f"inputs on several filesystems ({', '.join(sorted(protocols))}); read each separately")
    return list(found)
