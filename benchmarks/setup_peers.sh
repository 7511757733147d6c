#!/usr/bin/env bash
# Creates benchmarks/.venv-peers: LitServe 0.2.19 and Ray Serve 2.60 with OpenVINO,
# tokenizers and NumPy at this project's pins (benchmarks/requirements-peers.txt), for
# the peer rows of benchmarks/benchmark_service.py. Kept out of the project's .venv: the
# peers are benchmark baselines, not dependencies of the service.
#
#   benchmarks/setup_peers.sh                 # about 1 minute with a warm pip cache
#   PYTHON=python3.12 benchmarks/setup_peers.sh
#
# Re-running it keeps what is installed. Needs Python 3.11 or newer (the project's).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-peers"
python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet -r "$here/requirements-peers.txt"
"$venv/bin/python" - <<'PY'
import litserve, ray, openvino, tokenizers, numpy, uvloop, httptools
print(f"benchmarks/.venv-peers: litserve {litserve.__version__}, ray {ray.__version__}, "
      f"openvino {openvino.__version__.split('-')[0]}, tokenizers {tokenizers.__version__}, numpy {numpy.__version__}")
PY
