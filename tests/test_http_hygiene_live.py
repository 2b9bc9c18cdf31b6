"""The HTTP layer against hostile clients on loopback, through the real servers (gunicorn, the default,
and Granian): forwarding headers, ETags that name one representation, malformed and truncated bodies,
slow clients, HTTP/2 clients and idle connections. Raw sockets (and hand-written HTTP/2 frames,
``tests.h2frames``) for what no HTTP client library would send."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import requests

from ceopgraph.headfirst import BUFFER_BUDGET

from . import h2frames
from .live import LiveServer, cpu_seconds, running_server, tree_cpu_seconds

TURTLE = b"<urn:x:aa> <urn:x:bb> <urn:x:c> .\n"  # 34 bytes: conforms (no shapes apply to it)


def _server(
    tmp_path_factory: pytest.TempPathFactory,
    dist: Path,
    server: str,
    env: dict[str, str] | None = None,
    workers: int = 2,
    threads: int = 32,
) -> AbstractContextManager[LiveServer]:
    log = tmp_path_factory.mktemp(server) / "server.log"
    args = ["--dist", str(dist), "--workers", str(workers), "--threads", str(threads), "--server", server]
    return running_server(args, log, env)


@pytest.fixture(scope="module", params=["gunicorn", "granian"])
def any_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, built_dist: Path
) -> Iterator[LiveServer]:
    """Each server with its defaults (two workers, 32 threads); Granian's is the session's ``live_server``,
    whose settings those are, so it is not started a second time."""
    if request.param == "granian":
        yield request.getfixturevalue("live_server")
        return
    with _server(tmp_path_factory, built_dist, request.param) as server:
        yield server


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """gunicorn with its default settings."""
    with _server(tmp_path_factory, built_dist, "gunicorn") as server:
        yield server


def exchange(
    server: LiveServer, raw: bytes, half_close: bool = False, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` as it is, read the answer until the server closes or the body is complete."""
    with connect(server, timeout) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock)


def connect(server: LiveServer, timeout: float = 10) -> socket.socket:
    address = urllib.parse.urlsplit(server.url)
    return socket.create_connection((address.hostname, address.port), timeout=timeout)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body of the answer on ``sock``, read until the server closes or the body is complete."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        try:
            part = sock.recv(65536)
        except TimeoutError:
            break
        if not part:
            break
        body += part
    return int(lines[0].split()[1]), headers, body


def request_bytes(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def slowest_probe(base: str, paths: tuple[str, ...], pause_s: float, rounds: int = 5) -> float:
    """The seconds the slowest of ``rounds`` rounds of GETs of ``paths`` took; every answer must be a 200."""
    slowest = 0.0
    for _ in range(rounds):
        for path in paths:
            started = time.monotonic()
            answer = requests.get(base + path, timeout=12)
            slowest = max(slowest, time.monotonic() - started)
            assert answer.status_code == 200
        time.sleep(pause_s)
    return slowest


# 1. Forwarding headers -------------------------------------------------------------------------------


def test_script_name_header_from_an_untrusted_peer_has_no_effect(any_server: LiveServer) -> None:
    for value in ("//evil.example", "/prefix"):
        status, headers, _ = exchange(any_server, request_bytes("GET", "/id/organisation/ceop", {"SCRIPT_NAME": value}))
        assert (status, headers.get("location")) == (303, "/doc/organisation/ceop"), value
        status, headers, body = exchange(
            any_server, request_bytes("GET", "/doc/organisation/ceop", {"SCRIPT_NAME": value})
        )
        assert status == 200, value
        assert "evil" not in headers["link"] and "prefix" not in headers["link"]
        assert b"evil.example" not in body


def test_forwarded_host_proto_and_prefix_from_an_untrusted_peer_have_no_effect(any_server: LiveServer) -> None:
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "//evil.example"}
    status, headers, _ = exchange(any_server, request_bytes("GET", "/id/organisation/ceop", forged))
    assert (status, headers.get("location")) == (303, "/doc/organisation/ceop")
    void = requests.get(any_server.url + ".well-known/void", headers={"Accept": "text/turtle", **forged}, timeout=10)
    assert void.status_code == 200 and "evil.example" not in void.text
    assert f"<{any_server.url}sparql>" in void.text  # the endpoint as reached, over http


@pytest.fixture(scope="module", params=["gunicorn", "granian"])
def behind_proxy(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, built_dist: Path
) -> Iterator[LiveServer]:
    with _server(tmp_path_factory, built_dist, request.param, {"CEOPGRAPH_TRUSTED_PROXIES": "127.0.0.1"}) as server:
        yield server


def test_forwarding_headers_of_a_trusted_proxy_apply_the_same_under_both_servers(behind_proxy: LiveServer) -> None:
    forwarded = {"X-Forwarded-Host": "data.example", "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/ld"}
    status, headers, _ = exchange(behind_proxy, request_bytes("GET", "/id/organisation/ceop", forwarded))
    assert (status, headers.get("location")) == (303, "/ld/doc/organisation/ceop")
    void = requests.get(
        behind_proxy.url + ".well-known/void", headers={"Accept": "text/turtle", **forwarded}, timeout=10
    )
    assert "<https://data.example/ld/sparql>" in void.text
    status, headers, _ = exchange(behind_proxy, request_bytes("GET", "/id/organisation/ceop", {"SCRIPT_NAME": "/x"}))
    assert (status, headers.get("location")) == (303, "/doc/organisation/ceop")  # a header never means SCRIPT_NAME


def test_answers_that_differ_by_host_never_share_an_etag(gunicorn: LiveServer) -> None:
    for path, accept in ((".well-known/void", "text/turtle"), ("", "application/ld+json")):
        one = requests.get(gunicorn.url + path, headers={"Accept": accept, "Host": "one.example"}, timeout=10)
        two = requests.get(gunicorn.url + path, headers={"Accept": accept, "Host": "two.example"}, timeout=10)
        assert one.content != two.content and one.headers["ETag"] != two.headers["ETag"], path
        revalidate = {"Accept": accept, "Host": "two.example", "If-None-Match": one.headers["ETag"]}
        stale = requests.get(gunicorn.url + path, headers=revalidate, timeout=10)
        assert stale.status_code == 200 and stale.content == two.content
    # A replayed page does not depend on Host: the same bytes, under the same ETag, whatever the Host.
    pages = [requests.get(gunicorn.url + "doc/organisation/ceop", headers={"Host": h}, timeout=10) for h in ("a", "b")]
    assert pages[0].content == pages[1].content and pages[0].headers["ETag"] == pages[1].headers["ETag"]


# 2. One ETag, one representation, in every process -----------------------------------------------------


def _documents(dist: Path) -> list[str]:
    """Every document of the dataset (one per subject IRI of ours), and the shapes."""
    base = "https://w3id.org/ceopgraph/"
    found = {"/def/shapes"}
    for line in (dist / "ceopgraph.nt").read_text().splitlines():
        subject = line.split(" ", 1)[0]
        if subject.startswith(f"<{base}") and "#" not in subject:
            local = subject[len(base) + 1 : -1]
            found.add("/" + ("doc/" + local[3:] if local.startswith("id/") else local))
    return sorted(found)


def test_two_server_processes_answer_the_same_bytes_under_the_same_etag(
    any_server: LiveServer, gunicorn: LiveServer, built_dist: Path
) -> None:
    """Two processes (independent hash seeds and blank node labels): for every document and format,
    an ETag they share names the same bytes; and every representation (blank nodes included, and the
    HTML pages, whose lists of members with equal labels are ordered by IRI) is byte-identical."""
    mismatched, differing = [], []
    with requests.Session() as one, requests.Session() as two:
        for path in _documents(built_dist):
            for extension in ("html", "ttl", "jsonld", "rdf", "nt"):
                a = one.get(any_server.url + path[1:] + "." + extension, timeout=10)
                b = two.get(gunicorn.url + path[1:] + "." + extension, timeout=10)
                assert a.status_code == b.status_code == 200, path
                if a.headers["ETag"] == b.headers["ETag"] and a.content != b.content:
                    mismatched.append(f"{path}.{extension}")
                if a.content != b.content:
                    differing.append(f"{path}.{extension}")
    assert mismatched == []
    assert differing == []


# 3 and 4. Malformed and truncated bodies ---------------------------------------------------------------

MALFORMED_CHUNKED = {
    "bad chunk size": b"zz\r\nhello\r\n0\r\n\r\n",
    "bad chunk extension": b"5;\x01\x02\r\nhello\r\n0\r\n\r\n",
    "missing chunk terminator": b"5\r\nhelloXX0\r\n\r\n",
    "malformed trailer": b"5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n",
}
ROUTES = {
    "/sparql": {"Content-Type": "application/sparql-query"},
    "/validate": {"Content-Type": "text/turtle"},
}


@pytest.mark.parametrize("case", MALFORMED_CHUNKED)
@pytest.mark.parametrize("path", ROUTES)
def test_malformed_chunked_bodies_get_400_with_one_line(any_server: LiveServer, path: str, case: str) -> None:
    headers = {**ROUTES[path], "Transfer-Encoding": "chunked", "Connection": "close"}
    status, _, body = exchange(any_server, request_bytes("POST", path, headers, MALFORMED_CHUNKED[case]))
    assert status == 400, (case, body[:300])
    assert body.count(b"\n") <= 1 and b"Traceback" not in body


def _truncated(path: str) -> tuple[dict[str, str], bytes]:
    """A request to ``path`` declaring 100 bytes and sending 34."""
    if path == "/validate multipart":
        boundary = "b0undary"
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n'.encode()
        return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, (part + TURTLE)[:34]
    if path == "/sparql form":
        return {"Content-Type": "application/x-www-form-urlencoded"}, b"query=ASK+%7B+%3Fs+%3Fp+%3Fo+%7D&x="[:34]
    if path == "/sparql direct":
        return {"Content-Type": "application/sparql-query"}, b"ASK { ?s ?p ?o } # and some more.."[:34]
    return {"Content-Type": "text/turtle"}, TURTLE


@pytest.mark.parametrize("path", ["/validate", "/validate multipart", "/sparql form", "/sparql direct"])
def test_a_body_shorter_than_declared_is_refused_never_judged(any_server: LiveServer, path: str) -> None:
    headers, body = _truncated(path)
    assert len(body) == 34
    raw = request_bytes("POST", path.split()[0], {**headers, "Accept": "text/plain", "Content-Length": "100"}, body)
    status, _, answer = exchange(any_server, raw, half_close=True)
    assert status == 400, answer[:300]
    assert b"ended after 34 of 100 bytes" in answer and b"conforms" not in answer


# 5. Slow clients ---------------------------------------------------------------------------------------


def _slowloris(server: LiveServer, stop: threading.Event) -> None:
    """A request line, then one header byte every 2 s, until told to stop (at most ~20 s)."""
    address = urllib.parse.urlsplit(server.url)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            deadline = time.monotonic() + 20
            while not stop.wait(2) and time.monotonic() < deadline:
                sock.sendall(b"a")
    except OSError:
        pass  # the server closed it (its header timeout): what it should do


def _slow_body(server: LiveServer, stop: threading.Event) -> None:
    """Headers of a POST /validate declaring 1 MB, then one body byte every second (at most ~20 s)."""
    address = urllib.parse.urlsplit(server.url)
    try:
        with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
            sock.sendall(
                request_bytes("POST", "/validate", {"Content-Type": "text/turtle", "Content-Length": "1000000"})
            )
            deadline = time.monotonic() + 20
            while not stop.wait(1) and time.monotonic() < deadline:
                sock.sendall(b"#")
    except OSError:
        pass  # refused (408) and closed


def test_slow_clients_cannot_hold_the_workers(any_server: LiveServer) -> None:
    """30 slow heads and 16 slow bodies (gunicorn reads both in its event loop; under Granian the heads wait
    in Rust and at most ``body_readers`` threads wait for a body, the rest get 503): pages still answer."""
    gunicorn = any_server
    stop = threading.Event()
    attackers = [threading.Thread(target=_slowloris, args=(gunicorn, stop)) for _ in range(30)]
    attackers += [threading.Thread(target=_slow_body, args=(gunicorn, stop)) for _ in range(16)]
    for attacker in attackers:
        attacker.start()
    try:
        time.sleep(2)  # every attacker connected and sending
        slowest = slowest_probe(gunicorn.url, ("healthz", "doc/organisation/ceop"), pause_s=1)
        assert slowest < 3, f"a probe took {slowest:.1f} s while slow clients were connected"
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join(timeout=25)


def _impatient(kind: str) -> Callable[..., Iterator[LiveServer]]:
    """A module fixture: a ``kind`` server that gives a head and a body 2 s each."""

    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
        env = {"CEOPGRAPH_HEADER_TIMEOUT_S": "2", "CEOPGRAPH_BODY_TIMEOUT_S": "2"}
        with _server(tmp_path_factory, built_dist, kind, env) as server:
            yield server

    return fixture


impatient = _impatient("gunicorn")
impatient_granian = _impatient("granian")


def test_a_head_or_body_that_does_not_arrive_in_time_gets_408(impatient: LiveServer) -> None:
    started = time.monotonic()
    status, _, body = exchange(impatient, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert status == 408 and b"head did not arrive within 2 seconds" in body
    raw = request_bytes(
        "POST", "/validate", {"Content-Type": "text/turtle", "Accept": "text/plain", "Content-Length": "100"}
    )
    status, _, body = exchange(impatient, raw + TURTLE)
    assert status == 408 and b"body did not arrive within 2 seconds" in body
    # A chunk larger than any limit, announced and never sent: gunicorn waits for it, the app for 2 s.
    chunked = {"Content-Type": "text/turtle", "Accept": "text/plain", "Transfer-Encoding": "chunked"}
    status, _, body = exchange(impatient, request_bytes("POST", "/validate", chunked, b"fffffffffffffffff\r\nhello"))
    assert status == 408
    assert time.monotonic() - started < 10


def test_under_granian_a_late_head_is_dropped_and_a_late_body_gets_408(impatient_granian: LiveServer) -> None:
    """Granian closes a connection whose head is late, without an answer (it reads heads itself); a late
    body is the app's to time (``web.body``): 408 with its message, for a declared length and for a chunk
    announced and never sent."""
    with connect(impatient_granian) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed, not answered
        assert 1.5 < time.monotonic() - started < 6
    raw = request_bytes(
        "POST", "/validate", {"Content-Type": "text/turtle", "Accept": "text/plain", "Content-Length": "100"}
    )
    started = time.monotonic()
    status, _, body = exchange(impatient_granian, raw + TURTLE)
    assert status == 408 and b"body did not arrive within 2 seconds" in body
    chunked = {"Content-Type": "text/turtle", "Accept": "text/plain", "Transfer-Encoding": "chunked"}
    status, _, body = exchange(impatient_granian, request_bytes("POST", "/sparql", chunked, b"ff\r\nASK"))
    assert status == 408 and b"body did not arrive within 2 seconds" in body
    assert time.monotonic() - started < 10


# 6. What the event loop buffers, and what it costs -------------------------------------------------------


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """One gunicorn worker with 4 threads: every connection reaches the same worker (its CPU time and its
    buffer budget are that worker's), and a handful of slow clients would be enough to take every thread."""
    with _server(tmp_path_factory, built_dist, "gunicorn", workers=1, threads=4) as server:
        yield server


def _worker_pid(server: LiveServer) -> int:
    """The one worker process of a one-worker server (the child of its arbiter)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def _wait_until_read(server: LiveServer, seconds: float = 10) -> None:
    """Until the server has read every byte clients sent it: none waits in its sockets' receive queues, nor
    in the clients' send queues (``sendall`` returns once its bytes are there; while the server's window is
    full they stay, and would arrive after the test's next request)."""
    server_side = f"0100007F:{urllib.parse.urlsplit(server.url).port:04X}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        received = (int(row[4].split(":")[1], 16) for row in rows if row[1] == server_side)
        unsent = (int(row[4].split(":")[0], 16) for row in rows if row[2] == server_side)
        if not any(received) and not any(unsent):
            return
        time.sleep(0.05)
    raise AssertionError(f"the server did not read what was sent to it within {seconds} s")


def test_a_full_buffer_budget_gets_503_from_the_event_loop(one_worker: LiveServer) -> None:
    """Requests that fill the worker's buffer budget to 10 KB short of it, then a partial head and a partial
    body of 20 KB each: both are answered 503 at once (a head counts as much as a body), neither waits in a
    thread; a complete request is still served."""
    fillers = 16
    declared = 4_200_000  # within the largest body the app takes (4 MB + 64 KB)
    head = request_bytes("POST", "/validate", {"Content-Type": "text/turtle", "Content-Length": str(declared)})
    part = (BUFFER_BUDGET - 10_000) // fillers - len(head)
    assert 0 < part < declared
    body = b"#" * part
    with contextlib.ExitStack() as stack:
        for _ in range(fillers):
            sock = stack.enter_context(connect(one_worker))
            sock.sendall(head + body)
        _wait_until_read(one_worker)
        partial_head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 20_000
        partial_body = request_bytes("POST", "/validate", {"Content-Type": "text/turtle", "Content-Length": "100000"})
        for raw in (partial_head, partial_body + b"#" * 20_000):
            started = time.monotonic()
            status, headers, answer = exchange(one_worker, raw, timeout=5)
            assert status == 503 and headers.get("retry-after", "").isdigit(), answer[:300]
            assert answer.count(b"\n") == 1 and headers.get("connection") == "close"
            assert time.monotonic() - started < 3
        assert requests.get(one_worker.url + "healthz", timeout=10).status_code == 200


def _slow_chunked(server: LiveServer, stop: threading.Event, decoy: bool) -> None:
    """A chunked POST /validate, then a one-byte chunk every second (at most ~20 s); with ``decoy``, a first
    chunk whose data so far ends like a whole chunked body (``0`` CRLF CRLF), then more of its data byte by byte."""
    try:
        with connect(server, timeout=5) as sock:
            head = request_bytes("POST", "/validate", {"Content-Type": "text/turtle", "Transfer-Encoding": "chunked"})
            sock.sendall(head + (b"fffff\r\n" + b"#" * 93 + b"\r\n0\r\n\r\n" if decoy else b""))
            deadline = time.monotonic() + 20
            while not stop.wait(1) and time.monotonic() < deadline:
                sock.sendall(b"#" if decoy else b"1\r\n#\r\n")
    except OSError:
        pass  # refused (408) and closed


@pytest.fixture(scope="module")
def granian_four_threads(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """One Granian worker with 4 threads, 2 of which may wait for bodies."""
    env = {"CEOPGRAPH_BODY_READERS": "2"}
    with _server(tmp_path_factory, built_dist, "granian", env, workers=1, threads=4) as server:
        yield server


@pytest.mark.parametrize("fixture", ["one_worker", "granian_four_threads"])
def test_slow_chunked_bodies_cannot_hold_the_threads(request: pytest.FixtureRequest, fixture: str) -> None:
    server: LiveServer = request.getfixturevalue(fixture)
    stop = threading.Event()
    attackers = [threading.Thread(target=_slow_chunked, args=(server, stop, n % 2 == 0)) for n in range(12)]
    for attacker in attackers:
        attacker.start()
    try:
        time.sleep(2)  # every attacker connected and sending
        slowest = slowest_probe(server.url, ("healthz",), pause_s=0.5)
        assert slowest < 3, f"a probe took {slowest:.1f} s while slow chunked bodies were arriving"
    finally:
        stop.set()
        for attacker in attackers:
            attacker.join(timeout=25)


def test_a_body_in_small_segments_costs_the_event_loop_little_cpu(one_worker: LiveServer) -> None:
    """4 MB arriving one 1448-byte segment at a time: the worker's CPU time for it stays small (work per
    segment that grew with what had arrived before it took seconds)."""
    size, segment = 4_000_000, b"#" * 1448
    headers = {"Content-Type": "application/sparql-query", "Content-Length": str(size), "Connection": "close"}
    worker = _worker_pid(one_worker)
    before = cpu_seconds(worker)
    with connect(one_worker) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request_bytes("POST", "/sparql", headers))
        for _ in range(size // len(segment)):
            sock.sendall(segment)
            time.sleep(0.0003)  # one segment per read by the server
        sock.sendall(segment[: size % len(segment)])
        status, _, answer = read_answer(sock)
    used = cpu_seconds(worker) - before
    assert status == 413, answer[:300]  # larger than a query may be: refused once it is all in
    assert used < 0.5, f"the worker used {used:.2f} s of CPU time to take in a 4 MB body"


def test_a_client_that_waits_for_100_continue_gets_it_then_its_answer(gunicorn: LiveServer) -> None:
    """The head alone, with ``Expect: 100-continue``: ``100 Continue`` comes back at once (not after the
    body, which the client does not send until then), once, and then the answer to the whole request."""
    body = TURTLE + b"#" * (100_000 - len(TURTLE) - 1) + b"\n"
    headers = {
        "Content-Type": "text/turtle",
        "Accept": "text/plain",
        "Content-Length": str(len(body)),
        "Expect": "100-Continue",
        "Connection": "close",
    }
    # The answer waits for a validation (on a loaded machine, for the first validation worker to start
    # too): only the interim answer is held to "at once".
    with connect(gunicorn, timeout=5) as sock:
        sock.sendall(request_bytes("POST", "/validate", headers))
        interim = b""
        while b"\r\n\r\n" not in interim:
            part = sock.recv(65536)
            assert part, interim
            interim += part
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.settimeout(60)
        sock.sendall(body)
        status, _, answer = read_answer(sock)
    assert status == 200, answer[:300]  # not a second 100 Continue
    assert b"conforms" in answer.lower()


def test_a_chunked_body_of_small_chunks_costs_the_worker_little_cpu(one_worker: LiveServer) -> None:
    """4 MB in 1440-byte chunks, read whole by /validate: the worker's CPU time for it stays small (the
    whole body handed to gunicorn's chunked reader at once had it copy what was left for every chunk)."""
    headers = {"Content-Type": "text/turtle", "Accept": "text/plain", "Transfer-Encoding": "chunked"}
    chunk = b"5a0\r\n" + b"#" * 0x59F + b"\n\r\n"
    body = b"%x\r\n" % len(TURTLE) + TURTLE + b"\r\n" + chunk * (4_000_000 // 0x5A0) + b"0\r\n\r\n"
    worker = _worker_pid(one_worker)
    before = cpu_seconds(worker)
    status, _, answer = exchange(
        one_worker, request_bytes("POST", "/validate", {**headers, "Connection": "close"}, body)
    )
    used = cpu_seconds(worker) - before
    assert status == 200 and b"conforms" in answer, answer[:300]
    assert used < 1, f"the worker used {used:.2f} s of CPU time to take in a 4 MB chunked body"


# 7. HTTP/2 and idle connections ----------------------------------------------------------------------------

ATTACK_S = 3  # how long each HTTP/2 attack goes on while /healthz is probed
HOLD_S = 6  # the longest an attacker keeps a connection the server leaves open


def _until_closed(sock: socket.socket, limit_s: float) -> tuple[float, bytes]:
    """The seconds until the server closed ``sock`` (``limit_s`` if it did not) and what it sent meanwhile."""
    started, got = time.monotonic(), b""
    sock.settimeout(0.2)
    while time.monotonic() - started < limit_s:
        try:
            part = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:  # reset by the server
            break
        if not part:
            break
        got += part
    return time.monotonic() - started, got


def _h2_attacker(server: LiveServer, kind: str, results: list[tuple[float, bytes]]) -> None:
    """One prior-knowledge connection of ``kind``: ``abandoned body`` (a POST stream whose head is complete
    and whose body never comes, then the client goes), ``half head`` (HEADERS without END_HEADERS, never
    continued), ``idle`` (the preface and SETTINGS, then nothing), ``flood`` (one of many connections that
    open with a whole GET). Records how long the server kept it open, and what it sent."""
    authority = urllib.parse.urlsplit(server.url).netloc
    sparql = [("content-type", "application/sparql-query")]
    first = {
        "abandoned body": h2frames.opening(authority, "POST", "/sparql", h2frames.END_HEADERS, sparql),
        "half head": h2frames.opening(authority, "GET", "/healthz", 0, [("x-pad", "a" * 200)]),
        "idle": h2frames.PREFACE + h2frames.frame(h2frames.SETTINGS, 0, 0),
        "flood": h2frames.opening(authority, "GET", "/healthz", h2frames.END_HEADERS | h2frames.END_STREAM),
    }[kind]
    try:
        with connect(server, timeout=5) as sock:
            sock.sendall(first)
            results.append(_until_closed(sock, 0.5 if kind == "abandoned body" else HOLD_S))
    except OSError:  # reset before the whole opening was sent: closed at once, unanswered
        results.append((0.0, b""))


def _probe_healthz(server: LiveServer, until: float) -> list[float]:
    """Seconds each /healthz took, probed every 0.2 s until ``until``; every answer must be a 200."""
    took = []
    while time.monotonic() < until:
        started = time.monotonic()
        assert requests.get(server.url + "healthz", timeout=5).status_code == 200
        took.append(time.monotonic() - started)
        time.sleep(0.2)
    return took


@pytest.mark.parametrize(("kind", "count"), [("abandoned body", 5), ("half head", 10), ("idle", 10), ("flood", 200)])
def test_http2_clients_are_refused_at_once_and_spin_no_worker(any_server: LiveServer, kind: str, count: int) -> None:
    """The server speaks HTTP/1.1 only (a proxy in front does HTTP/2). Prior-knowledge HTTP/2 connections
    that abandon a body (one such POST left a worker thread spinning for good), leave a head unfinished
    (it stayed open 40 s), idle, or come by the hundred: each is closed within a second, answered at most
    with an HTTP/1.1 400, never an HTTP/2 frame; /healthz answers within a second throughout; and once
    they are gone the server's processes use next to no CPU."""
    results: list[tuple[float, bytes]] = []
    attackers = [threading.Thread(target=_h2_attacker, args=(any_server, kind, results)) for _ in range(count)]
    for attacker in attackers:
        attacker.start()
    try:
        took = _probe_healthz(any_server, time.monotonic() + ATTACK_S)
    finally:
        for attacker in attackers:
            attacker.join(timeout=HOLD_S + 10)
    time.sleep(0.5)  # what the server still had in hand is done
    before = tree_cpu_seconds(any_server.pid)
    time.sleep(2)
    used = tree_cpu_seconds(any_server.pid) - before
    assert len(results) == count
    assert max(took) < 1, f"/healthz took {max(took):.2f} s during the {kind} attack"
    assert used < 0.4, f"the server used {used:.2f} s of CPU in 2 s after the {kind} attack ended"
    held = max(seconds for seconds, _ in results)
    assert held < 1, f"a {kind} connection was held open {held:.1f} s"
    replies = {got[:40] for _, got in results}
    assert all(not got or got.startswith(b"HTTP/1.1 400") for got in replies), replies


@pytest.mark.parametrize("fixture", ["impatient", "impatient_granian"])
def test_idle_connections_are_closed_within_the_header_timeout(request: pytest.FixtureRequest, fixture: str) -> None:
    """With heads given 2 s: a connection that sends nothing, a kept-alive one after its answers (kept
    alive: a second request on it is answered) and a prior-knowledge HTTP/2 one are all closed within
    the bound (gunicorn kept idle kept-alive connections 30 s; Granian, listening for both protocols,
    kept a connection that sent nothing, and an HTTP/2 one, past it)."""
    server: LiveServer = request.getfixturevalue(fixture)
    bound = 2 + 1.5  # the head's time, and gunicorn's loop looks at its deadlines once a second
    results: dict[str, tuple[float, bytes]] = {}

    def wait(name: str, sock: socket.socket) -> None:
        results[name] = _until_closed(sock, bound + 4)

    with connect(server) as kept:
        for _ in range(2):
            kept.sendall(request_bytes("GET", "/healthz", {}))
            status, headers, _ = read_answer(kept)
            assert status == 200 and headers.get("connection") != "close"
        with connect(server) as fresh, connect(server) as h2:
            h2.sendall(h2frames.PREFACE + h2frames.frame(h2frames.SETTINGS, 0, 0))
            connections = {"kept alive": kept, "fresh": fresh, "HTTP/2": h2}
            waiters = [threading.Thread(target=wait, args=item) for item in connections.items()]
            for waiter in waiters:
                waiter.start()
            for waiter in waiters:
                waiter.join(timeout=bound + 10)
    assert {name: seconds < bound for name, (seconds, _) in results.items()} == dict.fromkeys(results, True), results
    assert results["HTTP/2"][0] < 1  # refused at once, not left to idle
