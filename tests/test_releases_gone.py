"""Published IRIs never simply vanish, and corrections show (``releases.history``, ``web.resources``), with
Flask's test client over an app that serves a data directory's current release.

The series: release 2 adds two resources and corrects a figure, release 3 removes one of them, release 4
adds a third and changes the figure again, and is withdrawn. Then the removed resource and the withdrawn
one answer 410 (a page and RDF) saying where they last were, what took them away, when and why; the
figure's page carries the correction's notice and the withdrawal's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from rdflib import Graph, URIRef
from rdflib.namespace import PROV, RDFS, VOID

from ceopgraph.config import Settings
from ceopgraph.releases.service import OPERATOR, Releases
from ceopgraph.urischeme import UriScheme
from ceopgraph.validation.service import Submission

from .apps import release_app
from .releasing import local_releases, with_since_launch

BASE = "https://w3id.org/ceopgraph/"
SCHEME = UriScheme(BASE)
REMOVED = "id/test/removed-in-3"
KEPT = "id/test/kept"
WITHDRAWN = "id/test/added-in-4"
FIGURE = "data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"


def _with(dump: bytes, *paths: str) -> bytes:
    """The TriG dump with one more graph naming each of ``paths`` (an untyped resource with a label)."""
    lines = "".join(f'<{BASE}{p}> <{RDFS.label}> "{p.rsplit("/", 1)[1]}"@en .\n' for p in paths)
    return dump + f"<{BASE}data/graph/test-extra> {{\n{lines}}}\n".encode()


def _publish(releases: Releases, trig: bytes, note: str) -> int:
    draft = releases.create_draft(OPERATOR, Submission(trig, "trig", "series.trig"))
    assert draft.conforms, draft.report
    return releases.publish(OPERATOR, draft.id, None, note).n


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    data_dir = tmp_path_factory.mktemp("gone") / "data"
    releases = local_releases(data_dir)
    releases.ensure_first_release(built_dist / "ceopgraph.trig")
    first = (built_dist / "ceopgraph.trig").read_bytes()
    assert _publish(releases, _with(with_since_launch(first, 2300), REMOVED, KEPT), "Two test resources") == 2
    assert _publish(releases, _with(with_since_launch(first, 2300), KEPT), "The first test resource retired") == 3
    assert _publish(releases, _with(with_since_launch(first, 2400), KEPT, WITHDRAWN), "Another one") == 4
    releases.withdraw(OPERATOR, 4, "Keyed from the wrong table")
    assert releases.registry.state()[0] == 3
    with release_app(settings, built_dist, data_dir) as made:
        yield made


def test_a_removed_resource_answers_410_with_where_it_last_was_and_why(app: Flask) -> None:
    client = app.test_client()
    page = client.get(f"/doc/{REMOVED.removeprefix('id/')}", headers={"Accept": "text/html"})
    assert page.status_code == 410, page.data
    text = page.get_data(as_text=True)
    assert f"{BASE}{REMOVED} is no longer published: it last appeared in release 2" in text
    assert '(<a href="/releases/2">release 2</a>)' in text
    assert '<a href="/releases/3">Release 3</a>, published <time datetime=' in text
    assert "removed it." in text and "Its release note: The first test resource retired" in text
    assert '<a href="/releases/2/dumps/ceopgraph.trig" id="last-dump">' in text
    assert '<a href="/releases/3" id="successor">release 3</a>' in text
    assert client.get(f"/{REMOVED}").status_code == 410  # the thing's IRI too, not a 303 to a missing page

    turtle = client.get(f"/doc/{REMOVED.removeprefix('id/')}", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 410 and turtle.mimetype == "text/turtle"
    said = Graph().parse(data=turtle.data, format="turtle")
    iri = URIRef(BASE + REMOVED)
    assert (iri, VOID.inDataset, SCHEME.release(2)) in said
    assert (iri, PROV.wasInvalidatedBy, SCHEME.publication(3)) in said
    comment = str(said.value(iri, RDFS.comment))
    assert comment.startswith("Removed by release 3, published ") and "The first test resource retired" in comment
    assert client.get(f"/doc/{REMOVED.removeprefix('id/')}.nt").status_code == 410  # by extension as well


def test_a_resource_of_a_withdrawn_release_answers_410_with_the_reason(app: Flask) -> None:
    client = app.test_client()
    page = client.get(f"/doc/{WITHDRAWN.removeprefix('id/')}", headers={"Accept": "text/html"})
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "Release 4 was withdrawn on <time datetime=" in text and "Reason: Keyed from the wrong table" in text
    assert 'id="successor"' not in text  # nothing came after release 4
    said = Graph().parse(data=client.get(f"/{WITHDRAWN}.ttl").data, format="turtle")
    assert (URIRef(BASE + WITHDRAWN), VOID.inDataset, SCHEME.release(4)) in said


def test_what_was_never_published_is_still_a_404_and_current_resources_answer(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/doc/test/never-published", headers={"Accept": "text/html"}).status_code == 404
    assert client.get(f"/doc/{KEPT.removeprefix('id/')}", headers={"Accept": "text/html"}).status_code == 200


def test_a_corrected_page_carries_its_notices_newest_first(app: Flask) -> None:
    client = app.test_client()
    page = client.get(f"/{FIGURE}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    withdrawal = text.index('id="notice-1"')
    assert "release 4</a>, which had changed this page, was withdrawn on <time" in text[withdrawal:]
    assert "Reason: Keyed from the wrong table" in text
    correction = text.index('id="notice-2"')
    assert 'Corrected in <a href="/releases/2">release 2</a>, <time' in text[correction:]
    assert "Release note: Two test resources" in text[correction:]
    untouched = client.get("/doc/organisation/ceop", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'id="notice-1"' not in untouched


def test_the_served_releases_hold_no_statement_twice_and_their_graph_dereferences(app: Flask) -> None:
    """The current release's description is in its own metadata graph; the live releases graph beside it
    leaves it out, or the union default graph (an RDF merge) gave each of its statements twice."""
    client = app.test_client()
    twice = client.post(
        "/sparql",
        data={"query": "SELECT ?s ?p ?o { GRAPH ?g { ?s ?p ?o } } GROUP BY ?s ?p ?o HAVING (COUNT(?g) > 1)"},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert twice.status_code == 200 and twice.json["results"]["bindings"] == []  # type: ignore[index]
    for n in (3, 2, 4):  # the current release, one before it, a withdrawn one
        answer = client.post(
            "/sparql",
            data={"query": f"SELECT ?v {{ <{SCHEME.release(n)}> <http://www.w3.org/ns/dcat#version> ?v }}"},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert [b["v"]["value"] for b in answer.json["results"]["bindings"]] == [str(n)]  # type: ignore[index]
    graph = client.get("/data/graph/releases", headers={"Accept": "text/turtle"})
    assert graph.status_code == 200
    said = Graph().parse(data=graph.data, format="turtle")
    assert (SCHEME.dataset, URIRef("http://www.w3.org/ns/dcat#hasCurrentVersion"), SCHEME.release(3)) in said
