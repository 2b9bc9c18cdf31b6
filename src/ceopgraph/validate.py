"""The only importer of pySHACL: explicit options, our shapes only, a frozen report.

pySHACL reads strings as URLs or file names and, given no shapes graph, uses the data graph as its
shapes; so every call here passes parsed graphs and always our own shapes graph, with imports,
inference and JavaScript off (see the project's security notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as pyshacl_validate
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS, XSD
from rdflib.term import Node

from ceopgraph.namespaces import SH, bind_prefixes, prefix_map

SHAPES_NODE_PATH = "def/shapes"


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
class Report:
    conforms: bool
    results: tuple[Result, ...]
    graph: Graph

    @property
    def violations(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.severity == "Violation")


def load_shapes(shapes_dir: Path, base_uri: str) -> Graph:
    """Parse every ``*.ttl`` under ``shapes_dir`` with IRIs resolved against the base URI.

    SHACL-SPARQL prefix declarations are literals, which Turtle cannot make relative, so the local
    namespaces are declared here, from the base, on the shapes graph's prefix node.
    """
    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        shapes.parse(path, format="turtle", publicID=base_uri)
    bind_prefixes(shapes, base_uri)
    declarations = URIRef(base_uri + SHAPES_NODE_PATH)
    for prefix, namespace in {**prefix_map(base_uri), "base": base_uri}.items():
        declaration = BNode(f"prefix-{prefix}")
        shapes.add((declarations, SH.declare, declaration))
        shapes.add((declaration, SH.prefix, Literal(prefix)))
        shapes.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    return shapes


def validate_graph(data: Graph, shapes: Graph) -> Report:
    """Validate ``data`` against ``shapes`` (never against shapes the data itself contains)."""
    conforms, report_graph, _ = pyshacl_validate(
        data,
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
    results = tuple(sorted(_results(report_graph), key=_sort_key))
    return Report(conforms=bool(conforms), results=results, graph=report_graph)


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


def _sort_key(result: Result) -> tuple[str, str, str, str]:
    order = {"Violation": "0", "Warning": "1", "Info": "2"}
    return (order.get(result.severity, "3"), result.source_shape, result.focus_node, result.message)


def label_of(graph: Graph, node: URIRef) -> str | None:
    """A human label for a focus node, where the data gives one."""
    for predicate in (SKOS.prefLabel, RDFS.label):
        value = graph.value(node, predicate)
        if value is not None:
            return str(value)
    return None
