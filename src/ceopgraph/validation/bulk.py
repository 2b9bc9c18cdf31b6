"""SHACL-SPARQL constraints evaluated once per constraint instead of once per focus node.

pySHACL runs a SPARQL constraint's query once per focus node (SHACL section 5.3.1: ``$this``
pre-bound); most of a validation's time went there. A constraint whose query gives the same answer
when ``$this`` is joined to all the shape's focus nodes at once is taken out of the shapes pySHACL
runs and run here, once, on an Oxigraph copy of the data (``split_shapes``, ``bulk_results``).

The shapes' queries are checked first (``refuse_unsafe``): one that would reach outside the data is
refused before anything runs, whichever engine would have run it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox
import rdflib
from pyparsing import ParseException
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from ceopgraph.namespaces import SH
from ceopgraph.sparqltext import Template, walk
from ceopgraph.terms import OxTerm, read_solutions, to_oxigraph, to_rdflib
from ceopgraph.validation.report import add_result, with_description


class UnsafeShapes(Exception):
    """A shape's SPARQL query would reach outside the data (``SERVICE``, ``FROM``): refused, never run."""


@dataclass(frozen=True)
class BulkConstraint:
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
class SplitShapes:
    """The shapes pySHACL runs (without the constraints below) and the constraints run in bulk."""

    core: Graph
    bulk: tuple[BulkConstraint, ...]


# pySHACL declares these for every SHACL-SPARQL query; the shapes may rely on them.
_DEFAULT_PREFIXES = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL), "sh": str(SH), "xsd": str(XSD)}
_THIS = rdflib.Variable("this")
# SHACL section 5.3.1 forbids these in SPARQL constraints (pre-binding is undefined with them).
_FORBIDDEN_PARTS = {"MinusGraphPattern", "ServiceGraphPattern", "InlineData"}
_JOINED_PARTS = {"TriplesBlock", "Filter", "Bind", "OptionalGraphPattern", "GroupOrUnionGraphPattern"}


def refuse_unsafe(shapes: Graph) -> None:
    """Raise ``UnsafeShapes`` for a SPARQL constraint whose query could reach outside the data.

    ``SERVICE`` is a federated query: Oxigraph and rdflib would both send it over HTTP. ``FROM`` and
    ``FROM NAMED`` name graphs to load (SPARQL 1.1 section 13.2), which the engines would look up or
    fetch rather than query the data given. A query that does not parse is refused too: what it
    would do cannot be told.
    """
    for constraint in sorted(set(shapes.objects(None, SH.sparql)), key=str):
        select = shapes.value(constraint, SH.select)
        if select is None:
            continue
        parsed = _parsed(_prefix_declarations(shapes, constraint) + str(select))
        if parsed is None or _contains(parsed, _is_service):
            raise UnsafeShapes(f"{constraint}: a SPARQL constraint must not contain a federated query (SERVICE)")
        if _contains(parsed, _names_datasets):
            raise UnsafeShapes(f"{constraint}: a SPARQL constraint must not name its dataset (FROM, FROM NAMED)")


def _is_service(node: object) -> bool:
    return isinstance(node, CompValue) and node.name == "ServiceGraphPattern"


def _names_datasets(node: object) -> bool:
    return isinstance(node, CompValue) and "datasetClause" in node


def split_shapes(shapes: Graph, *, bulk: bool = True) -> SplitShapes:
    """Take out of (a copy of) the shapes graph every SPARQL constraint that can be run in bulk;
    with ``bulk`` false, none: the copy is the whole shapes graph, for pySHACL to run alone.

    Running a constraint's query once with ``$this`` joined to the shape's focus nodes gives what
    SHACL's pre-binding gives (one query per focus node, SHACL 5.3.1) when the shape is a node shape
    that only its own targets reach, and the query uses ``$this`` only where the join binds it
    (``_bulk_query``). Any other constraint stays in the graph pySHACL runs.
    """
    core = Graph()
    core += shapes
    for prefix, namespace in shapes.namespaces():
        core.bind(prefix, namespace, override=True, replace=True)
    taken = []
    pairs = sorted(shapes.subject_objects(SH.sparql), key=lambda pair: (str(pair[0]), str(pair[1])))
    for shape, constraint in pairs if bulk else ():
        found = _bulk_constraint(shapes, shape, constraint)
        if found is not None:
            taken.append(found)
            core.remove((shape, SH.sparql, constraint))
    return SplitShapes(core, tuple(taken))


def _bulk_constraint(shapes: Graph, shape: Node, constraint: Node) -> BulkConstraint | None:
    """The constraint as run in bulk, or None if it must be left to pySHACL's pre-binding."""
    if not isinstance(shape, URIRef) or not isinstance(constraint, (URIRef, BNode)):
        return None
    select = shapes.value(constraint, SH.select)
    focus = _focus_node_pattern(shapes, shape)
    if focus is None or select is None or (constraint, SH.deactivated, Literal(True)) in shapes:
        return None
    query = _bulk_query(_prefix_declarations(shapes, constraint), str(select), focus)
    if query is None:
        return None
    messages = tuple(shapes.objects(constraint, SH.message)) + tuple(shapes.objects(shape, SH.message))
    severity = shapes.value(shape, SH.severity)
    return BulkConstraint(
        shape,
        constraint,
        query,
        severity if isinstance(severity, URIRef) else SH.Violation,
        tuple(dict.fromkeys(m for m in messages if isinstance(m, Literal))),
    )


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
    if not all(_joins_this(part) for part in where.part or ()):
        return None
    return Template(prologue + select).with_first(focus)


def _joins_this(part: CompValue) -> bool:
    """Whether a part of the WHERE group sees ``$this`` bound when the focus nodes come first in it."""
    if part.name in _FORBIDDEN_PARTS:
        return False
    if part.name == "OptionalGraphPattern":
        return _this_only_in(part.graph, ("TriplesBlock", "Filter"))
    if part.name == "GroupOrUnionGraphPattern":
        return all(_this_only_in(branch, ("TriplesBlock",)) for branch in part.graph)
    return part.name in _JOINED_PARTS or not _contains(part, _THIS.__eq__)


def _this_only_in(group: CompValue, allowed: tuple[str, ...]) -> bool:
    """True if ``$this`` occurs in ``group`` only inside its parts of the ``allowed`` kinds."""
    if group.name != "GroupGraphPatternSub":
        return not _contains(group, _THIS.__eq__)
    return all(part.name in allowed or not _contains(part, _THIS.__eq__) for part in group.part or ())


def _contains(tree: object, found: Callable[[object], bool]) -> bool:
    """Whether any node of a parse tree (CompValues, parse results, lists, terms) satisfies ``found``."""
    return any(found(node) for node in walk(tree))


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

    def select(self, query: str) -> list[dict[str, Node]]:
        """The solutions of a SELECT query, each as its bound variables, read in this thread
        (``terms.read_solutions``)."""
        names, solutions = read_solutions(self.store.query(query))
        return [
            {name: self.term(solution[name]) for name in names if solution[name] is not None} for solution in solutions
        ]


def bulk_results(data: Graph, shapes: Graph, constraints: tuple[BulkConstraint, ...], report: Graph) -> bool:
    """Run each bulk constraint once, add its sh:ValidationResults to ``report``; True if none is a violation.

    Each solution is one result (SHACL 5.3.2): focus node ``?this``, ``sh:resultPath`` from ``?path``,
    ``sh:value`` from ``?value`` or else the focus node (a node shape), messages with ``{?var}`` and
    ``{$var}`` replaced by the solution's values; repeated solutions count once, as in pySHACL.
    """
    if not constraints:
        return True
    copy = _OxigraphCopy(data)
    conforms = True
    for constraint in constraints:
        seen: set[frozenset[tuple[str, Node]]] = set()
        for solution in copy.select(constraint.query):
            solution.setdefault("value", solution["this"])
            key = frozenset(solution.items())
            if key not in seen:
                seen.add(key)
                _add_solution(data, shapes, constraint, solution, report)
                conforms = conforms and constraint.severity in (SH.Warning, SH.Info)
    return conforms


def _add_solution(
    data: Graph, shapes: Graph, constraint: BulkConstraint, solution: Mapping[str, Node], report: Graph
) -> None:
    """One solution of a bulk constraint's query as a sh:ValidationResult of ``report`` (SHACL 5.3.2)."""
    properties = [
        (SH.sourceConstraintComponent, SH.SPARQLConstraintComponent),
        (SH.sourceShape, constraint.shape),
        (SH.resultSeverity, constraint.severity),
        (SH.focusNode, with_description(data, solution["this"], report)),
        (SH.value, with_description(data, solution["value"], report)),
        (SH.sourceConstraint, with_description(shapes, constraint.constraint, report)),
    ]
    if "path" in solution:
        properties.append((SH.resultPath, with_description(data, solution["path"], report)))
    properties += [(SH.resultMessage, Literal(_substituted(str(m), solution))) for m in constraint.messages]
    add_result(report, properties)


def _substituted(message: str, solution: Mapping[str, Node]) -> str:
    """SHACL 5.3.2: ``{?var}`` and ``{$var}`` in a message stand for the solution's value of ``var``."""
    return _MESSAGE_VARIABLE.sub(
        lambda match: str(solution[match.group(1)]) if match.group(1) in solution else match.group(0), message
    )


_MESSAGE_VARIABLE = re.compile(r"\{[?$](\w+)\}")
