"""The only importer of pySHACL: explicit options, our shapes only, a frozen report and its renderings.

pySHACL reads strings as URLs or file names and, given no shapes graph, uses the data graph as its
shapes; so every call here passes parsed graphs and always our own shapes graph, with imports,
inference and JavaScript off (see the project's security notes). A submission's own shapes are just
data: they are validated, never executed.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib.plugins.sparql
from pyparsing import ParseException, ParseResults
from pyshacl import validate as pyshacl_validate
from pyshacl.rdfutil import clone_blank_node
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result as QueryResult
from rdflib.term import Node

from ceopgraph import storedform
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.namespaces import SH, bind_prefixes, prefix_map
from ceopgraph.rdfio import UnreadableRdf, format_for_name, parse_rdf, serialise
from ceopgraph.terms import OxTerm, to_oxigraph, to_rdflib
from ceopgraph.workers import DeadlinePassed, MemoryExceeded, NoIdleWorker, WorkerFailed, WorkerPool, serve_jobs

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
    omitted: int = 0  # results left out after the first ones (``first``): the verdict still counts them
    # The SHACL renderings (Turtle, JSON-LD), when made where the graph was: a report that comes from a
    # validation worker carries them instead of a graph to parse again in the server.
    rendered: tuple[str, bytes] | None = None

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
        return Report(self.conforms, self.results[:limit], graph, self.labels, omitted)

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
        document: dict[str, object] = {"conforms": self.conforms, "results": [r.as_json() for r in self.results]}
        if self.omitted:
            document["omitted"] = self.omitted
        return json.dumps(document, indent=2, ensure_ascii=False)

    def to_turtle(self) -> str:
        """The sh:ValidationReport itself (SHACL section 3.6), as pySHACL produced it."""
        if self.rendered is not None:
            return self.rendered[0]
        return self.graph.serialize(format="turtle")

    def to_jsonld(self) -> bytes:
        """The sh:ValidationReport as JSON-LD (compact IRIs from the report's prefixes)."""
        if self.rendered is not None:
            return self.rendered[1]
        prefixes = {prefix: str(namespace) for prefix, namespace in self.graph.namespaces() if prefix}
        return serialise(self.graph, FORMATS_BY_NAME["jsonld"], prefixes)

    def to_csv(self) -> str:
        """One result per row, for spreadsheets (RFC 4180).

        A cell a spreadsheet would run as a formula (starting ``=``, ``+``, ``@``, a tab, or ``-``
        that does not begin a number) is prefixed with ``'`` (OWASP "CSV injection"); submitted
        values are untrusted text and a report must not execute when opened.
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for r in self.results:
            row = (
                r.severity,
                r.focus_node,
                self.labels.get(r.focus_node),
                r.result_path,
                r.value,
                r.message,
                r.source_shape,
                self.labels.get(r.source_shape),
                r.source_constraint,
            )
            writer.writerow(["" if cell is None else _spreadsheet_safe(cell) for cell in row])
        return out.getvalue()

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
)
_NUMBER = re.compile(r"-\d+(\.\d*)?([eE][-+]?\d+)?")


def _spreadsheet_safe(cell: str) -> str:
    if cell[:1] in ("=", "+", "@", "\t", "\r") or (cell.startswith("-") and not _NUMBER.fullmatch(cell)):
        return "'" + cell
    return cell


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


# SHACL-SPARQL constraints, evaluated once per constraint instead of once per focus node ----------


class UnsafeShapes(Exception):
    """A shape's SPARQL query would reach outside the data (``SERVICE``): refused, never run."""


@dataclass(frozen=True)
class _BulkConstraint:
    """A SPARQL-based constraint (SHACL section 5.1) of a node shape, run once for all its focus nodes.

    ``query`` is the ``sh:select`` text with its prefixes (SHACL 5.2.1) and, first in its WHERE
    group, a sub-select of the shape's focus nodes (SHACL 2.1.3) as ``?this``.
    """

    shape: URIRef
    constraint: URIRef | BNode
    query: str
    severity: URIRef
    messages: tuple[Literal, ...]


@dataclass(frozen=True)
class _SplitShapes:
    """The shapes pySHACL runs (without the constraints below) and the constraints run in bulk."""

    core: Graph
    bulk: tuple[_BulkConstraint, ...]


# pySHACL declares these for every SHACL-SPARQL query; the shapes may rely on them.
_DEFAULT_PREFIXES = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL), "sh": str(SH), "xsd": str(XSD)}
_THIS = rdflib.Variable("this")
_SELECT_HEAD = re.compile(r"\bSELECT\b(?:[^{#]|#[^\n]*)*\{", re.IGNORECASE)
# SHACL section 5.3.1 forbids these in SPARQL constraints (pre-binding is undefined with them).
_FORBIDDEN_PARTS = {"MinusGraphPattern", "ServiceGraphPattern", "InlineData"}
_JOINED_PARTS = {"TriplesBlock", "Filter", "Bind", "OptionalGraphPattern", "GroupOrUnionGraphPattern"}


def _split_shapes(shapes: Graph) -> _SplitShapes:
    """Take out of the shapes graph every SPARQL constraint that can be run in bulk.

    Running a constraint's query once with ``$this`` joined to the shape's focus nodes gives what
    SHACL's pre-binding gives (one query per focus node, SHACL 5.3.1) when the shape is a node shape
    that only its own targets reach, and the query uses ``$this`` only where the join binds it
    (``_bulk_query``). Any other constraint stays in the graph pySHACL runs.
    """
    core = Graph()
    core += shapes
    for prefix, namespace in shapes.namespaces():
        core.bind(prefix, namespace, override=True, replace=True)
    bulk = []
    for shape, constraint in sorted(shapes.subject_objects(SH.sparql), key=lambda pair: (str(pair[0]), str(pair[1]))):
        select = shapes.value(constraint, SH.select)
        prologue = _prefix_declarations(shapes, constraint)
        if select is not None and _uses_service(prologue + str(select)):
            raise UnsafeShapes(f"{constraint}: a SPARQL constraint must not contain a federated query (SERVICE)")
        if not isinstance(shape, URIRef) or not isinstance(constraint, (URIRef, BNode)):
            continue
        focus = _focus_node_pattern(shapes, shape)
        if focus is None or select is None or (constraint, SH.deactivated, Literal(True)) in shapes:
            continue
        query = _bulk_query(prologue, str(select), focus)
        if query is None:
            continue
        messages = tuple(shapes.objects(constraint, SH.message)) + tuple(shapes.objects(shape, SH.message))
        severity = shapes.value(shape, SH.severity)
        bulk.append(
            _BulkConstraint(
                shape,
                constraint,
                query,
                severity if isinstance(severity, URIRef) else SH.Violation,
                tuple(dict.fromkeys(m for m in messages if isinstance(m, Literal))),
            )
        )
        core.remove((shape, SH.sparql, constraint))
    return _SplitShapes(core, tuple(bulk))


def _focus_node_pattern(shapes: Graph, shape: URIRef) -> str | None:
    """A group pattern binding ``?this`` to each target of ``shape`` (SHACL 2.1.3), or None.

    None where bulk evaluation would not see the focus nodes pySHACL sees: a property shape, a
    deactivated shape, a shape other shapes refer to (their focus nodes reach it too), a blank
    target node (a query cannot name it) or a shape with no targets.
    """
    if (
        (shape, SH.path, None) in shapes
        or (shape, SH.deactivated, Literal(True)) in shapes
        or (None, None, shape) in shapes
    ):
        return None
    classes = set(shapes.objects(shape, SH.targetClass))
    if shapes.value(shape, RDF.type) in (RDFS.Class, OWL.Class) or (shape, RDF.type, RDFS.Class) in shapes:
        classes.add(shape)  # SHACL 2.1.3.3: implicit class target
    nodes = set(shapes.objects(shape, SH.targetNode))
    if any(isinstance(node, BNode) for node in nodes):
        return None
    branches = [f"{{ ?this rdf:type/rdfs:subClassOf* {c.n3()} }}" for c in sorted(classes, key=str)]  # SHACL instances
    branches += [f"{{ VALUES ?this {{ {n.n3()} }} }}" for n in sorted(nodes, key=str)]
    branches += [f"{{ ?this {p.n3()} [] }}" for p in sorted(shapes.objects(shape, SH.targetSubjectsOf), key=str)]
    branches += [f"{{ [] {p.n3()} ?this }}" for p in sorted(shapes.objects(shape, SH.targetObjectsOf), key=str)]
    if not branches:
        return None
    return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(branches) + " } }"


def _prefix_declarations(shapes: Graph, constraint: Node) -> str:
    """The query's PREFIX lines: pySHACL's defaults, then the sh:declare of its sh:prefixes (SHACL 5.2.1)."""
    prefixes = dict(_DEFAULT_PREFIXES)
    for owner in shapes.objects(constraint, SH.prefixes):
        for declaration in shapes.objects(owner, SH.declare):
            prefixes[str(shapes.value(declaration, SH.prefix))] = str(shapes.value(declaration, SH.namespace))
    return "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in prefixes.items())


@lru_cache(maxsize=512)
def _parsed(query: str) -> CompValue | None:
    """The query's parse tree (parsing is slow: each shape query is parsed once per process)."""
    try:
        parsed: CompValue = parseQuery(query)[1]
    except ParseException:
        return None
    return parsed


def _uses_service(query: str) -> bool:
    parsed = _parsed(query)
    if parsed is None:
        return True  # cannot tell: refused rather than run
    return _contains(parsed, lambda node: isinstance(node, CompValue) and node.name == "ServiceGraphPattern")


@lru_cache(maxsize=512)
def _bulk_query(prologue: str, select: str, focus: str) -> str | None:
    """``select`` with the focus-node pattern first in its WHERE group, or None if that would differ
    from pre-binding ``$this`` (SHACL 5.3.1).

    First in the group, the focus nodes bind ``?this`` for every triple pattern, OPTIONAL, BIND and
    FILTER of that group (SPARQL 1.1 section 18.2.2.6: the group is joined left to right, then
    filtered), and for EXISTS anywhere in those filters (its pattern is substituted, section 18.6).
    A nested group (UNION, a plain ``{}``) is evaluated on its own and only then joined, so there
    ``$this`` may only appear in triple patterns. Projection must keep ``$this`` and nothing may
    aggregate, group, slice or name datasets, or the solutions of different focus nodes would mix.
    """
    query = _parsed(prologue + select)
    if (
        query is None
        or query.name != "SelectQuery"
        or any(key in query for key in ("datasetClause", "groupby", "having", "orderby", "limitoffset", "valuesClause"))
    ):
        return None
    projection = query.projection  # None for SELECT *
    if projection is not None and (
        any("evar" in item for item in projection) or _THIS not in {item.var for item in projection}
    ):
        return None
    where = query.where
    if not isinstance(where, CompValue) or where.name != "GroupGraphPatternSub":
        return None
    for part in where.part or ():
        if part.name in _FORBIDDEN_PARTS:
            return None
        if part.name == "OptionalGraphPattern" and not _this_only_in(part.graph, ("TriplesBlock", "Filter")):
            return None
        if part.name == "GroupOrUnionGraphPattern" and not all(
            _this_only_in(branch, ("TriplesBlock",)) for branch in part.graph
        ):
            return None
        if part.name not in _JOINED_PARTS and _contains(part, _THIS.__eq__):
            return None
    head = _SELECT_HEAD.search(select)
    if head is None:
        return None
    return prologue + select[: head.end()] + "\n" + focus + "\n" + select[head.end() :]


def _this_only_in(group: CompValue, allowed: tuple[str, ...]) -> bool:
    """True if ``$this`` occurs in ``group`` only inside its parts of the ``allowed`` kinds."""
    if group.name != "GroupGraphPatternSub":
        return not _contains(group, _THIS.__eq__)
    return all(part.name in allowed or not _contains(part, _THIS.__eq__) for part in group.part or ())


def _contains(tree: object, found: Any) -> bool:
    """Whether any node of a parse tree (CompValues, parse results, lists, terms) satisfies ``found``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if found(node):
            return True
        if isinstance(node, CompValue):
            stack.extend(node.values())
        elif isinstance(node, (ParseResults, list, tuple)):
            stack.extend(node)
    return False


class _OxigraphCopy:
    """The data graph loaded into an in-memory Oxigraph store, for the bulk SPARQL constraints.

    Oxigraph plans each query with the focus nodes as a join (rdflib fixes its pattern order before
    ``$this`` is bound, so it scanned the data once per focus node). Terms map both ways, so results
    name the data's own nodes (its blank nodes, its literals' exact forms).
    """

    def __init__(self, data: Graph) -> None:
        self._from_ox: dict[OxTerm, Node] = {}
        self.store = ox.Store()
        self.store.bulk_extend(ox.Quad(self._ox(s), self._ox(p), self._ox(o)) for s, p, o in data)  # type: ignore[arg-type]

    def _ox(self, term: Node) -> OxTerm:
        found = to_oxigraph(term)
        self._from_ox.setdefault(found, term)
        return found

    def term(self, value: OxTerm) -> Node:
        """The data's own term for a result value, or a new one for a value the query computed."""
        known = self._from_ox.get(value)
        return known if known is not None else to_rdflib(value)

    def select(self, query: str) -> Iterator[dict[str, Node]]:
        """The solutions of a SELECT query, each as its bound variables."""
        solutions = self.store.query(query)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [variable.value for variable in solutions.variables]
        for solution in solutions:
            yield {name: self.term(solution[name]) for name in names if solution[name] is not None}


def _bulk_results(data: Graph, shapes: Graph, constraints: tuple[_BulkConstraint, ...], report: Graph) -> bool:
    """Run each bulk constraint once, add its sh:ValidationResults to ``report``; True if none is a violation.

    Each solution is one result (SHACL 5.3.2): focus node ``?this``, ``sh:resultPath`` from ``?path``,
    ``sh:value`` from ``?value`` or else the focus node (a node shape), messages with ``{?var}`` and
    ``{$var}`` replaced by the solution's values; repeated solutions count once, as in pySHACL.
    """
    copy = _OxigraphCopy(data)
    (report_node,) = report.subjects(RDF.type, SH.ValidationReport)
    conforms = True
    for constraint in constraints:
        seen: set[frozenset[tuple[str, Node]]] = set()
        for solution in copy.select(constraint.query):
            focus = solution["this"]
            solution.setdefault("value", focus)
            key = frozenset(solution.items())
            if key in seen:
                continue
            seen.add(key)
            result = BNode()
            report.add((report_node, SH.result, result))
            for predicate, value in (
                (RDF.type, SH.ValidationResult),
                (SH.sourceConstraintComponent, SH.SPARQLConstraintComponent),
                (SH.sourceShape, constraint.shape),
                (SH.resultSeverity, constraint.severity),
                (SH.focusNode, _cloned(data, focus, report)),
                (SH.value, _cloned(data, solution["value"], report)),
                (SH.sourceConstraint, _cloned(shapes, constraint.constraint, report)),
            ):
                report.add((result, predicate, value))
            if "path" in solution:
                report.add((result, SH.resultPath, _cloned(data, solution["path"], report)))
            for message in constraint.messages:
                report.add((result, SH.resultMessage, Literal(_substituted(str(message), solution))))
            conforms = conforms and constraint.severity in (SH.Warning, SH.Info)
    return conforms


def _stored_form_results(data: Graph, shapes: Graph, report: Graph) -> None:
    """One sh:Warning per triple whose literal the store would rewrite (see ``storedform``): the focus
    node is the triple's subject, the path its predicate, the value the literal as written, and the
    message gives both forms. The source shape is ``StoredAsWrittenShape``, named under the shapes
    graph's own IRI; shapes without a declarations node (not ours) get no such results."""
    declarations = next(shapes.subjects(SH.declare), None)
    found = storedform.rewrites(data)
    if declarations is None or not found:
        return
    shape = URIRef(f"{declarations}/StoredAsWrittenShape")
    component = URIRef(f"{declarations}/StoredFormConstraintComponent")
    (report_node,) = report.subjects(RDF.type, SH.ValidationReport)
    for rewrite in found:
        result = BNode()
        report.add((report_node, SH.result, result))
        for predicate, value in (
            (RDF.type, SH.ValidationResult),
            (SH.sourceConstraintComponent, component),
            (SH.sourceShape, shape),
            (SH.resultSeverity, SH.Warning),
            (SH.focusNode, _cloned(data, rewrite.subject, report)),
            (SH.resultPath, rewrite.predicate),
            (SH.value, rewrite.written),
            (
                SH.resultMessage,
                Literal(
                    f"The store would publish {rewrite.written.n3()} as {rewrite.stored.n3()}; "
                    "write the second form to have it published as written"
                ),
            ),
        ):
            report.add((result, predicate, value))


def _cloned(source: Graph, node: Node, report: Graph) -> Node:
    """A blank node is copied into the report with what ``source`` says about it, as pySHACL does."""
    if isinstance(node, BNode) and (node, None, None) in source:
        return clone_blank_node(source, node, report, keepid=True)
    return node


def _substituted(message: str, solution: Mapping[str, Node]) -> str:
    """SHACL 5.3.2: ``{?var}`` and ``{$var}`` in a message stand for the solution's value of ``var``."""
    return _MESSAGE_VARIABLE.sub(
        lambda match: str(solution[match.group(1)]) if match.group(1) in solution else match.group(0), message
    )


_MESSAGE_VARIABLE = re.compile(r"\{[?$](\w+)\}")


def validate_graph(data: Graph, shapes: Graph) -> Report:
    """Validate ``data`` against ``shapes`` (never against shapes the data itself contains).

    pySHACL runs every constraint except the SPARQL-based ones that ``_split_shapes`` takes out;
    those run once each on an Oxigraph copy of the data and add their results to pySHACL's report.
    """
    # SPARQL 1.1 Query section 13.2: FROM / FROM NAMED would make rdflib fetch graphs it does not hold.
    rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False
    split = _split_shapes(shapes)
    view = _PreparedQueryGraph(store=data.store, identifier=data.identifier)
    conforms, report_graph, _ = pyshacl_validate(
        view,
        shacl_graph=split.core,
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
    conforms = _bulk_results(view, shapes, split.bulk, report_graph) and bool(conforms)
    _stored_form_results(data, shapes, report_graph)  # warnings: conformance unchanged
    report_graph.set((next(report_graph.subjects(RDF.type, SH.ValidationReport)), SH.conforms, Literal(conforms)))
    for prefix, namespace in shapes.namespaces():
        report_graph.bind(prefix, namespace, override=True, replace=True)
    results = tuple(sorted(_results(report_graph), key=_sort_key))
    labels = _labels(data, shapes, results)
    return Report(conforms=conforms, results=results, graph=report_graph, labels=labels)


def _text(graph: Graph, node: Node, predicate: URIRef) -> str | None:
    value = graph.value(node, predicate)
    return None if value is None else str(value)


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


def _results(report: Graph) -> list[Result]:
    return [result for _, result in _result_nodes(report)]


def _result_nodes(report: Graph) -> list[tuple[Node, Result]]:
    """Each sh:ValidationResult node of the report with what it says."""
    results = []
    for node in report.subjects(RDF.type, SH.ValidationResult):
        severity = report.value(node, SH.resultSeverity)
        messages = sorted(str(m) for m in report.objects(node, SH.resultMessage))
        results.append(
            (
                node,
                Result(
                    focus_node=str(report.value(node, SH.focusNode)),
                    result_path=_path_text(report, report.value(node, SH.resultPath)),
                    value=_text(report, node, SH.value),
                    severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                    message="; ".join(messages),
                    source_shape=str(report.value(node, SH.sourceShape)),
                    source_constraint=_text(report, node, SH.sourceConstraint)
                    or _text(report, node, SH.sourceConstraintComponent),
                ),
            )
        )
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


# What a submission must contain: a guide generated from the shapes ----------------------------


@dataclass(frozen=True)
class GuideRule:
    """One constraint, as a person reads it: the property, how many values, what kind, and why."""

    iri: str  # the property shape or SPARQL constraint; its page documents it
    path: str | None  # compact property name, None for a check on the whole node
    count: str  # "required", "exactly one", "at most one", "optional", or "" for a check
    expects: str  # the kind of value ("xsd:integer", "an org:Post", "one of …"), or ""
    message: str
    severity: str


@dataclass(frozen=True)
class GuideSection:
    """One node shape: what it applies to, and its rules."""

    iri: str
    label: str
    targets: tuple[str, ...]
    rules: tuple[GuideRule, ...]


def submission_guide(shapes: Graph) -> list[GuideSection]:
    """Every node shape with a target, with its property shapes and checks, read from ``shapes``.

    The page's "what a submission must contain" is this, rendered: it is computed from the shapes
    graph the validator uses, so it cannot say something the validator does not check.
    """
    sections = []
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        targets = _targets(shapes, shape)
        if not isinstance(shape, URIRef) or not targets:
            continue
        default_severity = _severity(shapes, shape, "Violation")
        rules = []
        own_message = _text(shapes, shape, SH.message)
        if own_message:
            rules.append(GuideRule(str(shape), None, "", "", own_message, default_severity))
        for member in sorted(shapes.objects(shape, SH.property), key=str):
            rules.append(_property_rule(shapes, member, default_severity))
        for member in sorted(shapes.objects(shape, SH.sparql), key=str):
            message = _text(shapes, member, SH.message) or _text(shapes, shape, RDFS.label) or str(member)
            rules.append(GuideRule(str(member), None, "", "", message, _severity(shapes, member, default_severity)))
        label = label_of(shapes, shape) or _local_name(shape)
        sections.append(GuideSection(str(shape), label, targets, tuple(rules)))
    return sections


def _curie(shapes: Graph, node: Node) -> str:
    if isinstance(node, URIRef):
        try:
            return shapes.namespace_manager.curie(node, generate=False)
        except (KeyError, ValueError):
            return f"<{node}>"
    return str(node)


def _targets(shapes: Graph, shape: Node) -> tuple[str, ...]:
    kinds = (
        (SH.targetClass, "every {}"),
        (SH.targetNode, "{}"),
        (SH.targetSubjectsOf, "subjects of {}"),
        (SH.targetObjectsOf, "objects of {}"),
    )
    return tuple(
        template.format(_curie(shapes, target))
        for predicate, template in kinds
        for target in sorted(shapes.objects(shape, predicate), key=str)
    )


def _severity(shapes: Graph, node: Node, default: str) -> str:
    severity = shapes.value(node, SH.severity)
    return str(severity).rsplit("#", 1)[-1] if severity is not None else default


def _property_rule(shapes: Graph, member: Node, default_severity: str) -> GuideRule:
    path = shapes.value(member, SH.path)
    low = shapes.value(member, SH.minCount)
    high = shapes.value(member, SH.maxCount)
    low_n = int(low) if isinstance(low, Literal) else 0
    high_n = int(high) if isinstance(high, Literal) else None
    if low_n >= 1 and high_n == 1:
        count = "exactly one"
    elif low_n >= 1:
        count = "required" if low_n == 1 else f"at least {low_n}"
    elif high_n is not None:
        count = "at most one" if high_n == 1 else f"at most {high_n}"
    else:
        count = "optional"
    expects = []
    for predicate, template in ((SH.datatype, "{}"), (SH["class"], "a {}"), (SH.nodeKind, "{}")):
        expects += [template.format(_curie(shapes, v)) for v in sorted(shapes.objects(member, predicate), key=str)]
    for values in shapes.objects(member, SH["in"]):
        expects.append("one of " + ", ".join(_curie(shapes, v) for v in shapes.items(values)))
    for alternatives in shapes.objects(member, SH["or"]):
        options = [shapes.value(o, SH.datatype) or shapes.value(o, SH["class"]) for o in shapes.items(alternatives)]
        expects.append(" or ".join(_curie(shapes, o) for o in options if o is not None))
    message = _text(shapes, member, SH.message) or (str(member) if path is None else _curie(shapes, path))
    return GuideRule(
        str(member),
        _curie(shapes, path) if isinstance(path, URIRef) else ("a property path" if path is not None else None),
        count,
        "; ".join(e for e in expects if e),
        message,
        _severity(shapes, member, default_severity),
    )


# Validation in worker processes that a time limit can kill ------------------------------------


class SubmissionRefused(Exception):
    """A submission refused before it is parsed; ``status`` is the HTTP status the web layer answers."""

    status = 400


class SubmissionTooLarge(SubmissionRefused):
    status = 413


class UnsupportedSubmissionType(SubmissionRefused):
    status = 415


class ReportNotAcceptable(SubmissionRefused):
    status = 406


class ValidationTimeout(Exception):
    """Validation ran past its time limit and its worker was killed (HTTP 503)."""


class ValidationMemoryExceeded(Exception):
    """Validation needed more memory than a validation worker may have; it was stopped (HTTP 503)."""


class ValidatorUnavailable(Exception):
    """No validation worker could be started, or one died (HTTP 503)."""


@dataclass(frozen=True)
class Submission:
    """Untrusted bytes, the format to read them in, and a name for messages ("line 3 of …")."""

    data: bytes
    format_name: str
    source: str


# Results a validation service sends back at most (in report order); the rest are counted, not sent.
MAX_RESULTS_SHOWN = 1000


@dataclass(frozen=True)
class ValidatorConfig:
    """What a worker needs to build its validator: our shapes, the base URI, the size limit."""

    shapes_dir: str
    base_uri: str
    max_bytes: int


def validate_submission(submission: Submission, shapes: Graph, config: ValidatorConfig) -> Report:
    """The command line's path for bytes: the safe parser (``rdfio``), then our shapes only."""
    fmt = format_for_name(submission.format_name)
    data = parse_rdf(submission.data, fmt, submission.source, config.max_bytes, config.base_uri)
    return validate_graph(data, shapes)


def validation_worker_main(fd: int) -> None:
    """A validation worker (``ceopgraph.workers``): load the shapes once, then parse and validate
    submissions until the server goes away or kills it (a time limit)."""
    serve_jobs(fd, _worker_setup, _worker_validate)


def _worker_setup(config: ValidatorConfig) -> tuple[ValidatorConfig, Graph]:
    return config, load_shapes(Path(config.shapes_dir), config.base_uri)


def _worker_validate(state: tuple[ValidatorConfig, Graph], submission: Submission) -> tuple[str, object]:
    config, shapes = state
    try:
        report = validate_submission(submission, shapes, config)
    except UnreadableRdf as exc:  # its constructor takes four arguments: sent as values, rebuilt
        return ("unreadable", (exc.message, exc.source, exc.line, exc.column))
    # Bounded, and rendered here: the server neither receives nor parses a report that grows with the
    # submission (a 79 KB submission gave 18,000 results, 8.5 MB of Turtle, 8.5 s to parse in the server).
    shown = report.first(MAX_RESULTS_SHOWN)
    rendered = (shown.to_turtle(), shown.to_jsonld())
    return ("ok", (shown.conforms, shown.results, dict(shown.labels), shown.omitted, rendered))


class ValidationPool:
    """Worker processes that validate submissions, one at a time each.

    pySHACL has no way to stop a validation, so the only real time limit is a process that can be
    killed: the SPARQL endpoint's mechanism (``ceopgraph.workers``), with a worker that runs the safe
    parser and pySHACL instead of the query engine. A submission waits for an idle worker and for its
    report within one time limit; past it the worker gets SIGKILL and a fresh one is started in the
    background. Workers start on first use, so creating an app costs nothing.
    """

    def __init__(self, config: ValidatorConfig, size: int, memory_mb: int) -> None:
        self._workers = WorkerPool(
            "ceopgraph.validate:validation_worker_main", config, size, "validation worker", memory_mb=memory_mb
        )

    def start(self) -> None:
        """Start the workers in the background (idempotent)."""
        self._workers.start()

    def validate(self, submission: Submission, timeout_s: float) -> Report:
        """Parse and validate ``submission`` within ``timeout_s`` seconds, waiting included."""
        try:
            status, payload = self._workers.run(submission, timeout_s)
        except NoIdleWorker:
            raise ValidationTimeout(
                f"no validator became free within the {timeout_s:g} s limit; try again in a moment"
            ) from None
        except DeadlinePassed:
            raise ValidationTimeout(
                f"validation took longer than the {timeout_s:g} s limit and was stopped; "
                "submit a smaller file, or split it"
            ) from None
        except MemoryExceeded:
            raise ValidationMemoryExceeded(
                f"validating the submission needed more than the {self._workers.memory_mb} MiB a validation "
                "may use and was stopped; submit a smaller file, or split it"
            ) from None
        except WorkerFailed as exc:
            raise ValidatorUnavailable("a validation worker failed; it is being replaced, try again") from exc
        if status == "unreadable":
            message, source, line, column = payload
            raise UnreadableRdf(message, source, line, column)
        conforms, results, labels, omitted, rendered = payload
        return Report(conforms, results, Graph(), labels, omitted, rendered)

    def close(self) -> None:
        """Kill the idle workers; busy ones exit when their socket closes."""
        self._workers.close()
