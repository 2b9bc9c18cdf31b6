"""Where the time of one uncached query goes: the limits each layer sets, measured alone on these cores.

Part of `make bench` (``bench/scale.py`` calls ``limits_section``); ``python bench/limits.py`` measures only this
and replaces its section of bench/results.md. Each row is one layer alone, so that the rates of the varied-traffic
section can be read against what their layers allow:

1. an empty WSGI app, and a Flask app with one view, under each server (wrk, 8 connections): HTTP alone;
2. the engine alone, in process, on the same data in memory and on disk, per query class (``bench/varied.py``);
3. a round trip to a killable query process, fresh (each opening the on-disk copy) and forked from a holder of
   the data in memory, for a job that does nothing and for a lookup;
4. the query check: rdflib's full parse, and the shape lookup that replaces it for a query of a known shape.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pyoxigraph as ox

import generate
import varied
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.queryshape import shape_of
from ceopgraph.sparqltext import vet_query
from ceopgraph.store.disk import DiskStore, sources_of
from ceopgraph.store.embedded import QueryLimits, QueryPool
from ceopgraph.store.jobs import QueryJob
from scale import BIN, ROOT, Results, fmt_run, log, splice
from sparql_bench import free_port, server, wrk

TITLE = "Limits: one layer at a time"
APPS = """
def empty(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]

from flask import Flask
flask_app = Flask(__name__)

@flask_app.get("/sparql")
def hello():
    return "ok"
"""
SERVERS: dict[str, Callable[[str, int], list[str]]] = {
    "granian": lambda app, port: [str(BIN / "granian"), "--interface", "wsgi", "--workers", "2",
                                  "--blocking-threads", "32", "--host", "127.0.0.1", "--port", str(port), app],
    "gunicorn": lambda app, port: [str(BIN / "gunicorn"), "-w", "2", "--threads", "32", "-k", "gthread",
                                   "-b", f"127.0.0.1:{port}", app],
}  # fmt: skip


def per_call_ms(run: Callable[[], object], seconds: float = 1.0) -> float:
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run()
        count += 1
    return (time.perf_counter() - started) / count * 1000


def http_rows(scratch: Path, seconds: float, connections: int) -> list[list[str]]:
    (scratch / "limit_apps.py").write_text(APPS)
    rows = []
    for label, command in SERVERS.items():
        for app in ("empty", "flask_app"):
            port = free_port()
            argv = command(f"limit_apps:{app}", port)
            env = {"PYTHONPATH": str(scratch)}
            with server(argv, f"http://127.0.0.1:{port}/sparql", env):
                run = wrk(f"http://127.0.0.1:{port}/sparql?query=x", seconds, connections)
            rows.append([f"{label}, {'an empty WSGI app' if app == 'empty' else 'Flask, one view'}", *fmt_run(run)])
    return rows


def engine_rows(data: Path, vocabulary: varied.Vocabulary) -> list[list[str]]:
    memory = ox.Store()
    memory.bulk_load(path=str(data), format=ox.RdfFormat.N_QUADS)
    with tempfile.TemporaryDirectory(prefix="ceopgraph-limits-") as folder:
        subprocess.run([str(BIN / "oxigraph"), "load", "--location", folder, "--file", str(data)],
                       check=True, capture_output=True)  # fmt: skip
        disk = ox.Store.read_only(folder)
        rows = []
        for klass in varied.CLASSES:
            texts = itertools.cycle(varied.queries(vocabulary, klass))
            times = []
            for store in (memory, disk):

                def once(store: ox.Store = store, texts: Iterator[str] = texts) -> None:
                    result = store.query(next(texts), use_default_graph_as_union=True)
                    if isinstance(result, ox.QueryTriples):
                        ox.serialize(result, format=ox.RdfFormat.TURTLE)
                    else:
                        result.serialize(format=ox.QueryResultsFormat.JSON)

                times.append(per_call_ms(once))
            rows.append([klass, f"{times[0]:.3f}", f"{times[1]:.3f}", f"{times[1] / times[0]:.1f}x"])
        return rows


def round_trip_rows(data: Path, vocabulary: varied.Vocabulary) -> list[list[str]]:
    rows = []
    disk = DiskStore.build([data], [FORMATS_BY_EXTENSION["nq"]])
    try:
        for label, source, in_memory in (("fresh, on-disk copy", disk, False), ("forked, in memory", None, True)):
            setup = disk if source is not None else sources_of([data], [FORMATS_BY_EXTENSION["nq"]])
            pool = QueryPool(setup, 2, QueryLimits(in_memory=in_memory))
            pool.wait_ready()
            try:
                lookups = itertools.cycle(varied.queries(vocabulary, "lookup"))
                nothing = per_call_ms(lambda pool=pool: pool.run(QueryJob("ASK {}", "ASK", "json")))
                lookup = per_call_ms(
                    lambda pool=pool, lookups=lookups: pool.run(QueryJob(next(lookups), "SELECT", "json"))
                )
                rows.append([label, f"{nothing:.3f}", f"{lookup:.3f}"])
            finally:
                pool.close()
    finally:
        disk.remove()
    return rows


def check_rows(vocabulary: varied.Vocabulary) -> list[list[str]]:
    rows = []
    for klass in varied.CLASSES:
        texts = itertools.cycle(varied.queries(vocabulary, klass))
        parse = per_call_ms(lambda texts=texts: vet_query(next(texts)))
        shape = per_call_ms(lambda texts=texts: shape_of(next(texts)))
        rows.append([klass, f"{parse:.3f}", f"{shape:.3f}"])
    return rows


def limits_section(out: Results, data: Path, triples: int, scratch: Path, seconds: float, connections: int) -> None:
    out.section(
        TITLE,
        "Each layer alone, on the same cores. HTTP: wrk, "
        f"{connections} keep-alive connections, {seconds:g} s, 2 server workers x 32 threads. The rest in one process, "
        f"at {triples:,} triples, each call a different query of its class (bench/varied.py), ms per call.",
    )
    vocabulary = varied.Vocabulary.of(data)  # read once: what every query below is made of
    out.table(["HTTP alone", "req/s", "median ms", "p99 ms", "non-2xx"], http_rows(scratch, seconds, connections))
    log("limits: HTTP done")
    out.text("")
    out.table(["engine alone, per query", "in memory ms", "on disk ms", "disk / memory"], engine_rows(data, vocabulary))
    log("limits: engine done")
    out.text("")
    trips = round_trip_rows(data, vocabulary)
    out.table(["round trip to a query process", "a job that does nothing, ms", "a lookup, ms"], trips)
    log("limits: round trip done")
    out.text("")
    checks = check_rows(vocabulary)
    out.table(["the query check, per query", "full parse (rdflib) ms", "shape (known shape) ms"], checks)
    log("limits: check done")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args()
    out = Results()
    with tempfile.TemporaryDirectory(prefix="ceopgraph-limits-") as scratch_name:
        scratch = Path(scratch_name)
        data = scratch / "synthetic-100k.nq"
        triples = generate.generate(generate.observations_for(100_000), data)
        limits_section(out, data, triples, scratch, args.seconds, args.connections)
    note = (
        f"Measured {datetime.date.today().isoformat()} by `bench/limits.py` on {os.cpu_count()} CPU cores "
        "(a shared machine); the other sections are from the date above."
    )
    path = Path(args.out)
    if f"## {TITLE}" not in path.read_text():  # first time: put it before the lookups by tier
        before = "\n## Lookups from 10k to 1M triples"
        path.write_text(path.read_text().replace(before, f"\n## {TITLE}\n{before}"))
    splice(path, out, TITLE, note)
    log(f"updated the limits section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
