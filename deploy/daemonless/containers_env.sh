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

bah() { buildah --storage-driver "$STORAGE_DRIVER" "$@"; }
# image_id NAME: the image's id, or nothing when it is not in local storage.
image_id() { bah inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }
# image_label NAME KEY: one label of a local image, or nothing.
image_label() { bah inspect --type image --format "{{index .OCIv1.Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }

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

PROBE_TIMEOUT="${PROBE_TIMEOUT:-3}"
# answers URL: does anything answer there within PROBE_TIMEOUT s (DNS + TCP connect)?
answers() {
  local url="$1" host port
  if command -v curl >/dev/null; then
    curl -s -o /dev/null -I --connect-timeout "$PROBE_TIMEOUT" --max-time "$((PROBE_TIMEOUT * 3))" "$url"
    return
  fi
  host="${url#*://}"; host="${host%%/*}"; port=443
  [[ "$url" == http://* ]] && port=80
  [[ "$host" == *:* ]] && { port="${host##*:}"; host="${host%:*}"; }
  # shellcheck disable=SC2016  # $1/$2 expand in the inner bash
  timeout "$PROBE_TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# host_ca_volume: a buildah --volume spec of the host's CA bundle over the image's, or nothing.
# Builds download from PyPI; behind a TLS-intercepting egress proxy (as in this sandbox)
# Debian's stock bundle inside the image does not trust the proxy's CA, so the host's is
# bind-mounted read-only for the build only (nothing is baked into the image).
# HOST_CA_BUNDLE names the bundle; HOST_CA_BUNDLE=none disables it.
host_ca_volume() {
  local bundle="${HOST_CA_BUNDLE:-}" f
  if [[ -z "$bundle" ]]; then
    for f in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
      [[ -n "$f" && -s "$f" ]] && { bundle="$f"; break; }
    done
  fi
  [[ -n "$bundle" && "$bundle" != none ]] && printf '%s:/etc/ssl/certs/ca-certificates.crt:ro\n' "$(readlink -f "$bundle")"
  return 0
}

# find_links_dir PYTHON: the first of FIND_LINKS, PIP_FIND_LINKS and pip's configured
# find-links that is a directory holding wheels (e.g. /opt/wheels with torch-2.13.0+cpu).
find_links_dir() {
  local d
  while read -r d; do
    d="${d#file://}"
    if [[ -n "$d" && -d "$d" ]] && compgen -G "$d/*.whl" >/dev/null; then readlink -f "$d"; return 0; fi
  done < <(
    printf '%s\n' "${FIND_LINKS:-}" "${PIP_FIND_LINKS:-}" | tr ' ' '\n'
    "$1" -m pip config list 2>/dev/null | sed -nE "s/^[^=]*find-links='(.*)'$/\\1/p" | tr ' ' '\n'
  )
  return 0
}

# podman as root without a daemon:
# --cgroup-manager cgroupfs: no systemd (PID 1 is not systemd in CI containers/VMs)
# --runtime runc:            Debian's podman prefers crun, which we do not install
# --events-backend file:     no journald
pm() {
  podman --storage-driver "$STORAGE_DRIVER" --cgroup-manager cgroupfs --runtime runc \
    --events-backend file "$@"
}

# --ulimit: rootful podman puts nofile=1048576 / nproc=<max> into the OCI spec, and runc
# applies them with prlimit(). Where root lacks CAP_SYS_RESOURCE (this sandbox:
# CapEff=000001fffeffffff, bit 24 missing; hard nofile 20000) that fails with
#   "error setting rlimit type 7 (NOFILE) / type 6 (NPROC): operation not permitted".
# -> request values that never exceed the host's: nofile = host soft:hard,
#    nproc <= 32768 (empirically 65536 already fails here). Scripts take ULIMIT_ARGS over these.
podman_ulimit_args() {
  local nproc
  nproc="$(_ulimit_or -Hu 32768)"; (( nproc > 32768 )) && nproc=32768
  echo "--ulimit nofile=$(_ulimit_or -Sn 1048576):$(_ulimit_or -Hn 1048576) --ulimit nproc=$nproc:$nproc"
}
_ulimit_or() { local v; v="$(ulimit "$1")"; [[ "$v" == unlimited ]] && v="$2"; echo "$v"; }
