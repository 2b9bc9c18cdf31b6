"""Reading a request body: the one place that does, so every route judges complete bodies only.

A body is read whole before anything looks at it: exactly ``Content-Length`` bytes, or a chunked
stream to its end, within a size limit and a time limit. What the server's own readers let through
is refused here: a body that ends before its declared length (the client half-closed its socket),
chunked framing the server cannot decode, a body past the limit, a body that does not arrive in
time. Each is a ``BodyRefused`` with a status and a one-line message (``web.errors`` answers it).

The body is then put back as the request's input, so that form parsing (``request.form``,
``request.files``) reads the complete copy, never the socket.

The time limit needs the connection's socket, which gunicorn hands to the app
(``gunicorn.socket``); a read that would pass the deadline ends with 408 instead of holding a
worker thread. Other servers are left to their own read timeouts.
"""

from __future__ import annotations

import contextlib
import io
import socket
import time
from typing import Any

from flask import request
from gunicorn.http.errors import ParseException

from ceopgraph.web.services import current

_CHUNK = 64 * 1024


class BodyRefused(Exception):
    """A request body that cannot be judged: ``status`` (400, 408, 413) and what is wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BodyTooLarge(BodyRefused):
    """Larger than the route's limit (413); routes with a message of their own catch it."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")


def read_body(limit: int) -> bytes:
    """The whole request body, at most ``limit`` bytes, also left as the request's input.

    Raises ``BodyRefused``: 400 when it ends early or its framing is broken, 408 when it does not
    arrive within ``body_timeout_s``, 413 when it is larger than ``limit``.
    """
    environ = request.environ
    stream = environ["wsgi.input"]
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge(limit)
    timeout_s = current().settings.body_timeout_s
    sock: socket.socket | None = environ.get("gunicorn.socket")
    deadline = time.monotonic() + timeout_s
    wanted = limit + 1 if declared is None else declared
    parts: list[bytes] = []
    received = 0
    try:
        while received < wanted:
            if sock is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                sock.settimeout(remaining)
            part = stream.read(min(_CHUNK, wanted - received))
            if not part:
                break
            parts.append(part)
            received += len(part)
    except TimeoutError:
        _stop_reading(sock)
        raise BodyRefused(408, f"the request body did not arrive within {timeout_s:g} seconds") from None
    except (ParseException, OSError, ValueError) as exc:  # chunked framing the server could not decode
        _stop_reading(sock)
        if isinstance(exc, OSError):  # the stream ended inside a chunk, or before the last one
            raise BodyRefused(400, "the request body ended before its last chunk") from None
        raise BodyRefused(400, f"the request body's chunked framing is malformed ({type(exc).__name__})") from None
    finally:
        if sock is not None:
            sock.settimeout(None)  # the server's own blocking mode, for writing the answer
    if declared is not None and received < declared:
        _stop_reading(sock)
        raise BodyRefused(400, f"the request body ended after {received} of {declared} bytes")
    if received > limit:
        _stop_reading(sock)
        raise BodyTooLarge(limit)
    body = b"".join(parts)
    _replace_input(environ, body)
    return body


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
