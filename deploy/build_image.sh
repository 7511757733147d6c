#!/usr/bin/env bash
# Build an OCI image from a built Bento WITHOUT a Docker daemon (buildah, vfs, chroot).
#
# Usage:  deploy/build_image.sh BENTO_TAG [IMAGE_TAG]
#   BENTO_TAG  e.g. tweet-sentiment:latest or tweet-sentiment:abc123 (from `bentoml build`)
#   IMAGE_TAG  default: <bento name>:<bento version>  (stored as localhost/<name>:<version>)
#
# The Bento's Dockerfile is BentoML's standard one (FROM python:3.11-slim, uv venv,
# `uv pip install -r env/python/requirements.txt`, where requirements.txt starts with
# `--extra-index-url https://download.pytorch.org/whl/cpu` for the CPU build of torch).
# The script takes one of two routes and logs which one and why:
#
#   online   every index URL in requirements.txt answers (a 3 s probe): build the Bento as
#            is, like a Docker user's `bentoml containerize`:
#              bentoml containerize --backend buildah BENTO_TAG --opt isolation=chroot ...
#            (METHOD=bud, or a containerize that produced no image:
#              buildah bud -f <bento>/env/docker/Dockerfile <bento dir>)
#   offline  an index URL does not answer (here download.pytorch.org does not even resolve):
#            build from a temporary copy of the Bento directory whose requirements.txt has
#            each unreachable `--extra-index-url URL` replaced by `--find-links /mnt/find-links`,
#            with pip's configured find-links directory (FIND_LINKS, else PIP_FIND_LINKS, else
#            `pip config`'s find-links, e.g. /opt/wheels holding torch-2.13.0+cpu) bind-mounted
#            there read-only for the build only:
#              buildah bud --pull=never --volume /opt/wheels:/mnt/find-links:ro -f ... <copy>
#            uv takes torch 2.13.0+cpu from there and everything else from PyPI; the wheel is
#            not part of the build context, so it is not baked into the image.
#
# Base image: the Dockerfile's FROM (python:3.11-slim = docker.io/library/python:3.11-slim).
# If it is not in local storage and its registry does not answer, deploy/daemonless/build_base_image.sh
# builds a local stand-in under that exact name first.
#
# Environment knobs (optional):
#   BENTOML_BIN   bentoml CLI (default: <repo>/.venv/bin/bentoml, else `bentoml` on PATH)
#   BENTOML_HOME  bento store (BentoML default ~/bentoml)
#   ROUTE         auto | online | offline        (default auto: probe the index URLs)
#   PROBE_TIMEOUT seconds per reachability probe (default 3)
#   FIND_LINKS    directory of wheels for the offline route (default: pip's find-links)
#   METHOD        containerize | bud, online route only (default containerize)
#   FORCE=1       rebuild even if IMAGE_TAG already exists for this exact bento version
#   HOST_CA_BUNDLE CA bundle bind-mounted over the image's for the build (none: don't)
#   STORAGE_DRIVER (default vfs)  BUILDAH_ISOLATION (default chroot)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/.." && pwd)"

# shellcheck source=deploy/daemonless/containers_env.sh
source "$SCRIPT_DIR/daemonless/containers_env.sh"
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

# ---------------------------------------------------------------- locate bento
BENTO_PATH="$("$BENTOML_BIN" get "$BENTO_TAG" -o path 2>/dev/null | tail -n 1)" || true
[[ -n "$BENTO_PATH" && -f "$BENTO_PATH/bento.yaml" ]] \
  || die "bento '$BENTO_TAG' not found in store ${BENTOML_HOME:-~/bentoml} (run 'bentoml build' first)"

read -r BENTO_NAME BENTO_VERSION < <("$PY_BIN" - "$BENTO_PATH/bento.yaml" <<'PY'
import sys, yaml
info = yaml.safe_load(open(sys.argv[1]))
print(info["name"], info["version"])
PY
)
[[ -n "${BENTO_NAME:-}" && -n "${BENTO_VERSION:-}" ]] || die "could not parse $BENTO_PATH/bento.yaml"
FULL_BENTO_TAG="$BENTO_NAME:$BENTO_VERSION"
IMAGE_TAG="${2:-$FULL_BENTO_TAG}"
DOCKERFILE="$BENTO_PATH/env/docker/Dockerfile"
REQUIREMENTS="$BENTO_PATH/env/python/requirements.txt"
[[ -f "$DOCKERFILE" && -f "$REQUIREMENTS" ]] || die "no env/docker/Dockerfile or env/python/requirements.txt in $BENTO_PATH"
BASE_SHORT="$(dockerfile_base_image "$DOCKERFILE")"
[[ -n "$BASE_SHORT" ]] || die "no FROM line in $DOCKERFILE"
BASE_IMAGE="$(qualify_image "$BASE_SHORT")"
log "bento $FULL_BENTO_TAG at $BENTO_PATH"
log "image tag: $IMAGE_TAG   base image: FROM $BASE_SHORT ($BASE_IMAGE)"

# ---------------------------------------------------------------- idempotency
OLD_ID="$(image_id "$IMAGE_TAG")"
if [[ -n "$OLD_ID" && "$FORCE" != 1 ]]; then
  old_bento="$(image_label "$IMAGE_TAG" org.bentoml.bento)"
  if [[ "$old_bento" == "$FULL_BENTO_TAG" ]]; then
    log "image $IMAGE_TAG already built from $FULL_BENTO_TAG -> skipping (FORCE=1 to rebuild)"
    bah images --filter "id=$OLD_ID"
    exit 0
  fi
fi

# ---------------------------------------------------------------- reachability
registry_url() {  # the v2 API endpoint of an image's registry
  local host="${1%%/*}"
  [[ "$host" == docker.io ]] && host=registry-1.docker.io
  printf 'https://%s/v2/\n' "$host"
}

# ---------------------------------------------------------------- base image
# Online, buildah pulls the Dockerfile's FROM itself. Without the registry, a local stand-in
# under the same name (deploy/daemonless/build_base_image.sh) lets the FROM resolve from local storage.
if [[ -n "$(image_id "$BASE_IMAGE")" ]]; then
  desc="$(image_label "$BASE_IMAGE" org.opencontainers.image.description)"
  log "base image $BASE_IMAGE is in local storage${desc:+ ($desc)}"
elif [[ "$BASE_IMAGE" != localhost/* ]] && answers "$(registry_url "$BASE_IMAGE")"; then
  log "base image $BASE_IMAGE not in local storage; its registry answers -> the build pulls it"
else
  log "base image $BASE_IMAGE not in local storage and $(registry_url "$BASE_IMAGE") does not answer"
  log "-> building a local stand-in under that name: deploy/daemonless/build_base_image.sh"
  BASE_IMAGE="$BASE_SHORT" "$SCRIPT_DIR/daemonless/build_base_image.sh"
  [[ -n "$(image_id "$BASE_IMAGE")" ]] || die "build_base_image.sh did not create $BASE_IMAGE"
fi
PULL_ARGS=()
[[ -n "$(image_id "$BASE_IMAGE")" ]] && PULL_ARGS=(--pull=never)

# ---------------------------------------------------------------- route
# Index URLs of requirements.txt (BentoML writes `--extra-index-url URL`, one per line).
mapfile -t INDEX_URLS < <(sed -nE 's/^[[:space:]]*(--extra-index-url|--index-url|-i)[[:space:]=]+([^[:space:]]+).*/\2/p' "$REQUIREMENTS")
UNREACHABLE=()
ROUTE="${ROUTE:-auto}"
case "$ROUTE" in
  auto)
    for url in "${INDEX_URLS[@]}"; do answers "$url" || UNREACHABLE+=("$url"); done
    if ((${#UNREACHABLE[@]})); then
      ROUTE=offline; WHY="${UNREACHABLE[*]} did not answer within ${PROBE_TIMEOUT}s"
    else
      ROUTE=online; WHY="${INDEX_URLS[*]:-PyPI only} answered"
    fi ;;
  offline) UNREACHABLE=("${INDEX_URLS[@]}"); WHY="ROUTE=offline was asked for" ;;
  online) WHY="ROUTE=online was asked for" ;;
  *) die "ROUTE must be auto, online or offline (got '$ROUTE')" ;;
esac

# TLS: the RUN steps download uv and Python packages from PyPI (containers_env.sh).
CA_VOLUME="$(host_ca_volume)"
[[ -n "$CA_VOLUME" ]] && log "build-time CA bundle: ${CA_VOLUME%%:*} (bind-mounted read-only)"

# ---------------------------------------------------------------- build
LABEL="org.bentoml.bento=$FULL_BENTO_TAG"
BUD_ARGS=(--isolation chroot --network host --layers=false --force-rm --format "$BUILDAH_FORMAT"
          --label "$LABEL" ${CA_VOLUME:+--volume "$CA_VOLUME"} "${PULL_ARGS[@]}")
t0=$(date +%s)
if [[ "$ROUTE" == offline ]]; then
  WHEELS_DIR="$(find_links_dir "$PY_BIN")"
  [[ -n "$WHEELS_DIR" ]] || die "offline route ($WHY) needs a find-links directory of wheels: set FIND_LINKS (or pip's find-links)"
  log "route: offline, because $WHY"
  log "       -> --find-links $WHEELS_DIR (bind-mounted read-only at /mnt/find-links) instead of: ${UNREACHABLE[*]}"
  # pinned requirements that the directory can serve, e.g. torch==2.13.0 -> torch-2.13.0+cpu-...whl
  while read -r name version; do
    match="$(compgen -G "$WHEELS_DIR/${name//-/_}-${version}[-+]*.whl" | head -n 1 || true)"
    [[ -n "$match" ]] && log "       $name==$version: ${match##*/}"
  done < <(sed -nE 's/^([A-Za-z0-9._-]+)==([^[:space:];]+).*/\1 \2/p' "$REQUIREMENTS")
  CONTEXT="$(mktemp -d /var/tmp/bento-context.XXXXXX)"
  trap 'rm -rf --one-file-system "$CONTEXT"' EXIT
  # hard links where possible (same filesystem): the copy costs no space; only
  # requirements.txt is replaced (a new file, so the Bento's own stays untouched)
  cp -al "$BENTO_PATH/." "$CONTEXT/" 2>/dev/null || { rm -rf "${CONTEXT:?}/"*; cp -a "$BENTO_PATH/." "$CONTEXT/"; }
  rm "$CONTEXT/env/python/requirements.txt"
  "$PY_BIN" - "$REQUIREMENTS" "$CONTEXT/env/python/requirements.txt" "${UNREACHABLE[@]}" <<'PY'
import re, sys
src, dst, unreachable = sys.argv[1], sys.argv[2], set(sys.argv[3:])
out, replaced = [], False
for line in open(src).read().splitlines():
    m = re.match(r"\s*(--extra-index-url|--index-url|-i)[\s=]+(\S+)", line)
    if m and m.group(2) in unreachable:
        out.append(f"# build_image.sh (offline): {m.group(2)} unreachable at build time")
        if not replaced:
            out.append("--find-links /mnt/find-links")
            replaced = True
        continue
    out.append(line)
if not replaced:
    out.insert(0, "--find-links /mnt/find-links")
open(dst, "w").write("\n".join(out) + "\n")
PY
  sed 's/^/       | /' "$CONTEXT/env/python/requirements.txt"
  bah bud "${BUD_ARGS[@]}" --volume "$WHEELS_DIR:/mnt/find-links:ro" \
    -f "$CONTEXT/env/docker/Dockerfile" -t "$IMAGE_TAG" "$CONTEXT"
  rm -rf --one-file-system "$CONTEXT"; trap - EXIT
else
  log "route: online, because $WHY -> the Bento as is"
  built=0
  if [[ "$METHOD" == containerize ]]; then
    log "bentoml containerize --backend buildah (vfs, chroot, host network)"
    # NB: bentoml containerize logs build errors but may still exit 0 -> verify image afterwards.
    # NB: no --opt force-rm / layers=false / pull=never here: BentoML renders `--layers false`
    #     (2 args), which buildah 1.28 misreads; and it takes a single --opt volume only.
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
    log "buildah bud on $DOCKERFILE"
    bah bud "${BUD_ARGS[@]}" -f "$DOCKERFILE" -t "$IMAGE_TAG" "$BENTO_PATH"
  fi
fi
t1=$(date +%s)
NEW_ID="$(image_id "$IMAGE_TAG")"
[[ -n "$NEW_ID" ]] || die "no image $IMAGE_TAG after build"

# drop the previous (now untagged) image of the same tag to save disk (vfs = full copies)
if [[ -n "$OLD_ID" && "$OLD_ID" != "$NEW_ID" ]]; then
  bah rmi "$OLD_ID" >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- verify
log "verifying torch inside the image is the CPU build and no wheel of /mnt/find-links is in it"
ctr="$(bah from --pull=never "$IMAGE_TAG")"
trap 'bah rm "$ctr" >/dev/null 2>&1 || true' EXIT
bah run --isolation chroot "$ctr" -- /app/.venv/bin/python -c '
import importlib.metadata as md, importlib.util, pathlib, re, sys
baked = [p.name for p in pathlib.Path("/mnt/find-links").glob("*")]
if baked:
    sys.exit("ERROR: files left in /mnt/find-links: %s" % baked)
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
log "done. run it with:  deploy/daemonless/run_image.sh $IMAGE_TAG   (or podman --storage-driver vfs run ...)"
