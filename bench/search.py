"""Search at scale: building a release's search index and answering searches, on synthetic data.

``python bench/search.py`` prints the section; ``--write`` puts it in bench/results.md ("Search"). For each size
(``--triples``, 100k and 1M by default) ``bench/generate.py`` writes its N-Quads; the documents are extracted
from them as a publish does (``search.documents_of_nquads``, one process), then indexed into a fresh registry
(SQLite FTS5 in a temporary data directory; with ``--postgres``, also PostgreSQL on a server of its own, as the
test suite starts one) in one transaction, as a publish commits it. Each query of ``QUERIES`` is then run
``--repeat`` times through ``Registry.search`` (two statements: the page with the total, and the counts per
type), timed per call; p50 and p99 in milliseconds. The index's size is what it adds to the database
(SQLite: the file's growth; PostgreSQL: its tables and indexes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the suite's PostgreSQL

import generate
from ceopgraph import search
from ceopgraph.compose import open_registry
from ceopgraph.releases.registry import Registry
from scale import ROOT, Results, log, splice

TITLE = "Search"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
# (name, text, type): common and rare words, a prefix, several words, a phrase from an article, a type kept,
# and operators typed as text.
QUERIES: tuple[tuple[str, str, str | None], ...] = (
    ("common word", "children", None),
    ("common word, typed", "children", SKOS_CONCEPT),
    ("prefix", "safeg", None),
    ("two words", "reports received", None),
    ("label of one body", "body 000007", None),
    ("rare word", "streaming", None),
    ("no match", "zanzibarquux", None),
    ("page 5 of a common word", "children", None),
    ("operators as text", 'children" OR NEAR(x) & !y', None),
)


def _pages(name: str) -> str | None:
    return "5" if name.startswith("page 5") else None


@contextmanager
def _postgres() -> Iterator[Callable[[str], str]]:
    from tests.postgres import running_postgres

    with running_postgres() as server:
        yield server.fresh_database


def _size(registry: Registry, folder: Path, backend: str) -> int:
    if backend == "sqlite":
        return sum(p.stat().st_size for p in folder.glob("registry.sqlite3*"))
    found = registry._all(  # type: ignore[attr-defined]  # the bench reads the size the backend's own way
        "SELECT SUM(pg_total_relation_size(c)) FROM unnest(ARRAY['search_docs', 'search_types', 'search_built']) AS c"
    )
    return int(found[0][0])


def measure(triples: int, repeat: int, databases: Callable[[str], str] | None) -> list[list[str]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        nq = Path(folder) / "synthetic.nq"
        made = generate.generate(generate.observations_for(triples), nq)
        log(f"{made:,} triples generated")
        started = time.perf_counter()
        docs = search.documents_of_nquads(nq.read_bytes())
        extracted = time.perf_counter() - started
        log(f"{len(docs):,} documents in {extracted:.1f} s")
        backends = [("sqlite", None)] + ([("postgres", databases(f"bench{triples}"))] if databases else [])
        for backend, url in backends:
            data = Path(folder) / backend
            registry = open_registry(data, time.time, url)
            try:
                before = _size(registry, data, backend)
                started = time.perf_counter()
                registry.index_search(1, docs)
                built = time.perf_counter() - started
                size = _size(registry, data, backend) - before
                log(f"{backend}: indexed in {built:.1f} s, {size / 1e6:.1f} MB")
                for name, text, type_ in QUERIES:
                    query = search.parse_query(text, type_, _pages(name))
                    times, total = [], 0
                    for _ in range(repeat):
                        started = time.perf_counter()
                        total = registry.search(1, query).total
                        times.append((time.perf_counter() - started) * 1000)
                    times.sort()
                    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                    rows.append([
                        f"{made:,}",
                        backend,
                        f"{len(docs):,}",
                        f"{extracted:.1f} + {built:.1f}",
                        f"{size / 1e6:.1f}",
                        name,
                        f"{total:,}",
                        f"{statistics.median(times):.1f}",
                        f"{p99:.1f}",
                    ])  # fmt: skip
                    log(f"{backend} {name}: p50 {rows[-1][-2]} ms, p99 {rows[-1][-1]} ms ({total:,} matches)")
            finally:
                registry.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="put the section in bench/results.md")
    parser.add_argument("--triples", type=int, nargs="+", default=[100_000, 1_000_000], help="sizes (triples)")
    parser.add_argument("--repeat", type=int, default=100, help="runs of each query (default 100)")
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL, on a server of its own")
    args = parser.parse_args()
    rows: list[list[str]] = []
    servers: AbstractContextManager[Callable[[str], str] | None] = _postgres() if args.postgres else nullcontext()
    with servers as databases:
        for triples in args.triples:
            rows += measure(triples, args.repeat, databases)
    out = Results()
    out.section(TITLE)
    out.table(
        [
            "triples",
            "backend",
            "documents",
            "extract + index s",
            "index MB",
            "query",
            "matches",
            "p50 ms",
            "p99 ms",
        ],
        rows,
    )
    if args.write:
        results = ROOT / "bench" / "results.md"
        text = results.read_text()
        if f"## {TITLE}" not in text:
            results.write_text(text.rstrip() + "\n\n## " + TITLE + "\n")
        splice(results, out, TITLE, " ".join((__doc__ or "").split("\n\n", 1)[1].split()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
