#!/usr/bin/env bash
# Build an OCI image from a built Bento WITHOUT a Docker daemon (buildah, vfs, chroot).
#
# Usage:  scripts/build_image.sh BENTO_TAG [IMAGE_TAG]
#   BENTO_TAG  e.g. tweet_sentiment:latest or tweet_sentiment:abc123 (from `bentoml build`)
#   IMAGE_TAG  default: <bento name>:<bento version>  (stored as localhost/<name>:<version>)
#
# Route 1 (default, METHOD=containerize):
#     bentoml containerize --backend buildah BENTO_TAG --opt isolation=chroot --opt network=host ...
# Route 2 (METHOD=bud, also used automatically if route 1 produced no image):
#     buildah bud --isolation chroot --storage-driver vfs --network host \
#                 -f <bento>/env/docker/Dockerfile <bento dir>
#
# The Bento must use a base image that exists locally (no registry is reachable), i.e. its
# bentofile.yaml has  docker: { base_image: localhost/bento-base-py311:bookworm }.
# If that localhost/ image is missing, scripts/build_base_image.sh is run first.
#
# Environment knobs (optional):
#   BENTOML_BIN   bentoml CLI (default: <repo>/.venv/bin/bentoml, else `bentoml` on PATH)
#   BENTOML_HOME  bento store (BentoML default ~/bentoml)
#   METHOD        containerize | bud            (default containerize)
#   FORCE=1       rebuild even if IMAGE_TAG already exists for this exact bento version
#   STORAGE_DRIVER (default vfs)  BUILDAH_ISOLATION (default chroot)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"

# shellcheck source=scripts/containers_env.sh
source "$SCRIPT_DIR/containers_env.sh"
export BUILDAH_FORMAT="${BUILDAH_FORMAT:-oci}"
export DOCKER_BUILDKIT=0          # buildah backend has no BuildKit; keep Dockerfile plain
export BENTOML_DO_NOT_TRACK="${BENTOML_DO_NOT_TRACK:-true}"
METHOD="${METHOD:-containerize}"
FORCE="${FORCE:-0}"

log() { printf '\033[1;34m[build_image %(%H:%M:%S)T]\033[0m %s\n' -1 "$*"; }
die() { printf '\033[1;31m[build_image] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 BENTO_TAG [IMAGE_TAG]"
BENTO_TAG="$1"
[[ "$(id -u)" == 0 ]] || die "must run as root (buildah with vfs storage + chroot isolation)"

if [[ -z "${BENTOML_BIN:-}" ]]; then
  if [[ -x "$REPO_DIR/.venv/bin/bentoml" ]]; then BENTOML_BIN="$REPO_DIR/.venv/bin/bentoml"
  else BENTOML_BIN="$(command -v bentoml || true)"; fi
fi
[[ -n "$BENTOML_BIN" && -x "$BENTOML_BIN" ]] || die "bentoml CLI not found (set BENTOML_BIN)"
# python of the same venv (for reading bento.yaml with PyYAML, which bentoml depends on)
PY_BIN="$(dirname "$BENTOML_BIN")/python"
[[ -x "$PY_BIN" ]] || PY_BIN="$(command -v python3)"

# ---------------------------------------------------------------- host tools
if ! command -v buildah >/dev/null || ! command -v runc >/dev/null; then
  log "installing buildah/runc (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends buildah runc uidmap ca-certificates >/dev/null
fi
bah() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }
image_id() { bah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------- locate bento
BENTO_PATH="$("$BENTOML_BIN" get "$BENTO_TAG" -o path 2>/dev/null | tail -n 1)" || true
[[ -n "$BENTO_PATH" && -f "$BENTO_PATH/bento.yaml" ]] \
  || die "bento '$BENTO_TAG' not found in store ${BENTOML_HOME:-~/bentoml} (run 'bentoml build' first)"

read -r BENTO_NAME BENTO_VERSION BASE_IMAGE < <("$PY_BIN" - "$BENTO_PATH/bento.yaml" <<'PY'
import sys, yaml
info = yaml.safe_load(open(sys.argv[1]))
docker = info.get("docker") or {}
print(info["name"], info["version"], docker.get("base_image") or "-")
PY
)
[[ -n "${BENTO_NAME:-}" && -n "${BENTO_VERSION:-}" ]] || die "could not parse $BENTO_PATH/bento.yaml"
FULL_BENTO_TAG="$BENTO_NAME:$BENTO_VERSION"
IMAGE_TAG="${2:-$FULL_BENTO_TAG}"
log "bento $FULL_BENTO_TAG at $BENTO_PATH"
log "image tag: $IMAGE_TAG   base image: $BASE_IMAGE"

# ---------------------------------------------------------------- base image
if [[ "$BASE_IMAGE" == "-" ]]; then
  log "WARNING: bento has no docker.base_image -> BentoML will use FROM python:<ver>-slim,"
  log "         which needs a registry. Set docker.base_image: localhost/bento-base-py311:bookworm."
elif [[ -z "$(image_id "$BASE_IMAGE")" ]]; then
  if [[ "$BASE_IMAGE" == localhost/* ]]; then
    log "base image $BASE_IMAGE missing -> building it"
    BASE_IMAGE="$BASE_IMAGE" "$SCRIPT_DIR/build_base_image.sh"
  else
    die "base image $BASE_IMAGE not in local storage and no registry reachable"
  fi
fi

# ---------------------------------------------------------------- idempotency
OLD_ID="$(image_id "$IMAGE_TAG")"
if [[ -n "$OLD_ID" && "$FORCE" != 1 ]]; then
  old_bento="$(bah inspect --type image --format '{{index .OCIv1.Config.Labels "org.bentoml.bento"}}' "$IMAGE_TAG" 2>/dev/null || true)"
  if [[ "$old_bento" == "$FULL_BENTO_TAG" ]]; then
    log "image $IMAGE_TAG already built from $FULL_BENTO_TAG -> skipping (FORCE=1 to rebuild)"
    bah images --filter "id=$OLD_ID"
    exit 0
  fi
fi

# ---------------------------------------------------------------- build
LABEL="org.bentoml.bento=$FULL_BENTO_TAG"

# TLS: the RUN steps download uv + Python packages from PyPI. Behind a TLS-intercepting
# egress proxy (as in this sandbox) Debian's stock CA bundle inside the image does not
# trust the proxy CA -> bind-mount the HOST's CA bundle read-only over the image's bundle
# for the build only (nothing is baked into the image). Disable with HOST_CA_BUNDLE=none.
if [[ -z "${HOST_CA_BUNDLE:-}" ]]; then
  for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
    [[ -n "$f" && -s "$f" ]] && { HOST_CA_BUNDLE="$f"; break; }
  done
fi
CA_VOLUME=""
if [[ -n "${HOST_CA_BUNDLE:-}" && "$HOST_CA_BUNDLE" != none ]]; then
  CA_VOLUME="$(readlink -f "$HOST_CA_BUNDLE"):/etc/ssl/certs/ca-certificates.crt:ro"
  log "build-time CA bundle: $HOST_CA_BUNDLE (bind-mounted read-only)"
fi
t0=$(date +%s)
built=0
if [[ "$METHOD" == containerize ]]; then
  log "route 1: bentoml containerize --backend buildah (vfs, chroot, host network)"
  # NB: bentoml containerize logs build errors but may still exit 0 -> verify image afterwards.
  # NB: no --opt force-rm / layers=false here: BentoML renders `--layers false` (2 args) and
  #     buildah 1.28 rejects --force-rm unless --layers/--no-cache is given explicitly.
  if "$BENTOML_BIN" containerize --backend buildah "$FULL_BENTO_TAG" -t "$IMAGE_TAG" \
      --opt isolation=chroot --opt network=host --opt label="$LABEL" \
      ${CA_VOLUME:+--opt "volume=$CA_VOLUME"}; then
    new_id="$(image_id "$IMAGE_TAG")"
    if [[ -n "$new_id" && "$new_id" != "$OLD_ID" ]]; then built=1
    else log "containerize exited 0 but produced no new image -> falling back to buildah bud"; fi
  else
    log "containerize failed -> falling back to buildah bud"
  fi
fi
if [[ "$built" != 1 ]]; then
  log "route 2: buildah bud on $BENTO_PATH/env/docker/Dockerfile"
  bah bud --isolation chroot --network host --layers=false --force-rm \
    --format "$BUILDAH_FORMAT" --label "$LABEL" ${CA_VOLUME:+--volume "$CA_VOLUME"} \
    -f "$BENTO_PATH/env/docker/Dockerfile" -t "$IMAGE_TAG" "$BENTO_PATH"
fi
t1=$(date +%s)
NEW_ID="$(image_id "$IMAGE_TAG")"
[[ -n "$NEW_ID" ]] || die "no image $IMAGE_TAG after build"

# drop the previous (now untagged) image of the same tag to save disk (vfs = full copies)
if [[ -n "$OLD_ID" && "$OLD_ID" != "$NEW_ID" ]]; then
  bah rmi "$OLD_ID" >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- verify
log "verifying torch inside the image is the CPU build"
ctr="$(bah from --pull=never "$IMAGE_TAG")"
trap 'bah rm "$ctr" >/dev/null 2>&1 || true' EXIT
bah run --isolation chroot "$ctr" -- /app/.venv/bin/python -c '
import importlib.metadata as md, importlib.util, re, sys
if importlib.util.find_spec("torch") is None:
    print("torch: not installed in image"); sys.exit(0)
import torch
print("torch", torch.__version__, "| torch.version.cuda =", torch.version.cuda)
cuda = sorted(d.metadata["Name"] for d in md.distributions()
              if re.match(r"^(nvidia-.*-cu\d+|triton)$", (d.metadata["Name"] or "").lower()))
if torch.version.cuda is not None or cuda:
    sys.exit("ERROR: CUDA torch / CUDA wheels in image: %s" % cuda)
'
bah rm "$ctr" >/dev/null; trap - EXIT

log "image build took $((t1 - t0))s"
bah images --filter "id=$NEW_ID"
log "done. run it with:  scripts/run_image.sh $IMAGE_TAG   (or podman --storage-driver vfs run ...)"
