"""Content negotiation: RFC 9110 Accept handling, as one table of cases."""

from __future__ import annotations

import pytest

from ceopgraph.conneg import (
    FORMATS_BY_EXTENSION,
    RDF_FORMATS,
    RdfFormat,
    negotiate,
    rdf_format_for_media_type,
)

OFFERED = ["text/html", "text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("", "text/html"),
        ("*/*", "text/html"),
        ("text/turtle", "text/turtle"),
        ("application/ld+json, text/turtle;q=0.5", "application/ld+json"),
        ("text/turtle;q=0.2, application/rdf+xml;q=0.9", "application/rdf+xml"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("application/*", "application/ld+json"),
        ("text/*;q=0.5, text/turtle", "text/turtle"),
        ("*/*;q=0.1, application/n-triples", "application/n-triples"),
        ("text/turtle;q=0, */*", "text/html"),
        ("image/png", None),
        ("text/turtle;q=0", None),
        ("garbage, ;;, /", "text/html"),
        ("TEXT/TURTLE", "text/turtle"),
        ("text/turtle;q=nonsense, application/ld+json;q=0.5", "application/ld+json"),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept, OFFERED, default="text/html") == expected


def test_named_type_beats_wildcard_at_equal_quality() -> None:
    assert negotiate("*/*, application/rdf+xml", OFFERED, default="text/html") == "application/rdf+xml"


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.name)
def test_media_types_and_extensions_name_each_format(fmt: RdfFormat) -> None:
    assert rdf_format_for_media_type(fmt.media_type + "; charset=utf-8") is fmt
    assert FORMATS_BY_EXTENSION[fmt.extension] is fmt


def test_unknown_media_type_is_none() -> None:
    assert rdf_format_for_media_type("application/x-unknown") is None
