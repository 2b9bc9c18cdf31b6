"""Worker processes that can be killed: the one real time and memory limit for work we cannot interrupt.

Neither pyoxigraph (a SPARQL query) nor pySHACL (a validation) can be stopped once started, so work
that anyone can send runs in a pool of worker processes; past its time limit a worker gets SIGKILL and
a fresh one is started in the background, so one costly job never holds up the others for long.

Each worker is a fresh interpreter (never a fork of the threaded server process, whose locks and
threads a fork would copy half-way) talking to the pool over a socket pair. It is confined before it
imports anything (``ceopgraph.processes.sandbox``: no network, a heap cap), then runs ``serve_jobs``: receive
one setup value, prepare, say it is ready, then answer jobs until the socket closes (the server went
away) or it is killed. A job that needs more memory than the cap ends its worker; the pool tells that
apart from other failures (``MemoryExceeded``). A worker that has grown past a quarter of its cap
after a job retires and is replaced, which gives the memory back to the system.

Or the workers are forks of one holder (``holder_memory_mb``, ``hold_and_fork``): a fresh interpreter,
confined the same way, that prepares the setup once (the query store's data, in memory) and forks a
worker whenever the pool needs one. The holder is single-threaded, so its forks copy nothing half-way;
they share its memory page by page and are ready in milliseconds.

Workers run at a lower scheduling priority than the server (nice 5), so the server's own cheap work
(pages, cached answers) is not slowed by theirs. Lanes (optional, for the query pool): a job that runs
past ``fast_budget_s`` moves to the heavy lane, which holds at most ``heavy_slots`` jobs, at a lower
priority still (nice 15; its worker is replaced after it); when the lane is full the job is stopped
(``HeavyLaneFull``). So at
least ``size - heavy_slots`` workers always turn over within the budget, and a cheap job waits at
most about that long, never behind the heavy ones. (How many callers may wait at all is the web
layer's to bound: ``ceopgraph.web.admission``.)

The pool knows nothing of queries or submissions: callers send picklable jobs, get back
``(status, payload)`` pairs, and turn the pool's exceptions into their own (``raise_as``). The
query store's pool, the query checker and the validation service run on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import IO, Any, NoReturn, TypeVar

from ceopgraph.processes.sandbox import NOT_CONFINED_EXIT, worker_command

logger = logging.getLogger(__name__)

State = TypeVar("State")
Reply = tuple[str, Any]

# The status a worker replies with when its job ran out of memory in Python (then it exits).
_OUT_OF_MEMORY = "out-of-memory"
# Scheduling (nice(1)): work anyone can send runs below the server's own (pages, cached answers), and
# a job in the heavy lane below that.
_WORKER_NICENESS = 5
_HEAVY_NICENESS = 15
# What the engine (Rust) and Python print when an allocation fails past the heap cap.
_MEMORY_SIGNS = (b"memory allocation of", b"MemoryError")
# The longest piece of a worker's standard error read at once (a line without an end is read in pieces).
_LINE_BYTES = 8192


class WorkerPoolError(Exception):
    """Base of the pool's failures; callers turn each into their own domain error."""


class NoIdleWorker(WorkerPoolError):
    """Every worker stayed busy for the whole time limit; the job was not sent."""


class StoppedWaiting(NoIdleWorker):
    """The job ran out of time having spent most of it waiting for a worker: the pool was busy, not the job
    long, so it is told as no worker being free (a retry), never as a job past its limit."""


class DeadlinePassed(WorkerPoolError):
    """The job ran past its time limit; its worker was killed and is being replaced."""


class HeavyLaneFull(WorkerPoolError):
    """The job ran past the fast budget while the heavy lane was full; its worker was killed."""


class MemoryExceeded(WorkerPoolError):
    """The job needed more memory than a worker may have; its worker ended and is being replaced."""


class WorkerFailed(WorkerPoolError):
    """The worker died or its socket broke mid-job; it is being replaced."""


# What a caller raises for each kind of pool failure: an entry's key is a kind or a tuple of kinds.
OwnErrors = Mapping[type[WorkerPoolError] | tuple[type[WorkerPoolError], ...], Callable[[WorkerPoolError], Exception]]


def raise_as(exc: WorkerPoolError, own: OwnErrors) -> NoReturn:
    """Raise the caller's own exception for a pool failure: that of the first entry of ``own`` whose
    kind ``exc`` is, else ``exc`` itself.

    A failed worker stays the cause of the caller's exception (a crash to look into); the limits
    (waiting, time, memory) are said in full by the caller's message, so their own is dropped.
    """
    for kind, make in own.items():
        if isinstance(exc, kind):
            if isinstance(exc, WorkerFailed):
                raise make(exc) from exc
            raise make(exc) from None
    raise exc


def serve_jobs(fd: int, setup: Callable[[Any], State], handle: Callable[[State, Any], Reply]) -> None:
    """The worker's side: ``setup`` the setup value once, then ``handle`` every job until the pool goes.

    ``handle`` returns ``(status, payload)``; expected failures are replies too (an exception escaping
    it ends the worker, which the pool sees as ``WorkerFailed`` and replaces). Each reply says whether
    the worker retires after it: out of memory, or grown past a quarter of its heap cap.
    """
    conn = Connection(fd)
    state = setup(conn.recv())
    _serve(conn, state, handle, _HeapBudget(0, resource.getrlimit(resource.RLIMIT_DATA)[0]))


def hold_and_fork(fd: int, setup: Callable[[Any], State], handle: Callable[[State, Any], Reply]) -> None:
    """A holder's side (``WorkerPool(..., forked=True)``): ``setup`` the setup value once (the data, in
    memory), then fork a worker whenever the pool asks for one, until the pool goes.

    Each worker is a fork of this single-threaded process, so it shares the holder's memory page by page
    (copy on write) instead of loading a copy of its own, is ready in milliseconds, and inherits the
    confinement (the seccomp filter). It answers jobs over a new socket pair and writes its standard
    error to a pipe of its own, both handed to the pool (``SCM_RIGHTS``), and caps its own heap at what
    it holds now plus the pool's ``memory_mb``. A child is reaped only once the pool has a pidfd on it
    (it asks for the next one after opening it), so its pid cannot be reused under the pool's signals.
    """
    conn = Connection(fd)
    channel = socket.socket(fileno=os.dup(fd))
    state = setup(conn.recv())
    conn.send(("ready", None))
    opened: list[int] = []  # forked children the pool holds a pidfd on
    latest: int | None = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if latest is not None:
            opened.append(latest)
        opened = [pid for pid in opened if os.waitpid(pid, os.WNOHANG) == (0, 0)]
        ours, theirs = socket.socketpair()
        errors_out, errors_in = os.pipe()
        latest = os.fork()
        if latest == 0:  # the worker
            try:
                conn.close()
                channel.close()
                ours.close()
                os.close(errors_out)
                os.dup2(errors_in, 2)
                os.close(errors_in)
                _serve(Connection(theirs.detach()), state, handle, _HeapBudget.from_here(request["memory_mb"]))
            finally:
                os._exit(0)
        theirs.close()
        os.close(errors_in)
        reduction.sendfds(channel, [ours.fileno(), errors_out])
        conn.send(latest)
        ours.close()
        os.close(errors_out)


def _serve(conn: Connection, state: State, handle: Callable[[State, Any], Reply], budget: _HeapBudget) -> None:
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = handle(state, job)
        except MemoryError:
            reply = (_OUT_OF_MEMORY, None)
        retiring = reply[0] == _OUT_OF_MEMORY or budget.grown_too_large()
        conn.send((reply, retiring))
        if retiring:
            return


@dataclass(frozen=True)
class _HeapBudget:
    """What a worker may grow by before it retires: a quarter of ``cap`` bytes above ``baseline_kib``."""

    baseline_kib: int  # resident heap (``RssAnon``) when it started: a forked worker's shared pages
    cap: int  # bytes, or RLIM_INFINITY

    @classmethod
    def from_here(cls, memory_mb: int) -> _HeapBudget:
        """A forked worker's budget: ``memory_mb`` MiB beyond what it holds now, enforced from now on
        (``RLIMIT_DATA`` counts the private pages it shares with the holder, so its cap starts above them)."""
        cap = memory_mb * 1024 * 1024
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        data = _status_kib("VmData") * 1024 + cap
        resource.setrlimit(resource.RLIMIT_DATA, (data if hard == resource.RLIM_INFINITY else min(data, hard), hard))
        return cls(_status_kib("RssAnon"), cap)

    def grown_too_large(self) -> bool:
        """Resident heap (``RssAnon``: not the shared pages of files such as the on-disk store) grown past a
        quarter of the cap, when there is one; the peak resident size (one system call) rules most jobs out
        before ``/proc`` is read."""
        if self.cap == resource.RLIM_INFINITY:
            return False
        if (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.baseline_kib) * 1024 <= self.cap // 4:
            return False
        return (_status_kib("RssAnon") - self.baseline_kib) * 1024 > self.cap // 4


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


_ENTRY = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


class _ForkedProcess:
    """A worker forked by a holder (``hold_and_fork``): not our child, so it is signalled and awaited
    through a pidfd, which names that process and no other even after its pid is reused."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._pidfd = os.pidfd_open(pid)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):  # gone already
            signal.pidfd_send_signal(self._pidfd, signal.SIGKILL)

    def poll(self) -> int | None:
        """None while it runs; once it has exited, -1 (its holder, not we, learns its status), as after a
        ``wait`` (which let go of the pidfd), like ``Popen.poll``."""
        if self._pidfd == -1:
            return -1
        return -1 if select.select([self._pidfd], [], [], 0)[0] else None

    def wait(self, timeout: float) -> int:
        if not select.select([self._pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
        os.close(self._pidfd)
        self._pidfd = -1
        return -1


@dataclass
class _Worker:
    process: subprocess.Popen[bytes] | _ForkedProcess
    conn: Connection
    drain: threading.Thread | None = None
    out_of_memory: bool = False  # it said an allocation failed (the engine prints a backtrace after that)

    @classmethod
    def start(cls, entry: str, setup: object, memory_mb: int) -> _Worker:
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-c", worker_command(entry, memory_mb), str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # nothing of the server's but the socket pair
                stderr=subprocess.PIPE,
            )
        worker = cls(process, Connection(ours.detach()))
        assert process.stderr is not None
        worker._start_draining(process.stderr)
        try:
            os.setpriority(os.PRIO_PROCESS, process.pid, _WORKER_NICENESS)
            worker.conn.send(setup)
        except OSError:  # it died at once: nothing is left behind
            worker.kill()
            raise
        return worker

    @classmethod
    def forked(cls, pid: int, job_fd: int, errors_fd: int) -> _Worker:
        """A worker a holder forked: its job socket and the read end of its standard error."""
        worker = cls(_ForkedProcess(pid), Connection(job_fd))
        worker._start_draining(os.fdopen(errors_fd, "rb"))
        return worker

    def _start_draining(self, stream: IO[bytes]) -> None:
        self.drain = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.drain.start()

    def _drain(self, stream: IO[bytes]) -> None:
        """Pass the worker's standard error on to ours (as before), noting whether it ran out of memory."""
        for line in iter(lambda: stream.readline(_LINE_BYTES), b""):
            if any(sign in line for sign in _MEMORY_SIGNS):
                self.out_of_memory = True
            sys.stderr.buffer.write(line)
            sys.stderr.flush()
        stream.close()

    def said_out_of_memory(self) -> bool:
        """Once it has exited: whether the worker said an allocation failed."""
        if self.drain is not None:
            self.drain.join(timeout=2)
        return self.out_of_memory

    def kill(self) -> None:
        self.process.kill()
        self.conn.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # stuck in the kernel: the system reaps it when it can
            logger.error("a worker (pid %s) did not exit 10 s after SIGKILL", self.process.pid)


class _Holder:
    """The process a forked pool's workers are forked from (``hold_and_fork``), started like a worker."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._channel = socket.socket(fileno=os.dup(worker.conn.fileno()))

    @classmethod
    def start(cls, entry: str, setup: object, memory_mb: int, timeout_s: float) -> _Holder:
        worker = _Worker.start(entry, setup, memory_mb)
        try:
            ready = worker.conn.poll(timeout_s) and worker.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            status = worker.process.poll()
            worker.kill()
            reason = "it could not be confined" if status == NOT_CONFINED_EXIT else f"exit status {status}"
            raise OSError(f"the holder did not start ({reason})")
        return cls(worker)

    def alive(self) -> bool:
        return self._worker.process.poll() is None

    def fork(self, memory_mb: int) -> _Worker:
        """A new worker, forked with a heap budget of ``memory_mb`` MiB beyond what it shares."""
        self._worker.conn.send({"memory_mb": memory_mb})
        job_fd, errors_fd = reduction.recvfds(self._channel, 2)
        pid: int = self._worker.conn.recv()
        return _Worker.forked(pid, job_fd, errors_fd)

    def kill(self) -> None:
        self._channel.close()
        self._worker.kill()


class WorkerPool:
    """``size`` workers running ``entry`` (``"package.module:function"``, called with the socket's file
    descriptor; it calls ``serve_jobs``), each confined to ``memory_mb`` MiB of heap and no network,
    and sent ``setup`` first; one job per worker at a time. ``heavy_slots`` and ``fast_budget_s``
    turn on the lanes of the module's docstring. With ``holder_memory_mb``, ``entry`` calls
    ``hold_and_fork`` instead, in one holder capped at that, and the workers are its forks, each allowed
    ``memory_mb`` MiB beyond what it shares.

    Workers start on ``start()`` (idempotent, in the background), so creating a pool costs nothing.
    """

    START_TIMEOUT_S = 60.0

    def __init__(
        self,
        entry: str,
        setup: object,
        size: int,
        kind: str = "worker",
        *,
        memory_mb: int,
        heavy_slots: int | None = None,
        fast_budget_s: float | None = None,
        holder_memory_mb: int | None = None,
    ) -> None:
        if not _ENTRY.fullmatch(entry):
            raise ValueError(f"not a module:function entry point: {entry!r}")
        self._entry = entry
        self._setup = setup
        self._size = max(1, size)
        self._kind = kind  # for log lines and messages: "query worker", "validation worker"
        self.memory_mb = memory_mb
        self._fast_budget_s = fast_budget_s if heavy_slots is not None else None
        # The heavy lane has at least one slot and, with two workers or more, leaves one in the fast lane.
        self.heavy_slots = max(1, min(heavy_slots or 1, self._size - 1))
        self._heavy = threading.BoundedSemaphore(self.heavy_slots)
        self._idle: list[_Worker] = []
        self._idle_changed = threading.Condition()
        self._lock = threading.Lock()
        self._starters: list[threading.Thread] = []
        # The first start: until one worker is ready (or every first start failed), a job waits for it
        # rather than for a free worker within its own time, so a pool's start is never a "busy" refusal.
        self._first_starts = 0
        self._ready_once = False
        self._closed = False
        # Forked workers: ``entry`` runs ``hold_and_fork`` in one holder, capped at holder_memory_mb MiB.
        self._holder_memory_mb = holder_memory_mb
        self._holder: _Holder | None = None
        self._holder_lock = threading.Lock()

    def start(self) -> None:
        """Start the workers in the background, once."""
        with self._lock:
            if self._starters or self._closed:
                return
            self._first_starts = self._size
            self._starters = [threading.Thread(target=self._first_start, daemon=True) for _ in range(self._size)]
        for starter in self._starters:
            starter.start()

    def wait_ready(self) -> None:
        """Start the workers and return once each is ready or failed to start (a server is healthy
        only when it can answer)."""
        self.start()
        for starter in self._starters:
            starter.join(self.START_TIMEOUT_S)

    def _first_start(self) -> None:
        try:
            self._add_worker()
        finally:
            with self._idle_changed:
                self._first_starts -= 1
                self._idle_changed.notify_all()

    def _wait_for_first_start(self) -> None:
        """Return once a worker was ever ready, or every first start has ended (at most the start's own
        limit): starting takes a fresh interpreter seconds on a loaded machine, which a job's time
        (a parse's 3 s) was never meant to cover."""
        with self._idle_changed:
            self._idle_changed.wait_for(lambda: self._ready_once or self._first_starts == 0, self.START_TIMEOUT_S)

    def _new_worker(self) -> _Worker:
        if self._holder_memory_mb is None:
            return _Worker.start(self._entry, self._setup, self.memory_mb)
        with self._holder_lock:  # one request at a time: the holder reaps a child once the next is asked for
            if self._holder is None or not self._holder.alive():
                if self._holder is not None:
                    self._holder.kill()
                    logger.error("the %s holder ended; starting another", self._kind)
                self._holder = _Holder.start(self._entry, self._setup, self._holder_memory_mb, self.START_TIMEOUT_S)
            if self._closed:
                raise OSError("the pool is closed")
            return self._holder.fork(self.memory_mb)

    def _add_worker(self) -> None:
        try:
            worker = self._new_worker()
        except (OSError, EOFError) as exc:
            logger.error("cannot start a %s: %s", self._kind, exc)
            return
        try:
            ready = worker.conn.poll(self.START_TIMEOUT_S) and worker.conn.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready or self._closed:
            if not self._closed:
                status = worker.process.poll()
                reason = "it could not be confined" if status == NOT_CONFINED_EXIT else f"exit status {status}"
                logger.error("a %s did not start (%s)", self._kind, reason)
            worker.kill()
            return
        self._give_back(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        if not self._closed:
            threading.Thread(target=self._add_worker, daemon=True).start()

    def _give_back(self, worker: _Worker) -> None:
        with self._idle_changed:
            self._idle.append(worker)
            self._ready_once = True
            self._idle_changed.notify_all()

    def _take(self, timeout_s: float, keep_free: int) -> _Worker:
        """An idle worker, once more than ``keep_free`` are idle (within ``timeout_s``)."""
        with self._idle_changed:
            if not self._idle_changed.wait_for(lambda: len(self._idle) > keep_free, timeout_s):
                raise NoIdleWorker(f"no {self._kind} became free within {timeout_s:g} s")
            return self._idle.pop()

    def run(self, job: object, timeout_s: float) -> Reply:
        """Send ``job`` to an idle worker and return its reply, waiting for a free worker included within
        ``timeout_s`` (a job that runs out of time after waiting more than half of it is ``StoppedWaiting``,
        else ``DeadlinePassed``); waiting for the pool's first start is not (``_wait_for_first_start``)."""
        return self.run_in_lanes(job, timeout_s)[0]

    def run_in_lanes(self, job: object, timeout_s: float, keep_free: int = 0) -> tuple[Reply, bool]:
        """``run``, and whether the job went to the heavy lane.

        ``keep_free``: the job takes a worker only while more than that many are idle, leaving them to
        others (a client whose queries were heavy lately yields the last idle worker to everyone else).
        """
        self.start()
        self._wait_for_first_start()
        started = time.monotonic()
        deadline = started + timeout_s
        worker = self._take(timeout_s, keep_free)
        waited = time.monotonic() - started
        heavy = False
        try:
            worker.conn.send(job)
            budget = self._fast_budget_s
            remaining = max(0.0, deadline - time.monotonic())
            ready = worker.conn.poll(min(budget, remaining) if budget is not None else remaining)
            if not ready and budget is not None and budget < remaining:
                heavy = self._heavy.acquire(blocking=False)
                if not heavy:
                    self._replace(worker)
                    raise HeavyLaneFull(f"{self.heavy_slots} long jobs are running already; this one was stopped")
                # Second in line for the processors too; a process cannot be given its priority back, so
                # it retires after this job.
                os.setpriority(os.PRIO_PROCESS, worker.process.pid, _HEAVY_NICENESS)
                ready = worker.conn.poll(max(0.0, deadline - time.monotonic()))
            if not ready:
                self._replace(worker)  # SIGKILL: the only way to stop the work mid-way
                if waited > timeout_s / 2:
                    raise StoppedWaiting(
                        f"a job waited {waited:.1f} s of its {timeout_s:g} s for a {self._kind} and was stopped"
                    )
                raise DeadlinePassed(f"a job ran past {timeout_s:g} s; its {self._kind} was killed")
            reply, retiring = worker.conn.recv()
        except (HeavyLaneFull, DeadlinePassed, StoppedWaiting):
            raise
        except Exception as exc:  # a broken socket, a reply that does not unpickle: the worker is unusable
            self._replace(worker)
            raise self._failure(worker, exc) from exc
        finally:
            if heavy:
                self._heavy.release()
        if retiring or heavy:
            self._replace(worker)
        else:
            self._give_back(worker)
        if reply[0] == _OUT_OF_MEMORY:
            raise MemoryExceeded(f"a job needed more than the {self.memory_mb} MiB a {self._kind} may use")
        result: Reply = reply
        return result, heavy

    def _failure(self, worker: _Worker, exc: BaseException) -> WorkerPoolError:
        """Why a worker died mid-job: past its heap cap (what it printed says so), or anything else."""
        if worker.said_out_of_memory():
            return MemoryExceeded(f"a job needed more than the {self.memory_mb} MiB a {self._kind} may use")
        return WorkerFailed(f"a {self._kind} failed mid-job: {exc or 'it exited'}")

    def close(self) -> None:
        """Kill the idle workers; busy ones exit when their socket closes."""
        self._closed = True
        with self._idle_changed:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()
        with self._holder_lock:
            if self._holder is not None:
                self._holder.kill()
                self._holder = None
