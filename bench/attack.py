"""Attack: what hostile clients cost everyone else, measured side by side in one run.

Not a test: `make bench` runs it (from ``bench/scale.py``) and it runs alone as ``bench/attack.py``
(``--no-write`` only prints). It starts ``ceopgraph serve`` on the built dataset on a free loopback port
(the default 2 workers x 32 threads), and measures, every load bounded in count and time:

1. latency of cheap requests (an uncached ASK, a cached ASK, a resource page) on an idle server, while
   8 heavy queries run, while 30 slow clients hold connections, and under both;
2. peak RSS of every process of the server (master, web workers, query and validation processes) under
   three memory bombs, with the status and time each bomb got;
3. outbound connections: SERVICE (and FROM, LOAD) attempts at a counting listener, which must see none.

The server is expected to misbehave (that is what this measures): timeouts, 503s and dead workers are
results, never a crash of the script. A weak server puts no limit on the memory bombs, so a guard kills
the largest process of the server's tree when the tree passes ``--rss-cap-mb`` (a shared machine must
survive the benchmark); each such kill is reported.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import itertools
import math
import os
import re
import select
import signal
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import Results, children, log, splice
from sparql_bench import free_port, server

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TITLE = "Attack"
HOST = "127.0.0.1"
ACCEPT = "application/sparql-results+json"
PAGE = "/doc/organisation/ceop"

PHASE_S = 10.0  # each latency phase, after a 1 s ramp
PROBE_TIMEOUT_S = 5.0  # a cheap request that takes longer than this counts as a timeout
PROBE_INTERVAL_S = 0.1  # at most 10 requests a second per probe: the probes must not be a load themselves
HEAVY_CLIENTS = 8
HEAVY_TIMEOUT_S = 30.0  # above the server's own query time limit (10 s by default)
SLOW_CLIENTS = 30
SLOW_POSTS = 4  # of the 30: slow bodies (2 to /sparql, 2 to /validate); the rest slowloris headers
SLOW_TICK_S = 2.0  # one byte per connection per tick
BOMB_TIMEOUT_S = 60.0
RECOVERY_S = 20.0  # how long to wait for the server to answer an uncached query again after a load
SAMPLE_S = 0.1

CARTESIAN = "SELECT ?c ?f ?i WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i LIMIT 1"
CONCAT_LEVELS = 26
CONCAT_SEED = "a" * 8  # doubled 26 times: a 512 MiB string from an 859-byte query
LIST_BYTES = 900_000
DISTINCT = itertools.count(1)  # FILTER constants: every query text distinct, so no answer cache absorbs it


def concat_bomb() -> str:
    """26 CONCAT doublings in under 1 KB: each level names the one before, so the text grows linearly
    while the string doubles (a nested ``CONCAT(x, x)`` would have to spell ``x`` out twice)."""
    binds = [f'BIND("{CONCAT_SEED}" AS ?s0)']
    binds += [f"BIND(CONCAT(?s{i - 1}, ?s{i - 1}) AS ?s{i})" for i in range(1, CONCAT_LEVELS + 1)]
    return f"SELECT (STRLEN(?s{CONCAT_LEVELS}) AS ?n) {{ " + " ".join(binds) + " }"


def list_bomb() -> bytes:
    """One Turtle RDF list of ~900 KB (~144k members, two triples each once parsed). Absolute IRIs, so
    that the cost is the list's and not a question of base resolution."""
    members, size = [], 0
    for n in itertools.count(1):
        if size >= LIST_BYTES:
            break
        members.append(str(n))
        size += len(members[-1]) + 1
    return ("<http://example.org/s> <http://example.org/p> ( " + " ".join(members) + " ) .\n").encode()


# SERVICE (and other ways to make the server fetch) at PORT, the counting listener. The backslash-u
# escapes are literal in the query text: a filter that strips string literals by pattern may take the
# SERVICE between them for part of a string; the SPARQL grammar does not.
OUTBOUND = {
    "plain": "SELECT * { SERVICE <http://127.0.0.1:PORT/> { ?a ?b ?c } }",
    "glued to a number": "SELECT ?secret { ?s ?p 1SERVICE <http://127.0.0.1:PORT/admin?x=1> { ?a ?b ?secret } }",
    "prefixed name": "PREFIX : <http://127.0.0.1:PORT/> SELECT * { SERVICE:x { ?a ?b ?c } }",
    "between \\u escapes": 'SELECT * { BIND("\\u0022" AS ?q) SERVICE <http://127.0.0.1:PORT/> { ?a ?b ?c } '
    'BIND("\\u0022" AS ?r) }',
    "lower case, SILENT": "select * { service silent <http://127.0.0.1:PORT/> { ?a ?b ?c } }",
    "keyword as \\u escape": "SELECT * { \\u0053ERVICE <http://127.0.0.1:PORT/> { ?a ?b ?c } }",
    "FROM a remote graph": "SELECT * FROM <http://127.0.0.1:PORT/g> { ?s ?p ?o }",
    "LOAD (an update)": "LOAD <http://127.0.0.1:PORT/g>",
}


# HTTP -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one request got: a status code and the answer's first line, or how it failed (``timeout``,
    ``closed``, ``refused``)."""

    label: str
    ms: float
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.label.startswith("2")


def call(
    port: int,
    method: str,
    path: str,
    timeout: float,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    client: str = HOST,
) -> Outcome:
    """One request on a fresh connection from the loopback address ``client`` (each attacker and each
    probe has its own, as clients on the internet do; the server limits queries per address): never raises."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout, source_address=(client, 0))
    try:
        connection.request(method, path, body=body, headers={"Accept": ACCEPT, **(headers or {})})
        answer = connection.getresponse()
        data = answer.read()
        first_line = data[:200].decode("utf-8", "replace").strip().partition("\n")[0]
        return Outcome(str(answer.status), (time.perf_counter() - started) * 1000, first_line)
    except TimeoutError:
        label = "timeout"
    except ConnectionRefusedError:
        label = "refused"
    except ConnectionError:  # reset, or closed without an answer (http.client.RemoteDisconnected)
        label = "closed"
    except (OSError, http.client.HTTPException) as exc:
        label = type(exc).__name__
    finally:
        connection.close()
    return Outcome(label, (time.perf_counter() - started) * 1000)


def sparql_get(port: int, query: str, timeout: float, client: str = HOST) -> Outcome:
    """GET, as the probes and the heavy clients send: the path a crawler or a link takes."""
    return call(port, "GET", "/sparql?query=" + urllib.parse.quote(query), timeout, client=client)


def tally(outcomes: list[Outcome]) -> str:
    """``200×95, timeout×2``: every outcome counted, the most frequent first."""
    return ", ".join(f"{label}×{n}" for label, n in Counter(o.label for o in outcomes).most_common()) or "-"


def heavy_summary(outcomes: list[Outcome]) -> str:
    """Outcomes and median seconds: a query stopped by a memory limit answers in ~1 s, by the time limit in 10."""
    if not outcomes:
        return "none answered"
    return f"{tally(outcomes)}, median {percentile([o.ms for o in outcomes], 0.5) / 1000:.1f} s"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest rank: with ~100 samples the p99 is the largest but one, not an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def recover(port: int) -> float | None:
    """Seconds until an uncached query is answered (200 within 1 s) again; None if not within RECOVERY_S."""
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_S:
        outcome = sparql_get(port, f"ASK {{ ?s ?p ?o FILTER(?o != {next(DISTINCT)}) }}", 2.0)
        if outcome.ok and outcome.ms < 1000:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


# Process tree -----------------------------------------------------------------------------------------


ROLES = {"ceopgraph.store.queryproc": "query process", "ceopgraph.validation.service": "validation process"}


def role(pid: int, root: int) -> str | None:
    """The process's role from its command line, whatever the layout of the tree: a worker is a fresh
    interpreter running a ``from ceopgraph.X import ...`` script (the last such module names its job).
    None when the command line is empty (a process exiting) or gone."""
    try:
        text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not text:
        return None
    if pid == root:
        return "master"
    modules = re.findall(r"from (ceopgraph[\w.]*) import", text)
    if modules:
        return ROLES.get(modules[-1], modules[-1] + " process")
    if "ceopgraph" in text and " serve " in text:
        return "web worker"
    return "other: " + text[:40]


def rss_mb(pid: int) -> float | None:
    """RSS from ``statm``: cheap enough for every process every SAMPLE_S (``smaps_rollup`` walks the pages)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return None


def tree(root: int) -> list[int]:
    """The whole tree, not only the children: query and validation processes are the workers' children."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children(pid)
    return found


def available_mb() -> float:
    """The machine's available memory, which the guard's default cap is a share of."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler:
    """Every SAMPLE_S: each process of the server's tree, its role and RSS; peaks per labelled window
    (a phase or a bomb), which processes came and went in it, and the guard that keeps the machine up."""

    def __init__(self, root: int, cap_mb: float) -> None:
        self.root, self.cap_mb = root, cap_mb
        self.label = "start"
        self.roles: dict[int, str] = {}
        self.first: dict[int, str] = {}  # pid -> window it appeared in
        self.gone: dict[int, str] = {}  # pid -> window it disappeared in
        self.killed: dict[int, tuple[str, float]] = {}  # pid -> window, MB: killed by the guard
        self.peaks: dict[str, dict[int, float]] = {}
        self.tree_peak: dict[str, float] = {}
        self._lock = threading.Lock()  # the sampling thread writes while the sections read
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def mark(self, label: str) -> None:
        """Samples from now on belong to window ``label``."""
        with self._lock:
            self.label = label
            self.peaks.setdefault(label, {})

    def window(self, label: str) -> dict[int, float]:
        """Peak RSS per pid in window ``label`` (a copy)."""
        with self._lock:
            return dict(self.peaks.get(label, {}))

    def churn(self, label: str) -> str:
        """Processes started / ended in window ``label``, the guard's kills among the ended."""
        with self._lock:
            started = sum(1 for window in self.first.values() if window == label)
            gone = sum(1 for window in self.gone.values() if window == label)
            kills = sum(1 for window, _ in self.killed.values() if window == label)
        return f"{started} / {gone} ({kills} by the guard)" if kills else f"{started} / {gone}"

    def _run(self) -> None:
        alive: set[int] = set()
        while not self._stop.wait(SAMPLE_S):
            sizes = {pid: size for pid in tree(self.root) if (size := rss_mb(pid)) is not None}
            # Re-read every time: a fresh process shows its parent's command line until it has started.
            roles = {pid: found for pid in sizes if (found := role(pid, self.root)) is not None}
            with self._lock:
                label = self.label
                self.roles.update(roles)
                peaks = self.peaks.setdefault(label, {})
                for pid, size in sizes.items():
                    self.first.setdefault(pid, label)
                    peaks[pid] = max(peaks.get(pid, 0.0), size)
                for pid in alive - sizes.keys():
                    self.gone.setdefault(pid, label)
                total = sum(sizes.values())
                self.tree_peak[label] = max(self.tree_peak.get(label, 0.0), total)
            alive = set(sizes)
            if total > self.cap_mb:
                self._kill_largest(sizes, label)

    def _kill_largest(self, sizes: dict[int, float], label: str) -> None:
        """SIGKILL the largest process but the master (the server keeps running, a worker is replaced)."""
        candidates = {pid: size for pid, size in sizes.items() if pid != self.root}
        if not candidates:
            return
        pid = max(candidates, key=candidates.__getitem__)
        if role(pid, self.root) != self.roles.get(pid):  # the pid was reused: not ours any more
            return
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            with self._lock:
                self.killed[pid] = (label, candidates[pid])
            log(f"guard: killed {self.roles[pid]} {pid} at {candidates[pid]:,.0f} MB (tree {sum(sizes.values()):,.0f})")


# Loads ------------------------------------------------------------------------------------------------


class Heavy:
    """HEAVY_CLIENTS clients, each resending the cartesian ORDER BY as soon as its last one is answered
    (a distinct FILTER constant each time, so that no answer cache can absorb them)."""

    def __init__(self, port: int, seconds: float) -> None:
        self.port, self.deadline = port, time.monotonic() + seconds
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(f"127.0.1.{n}",), daemon=True)
            for n in range(1, HEAVY_CLIENTS + 1)
        ]

    def __enter__(self) -> Heavy:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop resending, and wait (bounded) for the queries in flight, so the next phase starts clean."""
        self._stop.set()
        until = time.monotonic() + HEAVY_TIMEOUT_S / 2
        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))

    def _client(self, address: str) -> None:
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            query = CARTESIAN.replace("?h ?i }", f"?h ?i FILTER(?i != {next(DISTINCT)}) }}")
            self.outcomes.append(sparql_get(self.port, query, HEAVY_TIMEOUT_S, address))


class Slow:
    """SLOW_CLIENTS connections that never finish their request: slowloris (a request line, then one
    header byte per tick) and slow bodies (full headers, then one body byte per tick). A connection the
    server closes is reopened (at most 3 x SLOW_CLIENTS opens), as an attacker would."""

    HEADER = b"X-Slow: " + b"a" * 8000

    def __init__(self, port: int, seconds: float) -> None:
        self.port, self.deadline = port, time.monotonic() + seconds
        self.opened = self.failed = self.closed = 0
        self.answers: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._sockets: dict[socket.socket, tuple[int, int]] = {}  # socket -> (client index, bytes sent)

    def __enter__(self) -> Slow:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in list(self._sockets):
            sock.close()

    def summary(self) -> str:
        answers = ", ".join(f"{k}×{n}" for k, n in self.answers.most_common())
        return f"{self.opened} opened, {self.failed} failed to connect, {self.closed} closed by server" + (
            f" ({answers})" if answers else ""
        )

    def _head(self, index: int) -> bytes:
        if index >= SLOW_POSTS:
            return f"GET {PAGE} HTTP/1.1\r\n".encode()
        path, media_type = ("/sparql", "application/sparql-query") if index % 2 else ("/validate", "text/turtle")
        return (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nContent-Type: {media_type}\r\n"
                "Content-Length: 4096\r\n\r\n").encode()  # fmt: skip

    def _open(self, index: int) -> None:
        if self.opened + self.failed >= 3 * SLOW_CLIENTS or self._stop.is_set() or time.monotonic() > self.deadline:
            return
        sock = socket.socket()
        sock.settimeout(2)
        try:
            sock.connect((HOST, self.port))
            sock.sendall(self._head(index))
        except OSError:
            self.failed += 1
            sock.close()
            return
        sock.setblocking(False)
        self.opened += 1
        self._sockets[sock] = (index, 0)

    def _drop(self, sock: socket.socket) -> None:
        """The server closed it or answered: count, and reopen that client."""
        index, _ = self._sockets.pop(sock)
        sock.close()
        self.closed += 1
        self._open(index)

    def _run(self) -> None:
        for index in range(SLOW_CLIENTS):
            self._open(index)
        tick = time.monotonic() + SLOW_TICK_S
        while not self._stop.is_set() and time.monotonic() < self.deadline:
            wait = max(0.0, min(tick - time.monotonic(), 0.5))
            readable = select.select(list(self._sockets), [], [], wait)[0] if self._sockets else []
            if not self._sockets:
                time.sleep(wait)
            for sock in readable:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if data.startswith(b"HTTP/"):  # "HTTP/1.1 408 ...": the status
                    self.answers[data[9:12].decode("ascii", "replace")] += 1
                self._drop(sock)
            if time.monotonic() >= tick:
                tick += SLOW_TICK_S
                for sock, (index, sent) in list(self._sockets.items()):
                    at = sent % len(self.HEADER)
                    try:
                        sock.send(self.HEADER[at : at + 1] if index >= SLOW_POSTS else b" ")
                        self._sockets[sock] = (index, sent + 1)
                    except OSError:
                        self._drop(sock)


# Sections ---------------------------------------------------------------------------------------------


PROBES = ("ASK, distinct (uncached)", "ASK, repeated (cached)", f"page {PAGE}")


def probe(port: int, kind: str, seconds: float, found: list[Outcome]) -> None:
    """One probe client: one request at a time, at most one per PROBE_INTERVAL_S, for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        client = f"127.0.2.{PROBES.index(kind) + 1}"
        if kind == PROBES[0]:
            query = f"ASK {{ ?s ?p ?o FILTER(?o != {next(DISTINCT)}) }}"
            found.append(sparql_get(port, query, PROBE_TIMEOUT_S, client))
        elif kind == PROBES[1]:
            found.append(sparql_get(port, "ASK { ?s ?p ?o }", PROBE_TIMEOUT_S, client))
        else:
            found.append(call(port, "GET", PAGE, PROBE_TIMEOUT_S, headers={"Accept": "text/html"}, client=client))
        time.sleep(max(0.0, PROBE_INTERVAL_S - (time.monotonic() - started)))


def latency_section(out: Results, port: int, sampler: Sampler, seconds: float) -> None:
    """The three probes side by side in four phases; each phase's load, memory and recovery."""
    for kind in PROBES:  # first answers (page render, cached ASK, query processes' store) before measuring
        probe(port, kind, 0.5, [])
    rows, loads = [], []
    for phase, heavy, slow in (("idle", False, False), ("8 heavy queries", True, False),
                               ("30 slow clients", False, True), ("both", True, True)):  # fmt: skip
        sampler.mark(phase)
        with ExitStack() as stack:
            heavies = stack.enter_context(Heavy(port, seconds + 1)) if heavy else None
            slows = stack.enter_context(Slow(port, seconds + 1)) if slow else None
            if heavy or slow:
                time.sleep(1)  # the load in place before the first probe
            found: dict[str, list[Outcome]] = {kind: [] for kind in PROBES}
            threads = [threading.Thread(target=probe, args=(port, kind, seconds, found[kind])) for kind in PROBES]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(seconds + PROBE_TIMEOUT_S + 5)
        recovered = recover(port)
        for kind, outcomes in found.items():
            times = [o.ms for o in outcomes] or [0.0]
            rows.append([phase, kind, str(len(outcomes)), f"{percentile(times, 0.5):,.1f}",
                         f"{percentile(times, 0.99):,.1f}", tally(outcomes)])  # fmt: skip
        loads.append([
            phase, heavy_summary(heavies.outcomes) if heavies else "-", slows.summary() if slows else "-",
            f"{sampler.tree_peak.get(phase, 0.0):,.0f}", sampler.churn(phase),
            "-" if recovered is None else f"{recovered:.1f}",
        ])  # fmt: skip
        log(f"attack: phase {phase} done")
    out.text(
        "",
        f"Latency of cheap requests, each on a new connection, one at a time per probe (at most 10/s), {seconds:g} s "
        f"per phase; a request counts as `timeout` after {PROBE_TIMEOUT_S:g} s and its time is then what the client "
        "waited. `distinct` varies a FILTER constant so that every ASK runs in a query process; `repeated` is the "
        f"same ASK every time (the answer cache); the page is `{PAGE}` as HTML. Heavy: {HEAVY_CLIENTS} clients each "
        f"resending `{CARTESIAN}` (a distinct FILTER each time) as its last one is answered. Slow: {SLOW_CLIENTS} "
        f"connections, {SLOW_CLIENTS - SLOW_POSTS} sending a request line then one header byte every {SLOW_TICK_S:g} s "
        f"(slowloris), {SLOW_POSTS} sending headers then one body byte every {SLOW_TICK_S:g} s (2 to `/sparql`, 2 to "
        "`/validate`). Median and p99 by nearest rank; outcomes are HTTP statuses, or `timeout`, `closed` (reset or "
        "closed without an answer), `refused`.",
        "",
    )
    out.table(["phase", "probe", "requests", "median ms", "p99 ms", "outcomes"], rows)
    out.text(
        "",
        "The load in each phase: the heavy queries' outcomes; the slow connections (the ones the server closed are "
        "reopened, and what it answered them); the peak RSS of the server's whole process tree; processes started / "
        "ended (a query process killed at its time limit is replaced; the guard's kills are counted apart); and the "
        "seconds after the load until an uncached ASK is answered within 1 s again (`-`: not within "
        f"{RECOVERY_S:g} s).",
        "",
    )
    out.table(["phase", "heavy queries", "slow clients", "tree peak RSS MB", "processes started / ended",
               "recovery s"], loads)  # fmt: skip


def bombs_section(out: Results, port: int, sampler: Sampler) -> None:
    """Each memory bomb alone, one after the other: its answer, and every process's peak RSS."""
    concat = concat_bomb()
    bombs = {
        "cartesian ORDER BY": ("/sparql", "application/sparql-query", CARTESIAN.encode()),
        f"{CONCAT_LEVELS} CONCAT doublings": ("/sparql", "application/sparql-query", concat.encode()),
        "Turtle list to /validate": ("/validate", "text/turtle", list_bomb()),
    }
    sampler.mark("before")
    time.sleep(1)
    rows = []
    for name, (path, media_type, body) in bombs.items():
        sampler.mark(name)
        headers = {"Content-Type": media_type, "Accept": "application/json"}  # a validation report, too
        outcome = call(port, "POST", path, BOMB_TIMEOUT_S, body, headers)
        time.sleep(1)  # the replacement of a killed process, the memory a survivor keeps
        recover(port)
        peaks = sampler.window(name)
        top = max(peaks, key=peaks.__getitem__, default=None)
        largest = f"{peaks[top]:,.0f} ({sampler.roles.get(top, '?')})" if top is not None else "-"
        rows.append([name, f"{len(body):,}", outcome.label, f"{outcome.ms / 1000:.2f}", largest,
                     f"{sampler.tree_peak.get(name, 0.0):,.0f}", sampler.churn(name)])  # fmt: skip
        log(f"attack: bomb {name}: {outcome.label} in {outcome.ms / 1000:.1f} s")
    out.text(
        "",
        f"Memory bombs, one at a time: `{CARTESIAN}` (every triple with every pair, sorted); {CONCAT_LEVELS} chained "
        f'`CONCAT` doublings of `"{CONCAT_SEED}"` ({len(concat)} bytes of query, a '
        f"{len(CONCAT_SEED) << CONCAT_LEVELS >> 20} MiB string, `STRLEN` of it answered); an RDF list "
        "`<s> <p> ( 1 2 3 … ) .` posted to `/validate` as Turtle. Status and seconds as the client saw them; "
        f"RSS sampled every {SAMPLE_S * 1000:.0f} ms over each process of the server's tree until the server "
        f"answers again. The guard kills the largest process when the tree passes {sampler.cap_mb:,.0f} MB.",
        "",
    )
    out.table(["bomb", "request bytes", "status", "seconds", "largest process peak MB (role)", "tree peak MB",
               "processes started / ended"], rows)  # fmt: skip
    windows = {window: sampler.window(window) for window in ("before", *bombs)}
    order = ["master", "web worker", *ROLES.values()]  # then any other role

    def rank(pid: int) -> tuple[int, int]:
        known = sampler.roles.get(pid)
        return (order.index(known) if known in order else len(order), pid)

    pids = sorted({pid for peaks in windows.values() for pid in peaks}, key=rank)
    rows = []
    for pid in pids:
        cells = [f"{peaks[pid]:,.0f}" if pid in peaks else "-" for peaks in windows.values()]
        if pid in sampler.killed:
            state = f"killed by the guard ({sampler.killed[pid][0]})"
        else:
            state = f"ended ({sampler.gone[pid]})" if pid in sampler.gone else "alive"
        rows.append([str(pid), sampler.roles.get(pid, "?"), *cells, state])
    out.text("", "Peak RSS of each process (MB) before the bombs and under each; `-`: not running then.", "")
    out.table(["pid", "role", *windows, "at the end"], rows)


class Listener:
    """A TCP listener and a UDP socket on one loopback port number, counting every connection and
    datagram: any outbound attempt the server makes at that port, by either protocol."""

    def __init__(self) -> None:
        self.tcp = socket.socket()
        self.tcp.bind((HOST, 0))
        self.tcp.listen(16)
        self.port = int(self.tcp.getsockname()[1])
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.udp.bind((HOST, self.port))
        except OSError:  # that UDP port is taken: any other still counts datagrams sent to it
            self.udp.bind((HOST, 0))
        self.connections = self.datagrams = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.tcp.close()
        self.udp.close()

    def _run(self) -> None:
        deadline = time.monotonic() + 120
        while not self._stop.is_set() and time.monotonic() < deadline:
            for sock in select.select([self.tcp, self.udp], [], [], 0.2)[0]:
                if sock is self.tcp:
                    self.tcp.accept()[0].close()
                    self.connections += 1
                else:
                    sock.recvfrom(65536)
                    self.datagrams += 1


def outbound_section(out: Results, port: int) -> None:
    """Every attempt by GET and by POST; then the listener's counts, which must both be 0."""
    rows = []
    with Listener() as listener:
        for name, template in OUTBOUND.items():
            query = template.replace("PORT", str(listener.port))
            media_type = "application/sparql-update" if query.startswith("LOAD") else "application/sparql-query"
            by_get = sparql_get(port, query, 15.0)
            by_post = call(port, "POST", "/sparql", 15.0, query.encode(), {"Content-Type": media_type})
            answer = by_get.detail[:100].replace("|", "\\|").replace("`", "'")
            rows.append([name, f"`{template}`", by_get.label, by_post.label, answer])
        time.sleep(1)  # a late attempt still counts
    log(f"attack: outbound {listener.connections} TCP, {listener.datagrams} UDP")
    out.text(
        "",
        "Outbound: each query by GET and by POST (`application/sparql-query`, `-update` for LOAD) naming a counting "
        "listener on a loopback port (PORT: TCP accepts and closes, UDP on the same number); the answer is the first "
        "line of the GET's body (a refusal's reason, or the solutions).",
        "",
    )
    out.table(["attempt", "query", "GET", "POST", "answer (GET)"], rows)
    out.text(
        "",
        f"Connections the listener saw: **{listener.connections} TCP, {listener.datagrams} UDP** (must be 0).",
    )


def attack_section(out: Results, dist: Path, seconds: float = PHASE_S, cap_mb: float | None = None) -> None:
    """The whole section against a server of its own, stopped by its PID at the end."""
    cap = cap_mb if cap_mb is not None else min(6144.0, available_mb() * 0.4)
    port = free_port()
    command = [str(BIN / "ceopgraph"), "serve", "--host", HOST, "--port", str(port), "--dist", str(dist)]
    command += ["--workers", "2"]
    started = time.monotonic()
    out.section(
        TITLE,
        "Hostile clients against `ceopgraph serve` on the built dataset (Granian, 2 workers x 32 threads, the "
        "default limits), loopback only, every load bounded in count and time. A weak server shows here as "
        "timeouts, 503s, processes ended and memory; nothing of it stops the benchmark.",
    )
    # A server that died under attack leaves no process group to stop: that is a result, not an error.
    with suppress(ProcessLookupError), server(command, f"http://{HOST}:{port}/healthz") as process:
        with Sampler(process.pid, cap) as sampler:
            latency_section(out, port, sampler, seconds)
            bombs_section(out, port, sampler)
        outbound_section(out, port)
    log(f"attack: done in {time.monotonic() - started:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="folder of the built dumps (make build)")
    parser.add_argument("--seconds", type=float, default=PHASE_S, help=f"per latency phase (default {PHASE_S:g})")
    parser.add_argument("--rss-cap-mb", type=float, help="the guard's limit for the server's tree (default: "
                        "6144 MB or 40%% of the memory available, whichever is less)")  # fmt: skip
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    parser.add_argument("--no-write", action="store_true", help="print the section only; leave --out alone")
    args = parser.parse_args()
    if not (Path(args.dist) / "ceopgraph.trig").is_file():
        raise SystemExit(f"no built dataset in {args.dist}: run make build")
    out = Results()
    attack_section(out, Path(args.dist), args.seconds, args.rss_cap_mb)
    if args.no_write:
        return 0
    path = Path(args.out)
    if f"## {TITLE}" not in path.read_text().splitlines():
        path.write_text(path.read_text().rstrip() + f"\n\n## {TITLE}\n")
    note = (
        f"Measured {datetime.date.today().isoformat()} by `bench/attack.py` on {os.cpu_count()} CPU cores (a shared "
        f"machine), Python {sys.version.split()[0]}; the other sections are from the date above."
    )
    splice(path, out, TITLE, note)
    log(f"updated the {TITLE} section of {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
