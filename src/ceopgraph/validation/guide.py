"""What a submission must contain: a guide generated from the shapes the validator uses."""

from __future__ import annotations

from dataclasses import dataclass, replace

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS
from rdflib.term import Node

from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.labels import REPORT_LABEL_PROPERTIES, label, local_name
from ceopgraph.namespaces import SH, prefix_map
from ceopgraph.rdfio import serialise
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import UriScheme
from ceopgraph.validation.report import severity_name, text_value


@dataclass(frozen=True)
class GuideRule:
    """One constraint, as a person reads it: the property, how many values, what kind, and why."""

    iri: str  # the property shape or SPARQL constraint; its page documents it
    path: str | None  # compact property name, None for a check on the whole node
    count: str  # "required", "exactly one", "at most one", "optional", or "" for a check
    expects: str  # the kind of value ("xsd:integer", "an org:Post", "one of …"), or ""
    message: str
    severity: str
    example: str = ""  # conforming data for this rule, as Turtle: the example of a fix

    @property
    def anchor(self) -> str:
        return anchor(self.iri, "rule")


@dataclass(frozen=True)
class GuideSection:
    """One node shape: what it applies to, and its rules."""

    iri: str
    label: str
    targets: tuple[str, ...]
    rules: tuple[GuideRule, ...]

    @property
    def anchor(self) -> str:
        return anchor(self.iri, "shape")


def anchor(iri: str, kind: str) -> str:
    """The HTML id of a guide entry: ``rule-ObservationShape-obsValue`` for ``…/def/shapes/ObservationShape/obsValue``
    (the shapes' own names, so a report can link a result to the entry that explains its rule)."""
    name = iri.rsplit("/def/shapes/", 1)[-1]
    return f"{kind}-" + "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in name)


def guide_href(guide: list[GuideSection], shape: str, constraint: str | None = None) -> str:
    """The fragment of the guide entry that explains a report's result: its SPARQL constraint or property
    shape when the guide lists it as a rule, else the section of its node shape."""
    rules = {rule.iri for section in guide for rule in section.rules}
    for iri in (constraint, shape):
        if iri in rules:
            return "#" + anchor(iri, "rule")
    return "#" + anchor(shape, "shape")


def submission_guide(shapes: Graph, published: Graph | None = None) -> list[GuideSection]:
    """Every node shape with a target, with its property shapes and checks, read from ``shapes``.

    The page's "what a submission must contain" is this, rendered: it is computed from the shapes
    graph the validator uses, so it cannot say something the validator does not check. Each rule's
    example of a fix is the shapes' own ``skos:example`` (the checks), else the values the
    ``published`` data (which conforms) gives the property, on its first node the shape targets.
    """
    sections = []
    for shape in sorted(set(shapes.subjects(RDF.type, SH.NodeShape)), key=str):
        targets = _targets(shapes, shape)
        if not isinstance(shape, URIRef) or not targets:
            continue
        default_severity = _severity(shapes, shape, "Violation")
        rules = []
        own_message = text_value(shapes, shape, SH.message)
        if own_message:
            example = text_value(shapes, shape, SKOS.example) or ""
            rules.append(GuideRule(str(shape), None, "", "", own_message, default_severity, example))
        focus = _focus_nodes(shapes, shape, published) if published is not None else []
        for member in sorted(shapes.objects(shape, SH.property), key=str):
            rule = _property_rule(shapes, member, default_severity)
            example = text_value(shapes, member, SKOS.example) or _published_example(published, focus, member, shapes)
            rules.append(replace(rule, example=example))
        for member in sorted(shapes.objects(shape, SH.sparql), key=str):
            message = text_value(shapes, member, SH.message) or text_value(shapes, shape, RDFS.label) or str(member)
            severity = _severity(shapes, member, default_severity)
            example = text_value(shapes, member, SKOS.example) or ""
            rules.append(GuideRule(str(member), None, "", "", message, severity, example))
        name = label(shapes, shape, REPORT_LABEL_PROPERTIES) or local_name(shape)
        sections.append(GuideSection(str(shape), name, targets, tuple(rules)))
    return sections


def _focus_nodes(shapes: Graph, shape: Node, published: Graph) -> list[Node]:
    """The nodes of ``published`` a shape targets (SHACL 2.1.3), sorted: where its examples come from."""
    found: set[Node] = set(shapes.objects(shape, SH.targetNode))
    for cls in shapes.objects(shape, SH.targetClass):
        found.update(published.subjects(RDF.type, cls))
    for predicate in shapes.objects(shape, SH.targetSubjectsOf):
        found.update(published.subjects(predicate, None))
    for predicate in shapes.objects(shape, SH.targetObjectsOf):
        found.update(published.objects(None, predicate))
    return sorted((n for n in found if isinstance(n, URIRef)), key=str)


_EXAMPLE_VALUES = 3  # values of one property shown, at most


def _published_example(published: Graph | None, focus: list[Node], member: Node, shapes: Graph) -> str:
    """The first targeted node's values of the property shape's path in the published data, as Turtle."""
    path = shapes.value(member, SH.path)
    if published is None or not isinstance(path, URIRef):
        return ""
    names = shapes.namespace_manager
    for node in focus:
        values = sorted(published.objects(node, path), key=str)[:_EXAMPLE_VALUES]
        if values:
            written = ", ".join(v.n3(names) for v in values)
            return f"{node.n3(names)} {path.n3(names)} {written} ."
    return ""


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
    return severity_name(shapes.value(node, SH.severity), default)


def _count(shapes: Graph, member: Node) -> str:
    """How many values a property shape asks for, in words."""
    low = shapes.value(member, SH.minCount)
    high = shapes.value(member, SH.maxCount)
    low_n = int(low) if isinstance(low, Literal) else 0
    high_n = int(high) if isinstance(high, Literal) else None
    if low_n >= 1 and high_n == 1:
        return "exactly one"
    if low_n >= 1:
        return "required" if low_n == 1 else f"at least {low_n}"
    if high_n is not None:
        return "at most one" if high_n == 1 else f"at most {high_n}"
    return "optional"


def _expects(shapes: Graph, member: Node) -> str:
    """The kinds of value a property shape accepts: datatypes, classes, node kinds, lists of values."""
    expects = []
    for predicate, template in ((SH.datatype, "{}"), (SH["class"], "a {}"), (SH.nodeKind, "{}")):
        expects += [template.format(_curie(shapes, v)) for v in sorted(shapes.objects(member, predicate), key=str)]
    for values in shapes.objects(member, SH["in"]):
        expects.append("one of " + ", ".join(_curie(shapes, v) for v in shapes.items(values)))
    for alternatives in shapes.objects(member, SH["or"]):
        options = [shapes.value(o, SH.datatype) or shapes.value(o, SH["class"]) for o in shapes.items(alternatives)]
        expects.append(" or ".join(_curie(shapes, o) for o in options if o is not None))
    return "; ".join(e for e in expects if e)


def _property_rule(shapes: Graph, member: Node, default_severity: str) -> GuideRule:
    path = shapes.value(member, SH.path)
    message = text_value(shapes, member, SH.message) or (str(member) if path is None else _curie(shapes, path))
    return GuideRule(
        str(member),
        _curie(shapes, path) if isinstance(path, URIRef) else ("a property path" if path is not None else None),
        _count(shapes, member),
        _expects(shapes, member),
        message,
        _severity(shapes, member, default_severity),
    )


# The example: the figures with the structure and the code lists they use, and the words they cite (the
# article, its segments and their selectors, with the organisations its publications name): a complete
# submission, since a reported figure must cite the words it is reported in.
EXAMPLE_GRAPHS = ("figures", "structure", "vocabulary", "provenance", "organisations")


def example_submission(store: Store, scheme: UriScheme) -> bytes:
    """A complete, valid submission to start from, read from the store (so it is the published data)."""
    graph = Graph()
    for name in EXAMPLE_GRAPHS:
        graph += store.graph_triples(scheme.graph_iri(name))
    return serialise(graph, FORMATS_BY_NAME["turtle"], prefix_map(scheme))
