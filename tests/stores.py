"""Real SPARQL 1.1 stores on loopback for the remote-backend and publish tests, stopped by their PID.

Two independent implementations prove the interoperability: Oxigraph server (PyPI ``oxigraph``, always
available in the test environment) and Virtuoso Open Source (Debian's ``virtuoso-opensource``, installed by
``make system-deps``). Each store runs on scratch files and free ports; every wait is bounded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .live import free_port, stop_process_group

OXIGRAPH = Path(sys.executable).with_name("oxigraph")
VIRTUOSO = shutil.which("virtuoso-t")
VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
# A fresh Virtuoso database has this account; tests pass the password through an environment variable,
# as ``ceopgraph publish --password-env`` expects.
VIRTUOSO_USER = "dba"
VIRTUOSO_PASSWORD = "dba"  # the documented default of a throwaway test database


@dataclass
class StoreProcess:
    """One store process: started, stopped and restarted on the same port and files."""

    name: str
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    start_timeout_s: float = 60.0

    # Endpoints, set by subclasses.
    @property
    def query_url(self) -> str:
        raise NotImplementedError

    @property
    def update_url(self) -> str:
        raise NotImplementedError

    @property
    def graph_store_url(self) -> str:
        raise NotImplementedError

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.out"

    def command(self) -> list[str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write whatever the store needs before it starts (idempotent: restarts reuse the files)."""

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.command(), stdout=sink, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
            )
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout_s
        probe = self.query_url + "?" + urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                request = urllib.request.Request(probe, headers={"Accept": "application/sparql-results+json"})
                with urllib.request.urlopen(request, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not answering after {self.start_timeout_s} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        """SIGTERM to the process group we started, SIGKILL if it lingers; bounded."""
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process, grace_s=15)


@dataclass
class OxigraphServer(StoreProcess):
    """``oxigraph serve`` (read-write): ``/query``, ``/update`` and the Graph Store Protocol at ``/store``."""

    union_default_graph: bool = True

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + "/query"

    @property
    def update_url(self) -> str:
        return self.base + "/update"

    @property
    def graph_store_url(self) -> str:
        return self.base + "/store"

    def command(self) -> list[str]:
        args = [str(OXIGRAPH), "serve", "--location", str(self.workdir / "db"), "--bind", f"127.0.0.1:{self.port}"]
        return [*args, "--union-default-graph"] if self.union_default_graph else args


@dataclass
class VirtuosoServer(StoreProcess):
    """Virtuoso Open Source on scratch files: queries at ``/sparql``, writes (digest auth, ``dba``) at
    ``/sparql-auth`` and the Graph Store Protocol at ``/sparql-graph-crud-auth``."""

    sql_port: int = field(default_factory=free_port)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def query_url(self) -> str:
        return self.base + "/sparql"

    @property
    def update_url(self) -> str:
        return self.base + "/sparql-auth"

    @property
    def graph_store_url(self) -> str:
        return self.base + "/sparql-graph-crud-auth"

    @property
    def ini(self) -> Path:
        return self.workdir / "virtuoso.ini"

    def prepare(self) -> None:
        """Debian's configuration with every file moved to the scratch folder and both ports free ones."""
        if self.ini.exists():
            return
        db = self.workdir / "db"
        db.mkdir(parents=True, exist_ok=True)
        section = ""
        lines = []
        for line in VIRTUOSO_INI.read_text().splitlines():
            header = re.match(r"\s*\[(.+)\]", line)
            if header:
                section = header.group(1)
            key = line.split("=", 1)[0].strip() if "=" in line and not line.lstrip().startswith(";") else ""
            if key and "/var/lib/virtuoso-opensource-7/db/" in line:
                line = f"{key} = {db / line.rsplit('/', 1)[-1].strip()}"
            elif key == "ServerPort" and section == "Parameters":
                line = f"ServerPort = 127.0.0.1:{self.sql_port}"
            elif key == "ServerPort" and section == "HTTPServer":
                line = f"ServerPort = 127.0.0.1:{self.port}"
            elif key.startswith("Load") and section == "Plugins":
                line = ";" + line  # the wiki plugins are not needed and only slow the start
            lines.append(line)
        self.ini.write_text("\n".join(lines) + "\n")

    def command(self) -> list[str]:
        assert VIRTUOSO is not None
        return [VIRTUOSO, "-f", "-c", str(self.ini)]


STORE_KINDS = ("oxigraph", "virtuoso")


def make_store(kind: str, workdir: Path, union_default_graph: bool = True) -> StoreProcess:
    """A stopped store of ``kind``. A missing Virtuoso fails rather than skips: ``make test`` installs it,
    so a skip could only hide a broken install step."""
    if kind == "oxigraph":
        return OxigraphServer("oxigraph", workdir, union_default_graph=union_default_graph)
    if VIRTUOSO is None:
        import pytest

        pytest.fail("virtuoso-t not installed (make system-deps installs Debian's virtuoso-opensource)")
    return VirtuosoServer("virtuoso", workdir)


def publish_args(store: StoreProcess, method: str) -> list[str]:
    """``ceopgraph publish`` arguments writing to ``store`` by ``method`` ("update" or "graph-store")."""
    args = ["publish", "--endpoint", store.query_url, "--timeout", "30"]
    args += (
        ["--graph-store", store.graph_store_url] if method == "graph-store" else ["--update-endpoint", store.update_url]
    )
    if isinstance(store, VirtuosoServer):
        args += ["--user", VIRTUOSO_USER, "--password-env", PASSWORD_ENV]
    return args


PASSWORD_ENV = "CEOPGRAPH_TEST_STORE_PASSWORD"
