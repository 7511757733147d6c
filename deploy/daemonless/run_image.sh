#!/usr/bin/env bash
# Run a BentoML OCI image locally with podman (daemon-less, as root, vfs storage, runc,
# cgroupfs) and optionally smoke-test it on 127.0.0.1.
#
# Usage:  deploy/daemonless/run_image.sh IMAGE_TAG              # start detached, wait until /readyz is OK
#         SMOKE=1 deploy/daemonless/run_image.sh IMAGE_TAG      # ... then stop + remove it (CI check)
#         deploy/daemonless/run_image.sh --stop [NAME]          # stop + remove a container started here
#
# Environment knobs (optional):
#   PORT      port the service listens on inside the container AND on the host (default 8080).
#             Passed as `-e PORT=$PORT`: BentoML's entrypoint.sh exports BENTOML_PORT=$PORT,
#             exactly what Cloud Run does.
#   NETWORK   host (default; no CNI/iptables needed) | bridge (uses -p PORT:PORT)
#   NAME      container name (default bento-run)
#   TIMEOUT   seconds to wait for /readyz (default 180)
#   POLL      seconds between /readyz probes (default 1; benchmarks/benchmark_image.sh uses 0.1)
#   EXTRA_ARGS extra `podman run` args (word-split), e.g. "-e BENTOML_DEBUG=true --memory 2g"
set -euo pipefail

# shellcheck source=deploy/daemonless/containers_env.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/containers_env.sh"
PORT="${PORT:-8080}"
NETWORK="${NETWORK:-host}"
NAME="${NAME:-bento-run}"
TIMEOUT="${TIMEOUT:-180}"
SMOKE="${SMOKE:-0}"
EXTRA_ARGS="${EXTRA_ARGS:-}"

log() { printf '\033[1;34m[run_image %(%H:%M:%S)T]\033[0m %s\n' -1 "$*"; }
die() { printf '\033[1;31m[run_image] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v curl >/dev/null; then
  log "installing podman/runc/curl (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman runc uidmap curl ca-certificates \
    containernetworking-plugins iptables >/dev/null
fi

stop_container() {
  if pm container exists "$1" 2>/dev/null; then
    log "stopping + removing container $1"
    pm rm -f -t 10 "$1" >/dev/null || true
  fi
}

if [[ "${1:-}" == "--stop" ]]; then
  stop_container "${2:-$NAME}"
  exit 0
fi
[[ $# -eq 1 ]] || die "usage: $0 IMAGE_TAG   |   $0 --stop [NAME]"
IMAGE="$1"
pm image exists "$IMAGE" || die "image $IMAGE not found in local storage ($CONTAINERS_STORAGE_CONF)"

stop_container "$NAME"   # idempotent: replace a previous run

net_args=(--network host)
[[ "$NETWORK" == bridge ]] && net_args=(--network bridge -p "127.0.0.1:$PORT:$PORT")

log "starting $IMAGE as $NAME (PORT=$PORT, network=$NETWORK)"
t0=$(date +%s%3N)
ULIMIT_ARGS="${ULIMIT_ARGS:-$(podman_ulimit_args)}"
# shellcheck disable=SC2086
# create, then start: with vfs storage, creating copies the whole image (seconds per GB),
# so the two are timed apart; "ready after start" is the service's own cold start.
if ! pm create --name "$NAME" --pull never "${net_args[@]}" $ULIMIT_ARGS \
    -e PORT="$PORT" $EXTRA_ARGS "$IMAGE" >/dev/null; then
  stop_container "$NAME"
  die "podman create failed"
fi
t_created=$(date +%s%3N)
pm start "$NAME" >/dev/null || { stop_container "$NAME"; die "podman start failed"; }

[[ "$SMOKE" == 1 ]] && trap 'pm logs --tail 30 "$NAME" 2>&1 | sed "s/^/  | /" || true; stop_container "$NAME"' EXIT

log "waiting for http://127.0.0.1:$PORT/readyz (timeout ${TIMEOUT}s)"
deadline=$(( $(date +%s) + TIMEOUT ))
until curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; do
  if [[ "$(pm inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]]; then
    pm logs --tail 50 "$NAME" >&2 || true
    stop_container "$NAME"   # its logs are above; a leftover container would pin its image
    die "container exited before becoming ready"
  fi
  if (( $(date +%s) >= deadline )); then
    pm logs --tail 50 "$NAME" >&2 || true
    stop_container "$NAME"
    die "not ready after ${TIMEOUT}s"
  fi
  sleep "${POLL:-1}"
done
t1=$(date +%s%3N)
ms=$((t1 - t0))
log "ready after $((ms / 1000)).$(printf %03d $((ms % 1000)))s (podman create+start+BentoML startup)"
ms=$((t1 - t_created))
log "ready after start $((ms / 1000)).$(printf %03d $((ms % 1000)))s (podman start+BentoML startup)"
pm logs "$NAME" 2>&1 | grep -m1 -F 'PORT is set' | sed 's/^/  | /' || true

if [[ "$SMOKE" == 1 ]]; then
  log "GET /livez -> $(curl -fsS "http://127.0.0.1:$PORT/livez" -o /dev/null -w '%{http_code}')"
  log "smoke test OK (container will be stopped)"
else
  log "running. logs: podman --storage-driver $STORAGE_DRIVER logs -f $NAME ; stop: $0 --stop $NAME"
  log "(run podman by hand with: export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF)"
fi
