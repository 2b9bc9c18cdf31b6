"""The pure core of the pages (``paths``, ``describe``, ``web.pages``): paths, links, sentences, figures, home page."""

from __future__ import annotations

import pytest
from flask import Flask
from rdflib import Graph, URIRef

from ceopgraph import describe, labels, paths
from ceopgraph.config import Settings
from ceopgraph.sparqltext import Bindings
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.store.protocol import OwnQuery, Row
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages import notfound, provenance, resource
from ceopgraph.web.pages.builder import PageBuilder
from ceopgraph.web.pages.capped import Cut
from ceopgraph.web.pages.figures import figures as observation_figures
from ceopgraph.web.pages.home import home_page
from ceopgraph.web.pages.index import SUBJECTS_QUERY, SubjectIndex


@pytest.mark.parametrize(
    ("rest", "valid"),
    [
        ("organisation/ceop", True),
        ("ceop/0.1.0", True),
        ("organisation/ceop.ttl", True),
        ("", False),
        ("organisation/ceop/", False),
        ("/evil.example", False),
        ("organisation//ceop", False),
        ("../etc/passwd", False),
        ("organisation/.hidden", False),
        ("<script>", False),
        ("organisation/céop", False),
        ("a%2Fb", False),
        ("javascript:alert(1)", False),
        ("x" * 600, False),
    ],
)
def test_only_plain_paths_can_name_a_resource(rest: str, valid: bool) -> None:
    assert paths.valid_rest(rest) is valid


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ("organisation/ceop.ttl", ("organisation/ceop", "ttl")),
        ("organisation/ceop.html", ("organisation/ceop", "html")),
        ("ceop/0.1.0", ("ceop/0.1.0", None)),
        ("organisation/ceop", ("organisation/ceop", None)),
        (".ttl", (".ttl", None)),
    ],
)
def test_extensions_split_only_when_served(rest: str, expected: tuple[str, str | None]) -> None:
    assert paths.split_extension(rest, {"ttl", "html", "jsonld", "rdf", "nt"}) == expected


def test_links_stay_local_and_only_http_becomes_a_link() -> None:
    linker = paths.Linker(UriScheme("https://w3id.org/ceopgraph/"), "/prefix")
    assert linker.href("https://w3id.org/ceopgraph/id/organisation/ceop") == "/prefix/doc/organisation/ceop"
    assert linker.href("https://w3id.org/ceopgraph/def/threat-area") == "/prefix/def/threat-area"
    assert linker.href("https://w3id.org/ceopgraph/") == "/prefix/"
    assert (
        linker.href("http://reference.data.gov.uk/id/month/2013-10") == "http://reference.data.gov.uk/id/month/2013-10"
    )
    for hostile in ("javascript:alert(1)", "data:text/html,x", "urn:x:y", "file:///etc/passwd", "//evil.example"):
        assert linker.href(hostile) is None


def test_the_sentence_around_a_segment(source_text: str) -> None:
    start = source_text.index("790 children")
    begin, end = provenance.sentence_around(source_text, start, start + len("790 children"))
    assert source_text[begin:end].startswith("The Centre safeguarded and protected 790 children")
    assert source_text[begin:end].endswith("launched in 2006.")


def test_readable_names() -> None:
    assert labels.humanise("http://www.w3.org/ns/org#FormalOrganization", capital=True) == "Formal organization"
    assert labels.humanise("http://schema.org/foundingDate") == "founding date"
    assert labels.humanise("https://w3id.org/ceopgraph/def/unit/child") == "child"


def test_figures_come_from_the_store_in_source_order(built_store: EmbeddedStore, settings: Settings) -> None:
    base = settings.base_uri
    builder = PageBuilder(settings.scheme, paths.Linker(settings.scheme), Graph())
    figures = observation_figures(built_store, builder, dataset=URIRef(base + "data/annual-review-2012-13"))
    assert not isinstance(figures, Cut)  # the built dataset's figures are far below the cut
    reported = [f.shown for f in figures if not f.derived]
    assert reported == ["790", "85%", "2,255", "18,887", "14%", "1,600"]
    derived = [f for f in figures if f.derived]
    assert [f.shown for f in derived] == ["427", "16,568"]
    assert all(f.derivation and f.value_range for f in derived)


def test_home_page_is_computed_from_the_store(built_store: EmbeddedStore, settings: Settings) -> None:
    home = home_page(built_store, settings.scheme, paths.Linker(settings.scheme))
    assert home.title == "CEOP Annual Review 2012/13 as linked open data"
    assert home.triples and int(home.triples.replace(",", "")) > 1000
    assert [t.notation for t in home.threat_areas] == ["1", "2", "3", "4"]
    assert not any(f.derived for f in home.headline) and home.derived_count == 2
    assert len(home.quotations) == 2 and all(q.speaker.label == "Peter Davies" for q in home.quotations)
    assert home.transitions[0].when == "October 2013" and home.transitions[0].status == "planned"
    assert {d.href for d in home.downloads} >= {"/dumps/ceopgraph.ttl", "/dumps/ceopgraph.trig"}
    assert home.sparql == "/sparql" and home.licence is not None
    # The source, as the dataset now names it (prov:wasDerivedFrom: DCAT-AP keeps dct:source for datasets).
    assert home.source is not None and home.source.href == "/doc/news-item/ceop-annual-review-2012-13"


def test_derived_figure_page_shows_the_words_it_rests_on(built_store: EmbeddedStore, settings: Settings) -> None:
    base = settings.base_uri
    iri = URIRef(base + "data/annual-review-2012-13/children-safeguarded/2011-2012")
    page = resource.resource_page(
        built_store, settings.scheme, paths.Linker(settings.scheme), iri, describe.describe(built_store, iri).graph
    )
    assert page.figure is not None and page.figure.derived
    assert {e.exact for e in page.excerpts} == {
        "The Centre safeguarded and protected 790 children in 2012/2013",
        "an increase of 85% over the previous year",
    }
    assert all(e.via is not None for e in page.excerpts)


class _CountingStore:
    """The real store, counting the queries that scan for subjects."""

    def __init__(self, store: EmbeddedStore) -> None:
        self._store = store
        self.scans = 0

    @property
    def version(self) -> str:
        return self._store.version

    def select(self, query: OwnQuery, bindings: Bindings | None = None) -> list[Row]:
        self.scans += query == SUBJECTS_QUERY
        return self._store.select(query, bindings)


def test_not_found_hints_scan_the_store_once_per_dataset_version(
    built_store: EmbeddedStore, settings: Settings
) -> None:
    """Regression: every 404 page scanned every triple of the store for its hint."""
    counting = _CountingStore(built_store)
    index = SubjectIndex()
    linker = paths.Linker(settings.scheme, "")
    for missing in ("no-such-body", "another", "yet-another"):
        iri = f"{settings.base_uri}id/organisation/{missing}"
        links = notfound.nearby(counting, linker, iri, settings.scheme, index=index)  # type: ignore[arg-type]
        assert [link.href for link in links] == [
            "/doc/organisation/ceop",
            "/doc/organisation/ceop-in-nca",
            "/doc/organisation/ceopgraph",
            "/doc/organisation/nca",
        ]
        assert links[0].label == "Child Exploitation and Online Protection Centre"
    assert counting.scans == 1
    assert notfound.nearby(counting, linker, settings.base_uri + "nothing", settings.scheme, index=index) == ()  # type: ignore[arg-type]


def test_the_news_item_page_prints_its_text_once(app: Flask, source_text: str) -> None:
    """The text was printed under "Text" and again, whole, in the properties table's schema:text row."""
    answer = app.test_client().get("/doc/news-item/ceop-annual-review-2012-13", headers={"Accept": "text/html"})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    sentence = "The statistics are accompanied by a warning"
    assert sentence in source_text and page.count(sentence) == 1
    assert '<a href="#text-heading">The text above</a>' in page  # the statement is listed, pointing to it
