"""The package for Apache Beam's workers: `--setup_file ./setup.py` (deploy/score_dataflow.sh).

Everything is declared in pyproject.toml; Beam builds an sdist of this folder
and installs it on each Dataflow worker, as Dataflow's guide to multiple-file
pipelines describes. The workers' other packages are in requirements-dataflow.txt.
"""

from setuptools import setup

setup()
