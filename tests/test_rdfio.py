"""rdfio: the one parser of untrusted RDF. Every allow-listed format reads; hostile input is refused
before any network or file access (a local listener counts requests) and without hanging."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import rdflib.plugins.sparql
from rdflib import Dataset, Graph

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import prefix_map
from ceopgraph.rdfio import UnreadableRdf, format_for_name, format_for_path, parse_rdf, read_files
from ceopgraph.validate import load_shapes, validate_graph

from .listener import Listener, listener  # noqa: F401 (the fixture)
from .submissions import HERE as SUBMISSIONS

LIMIT = 4 * 1024 * 1024
T = TypeVar("T")


def bounded(call: Callable[[], T], seconds: float = 20.0) -> T:
    """Run ``call`` and fail (rather than hang) if it does not finish in time."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def hostile(name: str, listener_url: str, tmp_path: Path) -> Path:
    """A hostile file from the corpus, with the listener's address filled in."""
    template = SUBMISSIONS / (name + ".template")
    if not template.exists():
        return SUBMISSIONS / name
    target = tmp_path / name
    target.write_text(template.read_text().replace("{listener}", listener_url))
    return target


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
def test_every_allowed_format_reads_the_published_dataset(
    fmt: RdfFormat, dataset: Dataset, union: Graph, settings: Settings
) -> None:
    data = rdfio.serialise(dataset, fmt, prefix_map(settings.base_uri))
    graph = parse_rdf(data, fmt, f"published.{fmt.extension}", LIMIT, settings.base_uri)
    assert len(graph) == len(union)  # a dataset is read as the union of its graphs


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("turtle", "turtle"),
        ("ttl", "turtle"),
        (".trig", "trig"),
        ("nt", "ntriples"),
        ("application/n-quads", "nquads"),
        ("json", "jsonld"),
        ("rdf", "rdfxml"),
        ("xml", "rdfxml"),
    ],
)
def test_formats_are_found_by_name_extension_or_media_type(name: str, expected: str) -> None:
    assert format_for_name(name).name == expected


@pytest.mark.parametrize("name", ["n3", "trix", "hext", "csv", ""])
def test_formats_outside_the_allow_list_are_refused(name: str) -> None:
    with pytest.raises(UnreadableRdf, match="not a supported RDF format"):
        format_for_name(name)
    with pytest.raises(UnreadableRdf, match="cannot tell the RDF format"):
        format_for_path(Path(f"submission.{name or 'txt'}"))


def test_size_limit_has_a_clear_message() -> None:
    with pytest.raises(UnreadableRdf, match="2,048 bytes is more than the limit of 1,024 bytes"):
        parse_rdf(b" " * 2048, format_for_name("turtle"), "big.ttl", 1024)


@pytest.mark.parametrize(
    ("fmt", "data", "line"),
    [
        (
            "turtle",
            b"@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:d ex:e ex:f ex:g .\nex:h ex:i ex:j .\n",
            3,
        ),
        ("ntriples", b"<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n<a> <b> <c> .\n", 2),
        ("jsonld", b'{\n  "@id": "http://example.org/a",\n  "x": \n}', 4),
        (
            "rdfxml",
            b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<rdf:Description>\n</rdf:RDF>',
            4,
        ),
    ],
)
def test_syntax_errors_name_the_source_and_the_line(fmt: str, data: bytes, line: int) -> None:
    with pytest.raises(UnreadableRdf) as caught:
        parse_rdf(data, format_for_name(fmt), "submission-file", LIMIT)
    assert caught.value.message.startswith("submission-file:")
    assert f"line {line}" in caught.value.message
    assert caught.value.line == line


def test_truncated_rdfxml_is_a_syntax_error_not_an_empty_graph() -> None:
    """Regression: Oxigraph read an RDF/XML document cut off before its end tags as an empty graph."""
    data = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<rdf:Description>'
    with pytest.raises(UnreadableRdf, match=r"cut\.rdf: rdfxml syntax error at line 2") as caught:
        parse_rdf(data, format_for_name("rdfxml"), "cut.rdf", LIMIT)
    assert caught.value.line == 2


def test_blank_nodes_of_different_files_stay_apart(tmp_path: Path) -> None:
    for name in ("a.ttl", "b.ttl"):
        (tmp_path / name).write_text('_:b1 <http://example.org/p> "x" .\n')
    merged = read_files([tmp_path / "a.ttl", tmp_path / "b.ttl"], LIMIT)
    assert len(merged) == 2


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnreadableRdf, match=r"missing\.ttl: cannot read the file"):
        read_files([tmp_path / "missing.ttl"], LIMIT)


def test_rdfxml_in_another_encoding_is_refused() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?>\n<rdf:RDF/>'.encode("utf-16")
    with pytest.raises(UnreadableRdf, match="UTF-8"):
        parse_rdf(data, format_for_name("rdfxml"), "utf16.rdf", LIMIT)


REFUSED = [
    ("billion-laughs.rdf", "document type or entity declaration"),
    ("external-entity-file.rdf", "document type or entity declaration"),
    ("external-entity-http.rdf", "document type or entity declaration"),
    ("external-dtd.rdf", "document type or entity declaration"),
    ("remote-context.jsonld", "remote context"),
    ("remote-context-in-list.jsonld", "remote context"),
    ("scoped-remote-context.jsonld", "remote context"),
    ("context-import.jsonld", "remote context"),
    ("file-context.jsonld", "remote context"),
]


@pytest.mark.parametrize(("name", "reason"), REFUSED, ids=[n for n, _ in REFUSED])
def test_hostile_input_is_refused_without_any_request(
    name: str,
    reason: str,
    listener: Listener,
    tmp_path: Path,
) -> None:
    path = hostile(name, listener.url, tmp_path)
    with pytest.raises(UnreadableRdf, match=reason):
        bounded(lambda: read_files([path], LIMIT))
    assert listener.requests == 0


@pytest.mark.parametrize("name", ["owl-imports.ttl", "own-shapes.ttl"])
def test_imports_and_shapes_in_a_submission_are_data_never_followed_or_run(
    name: str,
    listener: Listener,
    tmp_path: Path,
    settings: Settings,
) -> None:
    path = hostile(name, listener.url, tmp_path)
    data = bounded(lambda: read_files([path], LIMIT, settings.base_uri))
    report = bounded(lambda: validate_graph(data, load_shapes(settings.shapes_dir, settings.base_uri)))
    assert listener.requests == 0
    assert all("exfiltrated" not in r.message for r in report.results)
    assert all("/def/shapes/" in r.source_shape for r in report.results)  # only our shapes ran
    assert rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS is False


def test_the_listener_does_count_requests(listener: Listener) -> None:
    """Guards the guard: a zero count above means no request, not a deaf listener."""
    from urllib.request import urlopen

    with urlopen(listener.url + "probe", timeout=5) as answer:
        assert answer.status == 200
    assert listener.requests == 1
