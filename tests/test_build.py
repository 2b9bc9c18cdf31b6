"""The knowledge graph: every figure and quotation of the source, with provenance, and faithful dumps."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, OWL, PROV, RDF, RDFS, SKOS, VOID, XSD

from ceopgraph.build import build_dataset, write_dumps
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import OA, QB, SCHEMA, SDMX_DIMENSION, SDMX_MEASURE

from .conftest import ROOT, project_copy, run_build

GY = "http://reference.data.gov.uk/id/government-year/"
ATTRIBUTE_STATUS = "def/attribute/figure-status"


def iri(settings: Settings, path: str) -> URIRef:
    return URIRef(settings.base_uri + path)


@pytest.mark.parametrize("path", sorted((ROOT / "ontology").glob("*.ttl")) + sorted((ROOT / "data").glob("*.ttl")))
def test_every_source_file_parses(path: Path, settings: Settings) -> None:
    graph = Graph().parse(path, format="turtle", publicID=settings.base_uri)
    assert len(graph) > 0


# (statistic, period, value, the words of the source that state it)
REPORTED_FIGURES = [
    (
        "children-safeguarded",
        GY + "2012-2013",
        Decimal(790),
        "safeguarded and protected 790 children in 2012/2013",
    ),
    (
        "children-safeguarded-change",
        GY + "2012-2013",
        Decimal(85),
        "an increase of 85% over the previous year",
    ),
    (
        "children-protected-since-launch",
        "id/period/since-launch-to-2012-2013",
        Decimal(2255),
        "seven year history is 2,255",
    ),
    (
        "reports-received",
        GY + "2012-2013",
        Decimal(18887),
        "18,887 reports of abuse from the public and industry",
    ),
    ("reports-received-change", GY + "2012-2013", Decimal(14), "14% more than the previous year"),
    ("reports-monthly-mean", GY + "2012-2013", Decimal(1600), "an average of 1,600 reports per month"),
]


def observation(union: Graph, settings: Settings, statistic: str, period: str) -> URIRef:
    period_iri = URIRef(period if period.startswith("http") else settings.base_uri + period)
    matches = [
        o
        for o in union.subjects(SDMX_DIMENSION.refPeriod, period_iri)
        if (o, iri(settings, "def/dimension/statistic"), iri(settings, f"def/statistic/{statistic}")) in union
    ]
    assert len(matches) == 1, f"expected one observation of {statistic} for {period}, found {matches}"
    return matches[0]  # type: ignore[return-value]


@pytest.mark.parametrize(("statistic", "period", "value", "words"), REPORTED_FIGURES)
def test_reported_figure_has_value_period_and_provenance(
    union: Graph,
    settings: Settings,
    source_text: str,
    statistic: str,
    period: str,
    value: Decimal,
    words: str,
) -> None:
    obs = observation(union, settings, statistic, period)
    literal = union.value(obs, SDMX_MEASURE.obsValue)
    assert isinstance(literal, Literal) and literal.datatype in (XSD.integer, XSD.decimal)
    assert Decimal(str(literal)) == value
    assert union.value(obs, iri(settings, ATTRIBUTE_STATUS)) == iri(settings, "def/figure-status/reported")
    assert (obs, QB.dataSet, iri(settings, "data/annual-review-2012-13")) in union
    segment = union.value(obs, PROV.wasDerivedFrom)
    assert (segment, RDF.type, OA.SpecificResource) in union
    quote = next(s for s in union.objects(segment, OA.hasSelector) if (s, RDF.type, OA.TextQuoteSelector) in union)
    exact = str(union.value(quote, OA.exact))
    assert words in source_text
    assert words in exact or exact in words, f"{obs} cites {exact!r}, not the words {words!r}"


@pytest.mark.parametrize("statistic", ["children-safeguarded-change", "reports-received-change"])
def test_percentage_changes_carry_their_comparison_period(union: Graph, settings: Settings, statistic: str) -> None:
    obs = observation(union, settings, statistic, GY + "2012-2013")
    assert union.value(obs, iri(settings, "def/attribute/comparison-period")) == URIRef(GY + "2011-2012")


def test_rounded_monthly_mean_carries_a_range_containing_the_exact_mean(union: Graph, settings: Settings) -> None:
    obs = observation(union, settings, "reports-monthly-mean", GY + "2012-2013")
    assert union.value(obs, iri(settings, "def/attribute/precision")) == iri(settings, "def/precision/rounded")
    value_range = union.value(obs, iri(settings, "def/attribute/value-range"))
    low = Decimal(str(union.value(value_range, SCHEMA.minValue)))
    high = Decimal(str(union.value(value_range, SCHEMA.maxValue)))
    assert low <= Decimal(18887) / 12 <= high
    assert low <= Decimal(1600) <= high


@pytest.mark.parametrize(
    ("statistic", "this_year", "change"),
    [("children-safeguarded", 790, 85), ("reports-received", 18887, 14)],
)
def test_derived_previous_year_counts_are_marked_and_consistent(
    union: Graph, settings: Settings, statistic: str, this_year: int, change: int
) -> None:
    obs = observation(union, settings, statistic, GY + "2011-2012")
    assert union.value(obs, iri(settings, ATTRIBUTE_STATUS)) == iri(settings, "def/figure-status/derived")
    assert union.value(obs, iri(settings, "def/attribute/derivation")) is not None
    sources = set(union.objects(obs, PROV.wasDerivedFrom))
    assert {(s, RDF.type, QB.Observation) in union for s in sources} == {True}, "derived from observations only"
    value_range = union.value(obs, iri(settings, "def/attribute/value-range"))
    low = int(union.value(value_range, SCHEMA.minValue))  # type: ignore[call-overload]  # an xsd:integer Literal
    high = int(union.value(value_range, SCHEMA.maxValue))  # type: ignore[call-overload]  # an xsd:integer Literal
    for count in range(low, high + 1):
        assert round((this_year / count - 1) * 100) == change, f"{count} does not give {change}%"
    assert round((this_year / (low - 1) - 1) * 100) != change
    assert round((this_year / (high + 1) - 1) * 100) != change


def selectors(union: Graph) -> list[tuple[str, ...]]:
    rows = union.query(
        """
        PREFIX oa: <http://www.w3.org/ns/oa#>
        SELECT ?segment ?exact ?start ?end ?prefix ?suffix WHERE {
          ?segment oa:hasSelector ?q, ?p .
          ?q a oa:TextQuoteSelector ; oa:exact ?exact .
          ?p a oa:TextPositionSelector ; oa:start ?start ; oa:end ?end .
          OPTIONAL { ?q oa:prefix ?prefix } OPTIONAL { ?q oa:suffix ?suffix }
        } ORDER BY ?segment"""
    )
    # A SELECT's rows are ResultRows; rdflib types them as any query's result.
    return [tuple(str(v) if v is not None else "" for v in row) for row in rows]  # type: ignore[union-attr]


def test_there_is_a_segment_for_every_citation(union: Graph) -> None:
    cited = set(union.objects(None, PROV.wasDerivedFrom)) | set(union.objects(None, PROV.wasQuotedFrom))
    segments = {s for s in cited if (s, RDF.type, OA.SpecificResource) in union}
    assert len(selectors(union)) == len(segments) >= 20


def test_every_selector_matches_the_source_text_exactly(union: Graph, source_text: str) -> None:
    for segment, exact, start, end, prefix, suffix in selectors(union):
        assert source_text[int(start) : int(end)] == exact, segment
        assert source_text.count(prefix + exact + suffix) == 1, segment
        assert source_text[int(start) - len(prefix) : int(start)] == prefix, segment
        assert source_text[int(end) : int(end) + len(suffix)] == suffix, segment


# SHA-256 of the news item as published: any change to the kept copy, even of one byte, fails.
SOURCE_SHA256 = "9dc8dd241da3c0fb5a6076addbae3137864c4e9be1159e444302b546980ad8a4"


def test_source_text_is_kept_byte_for_byte_and_in_the_graph(union: Graph, settings: Settings) -> None:
    kept = (ROOT / "data" / "source" / "ceop-annual-review-2012-13-news.txt").read_bytes()
    assert hashlib.sha256(kept).hexdigest() == SOURCE_SHA256
    article = iri(settings, "id/news-item/ceop-annual-review-2012-13")
    assert (article, RDF.type, SCHEMA.NewsArticle) in union
    assert str(union.value(article, SCHEMA.text)).encode("utf-8") == kept


@pytest.mark.parametrize("slug", ["past-year", "not-complacent"])
def test_quotations_are_verbatim_and_attributed(union: Graph, settings: Settings, source_text: str, slug: str) -> None:
    quotation = iri(settings, f"id/quotation/{slug}")
    text = str(union.value(quotation, SCHEMA.text))
    assert f'"{text}"' in source_text
    assert union.value(quotation, SCHEMA.creator) == iri(settings, "id/person/peter-davies")
    assert union.value(quotation, SCHEMA.isPartOf) == iri(settings, "id/news-item/ceop-annual-review-2012-13")
    segment = union.value(quotation, PROV.wasQuotedFrom)
    assert (segment, OA.hasSource, iri(settings, "id/news-item/ceop-annual-review-2012-13")) in union


def test_threat_areas_form_a_scheme_of_four_with_definitions_from_the_source(
    union: Graph, settings: Settings, source_text: str
) -> None:
    scheme = iri(settings, "def/threat-area")
    concepts = sorted(union.subjects(SKOS.topConceptOf, scheme), key=lambda c: str(union.value(c, SKOS.notation)))
    assert [str(union.value(c, SKOS.notation)) for c in concepts] == ["1", "2", "3", "4"]
    for concept in concepts:
        line = f"– {union.value(concept, SKOS.prefLabel)} – {union.value(concept, SKOS.definition)}\n"
        assert line in source_text + "\n"
        assert (concept, SKOS.inScheme, scheme) in union


def test_nca_move_is_a_planned_change_event_in_october_2013(union: Graph, settings: Settings) -> None:
    from ceopgraph.namespaces import ORG, STANDARD_PREFIXES

    event = iri(settings, "id/event/ceop-joins-nca")
    assert (event, RDF.type, ORG.ChangeEvent) in union
    assert union.value(event, ORG.originalOrganization) == iri(settings, "id/organisation/ceop")
    assert union.value(event, STANDARD_PREFIXES["time"].hasTime) == URIRef(
        "http://reference.data.gov.uk/id/month/2013-10"
    )
    assert union.value(event, iri(settings, "def/ceop/statusAtPublication")) == iri(
        settings, "def/event-status/planned"
    )
    membership = iri(settings, "id/membership/ceop-in-nca")
    assert union.value(membership, ORG.organization) == iri(settings, "id/organisation/nca")


def test_the_move_event_itself_leads_to_the_nca(union: Graph, settings: Settings) -> None:
    """A SPARQL user asking which change involved the NCA finds the move: it results in CEOP as a
    unit of the NCA (ORG's org:unitOf / org:hasUnit), planned as at publication, with its source."""
    from ceopgraph.namespaces import ORG

    found = union.query(
        "SELECT ?event WHERE { ?event a org:ChangeEvent ; org:resultingOrganization/org:unitOf ?nca . "
        "?nca org:hasUnit/org:resultedFrom ?event }",
        initNs={"org": ORG},
        initBindings={"nca": iri(settings, "id/organisation/nca")},
    )
    assert [row[0] for row in found] == [iri(settings, "id/event/ceop-joins-nca")]  # type: ignore[index]
    unit = iri(settings, "id/organisation/ceop-in-nca")
    assert (unit, RDF.type, ORG.OrganizationalUnit) in union
    assert union.value(unit, iri(settings, "def/ceop/statusAtPublication")) == iri(settings, "def/event-status/planned")
    assert union.value(unit, PROV.wasDerivedFrom) == iri(
        settings, "id/news-item/ceop-annual-review-2012-13/segment/nca-move"
    )
    assert (iri(settings, "id/organisation/ceop"), ORG.changedBy, iri(settings, "id/event/ceop-joins-nca")) in union


def test_every_local_term_is_labelled_commented_and_defined(dataset: Dataset, settings: Settings) -> None:
    vocabulary = dataset.graph(settings.scheme.graph_iri("vocabulary"))
    terms = {
        s
        for s in vocabulary.subjects(RDF.type, None)
        if isinstance(s, URIRef) and (s, RDF.type, OWL.Ontology) not in vocabulary
    }
    assert len(terms) > 10
    for term in terms:
        assert vocabulary.value(term, RDFS.isDefinedBy) == iri(settings, "def/ceop"), term
        has_label = vocabulary.value(term, RDFS.label) or vocabulary.value(term, SKOS.prefLabel)
        has_comment = vocabulary.value(term, RDFS.comment) or vocabulary.value(term, SKOS.definition)
        assert has_label and has_comment, term
    ontology = iri(settings, "def/ceop")
    assert vocabulary.value(ontology, OWL.versionInfo) is not None
    assert vocabulary.value(ontology, DCTERMS.license) is not None
    assert vocabulary.value(ontology, DCTERMS.creator) is not None


def test_every_triple_is_in_exactly_one_named_graph(dataset: Dataset) -> None:
    seen: dict[tuple[object, object, object], object] = {}
    for s, p, o, g in dataset.quads():
        assert g is not None and str(g) != "urn:x-rdflib:default", (s, p, o)
        assert (s, p, o) not in seen, f"{(s, p, o)} is in {seen[(s, p, o)]} and {g}"
        seen[(s, p, o)] = g


def test_void_triples_are_the_real_counts(dataset: Dataset, settings: Settings) -> None:
    whole = settings.scheme.dataset
    counts = {s: int(o) for s, o in dataset.subject_objects(VOID.triples)}  # type: ignore[call-overload]
    assert counts[whole] == len(list(dataset.quads()))
    for name in {g for *_, g in dataset.quads()}:
        assert counts[name] == len(dataset.graph(name)), name  # type: ignore[index]


def test_dataset_metadata_describes_every_dump_and_the_endpoint(dataset: Dataset, settings: Settings) -> None:
    whole = settings.scheme.dataset
    assert set(map(str, dataset.objects(whole, VOID.uriSpace))) == {settings.base_uri}
    assert set(dataset.objects(whole, VOID.sparqlEndpoint)) == {iri(settings, "sparql")}
    dumps = set(dataset.objects(whole, VOID.dataDump))
    assert dumps == {iri(settings, f"dumps/ceopgraph.{f.extension}") for f in RDF_FORMATS}
    media = {str(dataset.value(d, DCAT.mediaType)) for d in dataset.objects(whole, DCAT.distribution)}
    assert media == {f"https://www.iana.org/assignments/media-types/{f.media_type}" for f in RDF_FORMATS}
    assert dataset.value(whole, DCTERMS.license) == URIRef(
        "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
    )
    vocabularies = set(map(str, dataset.objects(whole, VOID.vocabulary)))
    assert {str(QB), str(OA), "http://www.w3.org/ns/org#", str(SCHEMA)} <= vocabularies
    assert len(set(dataset.objects(whole, VOID.exampleResource))) >= 3


def test_base_uri_is_configuration(tmp_path: Path) -> None:
    other = load_settings(environ={"CEOPGRAPH_BASE_URI": "http://example.org/stats"}, root=ROOT)
    assert other.base_uri == "http://example.org/stats/"
    built = build_dataset(other)
    subjects = {str(s) for s, *_ in built.quads()}
    assert not any("w3id.org/ceopgraph" in s for s in subjects)
    assert "http://example.org/stats/id/organisation/ceop" in subjects


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset, settings: Settings) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    return {d.path.name: d.path for d in write_dumps(dataset, out, settings.scheme)}


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_dumps_round_trip_to_isomorphic_graphs(
    dumps: dict[str, Path], dataset: Dataset, union: Graph, fmt: RdfFormat
) -> None:
    if fmt.quads:
        parsed = Dataset()
        parsed.parse(dumps[f"ceopgraph.{fmt.extension}"], format=fmt.rdflib_name)
        names = {g for *_, g in dataset.quads()}
        assert {g for *_, g in parsed.quads()} == names
        for name in names:
            assert isomorphic(parsed.graph(name), dataset.graph(name)), name
    else:
        parsed_graph = Graph().parse(dumps[f"ceopgraph.{fmt.extension}"], format=fmt.rdflib_name)
        assert isomorphic(parsed_graph, union)


def test_build_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "ceopgraph.cli", "build", "--out", str(out)],
            check=True,
            env=env,
            capture_output=True,
            cwd=ROOT,
        )
        outputs.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    tables = {"annual-review-2012-13.csv", "annual-review-2012-13.csv-metadata.json"}
    assert outputs[0].keys() == {f"ceopgraph.{f.extension}" for f in RDF_FORMATS} | tables
    assert outputs[0] == outputs[1]


def test_build_refuses_data_that_does_not_conform_and_writes_nothing(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "tree", ('"790"^^xsd:integer', '"seven hundred and ninety"'))
    out = tmp_path / "out"
    done = run_build(root, out)
    assert done.returncode == 1
    assert "does not conform" in done.stderr
    assert "children-safeguarded/2012-2013" in done.stderr
    assert not out.exists() or not any(out.iterdir())


def test_build_names_the_file_with_a_syntax_error(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "tree")
    (root / "data" / "claims.ttl").write_text("<a> <b> .\n")
    done = run_build(root, tmp_path / "out")
    assert done.returncode == 2
    assert "claims.ttl" in done.stderr
    assert "Traceback" not in done.stderr


# Links out (README, "Links out") ----------------------------------------------------------------------

GOV_UK_ORGANISATIONS = "https://www.gov.uk/government/organisations/"
LINKS_OUT = {
    "organisation/nca": GOV_UK_ORGANISATIONS + "national-crime-agency",
    "organisation/ceop": GOV_UK_ORGANISATIONS + "child-exploitation-and-online-protection-centre",
}
OGL = URIRef("http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")


def _links_out_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Links out")
    return readme[start : readme.index("\n## ", start) if "\n## " in readme[start:] else None]


@pytest.mark.parametrize(("thing", "page"), sorted(LINKS_OUT.items()))
def test_each_organisation_links_to_its_gov_uk_page(union: Graph, settings: Settings, thing: str, page: str) -> None:
    subject = settings.scheme.id[thing]
    foaf_page = URIRef("http://xmlns.com/foaf/0.1/page")
    assert set(union.objects(subject, foaf_page)) == {URIRef(page)}
    assert set(union.objects(subject, SCHEMA.sameAs)) == {URIRef(page)}
    assert not set(union.objects(subject, OWL.sameAs))  # a page is not the organisation
    assert re.fullmatch(r"https://www\.gov\.uk/government/organisations/[a-z]+(-[a-z]+)*", page)
    assert f"`{page}`" in _links_out_section()


def test_every_link_out_of_ours_is_documented(union: Graph, settings: Settings) -> None:
    """Every IRI the data points to outside our space, but for vocabulary terms and the IANA media types the
    dumps' distributions name, is listed in the README's "Links out" (a period's IRI by its register's path)."""
    section = _links_out_section()
    vocabularies = ("http://www.w3.org/", "http://purl.org/", "http://schema.org/", "http://xmlns.com/foaf/",
                    "http://rdfs.org/ns/void#", "https://www.iana.org/assignments/media-types/", "http://reference.data.gov.uk/def/",
                    "http://id.loc.gov/vocabulary/iso639-1/")  # fmt: skip
    outside = {
        str(o)
        for _, p, o in union
        if isinstance(o, URIRef) and not settings.scheme.is_local(str(o)) and not str(o).startswith(vocabularies)
        and p != RDF.type
    }  # fmt: skip
    for iri in sorted(outside):
        documented = f"`{iri}`" in section or (
            iri.startswith("http://reference.data.gov.uk/id/") and iri.rsplit("/", 1)[0] in section
        )
        assert documented, iri


def test_the_licence_is_ogl_v3_wherever_one_is_named(union: Graph, settings: Settings) -> None:
    assert set(union.objects(None, DCTERMS.license)) == {OGL}
    for subject in (settings.scheme.dataset, settings.scheme.iri_at("data/", "annual-review-2012-13")):
        assert union.value(subject, DCTERMS.license) == OGL


def test_the_publisher_is_the_project_and_the_sources_publisher_is_ceop(union: Graph, settings: Settings) -> None:
    """The dataset is the project's (it is not CEOP); the publications it comes from are CEOP's, whose page
    on GOV.UK is linked (README, "Links out": the publisher)."""
    scheme = settings.scheme
    assert set(union.objects(scheme.dataset, DCTERMS.publisher)) == {scheme.id["organisation/ceopgraph"]}
    for publication in ("publication/annual-review-2012-13", "publication/centre-plan-2013-14"):
        assert union.value(scheme.id[publication], SCHEMA.publisher) == scheme.id["organisation/ceop"]
    news = scheme.id["news-item/ceop-annual-review-2012-13"]
    assert union.value(scheme.dataset, PROV.wasDerivedFrom) == news


def test_reference_periods_are_government_years_of_the_uk_register(union: Graph, settings: Settings) -> None:
    """Every year's figure is for a government year of the UK's reference intervals; only the one figure over
    several years (since the Centre's launch) has an interval of ours."""
    periods = set(union.objects(None, SDMX_DIMENSION.refPeriod))
    outside = {p for p in periods if not settings.scheme.is_local(str(p))}
    assert len(outside) >= 2 and len(periods - outside) == 1
    for period in outside:
        assert re.fullmatch(r"http://reference\.data\.gov\.uk/id/government-year/(\d{4})-(\d{4})", str(period))
        first, second = str(period).rsplit("/", 1)[1].split("-")
        assert int(second) == int(first) + 1
