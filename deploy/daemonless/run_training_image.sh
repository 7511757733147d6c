#!/usr/bin/env bash
# Run the training image with podman (daemon-less, as root): one `dvc exp run`, pushed.
#
#   REPO_URL=https://github.com/me/tweet-sentiment.git [GIT_REF=main] [EXP_NAME=...] \
#     deploy/daemonless/run_training_image.sh [IMAGE] [dvc exp run args...]     e.g. -S lr=3e-5
#
# IMAGE defaults to tweet-sentiment-train:latest (deploy/build_training_image.sh). The
# container uses the host's network (the DVC remote and the git remote as the host sees
# them); credentials come from the environment you pass in EXTRA_ARGS, e.g.
#   EXTRA_ARGS="-v $HOME/.config/gcloud:/root/.config/gcloud:ro"   (your gcloud login)
# With Docker: docker run --rm -e REPO_URL=... tweet-sentiment-train -S lr=3e-5
set -euo pipefail
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=deploy/daemonless/containers_env.sh
source "$SCRIPT_DIR/containers_env.sh"
die() { echo "run_training_image.sh: $*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root (podman with vfs storage and chroot isolation, as deploy/daemonless/run_image.sh)"
command -v podman >/dev/null || die "podman is missing (apt-get install podman runc), or run deploy/daemonless/run_image.sh once"
[[ -n "${REPO_URL:-}" ]] || die "set REPO_URL to the git URL the container should clone"
IMAGE="tweet-sentiment-train:latest"
if [[ $# -gt 0 && "$1" != -* ]]; then IMAGE="$1"; shift; fi
pm image exists "$IMAGE" || die "image $IMAGE not found: build it with deploy/build_training_image.sh"
env_args=()  # the entry point's settings that are set here (-e NAME passes the value)
for name in REPO_URL GIT_REF EXP_NAME GIT_REMOTE PUSH GIT_USER_NAME GIT_USER_EMAIL; do
  [[ -n "${!name:-}" ]] && env_args+=(-e "$name")
done
# shellcheck disable=SC2086  # ULIMIT_ARGS and EXTRA_ARGS are word lists
pm run --rm --pull never --network host ${ULIMIT_ARGS:-$(podman_ulimit_args)} "${env_args[@]}" \
  ${EXTRA_ARGS:-} "$IMAGE" "$@"
