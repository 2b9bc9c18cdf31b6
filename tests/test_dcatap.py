"""The catalogue as DCAT-AP 3 harvesters read it: the VoID/DCAT (``/.well-known/void``, ``/data/ceopgraph``),
the releases (``/releases`` as RDF) and the paged catalogue (``/catalog``) conform to our reading of the
profile's mandatory and recommended properties (``tests/dcat_ap/dcat-ap-3.ttl``), with no violation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, XSD

from ceopgraph import dcatap
from ceopgraph.config import Settings
from ceopgraph.namespaces import OGL_V3
from ceopgraph.releases.content import releases_graph
from ceopgraph.releases.service import listed
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.report import Result
from ceopgraph.web.services import of

from .apps import embedded_app
from .releasing import local_releases

SHAPES = Path(__file__).parent / "dcat_ap" / "dcat-ap-3.ttl"
SPDX = dcatap.SPDX
HYDRA = dcatap.HYDRA
TURTLE = "text/turtle"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    """An app with one release, its catalogue one dataset to a page: two pages."""
    data_dir = tmp_path_factory.mktemp("catalogue") / "data"
    assert local_releases(data_dir).ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with embedded_app(settings, built_dist, data_dir=data_dir, catalog_page_size=1) as made:
        yield made


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def ap_shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


def _rdf(client: FlaskClient, path: str, accept: str = TURTLE) -> Graph:
    answer = client.get(path, headers={"Accept": accept})
    assert answer.status_code == 200, (path, answer.status_code, answer.data[:300])
    return _parsed(answer.data, answer.mimetype or "")


def _parsed(data: bytes, media_type: str) -> Graph:
    return Graph().parse(data=data, format="turtle" if media_type == TURTLE else media_type)


def _violations(graph: Graph, shapes: Graph) -> list[Result]:
    report = validate_graph(graph, shapes, bulk=False)
    return [r for r in report.results if r.severity == "Violation"]


@pytest.mark.parametrize("path", ["/.well-known/void", "/data/ceopgraph", "/releases", "/releases/1", "/catalog"])
def test_the_catalogue_conforms_to_dcat_ap(client: FlaskClient, ap_shapes: Graph, path: str) -> None:
    graph = _rdf(client, path)
    assert any(graph.subjects(RDF.type, DCAT.Dataset)), path
    assert _violations(graph, ap_shapes) == []


def test_the_shapes_catch_what_the_releases_graph_lacked_alone(app: Flask, ap_shapes: Graph) -> None:
    """Without the classes DCAT-AP asks of objects (``dcatap.typed``) the releases' DCAT is refused: the shapes
    check what the served documents add, not nothing."""
    releases = of(app).releases
    assert releases is not None
    bare = releases_graph(of(app).settings.scheme, [listed(r) for r in releases.registry.releases()], 1)
    found = {(r.result_path, r.message) for r in _violations(bare, ap_shapes)}
    paths = {path for path, _ in found}
    assert {str(DCTERMS.license), str(DCAT.mediaType), str(DCAT.downloadURL), str(DCTERMS.publisher)} <= paths
    without_access = Graph()
    without_access += bare
    without_access.remove((None, DCAT.accessURL, None))
    assert any(r.result_path == str(DCAT.accessURL) for r in _violations(without_access, ap_shapes))


def test_each_release_file_has_its_sha256_as_an_spdx_checksum(app: Flask, client: FlaskClient) -> None:
    releases = of(app).releases
    assert releases is not None
    release = releases.registry.release(1)
    assert release is not None
    graph = _rdf(client, "/releases")
    scheme = of(app).settings.scheme
    found: dict[str, str] = {}
    for distribution in graph.objects(scheme.release(1), DCAT.distribution):
        (url,) = graph.objects(distribution, DCAT.downloadURL)
        assert (distribution, DCAT.accessURL, url) in graph
        (checksum,) = graph.objects(distribution, SPDX.checksum)
        assert isinstance(checksum, BNode)
        assert (checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256) in graph
        (value,) = graph.objects(checksum, SPDX.checksumValue)
        assert isinstance(value, Literal) and value.datatype == XSD.hexBinary
        found[str(url).rsplit("/", 1)[-1]] = str(value)
        assert (distribution, RDFS.comment, Literal(f"sha256 {value}")) in graph  # kept, as it always was
    assert found == release.dumps


def test_a_release_has_a_title_and_a_description(client: FlaskClient, app: Flask) -> None:
    graph = _rdf(client, "/releases/1")
    release = of(app).settings.scheme.release(1)
    assert graph.value(release, DCTERMS.title) == Literal("Release 1 of the dataset", lang="en")
    description = graph.value(release, DCTERMS.description)
    assert isinstance(description, Literal) and str(description).startswith("Version 1 of the dataset, issued ")


def test_the_publisher_is_typed_and_named(client: FlaskClient, app: Flask) -> None:
    graph = _rdf(client, "/.well-known/void")
    publisher = of(app).settings.scheme.id["organisation/ceopgraph"]
    assert (of(app).settings.scheme.dataset, DCTERMS.publisher, publisher) in graph
    assert (publisher, RDF.type, FOAF.Agent) in graph
    assert graph.value(publisher, FOAF.name) == Literal("ceopgraph")
    assert (OGL_V3, RDF.type, DCTERMS.LicenseDocument) in graph


# The catalogue's pages ----------------------------------------------------------------------------------


def test_the_first_page_lists_the_dataset_and_links_the_next(client: FlaskClient, app: Flask) -> None:
    scheme = of(app).settings.scheme
    graph = _rdf(client, "/catalog")
    catalog = scheme.catalog
    assert (catalog, RDF.type, DCAT.Catalog) in graph
    assert set(graph.objects(catalog, DCAT.dataset)) == {scheme.dataset}
    assert graph.value(catalog, HYDRA.totalItems) == Literal(2, datatype=XSD.integer)
    view = graph.value(catalog, HYDRA.view)
    assert view == scheme.catalog_page(1)
    assert (view, RDF.type, HYDRA.PartialCollectionView) in graph
    assert (view, RDF.type, HYDRA.PagedCollection) in graph  # what ckanext-dcat's next_page() looks for
    assert graph.value(view, HYDRA.itemsPerPage) == Literal(1, datatype=XSD.integer)
    assert graph.value(view, HYDRA.first) == scheme.catalog_page(1)
    assert graph.value(view, HYDRA.next) == scheme.catalog_page(2)
    assert graph.value(view, HYDRA.last) == scheme.catalog_page(2)
    assert graph.value(view, HYDRA.previous) is None


def test_the_last_page_lists_the_release_and_links_back(client: FlaskClient, app: Flask) -> None:
    scheme = of(app).settings.scheme
    graph = _rdf(client, "/catalog?page=2")
    assert set(graph.objects(scheme.catalog, DCAT.dataset)) == {scheme.release(1)}
    view = scheme.catalog_page(2)
    assert graph.value(view, HYDRA.next) is None
    assert graph.value(view, HYDRA.previous) == scheme.catalog_page(1)
    assert any(graph.objects(scheme.release(1), DCAT.distribution))


@pytest.mark.parametrize("accept", ["application/ld+json", "application/rdf+xml", "text/turtle", "*/*"])
def test_the_catalogue_comes_in_the_format_asked(client: FlaskClient, app: Flask, accept: str) -> None:
    answer = client.get("/catalog", headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.mimetype == (TURTLE if accept == "*/*" else accept)
    graph = _parsed(answer.data, answer.mimetype)
    assert (of(app).settings.scheme.catalog, RDF.type, DCAT.Catalog) in graph


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=01", "page=-1", "page=", "page=1&page=2", "page=1e3"])
def test_a_page_that_is_not_a_page_number_is_refused(client: FlaskClient, query: str) -> None:
    assert client.get(f"/catalog?{query}").status_code == 400


def test_a_page_past_the_last_is_not_found(client: FlaskClient) -> None:
    assert client.get("/catalog?page=3").status_code == 404


def test_an_unacceptable_format_is_refused(client: FlaskClient) -> None:
    assert client.get("/catalog", headers={"Accept": "image/png"}).status_code == 406


# The pure parts ----------------------------------------------------------------------------------------


def test_typed_states_each_class_once_and_only_for_profiled_subjects() -> None:
    distribution, elsewhere = URIRef("urn:x:d"), URIRef("urn:x:e")
    media = URIRef("https://www.iana.org/assignments/media-types/text/csv")
    graph = Graph()
    graph.add((distribution, RDF.type, DCAT.Distribution))
    graph.add((distribution, DCAT.mediaType, media))
    graph.add((distribution, DCTERMS.license, OGL_V3))
    graph.add((OGL_V3, RDF.type, DCTERMS.LicenseDocument))
    graph.add((elsewhere, DCAT.mediaType, URIRef("urn:x:m")))  # not a dcat:Distribution: left alone
    assert set(dcatap.typed(graph)) == {(media, RDF.type, DCTERMS.MediaType)}


@pytest.mark.parametrize(("items", "size", "pages"), [(0, 20, 1), (1, 20, 1), (20, 20, 1), (21, 20, 2), (2, 1, 2)])
def test_page_count(items: int, size: int, pages: int) -> None:
    assert dcatap.page_count(items, size) == pages
