"""A PostgreSQL server of the suite's own: Debian's ``postgresql`` binaries, ``initdb`` into a temporary
folder, started on a free loopback port with ``pg_ctl`` and stopped by its PID at the end of the session.

PostgreSQL refuses to run as root: when the suite runs as root, the folder is given to the ``postgres``
user (which Debian's package creates) and the server's commands run as that user (``runuser``). Clients
connect over TCP as ``ceop`` with trust authentication (loopback only); each test that needs a clean
database creates one (``fresh_database``), which costs milliseconds.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from .live import free_port

USER = "ceop"


def bin_folder() -> Path:
    """The newest installed PostgreSQL's programs (``/usr/lib/postgresql/<version>/bin``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps` (Debian's postgresql package)")
    return Path(found[-1])


@dataclass(frozen=True)
class Postgres:
    folder: Path
    port: int
    durable: bool = False  # commits flushed to disk, as a deployment's are (a benchmark's), not the suite's

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self, name: str) -> str:
        """A new, empty database ``name`` (dropped first if a run before left it); its URL."""
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as ``postgres`` when we are root (the server refuses root), else as ourselves."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def pg_ctl(server: Postgres, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_server_user([str(bin_folder() / "pg_ctl"), "-D", str(server.folder / "data"), *args]),
        capture_output=True,
        text=True,
        timeout=60,
    )


def start(server: Postgres) -> None:
    """Start (or start again) the server on its port and socket folder; waits until it accepts connections.
    Without flushes to disk (``fsync=off``: the suite's data is thrown away) unless ``server.durable``."""
    fsync = "on" if server.durable else "off"
    options = f"-p {server.port} -k {server.folder} -c listen_addresses=127.0.0.1 -c fsync={fsync}"
    done = pg_ctl(server, "-w", "-l", str(server.folder / "log"), "-o", options, "start")
    if done.returncode != 0:
        log = (server.folder / "log").read_text(errors="replace") if (server.folder / "log").exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {done.stdout}{done.stderr}\n{log[-2000:]}")


def stop(server: Postgres, wait_s: float = 30) -> None:
    """Stop the server by its PID (``postmaster.pid``): SIGINT is PostgreSQL's fast shutdown (open sessions
    are ended), SIGQUIT past ``wait_s``. By signal, not by ``pg_ctl stop``: a session fixture is stopped
    in whatever test ran last, where starting a process would be refused (``tiers``)."""
    try:
        pid = int((server.folder / "data" / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return  # not running
    os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGQUIT)


@contextmanager
def running_postgres(durable: bool = False) -> Iterator[Postgres]:
    """A PostgreSQL server in a temporary folder for the block, stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="ceopgraph-postgres-"))  # in the system's temporary folder
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
    server = Postgres(folder, free_port(), durable)
    try:
        made = subprocess.run(
            _as_server_user(
                [str(bin_folder() / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", USER, "-E", "UTF8"]
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stdout}{made.stderr}")
        start(server)
        try:
            yield server
        finally:
            stop(server)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
