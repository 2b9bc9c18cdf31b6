"""``ceopgraph.processes.pool``: killable, confined worker processes, their memory cap, recycling and lanes.

The workers run ``tests.pool_jobs`` (jobs that allocate, sleep or try the network) under the same
confinement as the query and validation processes.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ceopgraph.processes.pool import (
    DeadlinePassed,
    HeavyLaneFull,
    MemoryExceeded,
    NoIdleWorker,
    StoppedWaiting,
    WorkerPool,
)

from .listener import Listener
from .pool_jobs import SHARED_MB

ENTRY = "tests.pool_jobs:worker_main"
HOLDER = "tests.pool_jobs:holder_main"
SLOW_START = "tests.pool_jobs:slow_start_main"


@pytest.fixture(params=["fresh", "forked"])
def pool(request: pytest.FixtureRequest) -> Iterator[WorkerPool]:
    """One worker: a fresh interpreter, or a fork of a holder of 200 MiB (the cap is on top of that)."""
    if request.param == "fresh":
        workers = WorkerPool(ENTRY, None, 1, "test worker", memory_mb=256)
    else:
        workers = WorkerPool(HOLDER, None, 1, "test worker", memory_mb=256, holder_memory_mb=1024)
    workers.wait_ready()
    yield workers
    workers.close()


@pytest.fixture
def forked() -> Iterator[WorkerPool]:
    workers = WorkerPool(HOLDER, None, 2, "test worker", memory_mb=256, holder_memory_mb=1024)
    workers.wait_ready()
    yield workers
    workers.close()


def test_forked_workers_share_what_their_holder_holds_without_a_copy_each(forked: WorkerPool) -> None:
    (pid_a, holder_a, seen_a), (_, holder_b, seen_b) = (forked.run(("family", None), 30)[1] for _ in range(2))
    (_, private_a), (_, private_b) = (forked.run(("private-mb", None), 30) for _ in range(2))
    assert holder_a == holder_b != pid_a  # forks of one holder
    assert seen_a == seen_b == SHARED_MB * 256  # each reads all it holds (one mark a page)
    assert max(private_a, private_b) < SHARED_MB // 4  # and holds little of it alone


def test_a_forked_worker_killed_at_its_time_limit_is_replaced_by_a_fork(forked: WorkerPool) -> None:

    holder = forked.run(("family", None), 30)[1][1]
    with pytest.raises(DeadlinePassed):
        forked.run(("sleep", 30), 0.5)
    answers = [forked.run(("family", None), 30)[1] for _ in range(4)]
    assert {parent for _, parent, _ in answers} == {holder}


def test_a_holder_that_dies_is_replaced_and_its_workers_with_it(forked: WorkerPool) -> None:

    holder = forked.run(("family", None), 30)[1][1]
    os.kill(holder, signal.SIGKILL)
    with pytest.raises(DeadlinePassed):  # a worker killed: its replacement needs a new holder
        forked.run(("sleep", 30), 0.5)
    deadline = time.monotonic() + 30
    parents: set[int] = set()
    while time.monotonic() < deadline and len(parents - {holder}) == 0:
        parents.add(forked.run(("family", None), 30)[1][1])
    assert parents - {holder}, "no worker of a new holder answered"


def test_a_job_past_the_memory_cap_is_stopped_and_its_worker_replaced(pool: WorkerPool) -> None:
    first = pool.run(("pid", None), 30)[1]
    with pytest.raises(MemoryExceeded, match="256 MiB"):
        pool.run(("allocate", 1024), 30)
    status, after = pool.run(("pid", None), 30)
    assert status == "ok" and after != first


def test_a_job_within_the_cap_leaves_the_worker_in_place(pool: WorkerPool) -> None:
    first = pool.run(("allocate", 16), 30)[1]
    assert pool.run(("pid", None), 30)[1] == first


def test_a_worker_grown_past_a_quarter_of_its_cap_retires_after_its_job(pool: WorkerPool) -> None:
    """Memory a big job leaves behind goes back to the system: the worker is replaced, the job answered."""
    status, grown = pool.run(("hold", 100), 30)  # 100 MiB held: more than 256 / 4
    assert status == "ok"
    assert pool.run(("pid", None), 30)[1] != grown


def test_a_job_past_its_time_limit_is_killed_and_the_pool_recovers(pool: WorkerPool) -> None:

    with pytest.raises(DeadlinePassed):
        pool.run(("sleep", 30), 0.5)
    assert pool.run(("pid", None), 30)[0] == "ok"


def test_the_worker_cannot_open_a_tcp_connection(pool: WorkerPool, listener: Listener) -> None:
    status, outcome = pool.run(("tcp", listener.port), 30)
    assert status == "ok"
    assert outcome.startswith("refused: [Errno 13]")
    assert listener.requests == 0


def test_the_worker_cannot_send_a_datagram_or_resolve_a_name(pool: WorkerPool) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as counter:
        counter.bind(("127.0.0.1", 0))
        counter.settimeout(0.5)
        udp = pool.run(("udp", counter.getsockname()[1]), 30)[1]
        dns = pool.run(("dns", "secret.attacker.example"), 30)[1]
        with pytest.raises(TimeoutError):
            counter.recvfrom(100)  # nothing arrived
    assert udp.startswith("refused: [Errno 13]")
    assert dns.startswith("refused:")


def test_a_cheap_job_does_not_wait_behind_heavy_ones() -> None:
    """Lanes: past the fast budget a job takes the one heavy slot; the next long one is stopped at the
    budget; a short job is answered at once by the worker kept in the fast lane."""
    workers = WorkerPool(ENTRY, None, 3, "test worker", memory_mb=256, heavy_slots=1, fast_budget_s=0.5)
    workers.wait_ready()
    try:
        heavy = threading.Thread(target=workers.run, args=(("sleep", 6), 30))
        heavy.start()
        time.sleep(1.0)  # the first job is in the heavy lane now
        with pytest.raises(HeavyLaneFull):
            workers.run(("sleep", 6), 30)
        started = time.monotonic()
        assert workers.run(("pid", None), 30)[0] == "ok"
        waited = time.monotonic() - started
        heavy.join(30)
    finally:
        workers.close()
    assert waited < 3  # not the 6 s the heavy job holds its worker for


def test_a_heavy_job_runs_at_a_lower_priority_and_its_worker_is_replaced_after() -> None:
    workers = WorkerPool(ENTRY, None, 2, "test worker", memory_mb=256, heavy_slots=1, fast_budget_s=0.3)
    workers.wait_ready()
    try:
        (_, (heavy_pid, niceness)), went_heavy = workers.run_in_lanes(("niceness-after", 1.0), 30)
        (_, (_, quick_niceness)), stayed_fast = workers.run_in_lanes(("niceness-after", 0), 30)
        assert niceness == 15 and quick_niceness == 5  # below the server's 0, and the heavy lane lower still
        assert went_heavy and not stayed_fast
        assert heavy_pid not in {workers.run(("pid", None), 30)[1] for _ in range(4)}
    finally:
        workers.close()


def test_a_job_that_keeps_one_worker_free_does_not_take_the_last_idle_one() -> None:
    workers = WorkerPool(ENTRY, None, 2, "test worker", memory_mb=256)
    workers.wait_ready()
    try:
        busy = threading.Thread(target=workers.run, args=(("sleep", 2), 30))
        busy.start()
        time.sleep(0.5)  # one worker busy, one idle
        with pytest.raises(NoIdleWorker):
            workers.run_in_lanes(("pid", None), 0.5, keep_free=1)
        assert workers.run(("pid", None), 5)[0] == "ok"  # an ordinary job takes it
        busy.join(30)
        assert workers.run_in_lanes(("pid", None), 5, keep_free=1)[0][0] == "ok"  # both idle again: one to spare
    finally:
        workers.close()


def test_a_job_that_ran_out_of_time_waiting_for_a_worker_is_told_as_a_busy_pool() -> None:
    """On a busy machine a job may get its worker late: running out of time then is the pool's doing, a
    ``StoppedWaiting`` (a ``NoIdleWorker``: its caller says "try again"), never the ``DeadlinePassed`` its
    caller tells as a job too big ("simplify it"), which only a job that had most of its time gets."""
    workers = WorkerPool(ENTRY, None, 1, "test worker", memory_mb=256)
    workers.wait_ready()
    try:
        busy = threading.Thread(target=workers.run, args=(("sleep", 3), 30))
        busy.start()
        time.sleep(0.5)  # the one worker busy for 2.5 s more
        with pytest.raises(StoppedWaiting, match="of its 4 s for a test worker"):
            workers.run(("sleep", 2), 4)  # 2 s of work, given it after more than 2 s of waiting
        busy.join(30)
        assert workers.run(("pid", None), 30)[0] == "ok"  # the stopped worker replaced; one idle again
        with pytest.raises(DeadlinePassed):
            workers.run(("sleep", 2), 1)  # the same work with no wait: past its limit
    finally:
        workers.close()


def test_a_job_sent_while_the_pool_starts_waits_for_the_start_not_within_its_own_time() -> None:
    """A fresh interpreter takes seconds to start on a loaded machine (a query checker: 0.5 s idle, 5-6 s
    beside eight busy processes), more than a parse's 3 s: the first job waits for the start, then gets
    its whole time. A pool that cannot start is told as a busy one once its starts have failed."""
    workers = WorkerPool(SLOW_START, 2.0, 1, "test worker", memory_mb=256)
    try:
        started = time.monotonic()
        assert workers.run(("sleep", 0.2), 1.0)[0] == "ok"
        assert time.monotonic() - started >= 2.0
    finally:
        workers.close()
    broken = WorkerPool(SLOW_START, -1.0, 1, "test worker", memory_mb=256)
    try:
        with pytest.raises(NoIdleWorker, match=r"within 0\.5 s"):
            broken.run(("pid", None), 0.5)
    finally:
        broken.close()
