"""Search (``ceopgraph.search``): folding, words and the queries built from them, as pure functions; the
documents of the published data; and the index on both registry backends (``backend``: SQLite FTS5,
PostgreSQL's tsvector) and in memory, with each engine's operators typed as a search."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from ceopgraph import search
from ceopgraph.releases.sqlite import MemorySearch

from .backends import Backend

SCHEMA = "http://schema.org/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OA = "http://www.w3.org/ns/oa#"
PROV = "http://www.w3.org/ns/prov#"

# Operators of FTS5 and of tsquery, and a few other shapes of hostile text: each is searched as the words
# it holds (or nothing), never as syntax.
OPERATORS = [
    "AND",
    "OR",
    "NOT",
    "crime AND agency",
    "crime OR nothingatall",
    "crime NOT agency",
    "NEAR(crime agency, 2)",
    "crime*",
    "^crime",
    '"crime',
    'crime"',
    '""',
    "(crime",
    "crime)",
    "names:crime",
    "body : crime",
    "{names body}: crime",
    "- crime",
    "+crime",
    "crime & agency",
    "crime | agency",
    "!crime",
    "crime <-> agency",
    "crime <2> agency",
    "crime:*",
    "crime:A",
    "'crime'",
    "' OR 1=1 --",
    "%",
    "_",
    "\\",
    "\x00crime",
    ";DROP TABLE search_docs",
    ":*",
    "&|!",
]


# Folding and words -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("NCA", "nca"),
        ("Bücher", "bucher"),
        ("ÉCOLE", "ecole"),
        ("naïve café", "naive cafe"),
        ("ﬁle", "file"),  # a compatibility ligature
        ("Straße", "strasse"),  # casefold, not lower
        ("１２３", "123"),  # fullwidth digits
    ],
)
def test_folding_drops_case_accents_and_compatibility_forms(text: str, folded: str) -> None:
    assert search.fold(text) == folded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("live streaming", ["live", "streaming"]),
        ("  NCA,  the   NCA!", ["nca", "the", "nca"]),
        ("2012/13", ["2012", "13"]),
        ("children's services", ["children", "s", "services"]),
        ("snake_case", ["snake", "case"]),
        ("a&b|c", ["a", "b", "c"]),
        ('"quoted" (paren) {brace}', ["quoted", "paren", "brace"]),
        ("", []),
        ("*** ::: ---", []),
    ],
)
def test_words_are_runs_of_letters_and_digits(text: str, expected: list[str]) -> None:
    assert search.words(text) == expected


@pytest.mark.parametrize("text", OPERATORS)
def test_operators_become_words_or_nothing(text: str) -> None:
    """Whatever is typed, the query holds only runs of letters and digits."""
    query = search.parse_query(text)
    assert all(w.isalnum() for w in query.words)
    match = search.fts5_match(query)
    # Outside the quoted words the MATCH holds only our own AND and the last word's *.
    skeleton = match
    for w in query.words:
        skeleton = skeleton.replace(f'"{w}"', "", 1)
    assert set(skeleton.replace(" AND ", "").replace("*", "").strip()) == set()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("live streaming", '"live" AND "streaming"*'),
        ("NCA", '"nca"*'),
        ('crime" OR "x', '"crime" AND "or" AND "x"*'),
        ("", ""),
    ],
)
def test_the_fts5_match_is_made_of_quoted_words(text: str, match: str) -> None:
    assert search.fts5_match(search.parse_query(text)) == match


def test_the_tsquery_words_refuse_anything_but_letters_and_digits() -> None:
    assert search.tsquery_words(search.parse_query("crime & agency")) == ["crime", "agency"]
    with pytest.raises(search.BadSearch):
        search.tsquery_words(search.SearchQuery("x", ("a:*",)))


@pytest.mark.parametrize(
    ("q", "page", "says"),
    [
        ("x" * (search.MAX_QUERY_CHARS + 1), None, "at most 200"),
        (" ".join(["w"] * (search.MAX_WORDS + 1)), None, "at most 10 are searched"),
        ("crime", "0", "page must be"),
        ("crime", "-1", "page must be"),
        ("crime", "two", "page must be"),
        ("crime", "1.5", "page must be"),
        ("crime", "١", "page must be"),  # an Arabic-Indic digit: a digit to str.isdigit, not to us
        ("crime", str(search.MAX_PAGE + 1), "page must be"),
        ("crime", "9" * 40, "page must be"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(q: str, page: str | None, says: str) -> None:
    with pytest.raises(search.BadSearch, match=says):
        search.parse_query(q, None, page)


def test_parsing_is_linear_in_the_text() -> None:
    """The longest query allowed, of the worst shapes, parses in well under a millisecond each."""
    for text in ("a" * 200, "a " * 100, "é" * 200, "\u0301" * 200, '"(' * 100):
        started = time.perf_counter()
        for _ in range(100):
            with contextlib.suppress(search.BadSearch):  # too many words: refused, as fast
                search.parse_query(text)
        assert (time.perf_counter() - started) / 100 < 0.005


@pytest.mark.parametrize(
    ("text", "q", "snippet"),
    [
        ("live streaming of images", "streaming", "live <mark>streaming</mark> of images"),
        ("Live Streaming", "live streams", "<mark>Live</mark> <mark>Streaming</mark>"),
        ("<script>alert(1)</script> crime", "crime", "&lt;script&gt;alert(1)&lt;/script&gt; <mark>crime</mark>"),
        ("Café crime", "cafe", "<mark>Café</mark> crime"),
        ("a \ue000forged\ue001 mark", "mark", "a forged <mark>mark</mark>"),
    ],
)
def test_snippets_are_escaped_with_the_match_marked(text: str, q: str, snippet: str) -> None:
    assert search.snippet(search._clean(text), search.parse_query(q)) == snippet


def test_a_long_text_is_cut_around_its_first_match() -> None:
    text = "word " * 200 + "needle " + "word " * 200
    shown = search.snippet(text, search.parse_query("needle"))
    assert shown.startswith("… ") and shown.endswith(" …") and "<mark>needle</mark>" in shown
    assert len(shown) < search.SNIPPET_CHARS + 40


# Documents --------------------------------------------------------------------------------------------


def _article() -> list[tuple[str, str, search.Object]]:
    article = "http://x/id/news"
    text = "CEOP joins the National Crime Agency. It safeguarded 790 children."
    start = text.index("It safeguarded")
    return [
        (article, SCHEMA + "text", (text, "en")),
        (article, RDFS_LABEL, ("The news", "en")),
        (article, RDF_TYPE, SCHEMA + "NewsArticle"),
        ("http://x/id/seg", OA + "hasSource", article),
        ("http://x/id/seg", OA + "hasSelector", "http://x/id/seg/pos"),
        ("http://x/id/seg/pos", OA + "start", (str(start), "")),
        ("http://x/id/seg/pos", OA + "end", (str(len(text)), "")),
        ("http://x/id/fig", RDFS_LABEL, ("Children safeguarded", "en")),
        ("http://x/id/fig", RDFS_LABEL, ("Kinder", "de")),
        ("http://x/id/fig", PROV + "wasDerivedFrom", "http://x/id/seg"),
        ("http://x/id/other-seg", OA + "hasSource", article),
        ("http://x/id/other-seg", OA + "hasSelector", "_:b0"),
        ("_:b0", OA + "start", ("0", "")),
        ("_:b0", OA + "end", ("4", "")),
        ("_:b1", RDFS_LABEL, ("a blank node", "")),
        ("http://x/def/c", SKOS + "prefLabel", ("Concept", "en")),
        ("http://x/def/c", SKOS + "altLabel", ("Alias", "en")),
        ("http://x/def/c", SKOS + "definition", ("with a focus on exploitation", "en")),
    ]


def test_a_figure_carries_the_words_of_the_article_it_cites() -> None:
    docs = {d.iri: d for d in search.documents(_article())}
    assert docs["http://x/id/fig"].body == "It safeguarded 790 children."
    assert docs["http://x/id/fig"].label == "Children safeguarded"  # English first, as labels.py
    assert "Kinder" in docs["http://x/id/fig"].names
    # A segment no resource cites is a document of its own; a cited one is its figure's.
    assert docs["http://x/id/other-seg"].body == "CEOP"
    assert "http://x/id/seg" not in docs
    assert not any(iri.startswith("_:") for iri in docs)  # no page to link to
    assert docs["http://x/def/c"].names == "Alias \nConcept"
    assert docs["http://x/def/c"].body == "with a focus on exploitation"
    assert docs["http://x/id/news"].types == (SCHEMA + "NewsArticle",)
    # The news item keeps the words no segment covers; the covered ones are found through what cites them.
    assert docs["http://x/id/news"].body == "joins the National Crime Agency."


def test_the_article_s_words_lead_to_what_cites_them(memory: MemorySearch) -> None:
    """A search for words of the news item finds the figure, claim or quotation that cites them."""
    found = memory.search(search.parse_query("intelligence packages to police forces"))
    labels = _labels(found)
    assert "Thousands of intelligence packages provided to police forces and children's services" in labels
    assert "<mark>" in found.hits[0].snippet


def test_the_published_data_is_indexed(built_dist: Path) -> None:
    docs = {d.iri: d for d in search.documents_of_nquads((built_dist / "ceopgraph.nq").read_bytes())}
    assert len(docs) > 80
    quotation = next(d for iri, d in docs.items() if iri.endswith("/quotation/not-complacent"))
    assert "we aren't complacent" in quotation.body
    focus = next(d for iri, d in docs.items() if iri.endswith("/threat-area/indecent-images"))
    assert "live streaming" in focus.body


# The index --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(built_dist: Path) -> list[search.Document]:
    return search.documents_of_nquads((built_dist / "ceopgraph.nq").read_bytes())


@pytest.fixture(scope="module")
def memory(published: list[search.Document]) -> MemorySearch:
    return MemorySearch(published)


def _labels(found: search.SearchPage) -> list[str]:
    return [h.label for h in found.hits]


def test_an_exact_label_comes_first(memory: MemorySearch) -> None:
    found = memory.search(search.parse_query("National Crime Agency"))
    assert found.hits[0].label == "National Crime Agency"
    assert found.hits[0].score >= 2 > found.hits[1].score
    assert [h.score for h in found.hits] == sorted((h.score for h in found.hits), reverse=True)


@pytest.mark.parametrize(
    ("q", "label"),
    [
        ("NCA", "National Crime Agency"),  # the IRI's words
        ("live streaming", "Proliferation of indecent images of children"),  # a threat area's focus
        ("live streams", "Proliferation of indecent images of children"),  # stemmed
        ("LIVE STRÉAMING", "Proliferation of indecent images of children"),  # case and accents folded
        ("complacent", 'Peter Davies: "we aren\'t complacent"'),  # a quotation's text
        ("safeguarded and protected 790", "Children safeguarded and protected, 2012-2013"),  # cited words
        ("Davi", "Peter Davies"),  # a prefix of the last word
    ],
)
def test_what_people_look_for_is_found(memory: MemorySearch, q: str, label: str) -> None:
    assert label in _labels(memory.search(search.parse_query(q)))


def test_facets_count_every_match_and_a_type_keeps_its_own(memory: MemorySearch) -> None:
    every = memory.search(search.parse_query("children"))
    counts = {f.type: f.count for f in every.facets}
    concept = SKOS + "Concept"
    kept = memory.search(search.parse_query("children", concept))
    assert kept.total == counts[concept] < every.total
    assert all(concept in h.types for h in kept.hits)
    assert {f.type: f.count for f in kept.facets} == counts  # the facets ignore the type chosen


def test_pages_cut_the_ranking(published: list[search.Document]) -> None:
    many = [
        search.Document(f"http://x/id/{i:03}", f"Thing {i}", ("http://x/T",), f"Thing {i}", "common words")
        for i in range(45)
    ]
    index = MemorySearch([*published, *many])
    pages = [index.search(search.parse_query("common words", page=str(p))) for p in (1, 2, 3)]
    assert [p.total for p in pages] == [45, 45, 45]
    assert [len(p.hits) for p in pages] == [20, 20, 5]
    assert pages[0].has_next and not pages[0].has_previous and not pages[2].has_next
    iris = [h.iri for p in pages for h in p.hits]
    assert len(set(iris)) == 45
    past = index.search(search.parse_query("common words", page="4"))  # no rows to carry the total
    assert (past.total, past.hits, past.has_previous) == (45, (), True)


def test_the_index_on_each_backend(tmp_path: Path, backend: Backend, published: list[search.Document]) -> None:
    """Each release's rows apart: a search of one release never sees another's; operators are words."""
    registry = backend.open(tmp_path)
    assert not registry.search_indexed(1)
    registry.index_search(1, published)
    changed = [
        search.Document(d.iri, d.label + " Zanzibarquux", d.types, d.names + " Zanzibarquux", d.body)
        if d.label == "National Crime Agency"
        else d
        for d in published
    ]
    registry.index_search(2, changed)
    registry.index_search(2, changed)  # again: the same rows, not twice as many
    assert registry.search_indexed(1) and registry.search_indexed(2)
    query = search.parse_query("zanzibarquux")
    assert registry.search(1, query).total == 0
    assert _labels(registry.search(2, query)) == ["National Crime Agency Zanzibarquux"]
    agency = search.parse_query("National Crime Agency")
    one, two = registry.search(1, agency), registry.search(2, agency)
    assert one.total == two.total and one.release == 1 and two.release == 2
    assert len({h.iri for h in two.hits}) == len(two.hits)  # no row twice (release 2 indexed twice)
    assert two.hits[0].label == "National Crime Agency Zanzibarquux"
    assert one.hits[0].label == "National Crime Agency" and one.hits[0].score >= 2
    assert "<mark>" in one.hits[0].snippet
    assert "Proliferation of indecent images of children" in _labels(registry.search(1, search.parse_query("streams")))
    for text in OPERATORS:
        found = registry.search(1, search.parse_query(text))  # never an error
        assert found.release == 1
        assert all(h.iri for h in found.hits)
    with registry.transaction() as tx:
        tx.keep_search({2})
    assert not registry.search_indexed(1) and registry.search_indexed(2)
    assert registry.search(1, agency).total == 0


def test_memory_and_registry_rank_alike_on_sqlite(tmp_path: Path, published: list[search.Document]) -> None:
    """The in-memory index is the registry's tables and statements: the same answers."""
    backend = Backend("sqlite")
    try:
        registry = backend.open(tmp_path)
        registry.index_search(3, published)
        memory = MemorySearch(published)
        for q in ("children", "NCA", "crime agency", "2012"):
            query = search.parse_query(q)
            assert registry.search(3, query).hits == memory.search(query).hits
    finally:
        backend.close()
