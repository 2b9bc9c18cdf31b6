"""Queries per second and latency of ``ceopgraph serve`` against Oxigraph server, side by side.

Not a test: `make bench` runs it. Both servers run on loopback with the same TriG dump; Oxigraph as
``oxigraph serve-read-only --union-default-graph`` (PyPI ``oxigraph``), ours as ``ceopgraph serve``
twice: as deployed (answers cached per dataset version) and with the answer cache off (every
request runs the query in a worker process). Load comes from ``wrk`` (keep-alive connections), each
run bounded in time. Prints throughput and latency (median, p99) per query class and the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = "application/sparql-results+json"
PREFIXES = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX prov: <http://www.w3.org/ns/prov#> "
    "PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX qb: <http://purl.org/linked-data/cube#> "
    "PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#> "
)
QUERIES = {
    "lookup": "SELECT ?p ?o WHERE { <https://w3id.org/ceopgraph/id/quotation/past-year> ?p ?o }",
    "join": PREFIXES + "SELECT ?label ?value ?unit WHERE { ?obs a qb:Observation ; rdfs:label ?label ; "
    "sdmx-measure:obsValue ?value ; <http://purl.org/linked-data/sdmx/2009/attribute#unitMeasure> ?unit }",
    "aggregate": "SELECT ?g (COUNT(*) AS ?n) (COUNT(DISTINCT ?p) AS ?props) WHERE { GRAPH ?g { ?s ?p ?o } } "
    "GROUP BY ?g ORDER BY DESC(?n)",
    "path": PREFIXES
    + "SELECT ?thing ?exact WHERE { ?thing (prov:wasDerivedFrom|prov:wasQuotedFrom)/oa:hasSelector ?sel . "
    "?sel oa:exact ?exact }",
}


@dataclass(frozen=True)
class Run:
    requests_per_s: float
    median_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}: {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"server not up after {seconds} s: {url}")


@contextmanager
def server(
    command: list[str], probe: str, env: dict[str, str] | None = None, seconds: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        wait_for(probe, process, seconds)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: float, connections: int) -> Run:
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-H", f"Accept: {ACCEPT}", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    median = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Run(
        rate,
        _ms(*median.groups()),  # type: ignore[union-attr]
        _ms(*p99.groups()),  # type: ignore[union-attr]
        int(errors.group(1)) if errors else 0,
    )


def check_same_answer(ours: str, theirs: str, query: str) -> None:
    """Both servers must give the same number of solutions, or the comparison means nothing."""
    counts = []
    for base in (ours, theirs):
        request = urllib.request.Request(base + "?query=" + urllib.parse.quote(query), headers={"Accept": ACCEPT})
        with urllib.request.urlopen(request, timeout=10) as answer:
            counts.append(answer.read().count(b'"type":'))
    if counts[0] != counts[1] or counts[0] == 0:
        raise SystemExit(f"answers differ ({counts}) for {query}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", default=str(ROOT / "dist"), help="folder holding ceopgraph.trig")
    parser.add_argument("--seconds", type=float, default=3.0, help="load per query class and server (default 3)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="ceopgraph serve --workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="ceopgraph serve --threads (default 4)")
    args = parser.parse_args()

    trig = Path(args.dist) / "ceopgraph.trig"
    oxigraph = Path(sys.executable).with_name("oxigraph")
    if not trig.is_file() or not oxigraph.is_file() or shutil.which("wrk") is None:
        raise SystemExit("needs the built dump (make build), the oxigraph command (pip extra) and wrk (make bench)")

    results: dict[str, dict[str, Run]] = {}
    with tempfile.TemporaryDirectory(prefix="ceopgraph-bench-") as scratch:
        location = Path(scratch) / "oxigraph"
        subprocess.run([str(oxigraph), "load", "--location", str(location), "--file", str(trig)], check=True,
                       capture_output=True)  # fmt: skip
        ox_port, our_port, raw_port = free_port(), free_port(), free_port()
        theirs = f"http://127.0.0.1:{ox_port}/query"
        ours = f"http://127.0.0.1:{our_port}/sparql"
        raw = f"http://127.0.0.1:{raw_port}/sparql"
        serve = [sys.executable, "-m", "ceopgraph.cli", "serve", "--host", "127.0.0.1", "--dist", args.dist]
        serve += ["--workers", str(args.workers), "--threads", str(args.threads)]
        ox_command = [str(oxigraph), "serve-read-only", "--location", str(location)]
        ox_command += ["--bind", f"127.0.0.1:{ox_port}", "--union-default-graph"]
        with (
            server(ox_command, theirs + "?query=ASK%7B%7D"),
            server([*serve, "--port", str(our_port)], ours.removesuffix("sparql") + "healthz"),
            server([*serve, "--port", str(raw_port)], raw.removesuffix("sparql") + "healthz",
                   {"CEOPGRAPH_ANSWER_CACHE_MB": "0"}),
        ):  # fmt: skip
            for name, query in QUERIES.items():
                check_same_answer(ours, theirs, query)
                encoded = "?query=" + urllib.parse.quote(query)
                results[name] = {
                    label: wrk(base + encoded, args.seconds, args.connections)
                    for label, base in (("oxigraph", theirs), ("ceopgraph", ours), ("uncached", raw))
                }

    print(f"\n{args.connections} keep-alive connections, {args.seconds:g} s per run, loopback, {os.cpu_count()} CPUs")
    print(f"ceopgraph serve --workers {args.workers} --threads {args.threads}; oxigraph serve-read-only\n")
    header = f"{'class':<10} {'server':<22} {'req/s':>9} {'median ms':>10} {'p99 ms':>8} {'non-2xx':>8} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for name, runs in results.items():
        base_rate = runs["oxigraph"].requests_per_s
        for label, run in runs.items():
            shown = {"oxigraph": "oxigraph", "ceopgraph": "ceopgraph (cached)", "uncached": "ceopgraph (no cache)"}
            ratio = run.requests_per_s / base_rate if base_rate else 0.0
            print(
                f"{name:<10} {shown[label]:<22} {run.requests_per_s:>9.0f} {run.median_ms:>10.2f} "
                f"{run.p99_ms:>8.2f} {run.errors:>8} {ratio:>6.2f}x"
            )
    worst = min(r["ceopgraph"].requests_per_s / r["oxigraph"].requests_per_s for r in results.values())
    print(f"\nlowest ratio, as deployed: {worst:.2f}x of Oxigraph server (target 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
