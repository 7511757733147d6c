#!/usr/bin/env bash
# Serving image size and container cold start, before and after: BENCHMARKS.md's "Serving image" section.
#
# Usage:  benchmarks/benchmark_image.sh BEFORE_IMAGE AFTER_IMAGE [ROUNDS]
#   e.g.  benchmarks/benchmark_image.sh tweet-sentiment:trace tweet-sentiment:latest 3
#
# Size is what podman reports for the image (uncompressed layers). Cold start is
# `podman start` of a created container to the first /readyz 200 (probed every
# 0.1 s, host network), the median of ROUNDS (default 3) fresh containers; with vfs
# storage, `podman create` copies the whole image first (seconds per GB), timed apart.
# Needs root, like deploy/daemonless/run_image.sh, which starts each container.
set -euo pipefail
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=deploy/daemonless/containers_env.sh
source "$SCRIPT_DIR/../deploy/daemonless/containers_env.sh"
[[ $# -ge 2 && $# -le 3 ]] || { echo "usage: $0 BEFORE_IMAGE AFTER_IMAGE [ROUNDS]" >&2; exit 1; }
ROUNDS="${3:-3}"
PYTHON="${PYTHON:-$REPO_DIR/.venv/bin/python}"

measure() {  # image -> "bytes start,run start,run ..."
  local bytes log runs=()
  bytes="$(podman --storage-driver "$STORAGE_DRIVER" image inspect --format '{{.Size}}' "$1")"
  for _ in $(seq "$ROUNDS"); do
    log="$(SMOKE=1 POLL=0.1 NAME=bench-image "$SCRIPT_DIR/../deploy/daemonless/run_image.sh" "$1" 2>&1)"
    runs+=("$(sed -n 's/.*ready after start \([0-9.]*\)s.*/\1/p' <<<"$log"),$(sed -n 's/.*ready after \([0-9.]*\)s (podman create.*/\1/p' <<<"$log")")
  done
  echo "$bytes ${runs[*]}"
}

before="$(measure "$1")"
after="$(measure "$2")"
echo "before: $1 $before"
echo "after:  $2 $after"
"$PYTHON" - "$REPO_DIR/BENCHMARKS.md" "$1" "$before" "$2" "$after" <<'PY'
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(sys.argv[1]).parent / "scripts"))
from benchmarks_md import replace_section

path = Path(sys.argv[1])
rows, sizes, colds = [], [], []
for image, measured in ((sys.argv[2], sys.argv[3]), (sys.argv[4], sys.argv[5])):
    size, *runs = measured.split()
    starts = [float(run.split(",")[0]) for run in runs]
    totals = [float(run.split(",")[1]) for run in runs]
    sizes.append(int(size))
    colds.append(statistics.median(starts))
    rows.append(
        f"| `{image}` | {int(size) / 1e6:,.0f} MB | {colds[-1]:.1f} s ({', '.join(f'{s:.1f}' for s in starts)}) "
        f"| {statistics.median(totals):.1f} s |"
    )
text = "\n".join([
    "## Serving image",
    "",
    "Written by `benchmarks/benchmark_image.sh` (buildah-built images, podman as root, vfs storage). Size as",
    "podman reports it (uncompressed); cold start from `podman start` of a created container to the first",
    f"`/readyz` 200, median of {len(starts)} fresh containers on the host network. With vfs storage `podman",
    "create` copies the whole image first, which the last column (create + start) includes; overlay storage,",
    "as on Cloud Run, does not copy.",
    "",
    "| image | size | cold start, start to ready (each run) | create + start to ready |",
    "|---|---|---|---|",
    *rows,
    "",
    f"The second is {sizes[1] / sizes[0]:.0%} of the first's size; it starts in {colds[1] / colds[0]:.0%} of the time.",
])
replace_section(path, "## Serving image", text)
print(text)
PY
