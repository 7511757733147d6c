# shellcheck shell=bash
# Sourced by the container scripts: daemon-less buildah/podman settings.
# buildah 1.28 ignores STORAGE_DRIVER and `bentoml containerize` calls plain
# `buildah build`, so the vfs driver is pinned through a storage.conf named by
# CONTAINERS_STORAGE_CONF (honoured by buildah and podman alike). Export the same
# variable to run buildah/podman by hand:
#   export CONTAINERS_STORAGE_CONF=/var/lib/containers/storage-vfs.conf
STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
DEFAULT_STORAGE_CONF="/var/lib/containers/storage-$STORAGE_DRIVER.conf"
export CONTAINERS_STORAGE_CONF="${CONTAINERS_STORAGE_CONF:-$DEFAULT_STORAGE_CONF}"
if [[ "$CONTAINERS_STORAGE_CONF" == "$DEFAULT_STORAGE_CONF" ]]; then
  mkdir -p "$(dirname "$CONTAINERS_STORAGE_CONF")"
  printf '[storage]\ndriver = "%s"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' \
    "$STORAGE_DRIVER" >"$CONTAINERS_STORAGE_CONF"
fi
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"

# The image a Bento's generated Dockerfile builds FROM (first FROM line, flags skipped).
# BentoML writes it without a registry (python:3.11-slim when bentofile.yaml sets no
# docker.base_image); `qualify_image` spells it as buildah stores it.
dockerfile_base_image() {
  awk 'toupper($1) == "FROM" { for (i = 2; i <= NF; i++) if ($i !~ /^--/) { print $i; exit } }' "$1"
}
# Docker's normalisation: python:3.11-slim -> docker.io/library/python:3.11-slim,
# org/img -> docker.io/org/img; names with a registry (a dot, a port or localhost) stay.
qualify_image() {
  local name="$1" first="${1%%/*}"
  if [[ "$name" != */* ]]; then
    name="docker.io/library/$name"
  elif [[ "$first" != *.* && "$first" != *:* && "$first" != localhost ]]; then
    name="docker.io/$name"
  fi
  [[ "${name##*/}" == *[:@]* ]] || name="$name:latest"
  printf '%s\n' "$name"
}
