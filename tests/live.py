"""Start ``ceopgraph serve`` for real on 127.0.0.1 (a free port) and stop it by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The row cap of the session's capped server (``capped_server`` in conftest.py).
CAPPED_ROWS = 25


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LiveServer:
    url: str  # ends with "/"
    pid: int
    log: Path


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "healthz", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {seconds} s:\n{log.read_text()}")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far, all its threads included."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time used so far by ``pid`` and every process below it (a server, its workers, their query
    processes); one that exits while being read counts for nothing."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def stop_process_group(process: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    """SIGTERM to the process group a test started (server and its workers), SIGKILL if it lingers; bounded."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def running_server(args: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """``ceopgraph serve`` with ``args`` on a free loopback port, stopped (SIGTERM, then SIGKILL) afterwards."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "ceopgraph.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_healthy(url, process, log)
        yield LiveServer(url, process.pid, log)
    finally:
        stop_process_group(process)
