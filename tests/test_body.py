"""``web.body.BodyReader``: bodies read whole within a deadline, also where the server's reads block (Granian)."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from ceopgraph.web.body import BodyReader, BodyRefused, BodyTooLarge


def _environ(stream: object, length: int | None) -> dict[str, object]:
    environ: dict[str, object] = {"wsgi.input": stream, "REQUEST_METHOD": "POST"}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    return environ


def test_a_whole_body_is_read_and_left_as_the_input() -> None:
    reader = BodyReader(timeout_s=2, readers=2)
    environ = _environ(io.BytesIO(b"query=ASK%7B%7D"), 15)
    try:
        assert reader.read(environ, 100) == b"query=ASK%7B%7D"
        assert environ["wsgi.input"].read() == b"query=ASK%7B%7D"  # type: ignore[attr-defined]
        with pytest.raises(BodyTooLarge):
            reader.read(_environ(io.BytesIO(b"x" * 200), 200), 100)
        with pytest.raises(BodyRefused, match="ended after 3 of 10 bytes") as short:
            reader.read(_environ(io.BytesIO(b"abc"), 10), 100)
        assert short.value.status == 400
    finally:
        reader.close()


def test_a_body_that_blocks_gets_408_at_the_deadline_and_past_the_readers_503_at_once() -> None:
    """A stream whose reads block until bytes come (as Granian's do): the request's thread is answered at the
    deadline; the reader stays with the trickling client, so while it does a second body is refused at once."""
    reader = BodyReader(timeout_s=0.5, readers=1)
    ours, theirs = socket.socketpair()
    try:
        slow = theirs.makefile("rb")
        started = time.monotonic()
        with pytest.raises(BodyRefused, match=r"did not arrive within 0\.5 seconds") as late:
            reader.read(_environ(slow, 1000), 10_000)
        assert late.value.status == 408 and 0.4 < time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(BodyRefused, match="arriving slowly already") as busy:
            reader.read(_environ(io.BytesIO(b"x"), 1), 100)
        assert busy.value.status == 503 and time.monotonic() - started < 0.2
        ours.close()  # the client goes: its reader ends, and the next body is read
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                assert reader.read(_environ(io.BytesIO(b"y"), 1), 100) == b"y"
                break
            except BodyRefused:
                time.sleep(0.05)
        else:
            raise AssertionError("the reader was not given back when its client went")
    finally:
        ours.close()
        theirs.close()
        reader.close()


def test_readers_wait_for_bodies_in_parallel() -> None:
    reader = BodyReader(timeout_s=5, readers=4)
    pairs = [socket.socketpair() for _ in range(4)]
    results: list[bytes] = []
    try:
        threads = [
            threading.Thread(target=lambda s=theirs: results.append(reader.read(_environ(s.makefile("rb"), 2), 10)))
            for _, theirs in pairs
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        for ours, _ in pairs:
            ours.sendall(b"ok")
        for thread in threads:
            thread.join(5)
        assert results == [b"ok"] * 4
    finally:
        for ours, theirs in pairs:
            ours.close()
            theirs.close()
        reader.close()
