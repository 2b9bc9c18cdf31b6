"""A worker for the pool's own tests (``ceopgraph.processes.pool``): jobs that allocate, sleep, or try the network.

Started by ``WorkerPool("tests.pool_jobs:worker_main", …)`` from the project's root, confined like every
worker (``ceopgraph.processes.sandbox``); each job says what it did, so a test can tell what the system allowed.
"""

from __future__ import annotations

import os
import socket
import time

from ceopgraph.processes.pool import hold_and_fork, serve_jobs

_held: list[bytearray] = []  # what "hold" jobs keep, so the worker stays large after the job
SHARED_MB = 200  # what a holder holds for the workers it forks


def worker_main(fd: int) -> None:
    serve_jobs(fd, lambda _: None, _job)


def slow_start_main(fd: int) -> None:
    """A worker that takes the setup value's seconds to start, or fails to start when it is negative."""
    serve_jobs(fd, _slow_start, _job)


def _slow_start(seconds: float) -> None:
    if seconds < 0:
        raise RuntimeError("this worker does not start")
    time.sleep(seconds)


def holder_main(fd: int) -> None:
    """A holder of ``SHARED_MB`` MiB (every page written: resident), forking workers that run ``_job``."""
    hold_and_fork(fd, _shared, _job)


def _shared(_: None) -> bytearray:
    block = bytearray(SHARED_MB * 1024 * 1024)
    block[::4096] = b"s" * len(block[::4096])
    return block


def _job(state: bytearray | None, job: tuple[str, object]) -> tuple[str, object]:
    kind, arg = job
    if kind == "pid":
        return ("ok", os.getpid())
    if kind == "family":  # who forked it, and what it can read of what the holder holds
        return ("ok", (os.getpid(), os.getppid(), 0 if state is None else state.count(b"s")))
    if kind == "private-mb":  # the memory it holds alone (its shared pages not counted)
        with open("/proc/self/smaps_rollup") as rollup:
            kib = sum(int(line.split()[1]) for line in rollup if line.startswith(("Private_Clean", "Private_Dirty")))
        return ("ok", kib // 1024)
    if kind == "sleep":
        time.sleep(float(str(arg)))
        return ("ok", os.getpid())
    if kind == "niceness-after":  # sleep, then say how the system schedules this process
        time.sleep(float(str(arg)))
        return ("ok", (os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)))
    if kind in ("allocate", "hold"):
        block = bytearray(int(str(arg)) * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])  # touch every page: resident, not only reserved
        if kind == "hold":
            _held.append(block)
        return ("ok", os.getpid())
    return ("ok", _network(kind, arg))


def _network(kind: str, arg: object) -> str:
    """Try one way out; the exception's text, or "connected" / "sent" when the system let it through."""
    try:
        if kind == "tcp":
            with socket.create_connection(("127.0.0.1", int(str(arg))), timeout=2):
                return "connected"
        if kind == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.sendto(b"leak", ("127.0.0.1", int(str(arg))))
                return "sent"
        if kind == "dns":
            socket.getaddrinfo(str(arg), 80)
            return "resolved"
    except OSError as exc:
        return f"refused: {exc}"
    raise ValueError(f"unknown job {kind!r}")
