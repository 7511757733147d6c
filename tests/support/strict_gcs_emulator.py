"""gcp-storage-emulator that, like GCS, keeps no object whose upload was cut short.

The emulator reads up to `Content-Length` bytes of a body and stores whatever
arrived before the connection closed; GCS stores nothing from an upload whose
body is shorter than declared. A push interrupted mid-object would otherwise
leave a truncated object that the retried push skips as already there: a
failure of the emulator, not one real GCS can produce.

    python tests/support/strict_gcs_emulator.py --data-dir DIR start --port PORT ...
"""

import sys

from gcp_storage_emulator import server
from gcp_storage_emulator.__main__ import main

_read_raw_data = server._read_raw_data


def _read_whole_body(request_handler):
    data = _read_raw_data(request_handler)
    declared = request_handler.headers.get("Content-Length")
    if declared and len(data or b"") < int(declared):
        raise ConnectionError(f"upload cut short: {len(data or b'')} of {declared} bytes arrived")
    return data


server._read_raw_data = _read_whole_body

if __name__ == "__main__":
    main(sys.argv[1:])
