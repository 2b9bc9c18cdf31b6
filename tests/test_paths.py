"""paths: the URI scheme's paths, and IRIs compared as the scheme parses them (RFC 3986 section 6.2.2)."""

from __future__ import annotations

import pytest

from ceopgraph.paths import parse_iri, valid_segment

GRAPHS = "https://w3id.org/ceopgraph/data/graph/"


@pytest.mark.parametrize(
    ("spelled", "normal"),
    [
        (GRAPHS + "%72eleases", GRAPHS + "releases"),
        (GRAPHS + "./releases", GRAPHS + "releases"),
        (GRAPHS + "x/../releases", GRAPHS + "releases"),
        (GRAPHS + "releases/.", GRAPHS + "releases/"),
        (GRAPHS + "../graph/releases", GRAPHS + "releases"),
        ("HTTPS://W3ID.org:443/ceopgraph/data/graph/releases", GRAPHS + "releases"),
        ("http://x.example:80", "http://x.example/"),
        ("http://x.example:8080/a", "http://x.example:8080/a"),
        ("https://x.example/%7e%2fa%2F", "https://x.example/~%2Fa%2F"),  # a slash stays encoded: another path
        (GRAPHS + "releases#", GRAPHS + "releases#"),  # an empty fragment is still a fragment
        (GRAPHS + "releases?", GRAPHS + "releases?"),
        ("urn:x-rdflib:default", "urn:x-rdflib:default"),
        ("http://[::1]:443/a", "http://[::1]:443/a"),
    ],
)
def test_spellings_of_one_iri_parse_alike(spelled: str, normal: str) -> None:
    assert str(parse_iri(spelled)) == normal


def test_parts_and_paths_relative_to_a_base() -> None:
    base = parse_iri(GRAPHS)
    found = parse_iri(GRAPHS + "releases?x=1#frag")
    assert (found.query, found.fragment) == ("x=1", "frag")
    assert found.relative_path(base) == "releases"
    assert parse_iri(GRAPHS + "releases").query is None and parse_iri(GRAPHS + "releases#").fragment == ""
    assert parse_iri("http://w3id.org/ceopgraph/data/graph/x").relative_path(base) is None  # another scheme
    assert parse_iri("https://w3id.org/ceopgraph/data/graphs").relative_path(base) is None


@pytest.mark.parametrize("segment", ["", ".", "..", ".hidden", "a/b", "a%2Fb", "a b", "x" * 513])
def test_a_segment_is_one_safe_name(segment: str) -> None:
    assert not valid_segment(segment)
    assert valid_segment("threat-areas") and valid_segment("v1.2_x~")
