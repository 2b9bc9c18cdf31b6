"""Reading a request body: the one place that does, so every route judges complete bodies only.

A body is read whole before anything looks at it: exactly ``Content-Length`` bytes, or a chunked
stream to its end, within a size limit and a time limit. What the server's own readers let through
is refused here: a body that ends before its declared length (the client half-closed its socket),
chunked framing the server cannot decode, a body past the limit, a body that does not arrive in
time. Each is a kind of ``BodyRefused`` with a one-line message (``web.errors`` gives each its status).

The body is then put back as the request's input, so that form parsing (``request.form``,
``request.files``) reads the complete copy, never the socket.

The time limit: under gunicorn the connection's socket (``gunicorn.socket``) takes the deadline, so a
read that would pass it ends with 408 instead of holding a worker thread. Granian hands the app a body
stream whose reads block until the bytes arrive, with no time limit of its own, so there the body is
read by one of the app's reader threads (``Settings.body_readers``) while the request's thread waits
for it until the deadline, then answers 408. A reader whose client keeps trickling stays blocked until
the client is done or gone, keeping none of what it reads. When every reader is taken, by bodies
arriving or by trickling clients, another body is refused at once (503), so at most that many threads
ever wait for a body, and pages and GET queries, which have none, keep the others. Granian keeps a
connection open as long as its client does, even after the 408, so a client that declares a body and
sends nothing holds its reader for as long as it likes: past its share (a quarter of the readers,
``per_client``), a client address gets another reader only while more than a quarter stay free, so one
client that stalls bodies on many connections is refused its own further bodies (503) and leaves a
quarter of the readers to everyone else, while a burst of quick bodies from one address is still read.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from gunicorn.http.errors import ParseException
from werkzeug.wsgi import get_content_length

# Where a body read whole is kept, so that a second read of the same request gets it again.
_READ_KEY = "ceopgraph.body"
_CHUNK = 64 * 1024


class BodyRefused(Exception):
    """A request body that cannot be judged; the message says what is wrong."""


class BodyIncomplete(BodyRefused):
    """The body ended before its declared length or its last chunk, or its chunked framing is broken."""


class BodyTimedOut(BodyRefused):
    """The body did not arrive within the time limit."""


class BodyTooLarge(BodyRefused):
    """Larger than the route's limit; routes with a message of their own catch it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than the limit of {limit:,} bytes")


class BodyReadersBusy(BodyRefused):
    """Every reader, or this client's share of them, is taken: a retry in a moment finds one."""


class BodyReader:
    """Reads request bodies for one app (``web.services``) within ``timeout_s`` (``body_timeout_s``).

    ``readers`` (``body_readers``): the reader threads for servers without a socket deadline (Granian),
    so the most request threads that may wait for a body at once; well under a server worker's threads
    (``serve --threads``, 32), so that slow bodies cannot take the threads pages and GET queries need.
    """

    def __init__(self, timeout_s: float, readers: int) -> None:
        self.timeout_s = timeout_s
        self.readers = max(1, readers)
        self.per_client = max(1, self.readers // 4)
        self._pool = ThreadPoolExecutor(max_workers=self.readers, thread_name_prefix="body-reader")
        self._held: dict[str, int] = {}  # readers each client address holds now
        self._in_use = 0
        self._held_lock = threading.Lock()

    def read(self, environ: dict[str, Any], limit: int) -> bytes:
        """The whole body of the request ``environ`` describes, at most ``limit`` bytes, also left as its
        input. Raises ``BodyIncomplete`` when it ends early or its framing is broken, ``BodyTimedOut`` when it
        does not arrive in time, ``BodyTooLarge`` past ``limit``, ``BodyReadersBusy`` when every reader is taken."""
        already = environ.get(_READ_KEY)
        if already is not None:  # read before (a CSRF check looked at the form first): the same bytes
            if len(already) > limit:
                raise BodyTooLarge(limit)
            return bytes(already)
        stream = environ["wsgi.input"]
        declared = get_content_length(environ)
        if declared is not None and declared > limit:
            raise BodyTooLarge(limit)
        sock: socket.socket | None = environ.get("gunicorn.socket")
        wanted = limit + 1 if declared is None else declared
        try:
            if sock is not None:
                parts = _read_from_socket(stream, sock, wanted, time.monotonic() + self.timeout_s)
            else:
                parts = self._read_in_a_reader(stream, wanted, environ.get("REMOTE_ADDR") or "-")
        except TimeoutError:
            _stop_reading(sock)
            raise BodyTimedOut(f"the request body did not arrive within {self.timeout_s:g} seconds") from None
        except (ParseException, OSError, ValueError) as exc:  # chunked framing the server could not decode
            _stop_reading(sock)
            if isinstance(exc, OSError):  # the stream ended inside a chunk, or before the last one
                raise BodyIncomplete("the request body ended before its last chunk") from None
            raise BodyIncomplete(f"the request body's chunked framing is malformed ({type(exc).__name__})") from None
        received = sum(map(len, parts))
        if declared is not None and received < declared:
            _stop_reading(sock)
            raise BodyIncomplete(f"the request body ended after {received} of {declared} bytes")
        if received > limit:
            _stop_reading(sock)
            raise BodyTooLarge(limit)
        body = b"".join(parts)
        _replace_input(environ, body)
        environ[_READ_KEY] = body
        return body

    def _take(self, client: str) -> None:
        """A reader for ``client``, or 503 at once: every reader is taken, or the client has its share and
        taking more would leave a quarter of the readers or fewer to everyone else."""
        with self._held_lock:
            free = self.readers - self._in_use
            if not free:
                raise BodyReadersBusy(
                    f"{self.readers} request bodies are arriving slowly already; try again in a moment"
                )
            if self._held.get(client, 0) >= self.per_client and free <= self.per_client:
                raise BodyReadersBusy(
                    f"this client has {self._held[client]} request bodies arriving slowly already; send one at a time"
                )
            self._held[client] = self._held.get(client, 0) + 1
            self._in_use += 1

    def _give_back(self, client: str) -> None:
        with self._held_lock:
            left = self._held.pop(client) - 1
            if left:
                self._held[client] = left
            self._in_use -= 1

    def _read_in_a_reader(self, stream: Any, wanted: int, client: str) -> list[bytes]:
        """Up to ``wanted`` bytes, read by a reader thread within the time limit (``TimeoutError`` past it)."""
        self._take(client)
        abandoned = threading.Event()

        def read() -> list[bytes]:
            parts: list[bytes] = []
            received = 0
            try:
                while received < wanted:
                    part = stream.read(min(_CHUNK, wanted - received))
                    if not part:
                        break
                    received += len(part)
                    if not abandoned.is_set():  # once the request was answered 408, nothing is kept
                        parts.append(part)
            finally:
                self._give_back(client)
            return parts

        reading: Future[list[bytes]] = self._pool.submit(read)
        try:
            return reading.result(timeout=self.timeout_s)
        except FutureTimeout:
            abandoned.set()
            raise TimeoutError from None

    def close(self) -> None:
        """No new reads; readers still blocked on a trickling client end with its connection."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _read_from_socket(stream: Any, sock: socket.socket, wanted: int, deadline: float) -> list[bytes]:
    """Up to ``wanted`` bytes, each read given what is left of the time (``TimeoutError`` past it)."""
    parts: list[bytes] = []
    received = 0
    try:
        while received < wanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            part = stream.read(min(_CHUNK, wanted - received))
            if not part:
                break
            parts.append(part)
            received += len(part)
    finally:
        sock.settimeout(None)  # the server's own blocking mode, for writing the answer
    return parts


def _replace_input(environ: dict[str, Any], body: bytes) -> None:
    """Form parsing reads the complete copy: a known length, nothing left on the socket to wait for."""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False


def _stop_reading(sock: socket.socket | None) -> None:
    """Read nothing more from a connection whose body was refused: the server answers, then closes it
    (instead of draining a stalled or undecodable stream first)."""
    if sock is None:
        return
    with contextlib.suppress(OSError):  # the client is gone already
        sock.shutdown(socket.SHUT_RD)
