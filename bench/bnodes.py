"""Blank-node drafts: what the worst shapes of blank nodes, up to the 4 MiB submission limit, cost.

``python bench/bnodes.py`` prints the table; ``--write`` puts it in bench/results.md (its own section). Each draft is
release 1 (the built dataset) plus one shape of blank nodes, all linked to the CEOP organisation page, sized so
its N-Quads stay under 4 MiB: identical twins (``_:b rdfs:seeAlso <ceop>``, rdflib's bomb), one chain, one ring
of blank nodes linked both ways and to nothing else (all alike until one is picked), identical three-deep trees,
and 3-cycles on a blank hub (refused). Columns: labelling the content (what a draft's preparation adds), the diff
with release 1 (both in the worker), and the page of the organisation rendered from a store loaded from the
labelled dump (what a request costs: Turtle and HTML, through the Flask test client, no cache; a page of more
than 1,000 statements is cut there, its 1,000 chosen by a query process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rdflib import BNode, Dataset, URIRef
from rdflib.namespace import RDFS

from ceopgraph import rdfio
from ceopgraph.bnodes import IndistinguishableBlankNodes, relabel_dataset
from ceopgraph.build import build_dataset, write_dumps
from ceopgraph.config import load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION, FORMATS_BY_NAME
from ceopgraph.releases.content import content_of, diff
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app
from scale import ROOT, Results, log, splice

LIMIT = 4 * 1024 * 1024
TITLE = "Blank-node drafts up to 4 MiB"
REFUSED = "150 3-cycles on a hub"
Shape = Callable[[int], list[tuple[object, object, object]]]


def shapes(ceop: URIRef) -> dict[str, Shape]:
    def twins(n: int) -> list[tuple[object, object, object]]:
        return [(BNode(), RDFS.seeAlso, ceop) for _ in range(n)]

    def chain(n: int) -> list[tuple[object, object, object]]:
        nodes = [BNode() for _ in range(n)]
        return [(ceop, RDFS.seeAlso, nodes[0])] + [(nodes[i], RDFS.seeAlso, nodes[i + 1]) for i in range(n - 1)]

    def ring(n: int) -> list[tuple[object, object, object]]:
        nodes = [BNode() for _ in range(n)]
        found: list[tuple[object, object, object]] = []
        for i in range(n):
            found += [(nodes[i], RDFS.seeAlso, nodes[(i + 1) % n]), (nodes[(i + 1) % n], RDFS.seeAlso, nodes[i])]
        return found

    def trees(n: int) -> list[tuple[object, object, object]]:
        found: list[tuple[object, object, object]] = []
        for _ in range(n // 3):
            above: object = ceop
            for _ in range(3):
                node = BNode()
                found.append((above, RDFS.seeAlso, node))
                above = node
        return found

    def hub(_: int) -> list[tuple[object, object, object]]:  # a fixed size: refused whatever its size
        centre = BNode()
        found: list[tuple[object, object, object]] = [(ceop, RDFS.seeAlso, centre)]
        for _ in range(150):
            a, b, c = BNode(), BNode(), BNode()
            found += [(a, RDFS.seeAlso, b), (b, RDFS.seeAlso, c), (c, RDFS.seeAlso, a), (centre, RDFS.seeAlso, a)]
        return found

    return {"twins": twins, "chain": chain, "ring": ring, "trees": trees, REFUSED: hub}


def draft(release: Dataset, base: str, triples: list[tuple[object, object, object]]) -> Dataset:
    made = Dataset()
    for s, p, o, g in release.quads():
        made.graph(g).add((s, p, o))
    figures = made.graph(URIRef(base + "data/graph/figures"))
    for triple in triples:
        figures.add(triple)  # type: ignore[arg-type]
    return made


def sized(release: Dataset, base: str, shape: Shape) -> Dataset:
    """The largest draft of this shape (doubling, then halving back) whose N-Quads fit in the limit."""
    n, best = 1_000, None
    while True:
        made = draft(release, base, shape(n))
        data = rdfio.serialise(made, FORMATS_BY_NAME["nquads"])
        if len(data) > LIMIT:
            break
        best = made
        n *= 2
    low, high = n // 2, n
    while high - low > max(1_000, low // 20):
        middle = (low + high) // 2
        made = draft(release, base, shape(middle))
        data = rdfio.serialise(made, FORMATS_BY_NAME["nquads"])
        if len(data) > LIMIT:
            high = middle
        else:
            best, low = made, middle
    assert best is not None
    return best


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def measure(name: str, made: Dataset, release: Dataset, base: str) -> list[str]:
    """One row: sizes, labelling, the diff with release 1, the organisation's page as Turtle and HTML."""
    data = rdfio.serialise(made, FORMATS_BY_NAME["nquads"])
    blank = len({t for q in made.quads() for t in q[:3] if isinstance(t, BNode)})
    log(f"{name}: {len(data):,} bytes, {blank:,} blank nodes")
    started = time.perf_counter()
    try:
        labelled = relabel_dataset(made)
    except IndistinguishableBlankNodes as exc:
        refused = f"{time.perf_counter() - started:.2f} (refused: {exc.count} tied)"
        return [name, f"{len(data):,}", f"{blank:,}", refused, "-", "-", "-"]
    label_s = time.perf_counter() - started
    diff_s, _ = timed(lambda: diff(release, labelled, base, 1, base + "drafts/x/diff"))
    with tempfile.TemporaryDirectory() as folder:
        write_dumps(labelled, Path(folder), base, [FORMATS_BY_EXTENSION["trig"]])
        store = EmbeddedStore.from_files([Path(folder) / "ceopgraph.trig"], [FORMATS_BY_EXTENSION["trig"]], 1)
        app = create_app(load_settings(environ={}, root=ROOT, dist_dir=Path(folder)), store, owns_store=True)
        try:
            store.start_query_pool(wait=True)  # a server starts its query processes once, not per page
            client = app.test_client()
            page = "/doc/organisation/ceop"
            turtle_s, _ = timed(lambda: client.get(page, headers={"Accept": "text/turtle"}))
            html_s, _ = timed(lambda: client.get(page, headers={"Accept": "text/html"}))
        finally:
            close_app(app)
    times = [label_s, diff_s, turtle_s, html_s]
    return [name, f"{len(data):,}", f"{blank:,}", *(f"{t:.2f}" for t in times)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="put the table in bench/results.md")
    args = parser.parse_args()
    settings = load_settings(environ={}, root=ROOT)
    base = settings.base_uri
    release = content_of(build_dataset(settings), base)
    ceop = URIRef(base + "id/organisation/ceop")
    rows = []
    for name, shape in shapes(ceop).items():
        made = draft(release, base, shape(0)) if name == REFUSED else sized(release, base, shape)
        rows.append(measure(name, made, release, base))
    out = Results()
    out.section(TITLE)
    out.table(["shape", "N-Quads bytes", "blank nodes", "label s", "diff s", "page Turtle s", "page HTML s"], rows)
    if args.write:
        results = ROOT / "bench" / "results.md"
        if f"## {TITLE}" not in results.read_text():
            results.write_text(results.read_text().rstrip() + "\n\n## " + TITLE + "\n")
        splice(results, out, TITLE, " ".join((__doc__ or "").split("\n\n", 1)[1].split()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
