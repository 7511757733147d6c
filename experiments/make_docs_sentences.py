"""Write data/monitoring/docs_sentences.txt.gz: non-tweet text for the drift-detection measurements.

Sentences from the docstrings of Python standard-library modules: real English,
offline everywhere, and nothing like a tweet. Regenerating it with another
Python version gives other sentences; the committed file is the one measured.
"""

import gzip
import importlib
import inspect
import random
import re
from pathlib import Path

MODULES = [
    "argparse",
    "asyncio",
    "collections",
    "csv",
    "datetime",
    "decimal",
    "email",
    "fractions",
    "functools",
    "http.client",
    "json",
    "logging",
    "pathlib",
    "shutil",
    "socket",
    "sqlite3",
    "statistics",
    "string",
    "subprocess",
    "tarfile",
    "textwrap",
    "threading",
    "unittest",
    "urllib.parse",
    "zipfile",
]
OUT = Path("data/monitoring/docs_sentences.txt.gz")
SENTENCE = re.compile(r"(?<=[.!?])\s+")


def docstrings(module_name: str):
    module = importlib.import_module(module_name)
    yield inspect.getdoc(module) or ""
    for _, member in inspect.getmembers(module):
        if inspect.isclass(member) or inspect.isfunction(member):
            yield inspect.getdoc(member) or ""


def main() -> None:
    sentences = set()
    for name in MODULES:
        for doc in docstrings(name):
            for sentence in SENTENCE.split(" ".join(doc.split())):
                if 30 <= len(sentence) <= 200 and sentence[0].isupper() and sentence.endswith("."):
                    sentences.add(sentence)
    chosen = random.Random(0).sample(sorted(sentences), min(1500, len(sentences)))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt", encoding="utf-8") as out:
        out.write("\n".join(chosen) + "\n")
    print(f"{OUT}: {len(chosen)} sentences from {len(sentences)}")


if __name__ == "__main__":
    main()
