"""``web.body.BodyReader``: bodies read whole within a deadline, also where the server's reads block (Granian)."""

from __future__ import annotations

import io
import socket
import threading
import time

import pytest

from ceopgraph.web.body import BodyReader, BodyRefused, BodyTooLarge
from ceopgraph.web.errors import status_of


def _environ(stream: object, length: int | None) -> dict[str, object]:
    environ: dict[str, object] = {"wsgi.input": stream, "REQUEST_METHOD": "POST"}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    return environ


def _close(*ends: io.BufferedReader | socket.socket) -> None:
    """Close the streams made with ``makefile`` and then the sockets: a socket closed while a stream of it
    is open stays open underneath (the stream holds a reference) and leaks until the collector finds it."""
    for end in ends:
        end.close()


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
        assert status_of(short.value) == 400
    finally:
        reader.close()


def test_a_body_that_blocks_gets_408_at_the_deadline_and_past_the_readers_503_at_once() -> None:
    """A stream whose reads block until bytes come (as Granian's do): the request's thread is answered at the
    deadline; the reader stays with the trickling client, so while it does a second body is refused at once."""
    reader = BodyReader(timeout_s=0.5, readers=1)
    ours, theirs = socket.socketpair()
    slow = theirs.makefile("rb")
    try:
        started = time.monotonic()
        with pytest.raises(BodyRefused, match=r"did not arrive within 0\.5 seconds") as late:
            reader.read(_environ(slow, 1000), 10_000)
        assert status_of(late.value) == 408 and 0.4 < time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(BodyRefused, match="arriving slowly already") as busy:
            reader.read(_environ(io.BytesIO(b"x"), 1), 100)
        assert status_of(busy.value) == 503 and time.monotonic() - started < 0.2
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
        reader.close()
        _close(slow, theirs)


def test_readers_wait_for_bodies_in_parallel() -> None:
    """Bodies of different clients are read at once (one client gets a quarter of the readers: below)."""
    reader = BodyReader(timeout_s=5, readers=4)
    pairs = [socket.socketpair() for _ in range(4)]
    streams = [theirs.makefile("rb") for _, theirs in pairs]
    results: list[bytes] = []
    try:
        threads = [
            threading.Thread(
                target=lambda s=stream, n=n: results.append(
                    reader.read({**_environ(s, 2), "REMOTE_ADDR": f"192.0.2.{n}"}, 10)
                )
            )
            for n, stream in enumerate(streams)
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
        _close(*(ours for ours, _ in pairs))  # the clients go, so the readers still waiting end
        reader.close()
        _close(*streams, *(theirs for _, theirs in pairs))


def test_one_client_that_stalls_bodies_leaves_a_quarter_of_the_readers_to_the_others() -> None:
    """Granian keeps a connection whose client declared a body and sent nothing for as long as the client
    likes, and its reader with it: past its quarter, one address gets readers only while more than a
    quarter stay free, then 503 for its own bodies, while another address's bodies are still read."""
    reader = BodyReader(timeout_s=0.3, readers=8)
    pairs = [socket.socketpair() for _ in range(7)]
    streams = [theirs.makefile("rb") for _, theirs in pairs]
    try:
        for stream in streams[:6]:  # its share (2), then more while more than 2 readers stay free
            with pytest.raises(BodyRefused) as late:
                reader.read({**_environ(stream, 100), "REMOTE_ADDR": "192.0.2.1"}, 1000)
            assert status_of(late.value) == 408
        started = time.monotonic()
        with pytest.raises(BodyRefused, match="this client has 6 request bodies arriving slowly") as own:
            reader.read({**_environ(streams[6], 100), "REMOTE_ADDR": "192.0.2.1"}, 1000)
        assert status_of(own.value) == 503 and time.monotonic() - started < 0.2
        assert reader.read({**_environ(io.BytesIO(b"ok"), 2), "REMOTE_ADDR": "192.0.2.2"}, 10) == b"ok"
        pairs[0][0].close()  # one stalled client goes: its address may send a body again
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                assert reader.read({**_environ(io.BytesIO(b"y"), 1), "REMOTE_ADDR": "192.0.2.1"}, 10) == b"y"
                break
            except BodyRefused:
                time.sleep(0.05)
        else:
            raise AssertionError("the stalled client's reader was not given back when it went")
    finally:
        _close(*(ours for ours, _ in pairs))  # the clients go, so the readers still waiting end
        reader.close()
        _close(*streams, *(theirs for _, theirs in pairs))


def test_a_burst_of_prompt_bodies_from_one_client_is_read() -> None:
    """Twelve bodies at once from one address, each arriving promptly, are all read: the share limits a
    client only while few readers are free (sixteen concurrent validations from one address got 503s)."""
    reader = BodyReader(timeout_s=5, readers=16)
    pairs = [socket.socketpair() for _ in range(12)]
    streams = [theirs.makefile("rb") for _, theirs in pairs]
    results: list[bytes] = []
    try:
        threads = [
            threading.Thread(
                target=lambda s=stream: results.append(reader.read({**_environ(s, 2), "REMOTE_ADDR": "192.0.2.1"}, 10))
            )
            for stream in streams
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # all twelve wait for their bytes at once
        for ours, _ in pairs:
            ours.sendall(b"ok")
        for thread in threads:
            thread.join(5)
        assert results == [b"ok"] * 12
    finally:
        _close(*(ours for ours, _ in pairs))  # the clients go, so the readers still waiting end
        reader.close()
        _close(*streams, *(theirs for _, theirs in pairs))
