"""A local HTTP listener that counts requests: the proof that a hostile input made no network access.

Use the ``listener`` fixture (conftest.py): point a remote @context, an external entity or an owl:imports at
``listener.url`` and assert ``listener.requests == 0`` afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Listener:
    port: int
    paths: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def requests(self) -> int:
        return len(self.paths)


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            listener.paths.append(self.path)
            body = b'{"@context": {}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_HEAD = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the count is the output."""

    return Handler


@contextmanager
def listening() -> Iterator[Listener]:
    """An HTTP server on 127.0.0.1 (a free port, its own thread), stopped on leaving; the ``listener``
    fixture of conftest.py."""
    state = Listener(port=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
