"""The W3C SPARQL 1.1 test suite's manifests, read with rdflib into plain values.

The suite is not ours and is not committed: ``make w3c-suite`` takes it from the pinned rdflib source
distribution (``suite-requirements.txt``) into an ignored cache. A manifest lists its tests (``mf:entries``)
with an action (the query, or the request of an update, and the dataset) and a result; this module turns
each entry into a ``W3CTest`` so that the runner never touches RDF to know what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from rdflib import Graph, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.term import Node

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".w3c-suite"
SUITE = CACHE / "sparql11"
STAMP = CACHE / ".extracted"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

# The query side: evaluation, syntax and result-format tests the endpoint is asked to pass.
QUERY_SUITES = (
    "aggregates",
    "bind",
    "bindings",
    "construct",
    "csv-tsv-res",
    "exists",
    "functions",
    "grouping",
    "json-res",
    "negation",
    "project-expression",
    "property-path",
    "subquery",
    "syntax-query",
)
# SPARQL 1.1 Federated Query: SERVICE, which the endpoint refuses by design (expected failures).
FEDERATION_SUITES = ("service", "syntax-fed")
# SPARQL 1.1 Update: the endpoint is read-only by design (expected failures).
UPDATE_SUITES = (
    "add",
    "basic-update",
    "clear",
    "copy",
    "delete",
    "delete-data",
    "delete-insert",
    "delete-where",
    "drop",
    "move",
    "syntax-update-1",
    "syntax-update-2",
    "update-silent",
)
# Run by their own modules: the manifests describe HTTP exchanges, not queries and results.
PROTOCOL_SUITES = ("protocol", "service-description")
MANIFEST_SUITES = QUERY_SUITES + FEDERATION_SUITES + UPDATE_SUITES
# Not run, and why: every folder of the suite's manifest-all.ttl is run or named here (a test checks it).
NOT_RUN = {
    "entailment": "every test presupposes an entailment regime (RDF, RDFS, D, OWL Direct or RDF-Based); the "
    "endpoint evaluates under simple entailment only, as its service description says, so none of them applies",
}


class SuiteMissing(Exception):
    """The suite has not been extracted into the cache (``make w3c-suite``)."""


@dataclass(frozen=True)
class W3CTest:
    """One manifest entry, with its files as local paths."""

    suite: str  # the suite's folder, e.g. "aggregates"
    name: str  # the entry's local name, e.g. "agg01"
    kind: str  # the local name of its rdf:type, e.g. "QueryEvaluationTest"
    query: Path | None  # qt:query, ut:request, or the action file of a syntax test
    data: tuple[Path, ...] = ()  # qt:data / ut:data: merged into the default graph
    graph_data: tuple[Path, ...] = ()  # qt:graphData / ut:graphData: named graphs, named by their file IRI
    result: Path | None = None  # mf:result, a file (None for syntax and update tests)

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"

    @property
    def is_update(self) -> bool:
        return "Update" in self.kind or (self.query is not None and self.query.suffix == ".ru")


def iri_of(path: Path) -> str:
    """A local file's IRI: the name the server gives the graph it loads from that file (``serve --data``),
    and the base the suite's relative IRIs resolve against."""
    return path.resolve().as_uri()


def path_of(iri: Node) -> Path:
    """The local file a manifest's ``file:`` IRI names (the manifests are read with their own file IRI as base)."""
    parts = urlsplit(str(iri))
    if parts.scheme != "file":
        raise ValueError(f"{iri} is not a file of the suite")
    return Path(unquote(parts.path))


def _local_name(node: Node | None) -> str:
    text = str(node or "")
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _paths(graph: Graph, action: Node, *predicates: URIRef) -> tuple[Path, ...]:
    found: list[Path] = []
    for predicate in predicates:
        for value in graph.objects(action, predicate):
            # ut:graphData is a node with ut:graph (the file) and rdfs:label (the graph's name).
            file = graph.value(value, UT.graph) or value
            found.append(path_of(file))
    return tuple(sorted(found))


def require_suite() -> None:
    if not STAMP.is_file():
        raise SuiteMissing(f"the W3C SPARQL 1.1 test suite is not in {CACHE.name}/: run `make w3c-suite`")


def params_or_missing(build: Callable[[], list[object]]) -> list[object]:
    """The test parameters ``build`` reads from the suite; without the suite, a single one, whose test then
    errors saying how to get it (the live server's fixture needs the suite), rather than none: an empty
    parameter list would be a skip, and a collection error would stop every other test of the run."""
    try:
        return build()
    except SuiteMissing:
        return [pytest.param(None, id="w3c-suite-missing")]


@cache
def load_suite(suite: str) -> tuple[W3CTest, ...]:
    """The tests of one suite folder, in the manifest's order."""
    require_suite()
    manifest = SUITE / suite / "manifest.ttl"
    graph = Graph().parse(manifest, format="turtle", publicID=iri_of(manifest))
    tests: list[W3CTest] = []
    for head in graph.objects(URIRef(iri_of(manifest)), MF.entries):
        for entry in Collection(graph, head):
            tests.append(_test(graph, suite, entry))
    return tuple(tests)


def _test(graph: Graph, suite: str, entry: Node) -> W3CTest:
    action = graph.value(entry, MF.action)
    result = graph.value(entry, MF.result)
    query: Node | None = None
    if isinstance(action, URIRef):  # a syntax test: the action is the query (or update) file itself
        query, action = action, None
    elif action is not None:  # protocol and service-description entries have none: prose only
        query = graph.value(action, QT.query) or graph.value(action, UT.request)
    return W3CTest(
        suite=suite,
        name=_local_name(entry),
        kind=_local_name(graph.value(entry, RDF.type)),
        query=None if query is None else path_of(query),
        data=() if action is None else _paths(graph, action, QT.data, UT.data),
        graph_data=() if action is None else _paths(graph, action, QT.graphData, UT.graphData),
        result=path_of(result) if isinstance(result, URIRef) else None,
    )


def data_files(suites: tuple[str, ...] = QUERY_SUITES) -> list[Path]:
    """Every data file the query tests of ``suites`` name, once: what the live server loads."""
    files = {path for suite in suites for test in load_suite(suite) for path in (*test.data, *test.graph_data)}
    return sorted(files)


def included_suites() -> list[str]:
    """The folders the suite's top manifest (manifest-all.ttl) includes."""
    require_suite()
    top = SUITE / "manifest-all.ttl"
    graph = Graph().parse(top, format="turtle", publicID=iri_of(top))
    folders = []
    for head in graph.objects(URIRef(iri_of(top)), MF.include):
        folders += [path_of(manifest).parent.name for manifest in Collection(graph, head)]
    return folders
