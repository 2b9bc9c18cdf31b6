"""urischeme: every IRI the scheme makes is ours, maps to the document that serves it, and reads back."""

from __future__ import annotations

import pytest
from rdflib import URIRef

from ceopgraph.config import load_settings
from ceopgraph.paths import Linker
from ceopgraph.urischeme import UriScheme, is_service_path

BASES = ("https://w3id.org/ceopgraph/", "https://example.org/x/", "http://127.0.0.1:8080/a/b/")


def made(scheme: UriScheme) -> dict[str, str]:
    """Every kind of IRI the scheme makes, by what it is."""
    return {
        "resource": str(scheme.id["organisation/ceop"]),
        "definition": str(scheme.def_["threat-area"]),
        "term": str(scheme.ceop.Claim),
        "dimension": str(scheme.dimension["statistic"]),
        "attribute": str(scheme.attribute["precision"]),
        "statistic": str(scheme.statistic["children-safeguarded"]),
        "unit": str(scheme.unit["children"]),
        "graph": str(scheme.graph_iri("figures")),
        "dataset": str(scheme.dataset),
        "distribution": str(scheme.distribution("turtle")),
        "dump": str(scheme.dump("ttl")),
        "shapes": str(scheme.shapes),
        "sparql": str(scheme.sparql),
        "reconcile": str(scheme.reconcile),
        "catalog": str(scheme.catalog),
        "release": str(scheme.release(3)),
        "release distribution": str(scheme.release_distribution(3, "nq")),
        "publication": str(scheme.publication(3)),
        "release dump": str(scheme.release_dump(3, "ceopgraph.trig")),
        "changeset": scheme.changeset("d1"),
        "audit activity": str(scheme.audit_activity(7)),
        "audit agent": str(scheme.audit_agent("token:1")),
    }


@pytest.mark.parametrize("base", BASES)
def test_every_iri_made_is_ours_and_reads_back_to_its_path(base: str) -> None:
    scheme = UriScheme(base)
    for kind, iri in made(scheme).items():
        assert scheme.is_local(iri), kind
        rest = scheme.path_of(iri)
        assert rest is not None and base + rest == iri, kind
        assert scheme.iri_at("", rest) == URIRef(iri), kind


@pytest.mark.parametrize("base", BASES)
def test_a_thing_is_served_by_its_document_and_every_other_iri_at_its_own_path(base: str) -> None:
    scheme = UriScheme(base)
    for kind, iri in made(scheme).items():
        rest = iri[len(base) :]
        served = scheme.served_at(iri)
        document = scheme.document_of(iri)
        if kind == "resource":
            assert served == "/doc/organisation/ceop"
            assert document == base + "doc/organisation/ceop"
        else:
            assert served == "/" + rest, kind
            assert document == iri, kind
        assert Linker(scheme, "/root").href(iri) == f"/root{served}", kind


@pytest.mark.parametrize(
    "foreign",
    [
        "https://example.org/",  # the site of a base with a path, but not under it
        "https://example.org/xy/id/a",  # a path that only starts like the base's
        "http://example.org/x/id/a",  # another scheme
        "urn:x:example.org/x/id/a",
        "javascript:alert(1)",
    ],
)
def test_iris_of_others_are_not_ours(foreign: str) -> None:
    scheme = UriScheme("https://example.org/x/")
    assert not scheme.is_local(foreign)
    assert scheme.path_of(foreign) is None and scheme.served_at(foreign) is None
    assert scheme.document_of(foreign) is None


def test_kinds_are_told_apart_by_the_scheme() -> None:
    scheme = UriScheme("https://example.org/x/")
    assert scheme.is_graph(str(scheme.graph_iri("figures")))
    assert not scheme.is_graph(str(scheme.dataset))
    assert scheme.is_shape(scheme.shapes) and scheme.is_shape(str(scheme.shapes) + "/ObservationShape")
    assert not scheme.is_shape(str(scheme.shapes) + "-not")
    assert str(scheme.release(12)).startswith(str(scheme.release_space))


def test_a_base_without_a_trailing_slash_is_given_one_as_configuration_does() -> None:
    scheme = UriScheme("https://example.org/x")
    assert scheme.base == "https://example.org/x/"
    assert scheme == UriScheme("https://example.org/x/")
    assert str(scheme.id["a"]) == "https://example.org/x/id/a"
    settings = load_settings(environ={"CEOPGRAPH_BASE_URI": "https://example.org/x"})
    assert settings.base_uri == "https://example.org/x/" and settings.scheme == scheme


def test_the_iris_keep_the_spelling_the_data_was_published_with() -> None:
    """The published data names these IRIs: the scheme must spell them exactly as before."""
    scheme = UriScheme("https://w3id.org/ceopgraph/")
    assert made(scheme) == {
        "resource": "https://w3id.org/ceopgraph/id/organisation/ceop",
        "definition": "https://w3id.org/ceopgraph/def/threat-area",
        "term": "https://w3id.org/ceopgraph/def/ceop/Claim",
        "dimension": "https://w3id.org/ceopgraph/def/dimension/statistic",
        "attribute": "https://w3id.org/ceopgraph/def/attribute/precision",
        "statistic": "https://w3id.org/ceopgraph/def/statistic/children-safeguarded",
        "unit": "https://w3id.org/ceopgraph/def/unit/children",
        "graph": "https://w3id.org/ceopgraph/data/graph/figures",
        "dataset": "https://w3id.org/ceopgraph/data/ceopgraph",
        "distribution": "https://w3id.org/ceopgraph/data/ceopgraph/distribution/turtle",
        "dump": "https://w3id.org/ceopgraph/dumps/ceopgraph.ttl",
        "shapes": "https://w3id.org/ceopgraph/def/shapes",
        "sparql": "https://w3id.org/ceopgraph/sparql",
        "reconcile": "https://w3id.org/ceopgraph/reconcile",
        "catalog": "https://w3id.org/ceopgraph/catalog",
        "release": "https://w3id.org/ceopgraph/data/ceopgraph/release/3",
        "release distribution": "https://w3id.org/ceopgraph/data/ceopgraph/release/3/distribution/nq",
        "publication": "https://w3id.org/ceopgraph/data/ceopgraph/release/3/publication",
        "release dump": "https://w3id.org/ceopgraph/releases/3/dumps/ceopgraph.trig",
        "changeset": "https://w3id.org/ceopgraph/drafts/d1/diff",
        "audit activity": "https://w3id.org/ceopgraph/audit/7",
        "audit agent": "https://w3id.org/ceopgraph/audit/agent/token:1",
    }


SERVICE_KINDS = {"graph", "dataset", "distribution", "dump", "shapes", "sparql", "reconcile", "catalog",
                 "release",
                 "release distribution", "publication", "release dump", "changeset"}  # fmt: skip


@pytest.mark.parametrize("base", BASES)
def test_the_service_s_own_resources_are_told_from_the_data_s(base: str) -> None:
    """What the service describes itself (no draft may): every IRI the scheme makes for the service, and
    none of the data's things or definitions."""
    scheme = UriScheme(base)
    for kind, iri in made(scheme).items():
        rest = scheme.path_of(iri)
        assert rest is not None
        assert is_service_path(rest) == (kind in SERVICE_KINDS), kind
    assert is_service_path("") and is_service_path(".well-known/void") and is_service_path("id/service/sparql")
    assert not is_service_path("id/organisation/ceop") and not is_service_path("data/ceopgraphs")
