#!/usr/bin/env bash
# Build a local Debian bookworm + Python 3.11 base image for BentoML containers
# WITHOUT a Docker engine and WITHOUT access to a container registry.
#
#   debootstrap (minbase) -> rootfs tarball -> buildah (vfs, chroot) -> local tag
#
# The resulting tag is meant to be used as `docker.base_image` in bentofile.yaml:
#
#   docker:
#     base_image: localhost/bento-base-py311:bookworm
#
# BentoML then renders its generic `base.j2` Dockerfile template
# (FROM <base_image>; no apt-get step; pip installs uv; uv venv /app/.venv ...),
# and buildah finds the image in local containers-storage instead of pulling.
#
# Usage:  scripts/build_base_image.sh            # build if the tag is missing
#         FORCE=1 scripts/build_base_image.sh    # rebuild even if it exists
#
# Environment knobs (all optional):
#   BASE_IMAGE      tag to create              (default localhost/bento-base-py311:bookworm)
#   SUITE           Debian suite               (default bookworm -> python3.11)
#   MIRROR          Debian mirror              (default http://deb.debian.org/debian)
#   EXTRA_PACKAGES  extra Debian packages, comma separated (e.g. "build-essential,git").
#                   NOTE: bentofile `docker.system_packages` is IGNORED by BentoML when
#                   `docker.base_image` is set, so system packages belong here.
#   WORK_DIR        scratch dir for the rootfs (default /var/tmp/bento-base-build)
#   FORCE=1         rebuild even when BASE_IMAGE already exists
#   KEEP_ROOTFS=1   keep the debootstrap rootfs dir after import (debugging)
set -euo pipefail

BASE_IMAGE="${BASE_IMAGE:-localhost/bento-base-py311:bookworm}"
SUITE="${SUITE:-bookworm}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
EXTRA_PACKAGES="${EXTRA_PACKAGES:-}"
WORK_DIR="${WORK_DIR:-/var/tmp/bento-base-build}"
FORCE="${FORCE:-0}"
KEEP_ROOTFS="${KEEP_ROOTFS:-0}"

# shellcheck source=scripts/containers_env.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/containers_env.sh"

log() { printf '\033[1;34m[build_base_image %(%H:%M:%S)T]\033[0m %s\n' -1 "$*"; }
die() { printf '\033[1;31m[build_base_image] ERROR:\033[0m %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root (debootstrap + buildah vfs)"

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

bah() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }

image_exists() { bah inspect --type image "$1" >/dev/null 2>&1; }

if image_exists "$BASE_IMAGE" && [[ "$FORCE" != 1 ]]; then
  log "image $BASE_IMAGE already exists -> skipping (FORCE=1 to rebuild)"
  bah images --filter reference="${BASE_IMAGE%%:*}" 2>/dev/null || true
  exit 0
fi

OLD_ID="$(bah inspect --type image --format '{{.FromImageID}}' "$BASE_IMAGE" 2>/dev/null || true)"

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
log "post-processing rootfs"
PYVER="$(chroot "$ROOTFS" python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
log "python in rootfs: $(chroot "$ROOTFS" python3 --version 2>&1)"

# PEP 668: Debian marks the system interpreter "externally managed", which makes the
# `pip install --require-hashes uv==...` step of BentoML's generated Dockerfile fail
# with "error: externally-managed-environment". The official python:*-slim images do
# not have this marker either.
rm -f "$ROOTFS/usr/lib/python$PYVER/EXTERNALLY-MANAGED"

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
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
chroot "$ROOTFS" apt-get clean
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
log "importing into containers-storage as $BASE_IMAGE (driver=$STORAGE_DRIVER)"
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
  'python --version && pip --version && command -v groupadd useradd bash >/dev/null && echo tools-ok'
bah rm "$ctr" >/dev/null
trap umount_rootfs EXIT

log "import+commit took $((t3 - t2))s; debootstrap took $((t1 - t0))s"
bah images --filter reference="${BASE_IMAGE%%:*}"
log "done: use  docker: { base_image: $BASE_IMAGE }  in bentofile.yaml"
