"""The layout keeps DVC honest: each stage's code deps are exactly the modules it imports.

In a DVC project a module boundary is a cache boundary: a stage reruns when one
of its declared deps changes, so a module it imports but does not declare lets a
change slip through without a rerun, and one it declares but does not import
reruns it for nothing. The import graph is read statically (every `import` in a
file, also those inside functions, such as the engines `serving/runtimes.py`
loads only for the runtime it serves).
"""

import ast
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "tweet_sentiment"
# Plumbing that every stage runs but whose content no output depends on: param
# values are tracked as params, paths are outs and deps, and stage.py only turns
# known errors into one log line. Their imports are not followed either.
PLUMBING = {f"{PACKAGE}/core/params.py", f"{PACKAGE}/core/paths.py", f"{PACKAGE}/core/stage.py"}
DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())


def module_file(module: str) -> str | None:
    """`tweet_sentiment.serving.runtimes` -> its file, relative to the repository; None if not ours."""
    if module != PACKAGE and not module.startswith(PACKAGE + "."):
        return None
    path = Path(*module.split("."))
    if (REPO / path).is_dir():
        return f"{path}/__init__.py"
    return f"{path}.py" if (REPO / f"{path}.py").is_file() else None


def imported_files(file: str) -> set[str]:
    """The package's files that `file` imports, and the `__init__.py` of each package on the way."""
    found = set()
    for node in ast.walk(ast.parse((REPO / file).read_text(), file)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from tweet_sentiment import paths` imports a module; `from x.y import name` imports x.y.
            modules = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):
                if (path := module_file(".".join(parts[:depth]))) is not None:
                    found.add(path)
    return found - {file}


def closure(entry: str, follow_plumbing: bool = False) -> set[str]:
    """Every package file `entry` imports, directly or not (plumbing's own imports not followed)."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        file = todo.pop()
        for found in imported_files(file):
            if found not in seen:
                seen.add(found)
                if follow_plumbing or found not in PLUMBING:
                    todo.append(found)
    return seen


def is_docstring_only(file: str) -> bool:
    body = ast.parse((REPO / file).read_text()).body
    return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


STAGES = sorted(DVC_YAML["stages"])


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_declares_exactly_the_modules_it_imports(stage: str):
    spec = DVC_YAML["stages"][stage]
    entry = f"stages/{stage}.py"
    assert spec["cmd"].startswith(f"python -m stages.{stage}")
    code_deps = {dep for dep in spec["deps"] if dep.endswith(".py")}
    expected = {f for f in closure(entry) if not f.endswith("__init__.py")} - PLUMBING | {entry}
    if stage == "package":  # it builds the Bento, so every file the Bento ships is its input too
        expected |= {"service.py"} | closure("service.py", follow_plumbing=True)
    assert code_deps == expected, (
        f"dvc.yaml `{stage}`: missing {sorted(expected - code_deps)}, not imported {sorted(code_deps - expected)}"
    )


def test_package_inits_hold_no_code_so_no_stage_needs_to_declare_them():
    inits = sorted(str(p.relative_to(REPO)) for p in (REPO / PACKAGE).rglob("__init__.py"))
    assert f"{PACKAGE}/serving/__init__.py" in inits
    assert [f for f in inits if not is_docstring_only(f)] == []


# What the service reads that is not code: the served model, the try-it page, the model card.
SERVICE_DATA = {"models/serving/*", f"{PACKAGE}/serving/ui/*", f"{PACKAGE}/serving/ui/static/*", "models/model_card.md"}


def test_the_bento_includes_exactly_what_the_service_imports():
    """bentofile.yaml's `include` is service.py, its import closure and the served model, nothing else."""
    bentofile = yaml.safe_load((REPO / "bentofile.yaml").read_text())
    included = set(bentofile["include"])
    assert included == {"service.py", *SERVICE_DATA} | closure("service.py", follow_plumbing=True)
    # The service imports no training or drift code.
    assert not any(f.startswith(f"{PACKAGE}/monitor/") for f in included)
    assert f"{PACKAGE}/train/trainer.py" not in included and f"{PACKAGE}/data/cleaning.py" not in included


def test_the_model_contract_and_token_counts_live_below_the_engines_and_the_query_log():
    """`tokenize`/`finetune` do not depend on the inference engines, nor `optimize`/`evaluate` on the query log."""
    assert f"{PACKAGE}/serving/runtimes.py" not in closure("stages/tokenize.py") | closure("stages/finetune.py")
    for stage in ("optimize", "evaluate", "reference"):
        assert f"{PACKAGE}/serving/querylog.py" not in closure(f"stages/{stage}.py")
    assert closure(f"{PACKAGE}/core/labels.py") == set()


def test_the_package_has_no_import_cycles():
    files = [str(p.relative_to(REPO)) for p in (REPO / PACKAGE).rglob("*.py")]
    graph = {file: {f for f in imported_files(file) if not f.endswith("__init__.py")} for file in files}
    done: set[str] = set()

    def visit(file: str, path: tuple[str, ...]) -> None:
        assert file not in path, f"import cycle: {' -> '.join((*path[path.index(file) :], file))}"
        if file in done:
            return
        for imported in graph.get(file, ()):
            visit(imported, (*path, file))
        done.add(file)

    for file in files:
        visit(file, ())


def test_the_readme_stays_a_short_front_door_that_shows_serving_first():
    """The rest lives under docs/ (mkdocs build --strict in .ci/run checks its links)."""
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 120, f"README.md has {len(lines)} lines; move detail to a page under docs/"
    assert "python -m pytest" in "\n".join(lines)  # the test command .ci/run calls
    first_screen = "\n".join(lines[:60])
    assert "bentoml serve service:TweetSentiment" in first_screen and "curl -s localhost:3000/predict" in first_screen
    folders = re.findall(r"^\| `([^`]+)/`", "\n".join(lines), re.MULTILINE)
    assert folders and all((REPO / folder).is_dir() for folder in folders), folders


@pytest.mark.slow
def test_the_built_bento_holds_only_the_modules_the_service_imports(quick_pipeline: Path):
    with tarfile.open(quick_pipeline / "models/tweet-sentiment-bento.tar") as archive:
        shipped = {name.removeprefix("./src/") for name in archive.getnames() if name.endswith(".py")}
    assert sorted(shipped) == sorted({"service.py"} | closure("service.py", follow_plumbing=True))


def documented_tree() -> str:
    text = (REPO / "docs/layout.md").read_text()
    return text.split("```\n", 1)[1].split("```", 1)[0]


def test_the_docs_tree_names_every_subpackage_and_top_level_folder_and_no_other():
    tree = documented_tree()
    named = set(re.findall(r"(?:^|[─\s(,])([a-z_]+)/", tree, re.MULTILINE))
    subpackages = {p.parent.name for p in (REPO / PACKAGE).glob("*/*/__init__.py")}  # one level down: monitor/drift
    subpackages |= {p.parent.name for p in (REPO / PACKAGE).glob("*/__init__.py")}
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    paths = [line.split("/")[:-1] for line in tracked.splitlines() if not line.startswith(".")]
    top = {parts[0] for parts in paths if parts}
    every = {name for parts in paths for name in parts}
    assert subpackages - named == set(), "subpackages the tree does not name"
    assert top - named == set(), "top-level folders the tree does not name"
    assert named - subpackages - every == set(), "names in the tree that are no folder"


def package_names() -> dict[str, list[str]]:
    """Each folder of the package -> the names of its modules and subpackages."""
    names: dict[str, list[str]] = {}
    for init in (REPO / PACKAGE).rglob("__init__.py"):
        folder = init.parent
        modules = [p.stem for p in folder.glob("*.py") if p.stem not in {"__init__", "__main__"}]
        names[str(folder.relative_to(REPO))] = modules + [p.parent.name for p in folder.glob("*/__init__.py")]
    return names


def test_no_module_is_named_as_a_standard_or_installed_module():
    """`serving/requests.py` shadowed the requests library; `http`, `encodings` the standard library's."""
    import importlib.metadata
    import sys

    taken = set(sys.stdlib_module_names) | set(importlib.metadata.packages_distributions())
    clashes = {f"{folder}/{name}" for folder, names in package_names().items() for name in names if name in taken}
    assert clashes == set()


def test_no_module_sits_beside_a_package_of_nearly_its_name():
    """`scores.py` (metrics) beside `score/` (corpus scoring) sent readers to the wrong one."""
    import difflib

    near = []
    for folder, names in package_names().items():
        packages = {p.name for p in (REPO / folder).glob("*/__init__.py")}
        packages = {p.parent.name for p in (REPO / folder).glob("*/__init__.py")}
        for module in set(names) - packages:
            near += [
                f"{folder}: {module}.py ~ {p}/"
                for p in packages
                if difflib.SequenceMatcher(None, module, p).ratio() > 0.8
            ]
    assert near == []


def test_the_package_top_holds_few_modules_and_none_is_long():
    top = sorted(p.name for p in (REPO / PACKAGE).glob("*.py"))
    assert len(top) <= 4, top  # __init__ and the command's entry points
    long = {
        str(p.relative_to(REPO)): n
        for p in (REPO / PACKAGE).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert long == {}
