"""Varied traffic: every request a different query, side by side with Oxigraph server and rdflib-endpoint.

Part of `make bench` (``bench/scale.py`` calls ``varied_section``). Real users do not resend one query: each
request here is a new query of its class, built from the data itself (a random subject, dataset, category or
threshold) with a seeded generator, so every server gets the same queries in the same order and no answer
cache carries any of them. ``wrk`` sends them through a Lua script that walks a file of request paths, one
per request; the count generated is far more than a run can send, so none repeats within a run.

The classes (the issue's and the earlier mix's): a lookup from a subject, a 2-hop join from it, a filtered
aggregate over one dataset, a property path over one dataset, and CONSTRUCT and DESCRIBE of a subject.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import generate
from sparql_bench import Run, _ms

BASE = generate.DEFAULT_BASE
QB = "http://purl.org/linked-data/cube#"
PROV = "http://www.w3.org/ns/prov#"
OA = "http://www.w3.org/ns/oa#"
MEASURE = "http://purl.org/linked-data/sdmx/2009/measure#obsValue"
STATISTIC = BASE + "def/dimension/statistic"
SEED = 2026
# Queries generated per class and server: more than the fastest server answers in a run.
PER_CLASS = 60_000
WARM_UP = 20_000  # of another seed, sent for 2 s before each measured run
FIRST_WARM_UP_S = 10.0  # and for 10 s more before a server's first run (at 1M its first seconds are slow)
SELECT_RESULTS = "application/sparql-results+json"
GRAPH_RESULTS = "text/turtle"

LUA = """-- One request per line of the file named by PATHS, in order: every request a different query.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
local accept = os.getenv("ACCEPT")
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Accept"] = accept})
end
"""


@dataclass(frozen=True)
class Vocabulary:
    """What the queries are made of, read from the generated data."""

    subjects: list[str]
    datasets: list[str]
    statistics: list[str]
    observations: list[str]

    @classmethod
    def of(cls, data: Path) -> Vocabulary:
        subjects: set[str] = set()
        datasets: set[str] = set()
        statistics: set[str] = set()
        observations: set[str] = set()
        with data.open(encoding="utf-8") as lines:
            for line in lines:
                subject, predicate, rest = line.split(" ", 2)
                if not subject.startswith("<"):
                    continue
                subjects.add(subject[1:-1])
                if predicate == f"<{QB}dataSet>":
                    datasets.add(rest.split(" ", 1)[0][1:-1])
                    observations.add(subject[1:-1])
                elif predicate == f"<{STATISTIC}>":
                    statistics.add(rest.split(" ", 1)[0][1:-1])
        return cls(sorted(subjects), sorted(datasets), sorted(statistics), sorted(observations))


def _lookup(v: Vocabulary, rng: random.Random, n: int) -> str:
    return f"SELECT ?p ?o WHERE {{ <{rng.choice(v.subjects)}> ?p ?o }} LIMIT {100_000 + n}"


def _join(v: Vocabulary, rng: random.Random, n: int) -> str:
    return f"SELECT ?p ?o ?q ?r WHERE {{ <{rng.choice(v.subjects)}> ?p ?o . ?o ?q ?r }} LIMIT {100_000 + n}"


def _aggregate(v: Vocabulary, rng: random.Random, n: int) -> str:
    dataset, statistic, threshold = rng.choice(v.datasets), rng.choice(v.statistics), rng.randrange(0, 2000)
    return (
        "SELECT (COUNT(*) AS ?n) (AVG(?value) AS ?mean) (MAX(?value) AS ?top) "
        f"WHERE {{ ?obs <{QB}dataSet> <{dataset}> ; <{STATISTIC}> <{statistic}> ; <{MEASURE}> ?value "
        f"FILTER(?value > {threshold}) }} LIMIT {100_000 + n}"
    )


def _path(v: Vocabulary, rng: random.Random, n: int) -> str:
    return (
        f"SELECT ?obs ?exact WHERE {{ ?obs <{QB}dataSet> <{rng.choice(v.datasets)}> ; "
        f"<{PROV}wasDerivedFrom>/<{OA}hasSelector> ?sel . ?sel <{OA}exact> ?exact }} LIMIT {100_000 + n}"
    )


def _construct(v: Vocabulary, rng: random.Random, n: int) -> str:
    subject = rng.choice(v.subjects)
    return f"CONSTRUCT {{ <{subject}> ?p ?o }} WHERE {{ <{subject}> ?p ?o }} LIMIT {100_000 + n}"


def _describe(v: Vocabulary, rng: random.Random, n: int) -> str:
    return f"DESCRIBE <{rng.choice(v.subjects)}> LIMIT {100_000 + n}"


CLASSES: dict[str, tuple[Callable[[Vocabulary, random.Random, int], str], str]] = {
    "lookup": (_lookup, SELECT_RESULTS),
    "join": (_join, SELECT_RESULTS),
    "aggregate": (_aggregate, SELECT_RESULTS),
    "path": (_path, SELECT_RESULTS),
    "construct": (_construct, GRAPH_RESULTS),
    "describe": (_describe, GRAPH_RESULTS),
}


def queries(vocabulary: Vocabulary, klass: str, count: int = PER_CLASS, first: int = 0) -> list[str]:
    """``count`` different queries of ``klass``, the same every time (seeded by the class's name and
    ``first``); each ends with its own ``LIMIT`` (far above any answer's size), from ``first`` on, so
    lists with different ``first`` have no query in common."""
    make = CLASSES[klass][0]
    rng = random.Random(f"{SEED}-{klass}-{first}")
    return [make(vocabulary, rng, first + n) for n in range(count)]


def write_paths(endpoint_path: str, texts: list[str], out: Path) -> Path:
    with out.open("w", encoding="ascii") as lines:
        for text in texts:
            lines.write(f"{endpoint_path}?query={urllib.parse.quote(text)}\n")
    return out


def wrk_paths(origin: str, paths: Path, accept: str, seconds: float, connections: int, lua: Path) -> Run:
    """``wrk`` at ``origin`` through ``lua``, one line of ``paths`` per request."""
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(lua), origin],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
        env={**os.environ, "PATHS": str(paths), "ACCEPT": accept},
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done).group(1))  # type: ignore[union-attr]
    median = re.search(r"50%\s+([\d.]+)(us|ms|s)", done)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", done)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done)
    return Run(rate, _ms(*median.groups()), _ms(*p99.groups()), int(errors.group(1)) if errors else 0)  # type: ignore[union-attr]


def answer_size(origin: str, path_line: str, accept: str) -> int:
    """The length of one answer: a check that every server answers the first query alike, not with an error."""
    request = urllib.request.Request(origin + path_line, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return len(answer.read())


@dataclass(frozen=True)
class Served:
    label: str
    origin: str  # scheme, host and port
    endpoint_path: str  # where it answers SPARQL


def run_classes(
    servers: list[Served], vocabulary: Vocabulary, scratch: Path, seconds: float, connections: int
) -> Iterator[tuple[str, Served, Run]]:
    lua = scratch / "varied.lua"
    lua.write_text(LUA)
    for index, (klass, (_, accept)) in enumerate(CLASSES.items()):
        texts = queries(vocabulary, klass)
        warm_up = queries(vocabulary, klass, WARM_UP, first=PER_CLASS)
        for served in servers:
            if index == 0:  # a fresh server: its query processes first copy the shared pages the engine writes to
                others = write_paths(served.endpoint_path, warm_up, scratch / f"warm-up-{klass}.txt")
                wrk_paths(served.origin, others, accept, FIRST_WARM_UP_S, connections, lua)
            paths = write_paths(served.endpoint_path, texts, scratch / f"paths-{klass}.txt")
            answer_size(served.origin, paths.read_text().split("\n", 1)[0], accept)
            # Other queries of the class first, the same for every server: processes started on first use
            # (query checkers), caches of the engine and of the system, all warm before the measured run.
            others = write_paths(served.endpoint_path, warm_up, scratch / f"warm-up-{klass}.txt")
            wrk_paths(served.origin, others, accept, 2.0, connections, lua)
            yield klass, served, wrk_paths(served.origin, paths, accept, seconds, connections, lua)


def pages(vocabulary: Vocabulary, count: int = 10_000) -> list[str]:
    """``count`` different observation pages (their ``/data/...`` paths), in a seeded order."""
    rng = random.Random(f"{SEED}-pages")
    chosen = rng.sample(vocabulary.observations, min(count, len(vocabulary.observations)))
    prefix = urllib.parse.urlsplit(BASE).path.rstrip("/")  # the base's own path: pages are served from the root
    return [urllib.parse.urlsplit(iri).path.removeprefix(prefix) for iri in chosen]


def distinct_pages(origin: str, vocabulary: Vocabulary, scratch: Path, seconds: float, connections: int) -> Run:
    lua = scratch / "varied.lua"
    lua.write_text(LUA)
    paths = scratch / "pages.txt"
    paths.write_text("\n".join(pages(vocabulary)) + "\n")
    return wrk_paths(origin, paths, "text/html", seconds, connections, lua)
