#!/usr/bin/env bash
# Build, WITHOUT a Docker engine and WITHOUT a container registry, a local stand-in for the
# base image that a Bento's generated Dockerfile starts FROM, stored under that same name.
#
#   debootstrap (minbase) -> rootfs tarball -> buildah (vfs, chroot) -> docker.io/library/python:3.11-slim
#
# bentofile.yaml sets no docker.base_image, so BentoML 1.4 renders its standard Dockerfile:
# `FROM python:3.11-slim`, apt-get install of its default system packages, `pip install uv`,
# `uv venv /app/.venv`, `uv pip install -r env/python/requirements.txt`. A Docker user pulls
# the real python:3.11-slim from Docker Hub. Here no registry is reachable, so this script
# builds Debian bookworm + Debian's Python 3.11 and commits it as
# docker.io/library/python:3.11-slim, which is how buildah/podman spell the short name
# `python:3.11-slim`: with `--pull=never` the FROM resolves from local storage.
# (The real image is Debian + a source-built CPython in /usr/local; this one uses Debian's
# python3.11 in /usr/bin. BentoML's Dockerfile needs only python3.11, pip, bash, groupadd,
# useradd and apt, which both have.)
#
# The name is read from the Bento's env/docker/Dockerfile, not hard-coded.
#
# Usage:  deploy/daemonless/build_base_image.sh [BENTO_TAG]        # default BENTO_TAG tweet-sentiment:latest
#         FORCE=1 deploy/daemonless/build_base_image.sh [BENTO_TAG] # rebuild even if the image exists
#         BASE_IMAGE=python:3.11-slim deploy/daemonless/build_base_image.sh   # no Bento needed
# deploy/build_image.sh runs it by itself when the Bento's base image is missing and its
# registry is unreachable.
#
# Environment knobs (all optional):
#   BASE_IMAGE      image name to create (default: the FROM of the Bento's Dockerfile; if the
#                   Bento is not in the store, python:3.11-slim, BentoML's default for 3.11)
#   BENTOML_BIN     bentoml CLI used to find the Bento (default <repo>/.venv/bin/bentoml)
#   SUITE           Debian suite               (default bookworm -> python3.11)
#   MIRROR          Debian mirror              (default http://deb.debian.org/debian)
#   EXTRA_PACKAGES  extra Debian packages, comma separated (e.g. "build-essential,git")
#   WORK_DIR        scratch dir for the rootfs (default /var/tmp/bento-base-build)
#   FORCE=1         rebuild even when BASE_IMAGE already exists
#   KEEP_ROOTFS=1   keep the debootstrap rootfs dir after import (debugging)
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd -- "$SCRIPT_DIR/../.." && pwd)"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
EXTRA_PACKAGES="${EXTRA_PACKAGES:-}"
WORK_DIR="${WORK_DIR:-/var/tmp/bento-base-build}"
FORCE="${FORCE:-0}"
KEEP_ROOTFS="${KEEP_ROOTFS:-0}"

# shellcheck source=deploy/daemonless/containers_env.sh
source "$SCRIPT_DIR/containers_env.sh"

log() { printf '\033[1;34m[build_base_image %(%H:%M:%S)T]\033[0m %s\n' -1 "$*"; }
die() { printf '\033[1;31m[build_base_image] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

[[ $# -le 1 ]] || die "usage: $0 [BENTO_TAG]"
[[ "$(id -u)" == 0 ]] || die "must run as root (debootstrap + buildah vfs)"

# ---------------------------------------------------------------- which name
if [[ -z "${BASE_IMAGE:-}" ]]; then
  BENTO_TAG="${1:-tweet-sentiment:latest}"
  if [[ -z "${BENTOML_BIN:-}" ]]; then
    if [[ -x "$REPO_DIR/.venv/bin/bentoml" ]]; then BENTOML_BIN="$REPO_DIR/.venv/bin/bentoml"
    else BENTOML_BIN="$(command -v bentoml || true)"; fi
  fi
  bento_path=""
  if [[ -n "$BENTOML_BIN" ]]; then
    bento_path="$("$BENTOML_BIN" get "$BENTO_TAG" -o path 2>/dev/null | tail -n 1)" || true
  fi
  if [[ -n "$bento_path" && -f "$bento_path/env/docker/Dockerfile" ]]; then
    BASE_IMAGE="$(dockerfile_base_image "$bento_path/env/docker/Dockerfile")"
    [[ -n "$BASE_IMAGE" ]] || die "no FROM line in $bento_path/env/docker/Dockerfile"
    log "base image from $BENTO_TAG's Dockerfile: FROM $BASE_IMAGE"
  else
    BASE_IMAGE="python:3.11-slim"
    log "bento $BENTO_TAG not in the store -> BentoML's default base for Python 3.11: $BASE_IMAGE"
  fi
fi
SHORT_NAME="$BASE_IMAGE"
BASE_IMAGE="$(qualify_image "$BASE_IMAGE")"
# python:X.Y-... promises Python X.Y: the Debian suite must ship that version
WANT_PY=""
if [[ "$BASE_IMAGE" =~ ^docker\.io/library/python:([0-9]+\.[0-9]+) ]]; then
  WANT_PY="${BASH_REMATCH[1]}"
else
  log "WARNING: $SHORT_NAME is not a python:X.Y image; building Debian $SUITE + python3 under that name anyway"
fi

# ---------------------------------------------------------------- host tools
ensure_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  command -v newuidmap >/dev/null || missing+=(uidmap)
  [[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || missing+=(debian-archive-keyring)
  [[ -e /usr/lib/cni/host-local || -e /usr/libexec/cni/host-local ]] || missing+=(containernetworking-plugins)
  if ((${#missing[@]})); then
    log "installing host packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
  fi
}
ensure_tools

image_exists() { [[ -n "$(image_id "$1")" ]]; }

if image_exists "$BASE_IMAGE" && [[ "$FORCE" != 1 ]]; then
  log "image $BASE_IMAGE already exists -> skipping (FORCE=1 to rebuild)"
  bah images "$BASE_IMAGE" 2>/dev/null || true
  exit 0
fi

OLD_ID="$(image_id "$BASE_IMAGE")"

# ---------------------------------------------------------------- debootstrap
ROOTFS="$WORK_DIR/rootfs"
TARBALL="$WORK_DIR/rootfs.tar"
umount_rootfs() {
  # debootstrap mounts proc/sys inside the target; make sure nothing is left behind
  local m
  awk -v r="$ROOTFS/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
assert_no_mounts() {
  if awk -v r="$ROOTFS/" 'index($2, r) == 1 {f=1} END {exit !f}' /proc/mounts; then
    die "mounts still active below $ROOTFS - refusing to delete it"
  fi
}
trap umount_rootfs EXIT

umount_rootfs
assert_no_mounts
rm -rf --one-file-system "$WORK_DIR"
mkdir -p "$ROOTFS"

INCLUDE="python3,python3-venv,python3-pip,python-is-python3,ca-certificates"
[[ -n "$EXTRA_PACKAGES" ]] && INCLUDE="$INCLUDE,$EXTRA_PACKAGES"

log "debootstrap --variant=minbase $SUITE (include: $INCLUDE) from $MIRROR"
t0=$(date +%s)
if ! debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$ROOTFS" "$MIRROR" \
    >"$WORK_DIR/debootstrap.log" 2>&1; then
  tail -n 40 "$WORK_DIR/debootstrap.log" >&2
  [[ -f "$ROOTFS/debootstrap/debootstrap.log" ]] && tail -n 40 "$ROOTFS/debootstrap/debootstrap.log" >&2
  die "debootstrap failed (full log: $WORK_DIR/debootstrap.log)"
fi
t1=$(date +%s)
log "debootstrap done in $((t1 - t0))s ($(du -sh --one-file-system "$ROOTFS" | cut -f1))"
umount_rootfs

# ---------------------------------------------------------------- trim + fix
# Run a command inside the rootfs with a clean environment, as a login there would have it. The
# host's variables name host paths that the rootfs lacks: with TMPDIR set (pytest sets it, and
# so do users), ca-certificates' postinst fails on `mktemp` during the dist-upgrade below.
# Proxy settings pass through, for mirrors reached through one.
in_rootfs() {
  local pass=() var
  for var in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [[ -n "${!var:-}" ]]; then pass+=("$var=${!var}"); fi
  done
  env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    "${pass[@]}" chroot "$ROOTFS" "$@"
}
log "post-processing rootfs"
PYVER="$(in_rootfs python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
log "python in rootfs: $(in_rootfs python3 --version 2>&1)"
[[ -z "$WANT_PY" || "$PYVER" == "$WANT_PY" ]] \
  || die "$SHORT_NAME wants Python $WANT_PY but Debian $SUITE ships $PYVER: set SUITE (bookworm=3.11, trixie=3.13)"

cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
# same trick as the official debian images: keep images small
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-excludes" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
# PEP 668: Debian marks the system interpreter "externally managed", which makes the
# `pip install --require-hashes uv==...` step of BentoML's generated Dockerfile fail
# with "error: externally-managed-environment". The official python:*-slim images do
# not have this marker either. Excluded for dpkg too, so no python3.11 upgrade (the one
# below, or a later apt-get in a Dockerfile) brings it back.
echo 'path-exclude /usr/lib/python3*/EXTERNALLY-MANAGED' >"$ROOTFS/etc/dpkg/dpkg.cfg.d/no-externally-managed"
rm -f "$ROOTFS/usr/lib/python$PYVER/EXTERNALLY-MANAGED"
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
# apt settings of the official debian images (debuerreotype), which python:*-slim inherits:
# an `apt-get install` in a Dockerfile (BentoML's installs build-essential, git, gnupg2)
# leaves no .deb archives behind, and the package lists stay gzipped.
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::GzipIndexes "true";' >"$ROOTFS/etc/apt/apt.conf.d/docker-gzip-indexes"
echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$ROOTFS/etc/apt/apt.conf.d/docker-autoremove-suggests"
# Updates and security fixes, as the official images carry. Needed here too: build_image.sh
# bind-mounts the host CA bundle over /etc/ssl/certs/ca-certificates.crt during the build, so
# the `apt-get install ca-certificates` of BentoML's Dockerfile must find the package current
# (an upgrade's postinst cannot replace the mounted file). When Debian ships a newer
# ca-certificates, rebuild this image: FORCE=1 deploy/daemonless/build_base_image.sh
log "apt-get dist-upgrade from $SUITE-updates and $SUITE-security"
if ! in_rootfs sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get dist-upgrade -y -qq' \
    >"$WORK_DIR/upgrade.log" 2>&1; then
  tail -n 30 "$WORK_DIR/upgrade.log" >&2
  die "apt-get dist-upgrade in the rootfs failed (full log: $WORK_DIR/upgrade.log)"
fi
# shellcheck disable=SC2016  # ${Version} is dpkg-query's field, not a shell variable
log "upgraded $(grep -c '^Setting up ' "$WORK_DIR/upgrade.log" || true) packages;" \
    "ca-certificates $(in_rootfs dpkg-query -W -f '${Version}' ca-certificates)"
umount_rootfs
in_rootfs apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin \
       "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/log/*.log "$ROOTFS"/var/log/apt/* \
       "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/* \
       "$ROOTFS"/debootstrap
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$ROOTFS/usr/lib/python3" "$ROOTFS/usr/lib/python$PYVER" -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
# resolv.conf/hostname/hosts are bind-mounted by buildah/podman at run time
: >"$ROOTFS/etc/resolv.conf"
: >"$ROOTFS/etc/hostname"
rm -rf "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*

log "creating tarball (excluding /dev,/proc,/sys contents)"
tar --numeric-owner --xattrs -C "$ROOTFS" \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
    -cf "$TARBALL" .
log "rootfs tarball: $(du -h "$TARBALL" | cut -f1)"
[[ "$KEEP_ROOTFS" == 1 ]] || { assert_no_mounts; rm -rf --one-file-system "$ROOTFS"; }

# ---------------------------------------------------------------- import
log "importing into containers-storage as $BASE_IMAGE (stand-in for $SHORT_NAME; driver=$STORAGE_DRIVER)"
t2=$(date +%s)
ctr="$(bah from --pull=never scratch)"
cleanup_ctr() { bah rm "$ctr" >/dev/null 2>&1 || true; umount_rootfs; }
trap cleanup_ctr EXIT
bah add --quiet "$ctr" "$TARBALL" /
# UV_PYTHON_*: BentoML's Dockerfile runs `uv venv /app/.venv`; never let uv try to
#   download a python-build-standalone interpreter from GitHub (not reachable) - use 3.11.
# SSL_CERT_FILE/UV_SYSTEM_CERTS: uv ships its own (webpki) root store by default; make it use
#   the system bundle so the build-time bind-mounted host CA bundle (see build_image.sh)
#   is honoured behind TLS-intercepting proxies. Harmless elsewhere.
bah config \
  --os linux --arch amd64 \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 \
  --env PYTHONUNBUFFERED=1 \
  --env PIP_DISABLE_PIP_VERSION_CHECK=1 \
  --env UV_PYTHON_DOWNLOADS=never \
  --env UV_PYTHON_PREFERENCE=only-system \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --env UV_SYSTEM_CERTS=1 \
  --cmd /bin/bash \
  --label org.opencontainers.image.title="debian-$SUITE-python$PYVER (debootstrap minbase)" \
  --label org.opencontainers.image.description="local stand-in for $SHORT_NAME built by deploy/daemonless/build_base_image.sh" \
  --label org.opencontainers.image.base.name="debootstrap:$SUITE" \
  "$ctr"
bah commit --quiet --rm "$ctr" "$BASE_IMAGE" >/dev/null
trap umount_rootfs EXIT
t3=$(date +%s)
rm -f "$TARBALL"
# FORCE rebuild: drop the previous, now untagged, image (vfs stores full copies)
if [[ -n "$OLD_ID" ]]; then bah rmi "$OLD_ID" >/dev/null 2>&1 || true; fi

# ---------------------------------------------------------------- smoke test
log "smoke test (buildah run --isolation chroot)"
ctr="$(bah from --pull=never "$BASE_IMAGE")"
trap cleanup_ctr EXIT
bah run --isolation chroot "$ctr" -- sh -c \
  'python --version && pip --version && command -v groupadd useradd bash apt-get >/dev/null &&
   ! ls /usr/lib/python3*/EXTERNALLY-MANAGED 2>/dev/null && echo tools-ok'
bah rm "$ctr" >/dev/null
trap umount_rootfs EXIT
# the short name, as a Dockerfile writes it, must resolve to this image without a pull
[[ "$(image_id "$SHORT_NAME")" == "$(image_id "$BASE_IMAGE")" ]] \
  || die "buildah does not resolve $SHORT_NAME to $BASE_IMAGE in local storage"
log "short name $SHORT_NAME resolves to $BASE_IMAGE locally"

log "import+commit took $((t3 - t2))s; debootstrap took $((t1 - t0))s"
bah images "$BASE_IMAGE"
log "done: a Dockerfile's  FROM $SHORT_NAME  now resolves locally (buildah bud --pull=never)"
