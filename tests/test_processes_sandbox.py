"""``ceopgraph.processes.sandbox``: a confined process has no network and a capped heap; without seccomp, nothing runs.

The system without seccomp is made by putting a ``pyseccomp`` that cannot load its library first on
the path of the child process: what a machine without libseccomp gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ceopgraph.processes.sandbox import NOT_CONFINED_EXIT, check_available, worker_command

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def without_seccomp(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``pyseccomp`` fails to load, as it does where libseccomp is missing."""
    (tmp_path / "pyseccomp.py").write_text("raise OSError('libseccomp.so.2: cannot open shared object file')\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}


def confined(code: str, memory_mb: int = 256, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    program = f"from ceopgraph.processes.sandbox import confine; confine({memory_mb})\n{code}"
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=env, cwd=ROOT, check=False
    )


def test_this_system_can_confine_a_process() -> None:
    check_available()


@pytest.mark.parametrize(
    "attempt",
    [
        "socket.socket(socket.AF_INET, socket.SOCK_STREAM)",
        "socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)",
        "socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)",
        "socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
        "socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect('/run/nscd/socket')",
    ],
)
def test_a_confined_process_cannot_open_a_way_out(attempt: str) -> None:
    done = confined(f"import socket\ntry:\n    {attempt}\nexcept PermissionError:\n    print('denied')\n")
    assert done.stdout.strip() == "denied", done.stderr


@pytest.mark.parametrize(
    "attempt",
    [
        "os.pidfd_open(os.getppid())",  # then pidfd_getfd: a copy of any socket the server holds
        "ctypes.CDLL(None, use_errno=True).ptrace(16, os.getppid(), 0, 0) == 0 or _fail()",  # PTRACE_ATTACH
    ],
)
def test_a_confined_process_cannot_reach_into_another(attempt: str) -> None:
    code = (
        "import ctypes, os\n"
        "def _fail():\n    raise PermissionError(ctypes.get_errno(), 'refused')\n"
        f"try:\n    {attempt}\n    print('allowed')\nexcept PermissionError:\n    print('denied')\n"
    )
    done = confined(code)
    assert done.stdout.strip() == "denied", done.stderr


def test_what_a_confined_process_starts_is_confined_too() -> None:
    child = "import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM)"
    done = confined(f"import subprocess, sys\nsys.exit(subprocess.run([sys.executable, '-c', {child!r}]).returncode)")
    assert done.returncode == 1 and "PermissionError" in done.stderr


def test_a_confined_process_keeps_its_socket_pair() -> None:
    done = confined("import socket\na, b = socket.socketpair()\na.sendall(b'x')\nprint(b.recv(1).decode())")
    assert done.stdout.strip() == "x", done.stderr


def test_the_heap_cap_holds() -> None:
    done = confined("try:\n    bytearray(512 * 1024 * 1024)\nexcept MemoryError:\n    print('capped')\n", memory_mb=256)
    assert done.stdout.strip() == "capped", done.stderr


def test_without_seccomp_a_worker_does_not_start_and_says_why(without_seccomp: dict[str, str]) -> None:
    command = worker_command("ceopgraph.store.queryproc:worker_main", 256)
    done = subprocess.run(
        [sys.executable, "-c", command, "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=without_seccomp,
        check=False,
    )
    assert done.returncode == NOT_CONFINED_EXIT
    assert "cannot confine a worker" in done.stderr and "libseccomp" in done.stderr


def test_without_seccomp_serve_refuses_to_start(without_seccomp: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ceopgraph.cli", "serve", "--port", "9", "--dist", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=without_seccomp,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1
    assert "cannot serve: query and validation processes cannot be confined here" in done.stderr
    assert "libseccomp" in done.stderr
