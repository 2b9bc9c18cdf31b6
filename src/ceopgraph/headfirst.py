"""``HeadFirstWorker``: gunicorn's gthread worker, with slow clients kept out of its threads.

gunicorn's gthread worker gives a connection a thread as soon as its first byte arrives and then reads the
request in that thread, so a client that sends one header byte every few seconds (slowloris), or trickles a
body, holds a thread as long as it likes. This worker reads the head and the body (of declared length, or
chunked) in the worker's event loop and hands a connection to a thread only once they are in, within
``header_timeout_s`` and ``body_timeout_s``, else it answers 408 and closes the connection; past the bytes
one event loop may hold (``BUFFER_BUDGET``) it answers 503. It leans on gunicorn's internals (``TConn``,
``SocketUnreader``, the gthread loop), pinned by the project's dependency range, so it lives apart from the
server's start-up code (``ceopgraph.server``).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from ceopgraph.config import load_settings

# gunicorn's limits on a request head, set below. The event loop hands a head larger than they allow
# to the parser at once (which refuses it), so it holds at most about 270 KB of any head; a body it
# holds up to the app's largest body limit, all of them within BUFFER_BUDGET.
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 64
LIMIT_REQUEST_FIELD_SIZE = 4096
# Bytes of requests, heads and bodies, one worker's event loop holds at once; past it, 503.
BUFFER_BUDGET = 64 * 1024 * 1024
RETRY_AFTER_S = 5
_HEAD_END = b"\r\n\r\n"
_READ_SIZE = 64 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
# Transfer codings gunicorn accepts before a final "chunked" (it refuses any other).
_CODINGS = frozenset((b"chunked", b"identity", b"compress", b"deflate", b"gzip"))


class _ChunkedEnd:
    """Finds where a chunked body ends as its bytes arrive, for readiness only (gunicorn parses it).

    Each chunk's size line is read and its data skipped by count, so a read costs the size lines
    it brings (searches resume where the last one stopped), never a rescan of the body; and a chunk
    whose data looks like a last chunk (``0`` CRLF CRLF) is not taken for one, which would hand the
    connection to a thread that then waits for the rest of the body.
    """

    def __init__(self, start: int, trailer_limit: int) -> None:
        self._pos = start  # where the current element starts (a size line, a trailer section), or its data ends
        self._scanned = start  # bytes already searched for the current element's end
        self._part = "size"  # "size" (a chunk-size line), "data" (a chunk's data and its CRLF), "trailer"
        self._trailer_limit = trailer_limit

    def advance(self, data: bytearray) -> bool | None:
        """True once ``data`` holds the whole body, False while it may yet, None when its framing is
        broken (or past gunicorn's limits): the parser then refuses it (400) without waiting for more."""
        while True:
            if self._part == "size":
                eol = data.find(b"\r\n", max(self._pos, self._scanned - 1))
                if eol < 0:
                    self._scanned = len(data)
                    return False if len(data) - self._pos <= LIMIT_REQUEST_FIELD_SIZE else None
                size, extension, _ = bytes(data[self._pos : eol]).partition(b";")
                if extension:  # whitespace before an extension, as gunicorn allows
                    size = size.rstrip(b" \t")
                if not size or not _HEX_DIGITS.issuperset(size):
                    return None
                length = int(size, 16)
                self._part, self._pos = ("data", eol + 2 + length) if length else ("trailer", eol + 2)
                self._scanned = self._pos
            elif self._part == "data":
                if len(data) < self._pos + 2:
                    return False
                if data[self._pos : self._pos + 2] != b"\r\n":
                    return None
                self._part, self._pos = "size", self._pos + 2
                self._scanned = self._pos
            else:
                return self._trailers_end(data)

    def _trailers_end(self, data: bytearray) -> bool | None:
        if len(data) < self._pos + 2:
            return False
        if data.startswith(b"\r\n", self._pos):  # no trailers: the body ends with this CRLF
            return True
        lf = data.find(b"\n", max(self._pos, self._scanned))
        while lf >= 0:  # a bare LF, which gunicorn refuses at once
            if lf == self._pos or data[lf - 1] != 0x0D:
                return None
            lf = data.find(b"\n", lf + 1)
        if data.find(_HEAD_END, max(self._pos, self._scanned - 3)) >= 0:
            return True
        self._scanned = len(data)
        return False if len(data) - self._pos <= self._trailer_limit else None


class _LoopUnreader(SocketUnreader):
    """gunicorn's socket reader, which first gives out the bytes the event loop read, one socket read's
    worth at a time, as the socket would. Given all at once, gunicorn's chunked reader would copy what
    is left of them for every chunk: seconds for a 4 MB body in small chunks."""

    def __init__(self, sock: Any, buffered: Any) -> None:
        super().__init__(sock)
        self.buf = buffered  # what the parser this replaces had read ahead, if anything
        self._loaded = bytearray()
        self._offset = 0

    def load(self, data: bytearray) -> None:
        """The loop's bytes, to be read after the buffer (they follow it) and before the socket."""
        self._loaded, self._offset = data, 0

    def chunk(self, size_hint: int | None = None) -> bytes:
        if self._offset >= len(self._loaded):
            return bytes(super().chunk(size_hint))
        size = min(size_hint, self.max_body_chunk) if size_hint and size_hint > self.mxchunk else self.mxchunk
        piece = bytes(self._loaded[self._offset : self._offset + size])
        self._offset += len(piece)
        return piece

    def take_buffered(self) -> bytes:
        self.spill()
        return bytes(super().take_buffered())

    def spill(self) -> None:
        """Move the loop's bytes not read yet (the next request's) to the buffer, where gthread looks
        for read-ahead once a request is answered."""
        if self._offset < len(self._loaded):
            self.buf.seek(0, os.SEEK_END)
            self.buf.write(memoryview(self._loaded)[self._offset :])
        self._loaded, self._offset = bytearray(), 0


@dataclass
class _Arriving:
    """A request still arriving: its bytes so far, when it must be in, and what is known of it.

    What a read tells is kept (where the head ends, how the body is framed), so that each read costs
    only the bytes it brings.
    """

    data: bytearray
    deadline: float
    scanned: int = 0  # bytes already searched for the head's end
    body_start: int = -1  # just past the head's blank line, once the head is in
    length: int = 0  # the body's declared length (when not chunked)
    chunked: _ChunkedEnd | None = None
    continue_rest: bytes | None = None  # what the loop's 100 Continue left unsent (None: it sent none)


class HeadFirstWorker(ThreadWorker):
    """gthread, except that a request is read by the event loop and reaches a thread complete.

    A connection with bytes to read is registered with the worker's poller; each readable event
    appends what arrived (non-blocking) to its buffer. Once the buffer holds a whole head and its
    body (its ``Content-Length``, or a chunked body to its last chunk and trailers, within the app's
    largest body: a readiness test only, gunicorn's parser still parses the request), or the client
    closed its side, or the head is larger than gunicorn accepts, or the body's framing is one
    gunicorn refuses, or the body is larger than the app takes, the connection goes to a thread with
    the bytes handed to the parser, which parses and answers as usual (400, 413, ...). A head must
    be in within ``header_timeout_s``, a body within ``body_timeout_s`` after it, else 408 and the
    connection is closed. A request that finds the worker's buffers full (``BUFFER_BUDGET``) is
    answered 503 and closed: in a thread it would be read at the client's pace. A head that expects
    ``100-continue`` is answered ``100 Continue`` from the loop, since the client may send no body
    until then. TLS connections (not used here) keep gunicorn's behaviour.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = load_settings()  # the environment's, as the app's are
        self._head_timeout_s = settings.header_timeout_s
        self._body_timeout_s = settings.body_timeout_s
        self._body_limit = max(settings.max_query_bytes, settings.max_submission_bytes) + 64 * 1024
        self._head_limit = LIMIT_REQUEST_LINE + LIMIT_REQUEST_FIELDS * (LIMIT_REQUEST_FIELD_SIZE + 2) + 4
        self._arriving: dict[TConn, _Arriving] = {}
        self._buffered = 0  # bytes held in self._arriving

    def enqueue_req(self, conn: TConn) -> None:
        """To a thread once the request is in (see the class); to the poller until then.

        Bytes a thread read ahead on a kept-alive connection (the next request's) are taken from its
        parser, so that they are judged, and counted, with what follows them.
        """
        if self.cfg.is_ssl:
            super().enqueue_req(conn)
            return
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        arriving = _Arriving(bytearray(ahead), time.monotonic() + self._head_timeout_s)
        self._arriving[conn] = arriving
        self._buffered += len(ahead)
        if self._still_arriving(conn, arriving) is None:
            self._hand_over(conn)
            return
        conn.sock.setblocking(False)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _still_arriving(self, conn: TConn, arriving: _Arriving) -> str | None:
        """None when the request is complete enough for a thread, else the part still arriving ("head", "body")."""
        if arriving.body_start >= 0:
            return self._body_still_arriving(arriving)
        data = arriving.data
        # gunicorn ignores one CRLF before a request line, as here; it refuses a second one, once the
        # head is in (which then merely arrives later than gunicorn would have said so).
        start = 2 if data.startswith(b"\r\n") else 0
        end = data.find(_HEAD_END, max(start, arriving.scanned - 3))
        if end < 0:
            arriving.scanned = len(data)
            return None if len(data) - start > self._head_limit else "head"
        framing = _framing(bytes(data[start:end]))
        if framing is None:
            return None
        arriving.body_start = end + len(_HEAD_END)
        arriving.deadline = time.monotonic() + self._body_timeout_s  # the head is in: the body's time starts
        length, expects_continue = framing
        if length is None:
            arriving.chunked = _ChunkedEnd(arriving.body_start, self._head_limit)
        elif length > self._body_limit:
            return None
        else:
            arriving.length = length
        part = self._body_still_arriving(arriving)
        if part is not None and expects_continue:
            self._send_continue(conn, arriving)
            if arriving.continue_rest:  # half an interim answer: the thread sends the rest first
                return None
        return part

    def _body_still_arriving(self, arriving: _Arriving) -> str | None:
        data = arriving.data
        received = len(data) - arriving.body_start
        if arriving.chunked is None:
            return None if received >= arriving.length else "body"
        if received > self._body_limit:
            return None
        return "body" if arriving.chunked.advance(data) is False else None

    def _send_continue(self, conn: TConn, arriving: _Arriving) -> None:
        """``100 Continue`` for a head whose body is still to come: a client may send none until it has
        it, and the loop waits for the body. Not blocking (the socket is not): a client whose buffers are
        full gets none from here, and gunicorn's once its body is in."""
        with contextlib.suppress(OSError):
            sent = conn.sock.send(_CONTINUE)
            if sent:
                arriving.continue_rest = _CONTINUE[sent:]

    def _on_bytes(self, conn: TConn, _sock: Any) -> None:
        arriving = self._arriving[conn]
        try:
            data = conn.sock.recv(_READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        arriving.data += data
        self._buffered += len(data)
        # Complete, too large, or the client stopped sending: the parser answers or closes, in a thread.
        if not data or self._still_arriving(conn, arriving) is None:
            self._stop_reading(conn)
            self._hand_over(conn)
        elif self._buffered > BUFFER_BUDGET:
            message = "Service unavailable: the server is taking in too many requests at once; retry shortly\n"
            self._refuse(conn, "503 Service Unavailable", f"Retry-After: {RETRY_AFTER_S}\r\n", message)

    def _hand_over(self, conn: TConn) -> None:
        arriving = self._arriving.pop(conn)
        self._buffered -= len(arriving.data)
        conn.sock.setblocking(True)
        conn.loop_bytes = arriving.data
        conn.continue_rest = arriving.continue_rest
        super().enqueue_req(conn)

    def _stop_reading(self, conn: TConn) -> None:
        self.poller.unregister(conn.sock)

    def _refuse(self, conn: TConn, status: str, headers: str, message: str) -> None:
        """Answer ``status`` with a one-line ``message`` from the loop and close the connection."""
        self._stop_reading(conn)
        self._buffered -= len(self._arriving.pop(conn).data)
        with contextlib.suppress(OSError):  # the client is gone, or its buffer full: closed either way
            conn.sock.send(
                f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/plain\r\n{headers}".encode()
                + f"Content-Length: {len(message)}\r\n\r\n{message}".encode()
            )
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn: TConn) -> Any:
        """Give gunicorn's parser the bytes the event loop read, then handle the request as gthread does."""
        loaded: bytearray | None = getattr(conn, "loop_bytes", None)
        if loaded:
            conn.loop_bytes = None
            conn.init()
            unreader = conn.parser.unreader
            if not isinstance(unreader, _LoopUnreader):
                unreader = conn.parser.unreader = _LoopUnreader(conn.sock, unreader.buf)
            unreader.load(loaded)
            conn.data_ready = True
        try:
            return super().handle(conn)
        finally:
            if conn.parser is not None and isinstance(conn.parser.unreader, _LoopUnreader):
                conn.parser.unreader.spill()

    def handle_request(self, req: Any, conn: TConn) -> bool:
        """gthread's, without a second ``100 Continue`` when the loop sent one for this request (HTTP
        allows two; a client need not see it), after the rest of the loop's if it could send only part."""
        rest: bytes | None = getattr(conn, "continue_rest", None)
        if rest is not None:
            if rest:
                conn.sock.sendall(rest)
            req._expected_100_continue = False  # what gunicorn's environ builder sends its own on
        return bool(super().handle_request(req, conn))

    def murder_pending(self) -> None:
        """gthread's expiry of deferred connections, and of requests not in on time: 408, closed."""
        super().murder_pending()
        now = time.monotonic()
        for conn in [c for c, arriving in self._arriving.items() if arriving.deadline <= now]:
            part, limit = (
                ("body", self._body_timeout_s)
                if self._arriving[conn].body_start >= 0
                else ("head", self._head_timeout_s)
            )
            message = f"Request timeout: the request {part} did not arrive within {limit:g} seconds\n"
            self._refuse(conn, "408 Request Timeout", "", message)


def _framing(head: bytes) -> tuple[int | None, bool] | None:
    """How a head frames its body, as gunicorn will read it: the declared length (0 when none), or None
    for chunked; and whether it expects ``100-continue``. None when gunicorn will refuse the head
    (several lengths, a length and chunked, codings it does not take, an expectation other than
    ``100-continue``): the parser answers those as soon as it has the head."""
    lines = head.split(b"\r\n")
    lengths: list[bytes] = []
    codings: list[bytes] = []
    expects_continue = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            codings += [coding.strip(b" \t").lower() for coding in value.split(b",")]
        elif name == b"expect":
            if value.strip().lower() != b"100-continue":
                return None  # gunicorn answers 417
            expects_continue = True
    http_1_0 = lines[0].endswith(b"HTTP/1.0")  # gunicorn ignores its expectation, refuses it chunked
    if codings:
        chunked_last = codings[-1] == b"chunked" and codings.count(b"chunked") == 1
        if lengths or http_1_0 or not chunked_last or not _CODINGS.issuperset(codings):
            return None
        return None, expects_continue
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        return None
    return (int(lengths[0]) if lengths else 0), expects_continue and not http_1_0
