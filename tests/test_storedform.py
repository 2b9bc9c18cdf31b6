"""Literals the store would not publish as written: measured on the engine, reported, never silent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from ceopgraph import storedform
from ceopgraph.build import build_dataset, union_graph
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.rdfio import parse_rdf

from .conftest import ROOT, project_copy, run_build
from .live import running_server

S = URIRef("http://example.org/s")
P = URIRef("http://example.org/p")

# What the engine was measured to rewrite on load: (lexical form, datatype) -> (lexical form, datatype).
REWRITTEN = [
    (("01", XSD.integer), ("1", XSD.integer)),
    (("+1", XSD.integer), ("1", XSD.integer)),
    (("2.50", XSD.decimal), ("2.5", XSD.decimal)),
    ((".5", XSD.decimal), ("0.5", XSD.decimal)),
    (("1.0E2", XSD.double), ("100", XSD.double)),
    (("1.0E2", XSD.float), ("100", XSD.float)),
    (("1", XSD.boolean), ("true", XSD.boolean)),
    (("-3", XSD.negativeInteger), ("-3", XSD.integer)),
    (("3", XSD.nonNegativeInteger), ("3", XSD.integer)),
    (("3", XSD.int), ("3", XSD.integer)),
    (("2012-04-01T00:00:00+00:00", XSD.dateTime), ("2012-04-01T00:00:00Z", XSD.dateTime)),
    (("P12M", XSD.duration), ("P1Y", XSD.duration)),
]

KEPT = [
    Literal("1", datatype=XSD.integer),
    Literal("2.5", datatype=XSD.decimal),
    Literal("true", datatype=XSD.boolean),
    Literal("2012", datatype=XSD.gYear),
    Literal("2012-04-01", datatype=XSD.date),
    Literal("not a number", datatype=XSD.integer),  # ill-typed: kept as written
    Literal("text"),
    Literal("text", lang="en"),
    Literal("http://example.org/", datatype=XSD.anyURI),
]


def _graph(*objects: Literal) -> Graph:
    graph = Graph()
    for value in objects:
        graph.add((S, P, value))
    return graph


@pytest.mark.parametrize(("written", "stored"), REWRITTEN, ids=[f"{w[0]}^^{w[1].fragment}" for w, _ in REWRITTEN])
def test_each_rewritten_form_is_reported_with_both_forms(
    written: tuple[str, URIRef], stored: tuple[str, URIRef]
) -> None:
    literal = Literal(written[0], datatype=written[1], normalize=False)
    (rewrite,) = storedform.rewrites(_graph(literal))
    assert (rewrite.subject, rewrite.predicate) == (S, P)
    assert (str(rewrite.written), rewrite.written.datatype) == written
    assert (str(rewrite.stored), rewrite.stored.datatype) == stored
    assert literal.n3() in rewrite.describe() and rewrite.stored.n3() in rewrite.describe()


@pytest.mark.parametrize("literal", KEPT, ids=[value.n3() for value in KEPT])
def test_literals_the_store_keeps_are_not_reported(literal: Literal) -> None:
    assert storedform.rewrites(_graph(literal)) == ()


@pytest.mark.parametrize(("written", "stored"), REWRITTEN[:4], ids=["01", "+1", "2.50", ".5"])
def test_the_report_matches_what_the_engine_gives_back(written: tuple[str, URIRef], stored: tuple[str, URIRef]) -> None:
    """The check is the engine itself: load the triple into a store, read it back."""
    store = ox.Store()
    value = ox.Literal(written[0], datatype=ox.NamedNode(str(written[1])))
    store.add(ox.Quad(ox.NamedNode(str(S)), ox.NamedNode(str(P)), value))
    (quad,) = store
    assert (quad.object.value, quad.object.datatype.value) == (stored[0], str(stored[1]))


def test_parsed_files_keep_lexical_forms() -> None:
    """rdflib's normalisation of terms is off, so what we build and report is what was written."""
    data = f'<{S}> <{P}> 2.50, 01, "1.0E2"^^<{XSD.double}> .'.encode()
    graph = parse_rdf(data, FORMATS_BY_EXTENSION["ttl"], "data.ttl", max_bytes=1 << 20)
    assert sorted(str(value) for value in graph.objects()) == ["01", "1.0E2", "2.50"]


def test_the_published_dataset_has_no_literal_the_store_would_rewrite(settings: Settings) -> None:
    assert storedform.rewrites(union_graph(build_dataset(settings))) == ()


def test_validate_warns_with_focus_node_path_and_both_forms(tmp_path: Path) -> None:
    submission = tmp_path / "submission.ttl"
    submission.write_text(f'<{S}> <{P}> "01"^^<{XSD.integer}>, 7 .\n')
    done = subprocess.run(
        [sys.executable, "-m", "ceopgraph.cli", "validate", "--format", "json", str(submission)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr  # a warning: the submission still conforms
    report = json.loads(done.stdout)
    (warning,) = report["results"]
    assert warning["severity"] == "Warning"
    assert warning["focusNode"] == str(S) and warning["resultPath"] == str(P) and warning["value"] == "01"
    assert f'"01"^^<{XSD.integer}>' in warning["message"] and f'"1"^^<{XSD.integer}>' in warning["message"]
    assert warning["sourceShape"].endswith("/def/shapes/StoredAsWrittenShape")


def test_build_warns_and_its_dumps_keep_the_literal_as_written(tmp_path: Path) -> None:
    root = project_copy(tmp_path / "tree", ('"790"^^xsd:integer', '"0790"^^xsd:integer'))
    out = tmp_path / "out"
    done = run_build(root, out)
    assert done.returncode == 0, done.stderr
    assert "would publish 1 literal(s) in another form" in done.stderr
    assert f'"0790"^^<{XSD.integer}> would be published as "790"^^<{XSD.integer}>' in done.stderr
    assert "children-safeguarded/2012-2013" in done.stderr
    assert '"0790"^^<http://www.w3.org/2001/XMLSchema#integer>' in (out / "ceopgraph.nt").read_text()


def test_files_are_checked_with_the_engines_own_parser(tmp_path: Path) -> None:
    data = tmp_path / "data.ttl"
    data.write_text(f'<{S}> <{P}> "01"^^<{XSD.integer}>, 1 .\n<{S}> <{S}> "01"^^<{XSD.integer}> .\n')
    found = storedform.rewrites_in_files([data], [FORMATS_BY_EXTENSION["ttl"]])
    assert found == {data: (storedform.FileRewrite(f'"01"^^<{XSD.integer}>', f'"1"^^<{XSD.integer}>', 2),)}


def test_serve_data_says_which_literals_it_serves_in_another_form(tmp_path: Path) -> None:
    data = tmp_path / "data.ttl"
    data.write_text(f'<{S}> <{P}> "2.50"^^<{XSD.decimal}> .\n')
    log = tmp_path / "serve.log"
    with running_server(["--data", str(data), "--workers", "1"], log):
        pass
    text = log.read_text()
    assert f'{data}: "2.50"^^<{XSD.decimal}> would be published as "2.5"^^<{XSD.decimal}> (1 triples)' in text


def test_lexical_forms_are_kept_after_a_validation(settings: Settings) -> None:
    """pySHACL turns rdflib's normalisation on after each run; parsing must not depend on it."""
    from ceopgraph.validation.engine import validate_graph
    from ceopgraph.validation.shapes import load_shapes

    validate_graph(Graph(), load_shapes(settings.shapes_dir, settings.scheme))
    graph = parse_rdf(f"<{S}> <{P}> 01 .".encode(), FORMATS_BY_EXTENSION["ttl"], "data.ttl", max_bytes=1 << 20)
    assert [str(value) for value in graph.objects()] == ["01"]
