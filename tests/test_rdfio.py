"""rdfio: the one parser of untrusted RDF. Every allow-listed format reads; hostile input is refused
before any network or file access (a local listener counts requests) and without hanging."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import rdflib.plugins.sparql
from rdflib import BNode, Dataset, Graph, Literal, URIRef

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import prefix_map
from ceopgraph.rdfio import UnreadableRdf, format_for_name, format_for_path, parse_rdf, read_files
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.shapes import load_shapes

from .conftest import ROOT
from .listener import Listener
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
    data = rdfio.serialise(dataset, fmt, prefix_map(settings.scheme))
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


ENTITY_DOCUMENT = (
    '<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE rdf:RDF [<!ENTITY a "expanded">]>\n'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://a.example/">'
    '<rdf:Description rdf:about="http://a.example/s"><ex:p>&a;</ex:p></rdf:Description></rdf:RDF>'
)


@pytest.mark.parametrize(
    "data",
    [
        ENTITY_DOCUMENT.format(encoding="UTF-16").encode("utf-16-le"),
        ENTITY_DOCUMENT.format(encoding="UTF-16").encode("utf-16-be"),
        b'<?xml version="1.0"'
        + b" " * 300
        + b' encoding="cp037"?>'
        + ENTITY_DOCUMENT.split("?>", 1)[1].encode("cp037"),
    ],
    ids=["utf16le-without-bom", "utf16be-without-bom", "ebcdic-declared-past-200-bytes"],
)
def test_rdfxml_hiding_its_declarations_in_another_encoding_is_refused(data: bytes) -> None:
    """Regression: without a byte order mark, UTF-16 hid "<!DOCTYPE" from the byte check (expat read
    and expanded it), and an encoding declared past the first 200 bytes went unseen."""
    with pytest.raises(UnreadableRdf, match="RDF/XML must be encoded in UTF-8"):
        parse_rdf(data, format_for_name("rdfxml"), "hidden.rdf", LIMIT)


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
    report = bounded(lambda: validate_graph(data, load_shapes(settings.shapes_dir, settings.scheme)))
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


# Guessing a format runs in the web server's own process, on pasted text: it must be linear and look
# at a bounded prefix. Line-anchored patterns whose leading \s* crossed newlines backtracked
# quadratically over runs of blank lines (30,000 newlines took about 14 s).
HOSTILE_TEXT = {
    "200000-newlines": b"\n" * 200_000 + b"x",
    "100000-newline-spaces": b"\n " * 100_000 + b"x",
    "100000-crlf": b"\r\n" * 100_000 + b"x",
    "100000-tab-lines": b"\t\n" * 100_000 + b"x",
    "a-term-then-200000-newlines": b"<a> " + b"\n" * 200_000,
    "200000-spaces": b" " * 200_000 + b"x",
    "200000-angle-brackets": b"<" * 200_000,
    "100000-blank-node-prefixes": b"_:" * 100_000,
    "100000-graph-keywords": b"GRAPH\n" * 100_000,
    "50000-open-literals": b'<a> <b> "\\' * 50_000,
}

# The child arms a real-time timer whose default action ends the process, after its imports: only
# the guess is bounded, and a regular expression that never returns to the interpreter is stopped too.
_GUESS_WITHIN = """
import signal, sys
from ceopgraph.rdfio import guess_format
data = sys.stdin.buffer.read()
signal.setitimer(signal.ITIMER_REAL, float(sys.argv[1]))
print(guess_format(data).name)
"""


def guessed_within(data: bytes, seconds: float) -> subprocess.CompletedProcess[str]:
    """``guess_format(data)`` in a fresh interpreter that is killed if the guess takes over ``seconds``."""
    return subprocess.run(
        [sys.executable, "-c", _GUESS_WITHIN, str(seconds)],
        input=data.decode("latin-1"),
        capture_output=True,
        text=True,
        encoding="latin-1",
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")},
    )


@pytest.mark.parametrize("data", HOSTILE_TEXT.values(), ids=HOSTILE_TEXT)
def test_guess_format_is_linear_on_hostile_text(data: bytes) -> None:
    done = guessed_within(data, seconds=2.0)
    assert done.returncode == 0, f"killed or failed (exit {done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.strip() == "turtle"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\n" * 1000 + b"<http://a.example/g> {\n<http://a.example/s> <http://a.example/p> 1 }", "trig"),
        (b"@prefix ex: <http://example.org/> .\nex:g\n{ ex:a ex:b ex:c }", "trig"),
        (b"_:g{ <http://a.example/s> <http://a.example/p> 1 }", "trig"),
        (b"\n" * 1000 + b"<http://a.example/s> <http://a.example/p> _:o _:g.\r\n", "nquads"),
        (b'<http://a.example/s> <http://a.example/p> "a \\" b"^^<http://a.example/t> _:g .', "nquads"),
        (b'<http://a.example/s> <http://a.example/p> "multi\nline" <http://a.example/g> .', "turtle"),
        (b"# a comment\n" * 10_000 + b"<http://a.example/g> { <http://a.example/s> <http://a.example/p> 1 }", "turtle"),
    ],
    ids=[
        "after-blank-lines",
        "brace-on-next-line",
        "blank-graph-label",
        "blank-graph-crlf",
        "escaped-literal",
        "literal-across-lines",
        "block-past-the-prefix",
    ],
)
def test_guess_format_reads_a_bounded_prefix_line_by_line(data: bytes, expected: str) -> None:
    """Graph blocks and four-term lines are still seen, within the first ``GUESS_BYTES``; past them the
    guess is Turtle and the parser reports the first graph block as a syntax error with its line."""
    assert rdfio.guess_format(data).name == expected


# JSON nesting: Python's json module recurses (RecursionError near 1,000 levels) and Oxigraph's
# JSON-LD parser takes quadratic time with depth, then crashes the process (a few thousand objects).
DEEP_JSON = {
    "1000-open-arrays": b"[" * 1000,
    "1000-arrays": b"[" * 1000 + b"]" * 1000,
    "5000-objects": b'{"http://a.example/p": ' * 5000 + b"1" + b"}" * 5000,
    "1000-context-lists": b'{"@context": ' + b"[" * 1000 + b"]" * 1000 + b"}",
    "100000-objects-between-strings": b'{"a": "]]}", "b": ' * 100_000,
}


@pytest.mark.parametrize("data", DEEP_JSON.values(), ids=DEEP_JSON)
def test_deep_json_is_refused_before_any_recursion(data: bytes) -> None:
    with pytest.raises(UnreadableRdf, match=r"^deep\.jsonld: the JSON nests deeper than 256 levels") as caught:
        bounded(lambda: parse_rdf(data, format_for_name("jsonld"), "deep.jsonld", LIMIT))
    assert caught.value.line == 1


def test_json_at_the_depth_limit_reads_and_brackets_in_strings_do_not_count() -> None:
    link = b'{"http://a.example/p": '
    innermost = b'{"@id": "http://a.example/o"}'
    at_limit = link * 255 + innermost + b"}" * 255  # 256 levels
    assert len(parse_rdf(at_limit, format_for_name("jsonld"), "deep.jsonld", LIMIT)) == 255
    with pytest.raises(UnreadableRdf, match="nests deeper than 256 levels") as caught:
        parse_rdf(b"\n" + link * 256 + innermost + b"}" * 256, format_for_name("jsonld"), "deep.jsonld", LIMIT)
    assert (caught.value.line, caught.value.column) == (2, 256 * len(link) + 1)  # the 257th opening
    text = b'"' + b'[{\\"\\\\' * 10_000 + b'"'  # brackets, escaped quotes and backslashes in a string
    data = b'{"@id": "http://a.example/s", "http://a.example/p": ' + text + b"}"
    assert len(parse_rdf(data, format_for_name("jsonld"), "flat.jsonld", LIMIT)) == 1


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("turtle", b"<http://a.example/s> <http://a.example/p> " + b"(" * 100_000),
        ("turtle", b"<http://a.example/s> <http://a.example/p> " + b"[ <http://a.example/p> " * 100_000),
        ("turtle", b"[" * 100_000),
        ("trig", b"{" * 100_000),
    ],
    ids=["100000-open-collections", "100000-open-blank-nodes", "100000-brackets", "100000-braces"],
)
def test_deep_turtle_is_a_syntax_error_with_its_line(fmt: str, data: bytes) -> None:
    """Oxigraph's Turtle and TriG parsers keep their nesting on the heap: no bound is needed."""
    with pytest.raises(UnreadableRdf, match=rf"^deep: {fmt} syntax error at line 1, column \d+") as caught:
        bounded(lambda: parse_rdf(data, format_for_name(fmt), "deep", LIMIT))
    assert caught.value.line == 1


def test_deeply_nested_turtle_reads_correctly() -> None:
    collections = b"<http://a.example/s> <http://a.example/p> " + b"(" * 20_000 + b")" * 20_000 + b" ."
    assert len(bounded(lambda: parse_rdf(collections, format_for_name("turtle"), "deep.ttl", LIMIT))) == 39_999
    blank_nodes = b"<http://a.example/s> " + b"<http://a.example/p> [ " * 20_000 + b"] " * 20_000 + b"."
    assert len(bounded(lambda: parse_rdf(blank_nodes, format_for_name("turtle"), "deep.ttl", LIMIT))) == 20_000


def test_a_light_graph_binds_no_prefixes_and_gives_sorted_triples_back_in_order() -> None:
    """Pages rely on it (``web.resources._stable``): triples added sorted come back sorted, whole or in part."""
    ex = "https://example.org/"
    triples = sorted(
        ((URIRef(f"{ex}s{i % 3}"), URIRef(f"{ex}p{i % 4}"), Literal(f"v{i:02d}")) for i in range(24)),
        key=lambda t: tuple(term.n3() for term in t),
    )
    graph = rdfio.light_graph()
    for triple in triples:
        graph.add(triple)
    assert list(graph.namespaces()) == []
    assert list(graph) == triples
    s, p = URIRef(f"{ex}s1"), URIRef(f"{ex}p1")
    assert list(graph.objects(s, p)) == [o for ts, tp, o in triples if (ts, tp) == (s, p)]
    assert list(graph.predicate_objects(s)) == [(tp, o) for ts, tp, o in triples if ts == s]


@pytest.mark.parametrize("fmt", ["trig", "nquads"])
def test_the_default_graph_placeholder_is_not_a_graph_name(fmt: str) -> None:
    """rdflib files the triples of a graph named ``<urn:x-rdflib:default>`` into its default graph: a draft's
    preview showed them there and they were published into ``…/graph/submitted``. The name is refused."""
    triple = '<urn:x:s> <urn:x:p> "o"'
    data = f"<urn:x-rdflib:default> {{ {triple} . }}" if fmt == "trig" else f"{triple} <urn:x-rdflib:default> ."
    with pytest.raises(UnreadableRdf, match=r"graph <urn:x-rdflib:default> is the name rdflib gives the default"):
        rdfio.parse_dataset(
            data.encode(), format_for_name(fmt), "draft", LIMIT, "https://x.example/", URIRef("urn:x:default")
        )
    plain = rdfio.parse_dataset(
        f"{triple} .".encode(), format_for_name("nquads"), "draft", LIMIT, "https://x.example/", URIRef("urn:x:g")
    )
    assert [str(g) for _, _, _, g in plain.quads()] == ["urn:x:g"]  # the default graph goes where it is told


def test_a_parse_with_a_bound_on_its_quads_stops_at_the_bound_not_at_the_end() -> None:
    """Compact Turtle names far more than it weighs: 4,000 triples over a 2,000-character prefix are ~24 MB as
    N-Quads from ~60 KB of text. With ``max_expanded`` the parse stops as soon as what it read passes the
    bound, and says how much; below it, the dataset is the same as without a bound."""
    prefix = "http://example.org/" + "a" * 2_000 + "/"
    turtle = f"@prefix p: <{prefix}> .\n" + "".join(f"p:s{i} p:p p:o{i} .\n" for i in range(4_000))
    turtle_format = format_for_name("turtle")
    graph = URIRef("http://example.org/g")
    with pytest.raises(rdfio.ExpandsTooFar) as refused:
        rdfio.parse_dataset(turtle.encode(), turtle_format, "long.ttl", 1 << 20, "http://example.org/", graph, 1 << 20)
    assert 1 << 20 < refused.value.expanded < (1 << 20) + 7_000  # one quad past the bound, not the whole file
    whole = rdfio.parse_dataset(turtle.encode(), turtle_format, "long.ttl", 1 << 20, "http://example.org/", graph)
    bounded_whole = rdfio.parse_dataset(
        turtle.encode(), turtle_format, "long.ttl", 1 << 20, "http://example.org/", graph, 1 << 25
    )
    assert len(whole) == len(bounded_whole) == 4_000


def test_serialising_in_every_format_at_once_gives_each_format_s_own_bytes() -> None:
    """``serialise_each`` (the dumps: one copy to the engine and one sort for all six) gives, format by format,
    the bytes ``serialise`` gives alone, whichever kind comes first: quads, triples, prefixes, blank nodes."""
    data = Dataset()
    base = "https://example.org/"
    for g in ("g/b", "g/a"):
        graph = data.graph(URIRef(base + g))
        for i in (3, 1, 2):
            node = BNode(f"b{i}")
            graph.add((URIRef(f"{base}s/{i}"), URIRef(base + "p"), Literal(f"value {i}", lang="en")))
            graph.add((URIRef(f"{base}s/{i}"), URIRef(base + "q"), node))
            graph.add((node, URIRef(base + "p"), Literal(i)))
    prefixes = {"ex": base}
    for formats in (RDF_FORMATS, tuple(reversed(RDF_FORMATS))):
        made = rdfio.serialise_each(data, formats, prefixes)
        assert set(made) == {fmt.name for fmt in RDF_FORMATS}
        for fmt in formats:
            assert made[fmt.name] == rdfio.serialise(data, fmt, prefixes), fmt.name
    assert rdfio.serialise_each(data.graph(URIRef(base + "g/a")), RDF_FORMATS[:1]) == {
        RDF_FORMATS[0].name: rdfio.serialise(data.graph(URIRef(base + "g/a")), RDF_FORMATS[0])
    }
