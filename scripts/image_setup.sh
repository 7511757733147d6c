#!/bin/sh
# Runs as root while the image is built, after the Bento's install step: the
# torch wheel is installed by then, so drop its ~190 MB copy and pip/uv caches.
set -eu
rm -f "$BENTO_PATH"/env/python/wheels/*.whl
rm -rf /root/.cache
