"""``ceopgraph.web.pages.capped``: a page's parts are bounded whatever the data, as a published draft of
4 MiB can make it (Flask test client over the built dataset with hostile data added); and a page whose
document is cut passes the endpoint's admission for the query process that picks its statements."""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import PROV, RDF, XSD

from ceopgraph import describe
from ceopgraph.build import write_dumps
from ceopgraph.config import Settings
from ceopgraph.namespaces import OA, QB, SCHEMA
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages import capped, provenance
from ceopgraph.web.services import of

from .apps import LARGE_ANSWER_TIMEOUT_S, embedded_app
from .test_rdfio import bounded
from .test_resources import BASE, BROWSER_ACCEPT

OBSERVATIONS = 20_000
CUBE = "data/annual-review-2012-13"
CITING = "data/annual-review-2012-13/children-safeguarded/2012-2013"  # an observation citing many segments
LONG_LINE = 600_000  # characters of one line either side of a cited segment
QUOTING = "id/organisation/ceop"  # the resource quoting a segment of that line (its document is not cut)
ORDINARY = "/doc/organisation/ceop"


@pytest.fixture(scope="module")
def hostile_dist(tmp_path_factory: pytest.TempPathFactory, built_dist: Path, settings: Settings) -> Path:
    """The dataset with 20,000 more observations in its cube, 150 more segments cited by one observation,
    and a segment in the middle of a line of 1.2 million characters, dumped as a release is."""
    data = Dataset()
    data.parse(built_dist / "ceopgraph.trig", format="trig")
    local = UriScheme(BASE)
    graph = data.graph(URIRef(BASE + "data/graph/figures"))
    for i in range(OBSERVATIONS):
        obs = URIRef(f"{BASE}{CUBE}/hostile/{i}")
        graph.add((obs, RDF.type, QB.Observation))
        graph.add((obs, QB.dataSet, URIRef(BASE + CUBE)))
        graph.add((obs, local.dimension["statistic"], URIRef(BASE + "def/statistic/children-safeguarded")))
        graph.add((obs, URIRef("http://purl.org/linked-data/sdmx/2009/measure#obsValue"), Literal(i)))
        graph.add((obs, URIRef("http://purl.org/linked-data/sdmx/2009/dimension#refPeriod"), URIRef(BASE + "p")))
    for i in range(provenance.MAX_EXCERPTS + 50):
        graph.add((URIRef(BASE + CITING), PROV.wasDerivedFrom, URIRef(f"{BASE}id/hostile/segment/{i}")))
    article, segment, selector = (URIRef(f"{BASE}id/hostile/{name}") for name in ("article", "segment", "position"))
    words = "the cited words"
    graph.add((article, SCHEMA.text, Literal("a" * LONG_LINE + words + "b" * LONG_LINE)))
    graph.add((segment, RDF.type, OA.SpecificResource))
    graph.add((segment, OA.hasSource, article))
    graph.add((segment, OA.hasSelector, selector))
    graph.add((selector, OA.start, Literal(LONG_LINE, datatype=XSD.integer)))
    graph.add((selector, OA.end, Literal(LONG_LINE + len(words), datatype=XSD.integer)))
    graph.add((URIRef(BASE + QUOTING), PROV.wasQuotedFrom, segment))
    out = tmp_path_factory.mktemp("hostile")
    write_dumps(data, out, settings.scheme)
    return out


@pytest.fixture(scope="module")
def client(settings: Settings, hostile_dist: Path) -> Iterator[FlaskClient]:
    with embedded_app(settings, hostile_dist, started=True) as app:
        yield app.test_client()


def _html(client: FlaskClient, path: str) -> str:
    answer = bounded(lambda: client.get(path, headers={"Accept": BROWSER_ACCEPT}), 30.0)
    assert answer.status_code == 200, path
    return answer.get_data(as_text=True)


def _notice(page: str, part: str) -> str:
    """The query linked by the notice that the page leaves out ``part``."""
    found = re.search(rf'<p class="cut-notice"[^>]*>This page leaves out the {part}:.*?<a href="([^"]+)"', page)
    assert found is not None, part
    link = urllib.parse.urlsplit(found.group(1).replace("&amp;", "&"))
    return urllib.parse.parse_qs(link.query)["query"][0]


def test_a_cube_of_20000_observations_lists_none_promptly_and_the_same_in_two_apps(
    settings: Settings, hostile_dist: Path
) -> None:
    """Its page and the home page say the figures are left out and link the ordered query of them; no
    figure table and no chart; two apps (as two server workers) answer the same bytes and ETag."""
    answers = []
    for _ in range(2):
        with embedded_app(settings, hostile_dist, started=True) as app:
            client = app.test_client()
            for path in ("/" + CUBE, "/"):
                answer = bounded(lambda c=client, p=path: c.get(p, headers={"Accept": BROWSER_ACCEPT}), 30.0)  # type: ignore[misc]  # a lambda binding the loop's values by default
                assert answer.status_code == 200
                answers.append((answer.headers["ETag"], answer.get_data()))
    assert answers[:2] == answers[2:]
    for _, body in answers[:2]:
        page = body.decode()
        query = _notice(page, "figures")
        assert "ORDER BY ?obs" in query and f"<{BASE}{CUBE}>" in query
        assert f"more than {capped.MAX_ROWS:,}" in page
        assert 'class="observations"' not in page and 'class="chart"' not in page


def test_the_query_of_the_left_out_figures_answers_them_all(settings: Settings, hostile_dist: Path) -> None:
    """The query the page offers answers every figure it left out (~1.6 s alone)."""
    with embedded_app(
        settings, hostile_dist, started=True, max_result_rows=30_000, query_timeout_s=LARGE_ANSWER_TIMEOUT_S
    ) as app:
        client = app.test_client()
        query = _notice(_html(client, "/" + CUBE), "figures")
        answer = client.get("/sparql", query_string={"query": query}, headers={"Accept": "text/csv"})
        assert answer.status_code == 200
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
        assert len({row["obs"] for row in rows if "/hostile/" in row["obs"]}) == OBSERVATIONS


def test_a_resource_citing_150_segments_shows_no_excerpt_and_links_them(client: FlaskClient) -> None:
    page = _html(client, "/" + CITING)
    query = _notice(page, "excerpts of the source text")
    assert "ORDER BY ?segment ?via" in query and f"<{BASE}{CITING}>" in query
    assert 'class="excerpt"' not in page


def test_an_excerpt_in_a_line_of_a_million_characters_shows_a_window_of_it(client: FlaskClient) -> None:
    """The store cuts the words around a segment out of its article's text: the page holds at most
    ``CONTEXT`` characters either side, and an ellipsis says there is more."""
    page = _html(client, "/doc/" + QUOTING.removeprefix("id/"))
    excerpts = re.findall(r'<figure class="excerpt">\s*<blockquote[^>]*><p>(.*?)<mark>(.*?)</mark>(.*?)</p>', page)
    before, _, after = next(found for found in excerpts if found[1] == "the cited words")
    assert before == "…" + "a" * provenance.CONTEXT and after == "b" * provenance.CONTEXT + "…"
    assert len(page) < 100_000


# Admission: a cut document's statements are chosen in a query process, admitted as a query is -------------


@pytest.mark.parametrize("held", ["client", "server"])
def test_a_cut_page_passes_admission_and_an_ordinary_page_needs_none(
    settings: Settings, hostile_dist: Path, held: str
) -> None:
    """With the client's places taken (its queries running), the cut cube page is refused at once (429,
    Retry-After) where it would hold another query process; with every place of the server taken, 503.
    An ordinary page, made of the store's own queries, is answered all the while."""
    with embedded_app(settings, hostile_dist, client_queries=1, busy_requests=2) as app:
        client = app.test_client()  # its requests come from 127.0.0.1
        admission = of(app).admission
        with ExitStack() as places:
            for name in ("127.0.0.1",) if held == "client" else ("198.51.100.1", "198.51.100.2"):
                places.enter_context(admission.expensive(name))
            refused = bounded(lambda: client.get("/" + CUBE, headers={"Accept": "text/turtle"}), 30.0)
            assert refused.status_code == (429 if held == "client" else 503)
            assert refused.headers["Retry-After"]
            ordinary = bounded(lambda: client.get(ORDINARY, headers={"Accept": "text/turtle"}), 30.0)
            assert ordinary.status_code == 200 and "X-SPARQL-MaxRows" not in ordinary.headers
        answered = bounded(lambda: client.get("/" + CUBE, headers={"Accept": "text/turtle"}), 30.0)
        assert answered.status_code == 200
        assert answered.headers["X-SPARQL-MaxRows"] == str(describe.MAX_STATEMENTS)
