"""Worker processes that can be killed: the one real time limit for work we cannot interrupt.

Neither pyoxigraph (a SPARQL query) nor pySHACL (a validation) can be stopped once started, so work
that anyone can send runs in a pool of worker processes; past its time limit a worker gets SIGKILL and
a fresh one is started in the background, so one costly job never holds up the others for long.

Each worker is a fresh interpreter (never a fork of the threaded server process, whose locks and
threads a fork would copy half-way) talking to the pool over a socket pair. It runs ``serve_jobs``:
receive one setup value, prepare, say it is ready, then answer jobs until the socket closes (the
server went away) or it is killed. The pool knows nothing of queries or submissions: callers send
picklable jobs, get back ``(status, payload)`` pairs, and turn the pool's exceptions into their own.
"""

from __future__ import annotations

import logging
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

State = TypeVar("State")
Reply = tuple[str, Any]


class WorkerPoolError(Exception):
    """Base of the pool's failures; callers turn each into their own domain error."""


class NoIdleWorker(WorkerPoolError):
    """Every worker stayed busy for the whole time limit; the job was not sent."""


class DeadlinePassed(WorkerPoolError):
    """The job ran past its time limit; its worker was killed and is being replaced."""


class WorkerFailed(WorkerPoolError):
    """The worker died or its socket broke mid-job; it is being replaced."""


def serve_jobs(fd: int, setup: Callable[[Any], State], handle: Callable[[State, Any], Reply]) -> None:
    """The worker's side: ``setup`` the setup value once, then ``handle`` every job until the pool goes.

    ``handle`` returns ``(status, payload)``; expected failures are replies too (an exception escaping
    it ends the worker, which the pool sees as ``WorkerFailed`` and replaces).
    """
    conn = Connection(fd)
    state = setup(conn.recv())
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(handle(state, job))


_ENTRY = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection

    @classmethod
    def start(cls, entry: str, setup: object) -> _Worker:
        module, function = entry.split(":")
        command = f"import sys; from {module} import {function}; {function}(int(sys.argv[1]))"
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-c", command, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        conn = Connection(ours.detach())
        conn.send(setup)
        return cls(process, conn)

    def kill(self) -> None:
        self.process.kill()
        self.conn.close()
        self.process.wait(timeout=10)


class WorkerPool:
    """``size`` workers running ``entry`` (``"package.module:function"``, called with the socket's file
    descriptor; it calls ``serve_jobs``), each sent ``setup`` first; one job per worker at a time.

    Workers start on ``start()`` (idempotent, in the background), so creating a pool costs nothing.
    """

    START_TIMEOUT_S = 60.0

    def __init__(self, entry: str, setup: object, size: int, kind: str = "worker") -> None:
        if not _ENTRY.fullmatch(entry):
            raise ValueError(f"not a module:function entry point: {entry!r}")
        self._entry = entry
        self._setup = setup
        self._size = max(1, size)
        self._kind = kind  # for log lines: "query worker", "validation worker"
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._starters: list[threading.Thread] = []
        self._closed = False

    def start(self) -> None:
        """Start the workers in the background, once."""
        with self._lock:
            if self._starters or self._closed:
                return
            self._starters = [threading.Thread(target=self._add_worker, daemon=True) for _ in range(self._size)]
        for starter in self._starters:
            starter.start()

    def wait_ready(self) -> None:
        """Start the workers and return once each is ready or failed to start (a server is healthy
        only when it can answer)."""
        self.start()
        for starter in self._starters:
            starter.join(self.START_TIMEOUT_S)

    def _add_worker(self) -> None:
        try:
            worker = _Worker.start(self._entry, self._setup)
        except OSError as exc:
            logger.error("cannot start a %s: %s", self._kind, exc)
            return
        try:
            ready = worker.conn.poll(self.START_TIMEOUT_S) and worker.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready or self._closed:
            if not self._closed:
                logger.error("a %s did not start (exit status %s)", self._kind, worker.process.poll())
            worker.kill()
            return
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        if not self._closed:
            threading.Thread(target=self._add_worker, daemon=True).start()

    def run(self, job: object, timeout_s: float) -> Reply:
        """Send ``job`` to an idle worker and return its reply, waiting included within ``timeout_s``."""
        self.start()
        deadline = time.monotonic() + timeout_s
        try:
            worker = self._idle.get(timeout=timeout_s)
        except queue.Empty:
            raise NoIdleWorker(f"no {self._kind} became free within {timeout_s:g} s") from None
        try:
            worker.conn.send(job)
            if not worker.conn.poll(max(0.0, deadline - time.monotonic())):
                self._replace(worker)  # SIGKILL: the only way to stop the work mid-way
                raise DeadlinePassed(f"a job ran past {timeout_s:g} s; its {self._kind} was killed")
            reply: Reply = worker.conn.recv()
        except (EOFError, OSError) as exc:
            self._replace(worker)
            raise WorkerFailed(f"a {self._kind} failed mid-job: {exc}") from exc
        self._idle.put(worker)
        return reply

    def close(self) -> None:
        """Kill the idle workers; busy ones exit when their socket closes."""
        self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.kill()
