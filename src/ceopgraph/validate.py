"""The only importer of pySHACL: explicit options, our shapes only, a frozen report and its renderings.

pySHACL reads strings as URLs or file names and, given no shapes graph, uses the data graph as its
shapes; so every call here passes parsed graphs and always our own shapes graph, with imports,
inference and JavaScript off (see the project's security notes). A submission's own shapes are just
data: they are validated, never executed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import rdflib.plugins.sparql
from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result as QueryResult
from rdflib.term import Node

from ceopgraph.namespaces import SH, bind_prefixes, prefix_map

SHAPES_NODE_PATH = "def/shapes"
SEVERITY_ORDER = ("Violation", "Warning", "Info")


@dataclass(frozen=True)
class Result:
    """One sh:ValidationResult, flattened to what people and programs read."""

    focus_node: str
    result_path: str | None
    value: str | None
    severity: str  # Violation, Warning or Info
    message: str
    source_shape: str
    source_constraint: str | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "focusNode": self.focus_node,
            "resultPath": self.result_path,
            "value": self.value,
            "severity": self.severity,
            "message": self.message,
            "sourceShape": self.source_shape,
            "sourceConstraint": self.source_constraint,
        }


@dataclass(frozen=True)
class ResultGroup:
    """The results of one shape with one message: how a person reads a report (one line per node)."""

    severity: str
    source_shape: str
    shape_label: str | None
    message: str
    results: tuple[Result, ...]


@dataclass(frozen=True)
class Report:
    """A validation outcome with every rendering the command line and the web service need.

    ``labels`` maps IRIs (focus nodes from the data, shapes from the shapes graph) to a human label,
    so renderings can name things without holding on to either graph.
    """

    conforms: bool
    results: tuple[Result, ...]
    graph: Graph
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def violations(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.severity == "Violation")

    def groups(self) -> list[ResultGroup]:
        """Results grouped by severity, shape and message, in report order (for text, HTML, CSV)."""
        grouped: dict[tuple[str, str, str], list[Result]] = {}
        for result in self.results:
            grouped.setdefault((result.severity, result.source_shape, result.message), []).append(result)
        return [
            ResultGroup(severity, shape, self.labels.get(shape), message, tuple(results))
            for (severity, shape, message), results in grouped.items()
        ]

    def to_json(self) -> str:
        document = {"conforms": self.conforms, "results": [r.as_json() for r in self.results]}
        return json.dumps(document, indent=2, ensure_ascii=False)

    def to_turtle(self) -> str:
        """The sh:ValidationReport itself (SHACL section 3.6), as pySHACL produced it."""
        return self.graph.serialize(format="turtle")

    def to_text(self) -> str:
        counts = {s: sum(1 for r in self.results if r.severity == s) for s in SEVERITY_ORDER}
        verdict = "conforms" if self.conforms else "does not conform"
        summary = ", ".join(f"{n} {s.lower()}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
        lines = [f"Data {verdict}" + (f" ({summary})" if summary else "") + "."]
        for group in self.groups():
            shape = f"{group.shape_label} <{group.source_shape}>" if group.shape_label else group.source_shape
            lines += ["", f"{group.severity}: {group.message}", f"  shape: {shape}"]
            for result in group.results:
                label = self.labels.get(result.focus_node)
                node = f"<{result.focus_node}>" + (f" ({label})" if label else "")
                detail = f" value {result.value}" if result.value is not None else ""
                lines.append(f"  - {node}{detail}")
        return "\n".join(lines) + "\n"


def load_shapes(shapes_dir: Path, base_uri: str) -> Graph:
    """Parse every ``*.ttl`` under ``shapes_dir`` with IRIs resolved against the base URI.

    SHACL-SPARQL prefix declarations (SHACL section 5.2.1) are literals, which Turtle cannot make
    relative, so the local namespaces are declared here, from the base, on the shapes graph's prefix
    node. Blank-node property shapes and SPARQL constraints are then named (see ``_name_blank_shapes``)
    so that every report says exactly which constraint a result comes from.
    """
    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        shapes.parse(path, format="turtle", publicID=base_uri)
    bind_prefixes(shapes, base_uri)
    declarations = URIRef(base_uri + SHAPES_NODE_PATH)
    for prefix, namespace in sparql_prefixes(base_uri).items():
        declaration = URIRef(f"{declarations}/prefix/{prefix}")
        shapes.add((declarations, SH.declare, declaration))
        shapes.add((declaration, SH.prefix, Literal(prefix)))
        shapes.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    _name_blank_shapes(shapes)
    return shapes


def sparql_prefixes(base_uri: str) -> dict[str, str]:
    """The prefixes SHACL-SPARQL queries may use: every serialisation prefix, plus the code lists the
    consistency checks name (their codes hold "/" after the base, which prefixed names cannot)."""
    return {
        **prefix_map(base_uri),
        "base": base_uri,
        "precision": base_uri + "def/precision/",
        "figure-status": base_uri + "def/figure-status/",
    }


def _name_blank_shapes(shapes: Graph) -> None:
    """Give each blank property shape and SPARQL constraint of a named shape a stable IRI.

    A property shape becomes ``{shape}/{local name of its path}`` (``{shape}/path`` for a complex
    path) and a SPARQL constraint ``{shape}/sparql``; a second one of the same name gets ``-2`` and
    so on, in the order of the sorted Turtle, so the names only change when the shapes do.
    """
    for predicate in (SH.property, SH.sparql):
        for shape, member in sorted(shapes.subject_objects(predicate)):
            if not isinstance(shape, URIRef) or not isinstance(member, BNode):
                continue
            path = shapes.value(member, SH.path)
            stem = _local_name(path) if isinstance(path, URIRef) else "path"
            if predicate == SH.sparql:
                stem = "sparql"
            name = URIRef(f"{shape}/{stem}")
            suffix = 2
            while (name, None, None) in shapes:
                name = URIRef(f"{shape}/{stem}-{suffix}")
                suffix += 1
            for p, o in list(shapes.predicate_objects(member)):
                shapes.remove((member, p, o))
                shapes.add((name, p, o))
            for s, p in list(shapes.subject_predicates(member)):
                shapes.remove((s, p, member))
                shapes.add((s, p, name))


def _local_name(iri: URIRef) -> str:
    return str(iri).rstrip("/#").replace("#", "/").rsplit("/", 1)[-1]


class _PreparedQueryGraph(Graph):
    """The data graph as pySHACL queries it: each SHACL-SPARQL query is parsed once, not per focus node.

    pySHACL runs a constraint's query text once per focus node and rdflib parses a query string on
    every call, which was most of the validation time. Prepared queries are also translated without
    the data's own prefix bindings, so a submission cannot rebind a prefix our queries rely on.
    """

    def query(self, query_object: str | Query, *args: Any, **kwargs: Any) -> QueryResult:
        if isinstance(query_object, str):
            query_object = _prepared(query_object)
        return super().query(query_object, *args, **kwargs)


@lru_cache(maxsize=512)
def _prepared(query_text: str) -> Query:
    return prepareQuery(query_text, initNs={})


def validate_graph(data: Graph, shapes: Graph) -> Report:
    """Validate ``data`` against ``shapes`` (never against shapes the data itself contains)."""
    # SPARQL 1.1 Query section 13.2: FROM / FROM NAMED would make rdflib fetch graphs it does not hold.
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    conforms, report_graph, _ = pyshacl_validate(
        _PreparedQueryGraph(store=data.store, identifier=data.identifier),
        shacl_graph=shapes,
        ont_graph=None,
        inference="none",
        abort_on_first=False,
        allow_infos=True,
        allow_warnings=True,
        meta_shacl=False,
        advanced=False,
        js=False,
        debug=False,
        do_owl_imports=False,
    )
    assert isinstance(report_graph, Graph)
    for prefix, namespace in shapes.namespaces():
        report_graph.bind(prefix, namespace, override=True, replace=True)
    results = tuple(sorted(_results(report_graph), key=_sort_key))
    labels = _labels(data, shapes, results)
    return Report(conforms=bool(conforms), results=results, graph=report_graph, labels=labels)


def _text(graph: Graph, node: Node, predicate: URIRef) -> str | None:
    value = graph.value(node, predicate)
    return None if value is None else str(value)


def _results(report: Graph) -> list[Result]:
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(node, SH.resultSeverity)
        messages = sorted(str(m) for m in report.objects(node, SH.resultMessage))
        results.append(
            Result(
                focus_node=str(report.value(node, SH.focusNode)),
                result_path=_text(report, node, SH.resultPath),
                value=_text(report, node, SH.value),
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                message="; ".join(messages),
                source_shape=str(report.value(node, SH.sourceShape)),
                source_constraint=_text(report, node, SH.sourceConstraint)
                or _text(report, node, SH.sourceConstraintComponent),
            )
        )
    return results


def _sort_key(result: Result) -> tuple[str, str, str, str, str]:
    order = {s: str(i) for i, s in enumerate(SEVERITY_ORDER)}
    return (
        order.get(result.severity, "9"),
        result.source_shape,
        result.message,
        result.focus_node,
        result.value or "",
    )


def _labels(data: Graph, shapes: Graph, results: tuple[Result, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for result in results:
        for graph, iri in ((data, result.focus_node), (shapes, result.source_shape)):
            label = label_of(graph, URIRef(iri))
            if label is not None:
                labels[iri] = label
    return labels


def label_of(graph: Graph, node: URIRef) -> str | None:
    """A human label for a node, where the graph gives one."""
    for predicate in (SKOS.prefLabel, RDFS.label):
        value = graph.value(node, predicate)
        if value is not None:
            return str(value)
    return None
