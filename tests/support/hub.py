"""The session's one local Hub (`HubServer`), started the first time a test needs it.

huggingface_hub and datasets read HF_ENDPOINT once, when they are imported, so the Hub's address
must be fixed before any test module imports them; the server itself need not run until a test
asks for it. Importing this module binds a free local port (nothing listens on it yet, so a
connection is refused) and names it in `ENDPOINT`; `session_hub()` starts the server on that
very socket on its first call and stops it when the process exits.
"""

from __future__ import annotations

import atexit
import socket
import threading

from tests.support.hub_server import HubServer

_socket = socket.socket()
_socket.bind(("127.0.0.1", 0))
ENDPOINT = f"http://127.0.0.1:{_socket.getsockname()[1]}"  # no trailing slash (see tests/conftest.py)

_hub: HubServer | None = None
_lock = threading.Lock()


def session_hub() -> HubServer:
    """The running Hub at `ENDPOINT`, started on the first call (state is not reset here)."""
    global _hub
    with _lock:
        if _hub is None:
            _hub = HubServer(sock=_socket).start()
            atexit.register(_hub.stop)
        return _hub


def on_both_storages(test):
    """Run `test` on a Xet-storing Hub and, as the smoke run of the inline path, on a regular one
    (the test takes a `storage` argument: "xet" or "regular")."""
    import pytest

    params = [pytest.param(kind, marks=pytest.mark.hub_storage(kind), id=kind) for kind in ("xet", "regular")]
    return pytest.mark.parametrize("storage", params)(test)
