"""A validation report: the sh:ValidationReport graph (SHACL section 3.6), read into frozen results,
and every rendering the command line and the web service need (JSON, Turtle, JSON-LD, CSV, text)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF
from rdflib.term import Node

from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.csvsafe import csv_text
from ceopgraph.labels import REPORT_LABEL_PROPERTIES, label
from ceopgraph.namespaces import SH
from ceopgraph.rdfio import serialise
from ceopgraph.validation.values import described_value, expected_kind

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
    value_kind: str | None = None  # the value with its kind, ``the text "900" (xsd:string)`` (``values``)

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
    omitted: int = 0  # results left out after the first ones (``first``): the verdict still counts them
    # The SHACL renderings (Turtle, JSON-LD), when made where the graph was: a report that comes from a
    # validation worker carries them instead of a graph to parse again in the server.
    rendered: tuple[str, bytes] | None = None
    # What each source shape's datatype constraints expect (``values.expected_kind``), by shape IRI.
    expected: Mapping[str, str] = field(default_factory=dict)

    def first(self, limit: int) -> Report:
        """This report with only its first ``limit`` results (in report order), its graph cut to match.

        A submission of a few kilobytes can produce tens of thousands of results (megabytes of report):
        a service sends a bounded report, and says how many results it left out.
        """
        if len(self.results) <= limit:
            return self
        kept = Counter(self.results[:limit])  # equal results of different nodes are kept as often as shown
        graph = Graph()
        for prefix, namespace in self.graph.namespaces():
            graph.bind(prefix, namespace)
        for node, result in _result_nodes(self.graph):
            if kept[result] > 0:
                kept[result] -= 1
                graph += self.graph.cbd(node)
                graph.add((next(self.graph.subjects(SH.result, node)), SH.result, node))
        for report in self.graph.subjects(RDF.type, SH.ValidationReport):
            graph += ((report, p, o) for p, o in self.graph.predicate_objects(report) if p != SH.result)
        omitted = self.omitted + len(self.results) - limit
        return Report(self.conforms, self.results[:limit], graph, self.labels, omitted, expected=self.expected)

    def value_text(self, result: Result) -> str | None:
        """The offending value for people: its kind, and the kind the rule expects where it names one
        (``the text "900" (xsd:string); expected a number (xsd:integer/decimal)``)."""
        if result.value_kind is None:
            return None
        expected = self.expected.get(result.source_shape)
        return result.value_kind + (f"; expected {expected}" if expected else "")

    @property
    def violations(self) -> tuple[Result, ...]:
        return tuple(r for r in self.results if r.severity == "Violation")

    @property
    def counts(self) -> dict[str, int]:
        """The number of results of each severity, every severity in ``SEVERITY_ORDER``, zeros included
        (the one place results are counted by severity: the text summary and the web page use it)."""
        found = Counter(r.severity for r in self.results)
        return {severity: found[severity] for severity in SEVERITY_ORDER}

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
        results = [r.as_json() | {"valueText": self.value_text(r)} for r in self.results]
        document: dict[str, object] = {"conforms": self.conforms, "results": results}
        if self.omitted:
            document["omitted"] = self.omitted
        return json.dumps(document, indent=2, ensure_ascii=False)

    def to_turtle(self) -> str:
        """The sh:ValidationReport itself (SHACL section 3.6), as the validation produced it."""
        if self.rendered is not None:
            return self.rendered[0]
        # Our writer, not rdflib's: rdflib's Turtle writer respells literals ("85"^^xsd:decimal as 85.0),
        # and a report quotes the submission's values as they were written.
        return serialise(self.graph, FORMATS_BY_NAME["turtle"], self._prefixes()).decode()

    def to_jsonld(self) -> bytes:
        """The sh:ValidationReport as JSON-LD (compact IRIs from the report's prefixes)."""
        if self.rendered is not None:
            return self.rendered[1]
        return serialise(self.graph, FORMATS_BY_NAME["jsonld"], self._prefixes())

    def _prefixes(self) -> dict[str, str]:
        return {prefix: str(namespace) for prefix, namespace in self.graph.namespaces() if prefix}

    def to_csv(self) -> str:
        """One result per row, for spreadsheets (RFC 4180); submitted values are untrusted text, so every
        cell goes through ``csvsafe`` and a report never runs a formula when opened."""
        rows = (
            (
                r.severity,
                r.focus_node,
                self.labels.get(r.focus_node),
                r.result_path,
                r.value,
                r.message,
                r.source_shape,
                self.labels.get(r.source_shape),
                r.source_constraint,
                self.value_text(r),
            )
            for r in self.results
        )
        return csv_text(CSV_COLUMNS, rows)

    def to_text(self) -> str:
        verdict = "conforms" if self.conforms else "does not conform"
        summary = ", ".join(f"{n} {s.lower()}{'s' if n != 1 else ''}" for s, n in self.counts.items() if n)
        lines = [f"Data {verdict}" + (f" ({summary})" if summary else "") + "."]
        for group in self.groups():
            shape = f"{group.shape_label} <{group.source_shape}>" if group.shape_label else group.source_shape
            lines += ["", f"{group.severity}: {group.message}", f"  shape: {shape}"]
            for result in group.results:
                label = self.labels.get(result.focus_node)
                node = f"<{result.focus_node}>" + (f" ({label})" if label else "")
                value = self.value_text(result)
                detail = f" value {value}" if value is not None else ""
                lines.append(f"  - {node}{detail}")
        if self.omitted:
            lines += ["", f"{self.omitted} more results are not shown (the first {len(self.results)} are)."]
        return "\n".join(lines) + "\n"


CSV_COLUMNS = (
    "severity",
    "focusNode",
    "focusNodeLabel",
    "resultPath",
    "value",
    "message",
    "sourceShape",
    "sourceShapeLabel",
    "sourceConstraint",
    "valueText",
)


# Reading a report graph ---------------------------------------------------------------------------


def read_report(report: Graph, conforms: bool, data: Graph, shapes: Graph) -> Report:
    """The ``Report`` of a finished report graph: its results in report order, labelled from the data
    (focus nodes) and the shapes (source shapes)."""
    results = tuple(sorted((result for _, result in _result_nodes(report)), key=_sort_key))
    expected = {
        r.source_shape: kind for r in results if (kind := expected_kind(shapes, URIRef(r.source_shape))) is not None
    }
    return Report(conforms, results, report, _labels(data, shapes, results), expected=expected)


def text_value(graph: Graph, node: Node, predicate: URIRef) -> str | None:
    """The text of ``node``'s value for ``predicate``, or None."""
    value = graph.value(node, predicate)
    return None if value is None else str(value)


def severity_name(severity: Node | None, default: str = "Violation") -> str:
    """``sh:Warning`` as ``Warning``: a severity as reports and the guide name it."""
    return str(severity).rsplit("#", 1)[-1] if severity is not None else default


_PATH_SUFFIXES = {SH.zeroOrMorePath: "*", SH.oneOrMorePath: "+", SH.zeroOrOnePath: "?"}


def _path_text(graph: Graph, path: Node | None) -> str | None:
    """A SHACL property path (SHACL 2.3.1) as SPARQL property-path text.

    A predicate path stays its IRI; a complex path is a blank node whose label means nothing to a
    reader, so it is written out, e.g. ``^<http://...#topConceptOf>`` or ``(<a>|<b>)/<c>``.
    """
    if path is None:
        return None
    if isinstance(path, URIRef):
        return str(path)
    return _path_expression(graph, path)


def _path_expression(graph: Graph, path: Node) -> str:
    if isinstance(path, URIRef):
        return f"<{path}>"
    if (path, RDF.first, None) in graph:
        return "(" + "/".join(_path_expression(graph, step) for step in Collection(graph, path)) + ")"
    inverse = graph.value(path, SH.inversePath)
    if inverse is not None:
        return "^" + _path_expression(graph, inverse)
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return "(" + "|".join(_path_expression(graph, step) for step in Collection(graph, alternatives)) + ")"
    for predicate, suffix in _PATH_SUFFIXES.items():
        inner = graph.value(path, predicate)
        if inner is not None:
            return _path_expression(graph, inner) + suffix
    return str(path)


def _result_nodes(report: Graph) -> list[tuple[Node, Result]]:
    """Each sh:ValidationResult node of the report with what it says."""
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        messages = sorted(str(m) for m in report.objects(node, SH.resultMessage))
        result = Result(
            focus_node=str(report.value(node, SH.focusNode)),
            result_path=_path_text(report, report.value(node, SH.resultPath)),
            value=text_value(report, node, SH.value),
            severity=severity_name(report.value(node, SH.resultSeverity)),
            message="; ".join(messages),
            source_shape=str(report.value(node, SH.sourceShape)),
            source_constraint=text_value(report, node, SH.sourceConstraint)
            or text_value(report, node, SH.sourceConstraintComponent),
            value_kind=described_value(report.value(node, SH.value)),
        )
        results.append((node, result))
    return results


def _sort_key(result: Result) -> tuple[str, ...]:
    """Report order: by severity, shape, message and node; every field breaks ties, so the order does
    not depend on the report graph's hash order."""
    order = {s: str(i) for i, s in enumerate(SEVERITY_ORDER)}
    return (
        order.get(result.severity, "9"),
        result.source_shape,
        result.message,
        result.focus_node,
        result.value or "",
        result.result_path or "",
        result.source_constraint or "",
    )


def _labels(data: Graph, shapes: Graph, results: tuple[Result, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for result in results:
        for graph, iri in ((data, result.focus_node), (shapes, result.source_shape)):
            found = label(graph, URIRef(iri), REPORT_LABEL_PROPERTIES)
            if found is not None:
                labels[iri] = found
    return labels


# Writing results into a report graph -------------------------------------------------------------


def add_result(report: Graph, properties: Iterable[tuple[URIRef, Node]]) -> BNode:
    """A new sh:ValidationResult of the report's sh:ValidationReport, with ``properties``."""
    (report_node,) = report.subjects(RDF.type, SH.ValidationReport)
    result = BNode()
    report.add((report_node, SH.result, result))
    report.add((result, RDF.type, SH.ValidationResult))
    for predicate, value in properties:
        report.add((result, predicate, value))
    return result


def with_description(source: Graph, node: Node, report: Graph) -> Node:
    """``node``, for a report that names it; a blank node is copied into ``report`` with what ``source``
    says about it, and so on for the blank nodes that says, each under its own label.

    A blank node is only known by its description: without it, a report's ``sh:focusNode _:b3`` would
    name nothing a reader can find (SHACL section 3.6 leaves the copying to the engine; pySHACL copies
    its own results' blank nodes the same way, so every result of a report reads alike).
    """
    if not isinstance(node, BNode):
        return node
    pending, seen = [node], {node}
    while pending:
        subject = pending.pop()
        for predicate, value in source.predicate_objects(subject):
            report.add((subject, predicate, value))
            if isinstance(value, BNode) and value not in seen:
                seen.add(value)
                pending.append(value)
    return node
