#!/usr/bin/env bash
# Build the training image (docker/training.Dockerfile) WITHOUT a Docker daemon: buildah,
# vfs storage, chroot isolation, as deploy/build_image.sh builds the serving image.
#
# Usage:  deploy/build_training_image.sh [IMAGE_TAG]    (default tweet-sentiment-train:latest,
#                                                        stored as localhost/tweet-sentiment-train:latest)
# torch comes from PyTorch's CPU index when it answers; otherwise (offline, as here) from pip's
# find-links directory (FIND_LINKS, e.g. /opt/wheels holding torch-2.13.0+cpu) bind-mounted
# read-only at /mnt/find-links for the build only. Everything else comes from PyPI.
# The base image (python:3.11-slim) is pulled, or built locally by deploy/daemonless/build_base_image.sh
# when its registry does not answer. With Docker, the equivalent is the `docker build` line at
# the top of docker/training.Dockerfile. An image already built from the same Dockerfile,
# requirements and entry point is kept (FORCE=1 rebuilds).
set -euo pipefail
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=deploy/daemonless/containers_env.sh
source "$SCRIPT_DIR/daemonless/containers_env.sh"
log() { printf '\033[1;34m[build_training_image %(%H:%M:%S)T]\033[0m %s\n' -1 "$*"; }
die() { printf '\033[1;31m[build_training_image] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

IMAGE_TAG="${1:-tweet-sentiment-train:latest}"
DOCKERFILE="$REPO_DIR/docker/training.Dockerfile"
TORCH_INDEX="https://download.pytorch.org/whl/cpu"
[[ "$(id -u)" == 0 ]] || die "must run as root (buildah with vfs storage + chroot isolation)"
command -v buildah >/dev/null || die "buildah is missing (apt-get install buildah runc), or run deploy/build_image.sh once"

# what the image is made of: rebuilding from the same files gives the same image
CONTEXT_DIGEST="$(cd "$REPO_DIR" && cat docker/training.Dockerfile docker/train-entrypoint.sh requirements.txt setup.sh | sha256sum | cut -c1-16)"
LABEL="org.tweet-sentiment.training-context=$CONTEXT_DIGEST"
built_from="$(image_label "$IMAGE_TAG" org.tweet-sentiment.training-context)"
if [[ "$built_from" == "$CONTEXT_DIGEST" && "${FORCE:-0}" != 1 ]]; then
  log "$IMAGE_TAG is already built from these files ($CONTEXT_DIGEST): kept (FORCE=1 rebuilds)"
  exit 0
fi

BASE_SHORT="$(sed -n 's/^ARG BASE_IMAGE=//p' "$DOCKERFILE")"  # the Dockerfile's default FROM
BASE_IMAGE="$(qualify_image "$BASE_SHORT")"
if [[ -z "$(image_id "$BASE_IMAGE")" ]] && ! answers https://registry-1.docker.io/v2/; then
  log "base image $BASE_IMAGE missing and Docker Hub does not answer: building a local stand-in"
  BASE_IMAGE="$BASE_SHORT" "$SCRIPT_DIR/daemonless/build_base_image.sh"
fi

ARGS=(--isolation chroot --network host --layers=false --force-rm --format oci --label "$LABEL")
[[ -n "$(image_id "$BASE_IMAGE")" ]] && ARGS+=(--pull=never)
CA_VOLUME="$(host_ca_volume)"
[[ -n "$CA_VOLUME" ]] && ARGS+=(--volume "$CA_VOLUME")
if answers "$TORCH_INDEX"; then
  log "torch from $TORCH_INDEX"
else
  WHEELS_DIR="$(find_links_dir "$REPO_DIR/.venv/bin/python")"
  [[ -n "$WHEELS_DIR" ]] || die "$TORCH_INDEX does not answer and no find-links directory of wheels was found: set FIND_LINKS"
  log "$TORCH_INDEX does not answer: torch from $WHEELS_DIR (bind-mounted read-only at /mnt/find-links)"
  ARGS+=(--volume "$WHEELS_DIR:/mnt/find-links:ro" --build-arg "TORCH_SOURCE=--no-index --find-links /mnt/find-links")
fi

t0=$(date +%s)
old_id="$(image_id "$IMAGE_TAG")"
bah bud "${ARGS[@]}" -f "$DOCKERFILE" -t "$IMAGE_TAG" "$REPO_DIR"
log "built $IMAGE_TAG in $(($(date +%s) - t0)) s"
# the image this one replaced is untagged now: with vfs storage it would keep its gigabytes
if [[ -n "$old_id" ]] && bah rmi "$old_id" >/dev/null 2>&1; then log "removed the replaced image ${old_id:0:12}"; fi
bah images --filter "reference=$IMAGE_TAG"
