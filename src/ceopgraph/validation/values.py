"""Values as people read them: a reported value with its kind, and the kind a rule expects.

A report that prints the text ``"900"`` and the number ``900`` both as ``900`` hides the very thing that
is wrong, so a result's value is described by its RDF term (text, number, IRI...) and the rule's
expected kinds are read from its shape (``sh:datatype``, directly or in an ``sh:or``/``sh:xone`` list).
"""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, XSD
from rdflib.term import Node

from ceopgraph.namespaces import SH

_NUMBERS = frozenset(
    {
        *(XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.long, XSD.int, XSD.short, XSD.byte),
        *(XSD.nonNegativeInteger, XSD.positiveInteger, XSD.nonPositiveInteger, XSD.negativeInteger),
        *(XSD.unsignedLong, XSD.unsignedInt, XSD.unsignedShort, XSD.unsignedByte),
    }
)
_KINDS = {
    XSD.string: "text",
    RDF.langString: "text with a language tag",
    XSD.boolean: "a true or false value",
    XSD.date: "a date",
    XSD.dateTime: "a date and time",
    XSD.gYear: "a year",
    XSD.gYearMonth: "a year and month",
    XSD.anyURI: "a URI as text",
}


def curie(datatype: URIRef) -> str:
    """``xsd:integer`` for the XML Schema and RDF datatypes people know by that name, else the IRI."""
    for prefix, namespace in (("xsd", str(XSD)), ("rdf", str(RDF))):
        if datatype.startswith(namespace):
            return f"{prefix}:{datatype[len(namespace) :]}"
    return f"<{datatype}>"


def described_value(value: Node | None) -> str | None:
    """A result's value with its kind: ``the text "900" (xsd:string)``, ``the number 900 (xsd:integer)``."""
    if value is None:
        return None
    if isinstance(value, URIRef):
        return f"the IRI <{value}>"
    if isinstance(value, BNode):
        return "a blank node"
    if not isinstance(value, Literal):
        return str(value)
    if value.language is not None:
        return f'the text "{value}"@{value.language} (rdf:langString)'
    datatype = value.datatype or XSD.string
    if datatype in _NUMBERS:
        return f"the number {value} ({curie(datatype)})"
    if datatype == XSD.string:
        return f'the text "{value}" (xsd:string)'
    return f'the value "{value}" ({curie(datatype)})'


def expected_kind(shapes: Graph, shape: Node) -> str | None:
    """What a shape's datatype constraints expect, e.g. ``a number (xsd:integer/decimal)``, or None when
    it has none (a rule about something else than a value's kind)."""
    datatypes = [d for d in shapes.objects(shape, SH.datatype) if isinstance(d, URIRef)]
    for alternatives in (SH["or"], SH.xone):
        for members in shapes.objects(shape, alternatives):
            for member in Collection(shapes, members):
                datatypes += [d for d in shapes.objects(member, SH.datatype) if isinstance(d, URIRef)]
    if not datatypes:
        return None
    kinds = dict.fromkeys("a number" if d in _NUMBERS else _KINDS.get(d, "a value") for d in datatypes)
    names = [curie(d) for d in datatypes]
    written = names[0] + "".join("/" + n.removeprefix("xsd:") if n.startswith("xsd:") else "/" + n for n in names[1:])
    return f"{' or '.join(kinds)} ({written})"
