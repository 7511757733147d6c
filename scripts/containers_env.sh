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
