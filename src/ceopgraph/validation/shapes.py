"""The shapes graph: parsed with the base URI, its SPARQL prefixes declared, its blank shapes named."""

from __future__ import annotations

from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

from ceopgraph.bnodes import relabel_graph
from ceopgraph.labels import local_name
from ceopgraph.namespaces import SH, bind_prefixes, prefix_map
from ceopgraph.urischeme import UriScheme


def load_shapes(shapes_dir: Path, scheme: UriScheme) -> Graph:
    """Parse every ``*.ttl`` under ``shapes_dir`` with IRIs resolved against the base URI.

    SHACL-SPARQL prefix declarations (SHACL section 5.2.1) are literals, which Turtle cannot make
    relative, so the local namespaces are declared here, from the base, on the shapes graph's prefix
    node. Blank-node property shapes and SPARQL constraints are then named (see ``_name_blank_shapes``)
    so that every report says exactly which constraint a result comes from.
    """
    shapes = Graph()
    for path in sorted(shapes_dir.glob("*.ttl")):
        shapes.parse(path, format="turtle", publicID=scheme.base)
    bind_prefixes(shapes, scheme)
    declarations = scheme.shapes
    for prefix, namespace in sparql_prefixes(scheme).items():
        declaration = URIRef(f"{declarations}/prefix/{prefix}")
        shapes.add((declarations, SH.declare, declaration))
        shapes.add((declaration, SH.prefix, Literal(prefix)))
        shapes.add((declaration, SH.namespace, Literal(namespace, datatype=XSD.anyURI)))
    _name_blank_shapes(shapes)
    return relabel_graph(shapes)  # the rest (lists, paths): stable labels, for the shape pages' ETags


def sparql_prefixes(scheme: UriScheme) -> dict[str, str]:
    """The prefixes SHACL-SPARQL queries may use: every serialisation prefix, plus the code lists the
    consistency checks name (their codes hold "/" after the base, which prefixed names cannot)."""
    return {
        **prefix_map(scheme),
        "base": scheme.base,
        "precision": str(scheme.def_["precision/"]),
        "figure-status": str(scheme.def_["figure-status/"]),
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
            stem = local_name(path) if isinstance(path, URIRef) else "path"
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
