"""Blank-node drafts: what the worst shapes of blank nodes, up to the 4 MiB upload limit, cost.

``python bench/bnodes.py`` prints the table; ``bench/drafts.py`` puts it in bench/results.md (section "Hostile
drafts"). The drafts are the hostile-draft corpus's blank-node cases (``tests/submissions/drafts.py``): release 1's
TriG dump plus one shape of blank nodes linked to the CEOP organisation page, as large as the upload limit allows:
identical twins (``_:b rdfs:seeAlso <ceop>``, rdflib's bomb), one chain, one ring of blank nodes linked both ways
and to nothing else (all alike until one is picked), identical three-deep trees, and 3-cycles on a blank hub
(refused). Columns, in this process: parsing the upload, labelling the content (what a draft's preparation adds),
the diff with release 1 (all three in the worker when served), and the page of the organisation rendered from a
store loaded from the labelled dump (what a request costs: Turtle and HTML, through the Flask test client, no
cache; a page of more than 1,000 statements is cut there, its 1,000 chosen by a query process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the corpus: tests/submissions/drafts.py

from rdflib import BNode, Dataset
from tests.submissions.drafts import CASES, HostileDraft

from ceopgraph import rdfio
from ceopgraph.bnodes import IndistinguishableBlankNodes, relabel_dataset
from ceopgraph.build import build_dataset, write_dumps
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION, FORMATS_BY_NAME
from ceopgraph.releases.changes import diff
from ceopgraph.releases.content import content_of
from ceopgraph.releases.drafting import draft_graph_name
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app
from scale import ROOT, Results, log

TITLE = "Blank-node drafts up to 4 MiB"
BLANK_NODE_CASES = (
    "4 MiB of identical blank nodes",
    "4 MiB of blank nodes in a chain",
    "a ring of blank nodes of 4 MiB",
    "4 MiB of three-deep trees",
    "150 3-cycles on a blank hub",
)


def release_1(settings: Settings) -> tuple[Dataset, bytes]:
    """Release 1's content, and its TriG dump (what a submitter starts from)."""
    built = build_dataset(settings)
    with tempfile.TemporaryDirectory() as folder:
        write_dumps(built, Path(folder), settings.scheme, [FORMATS_BY_EXTENSION["trig"]])
        dump = (Path(folder) / "ceopgraph.trig").read_bytes()
    return content_of(built, settings.scheme), dump


def timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def measure(case: HostileDraft, dump: bytes, release: Dataset, scheme: UriScheme) -> list[str]:
    """One row: sizes, parsing, labelling, the diff with release 1, the organisation's page as Turtle and HTML."""
    name, upload = case.name, case.upload(dump)
    trig, submitted = FORMATS_BY_NAME["trig"], draft_graph_name(scheme)
    parse_s, parsed = timed(lambda: rdfio.parse_dataset(upload, trig, name, len(upload), scheme.base, submitted))
    made = content_of(parsed, scheme)  # type: ignore[arg-type]
    data = rdfio.serialise(made, FORMATS_BY_NAME["nquads"])
    blank = len({t for q in made.quads() for t in q[:3] if isinstance(t, BNode)})
    log(f"{name}: {len(upload):,} bytes uploaded, {len(data):,} as N-Quads, {blank:,} blank nodes")
    sizes = [name, f"{len(upload):,}", f"{len(data):,}", f"{blank:,}", f"{parse_s:.2f}"]
    started = time.perf_counter()
    try:
        labelled = relabel_dataset(made)
    except IndistinguishableBlankNodes as exc:
        refused = f"{time.perf_counter() - started:.2f} (refused: {exc.count} tied)"
        return [*sizes, refused, "-", "-", "-"]
    label_s = time.perf_counter() - started
    diff_s, _ = timed(lambda: diff(release, labelled, scheme, 1, scheme.changeset("x")))
    with tempfile.TemporaryDirectory() as folder:
        write_dumps(labelled, Path(folder), scheme, [FORMATS_BY_EXTENSION["trig"]])
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
    return [*sizes, *(f"{t:.2f}" for t in times)]


HEADER = ["draft", "upload bytes", "N-Quads bytes", "blank nodes", "parse s", "label s", "diff s", "page Turtle s",
          "page HTML s"]  # fmt: skip


def rows(settings: Settings) -> list[list[str]]:
    """One row per blank-node case of the corpus."""
    release, dump = release_1(settings)
    return [measure(CASES[name], dump, release, settings.scheme) for name in BLANK_NODE_CASES]


def main() -> int:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    out = Results()
    out.section(TITLE)
    out.table(HEADER, rows(load_settings(environ={}, root=ROOT)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
