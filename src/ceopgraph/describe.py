"""What the linked-data front end says about a resource: its description, in RDF.

Pure core: functions of a ``Store`` (or, for the shapes, an rdflib graph) and plain values, no Flask.
A resource's RDF is its symmetric concise bounded description: every triple with it as subject
(following blank-node objects), every triple with it as object, and the labels of everything those
triples link to, so one request gives a consumer what it needs to show the resource. The HTML pages
are built from it by ``ceopgraph.web.pages``.

Every query here is our own text; request data reaches it only as bound values (pyoxigraph
substitutions, which need the bound variable projected: hence ``SELECT *`` or ``?resource`` in a
subquery's projection), and only after the IRI was built from a path that matched
``paths.valid_rest``.
"""

from __future__ import annotations

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDFS, SKOS
from rdflib.term import Node

from ceopgraph import rdfio
from ceopgraph.conneg import RdfFormat
from ceopgraph.namespaces import SCHEMA, STANDARD_PREFIXES, bind_prefixes, prefix_map
from ceopgraph.sparqltext import Template
from ceopgraph.store.protocol import Store

# Descriptions -----------------------------------------------------------------------------------

LABEL_PROPERTIES: tuple[URIRef, ...] = (SKOS.prefLabel, RDFS.label, DCTERMS.title, SCHEMA.name, FOAF.name)

# Every query of the pages starts with the standard prefixes (our own local terms are bound as values).
SPARQL_PREFIXES = "".join(f"PREFIX {prefix}: <{namespace}>\n" for prefix, namespace in STANDARD_PREFIXES.items())


def with_prefixes(body: str) -> Template:
    """One of our queries, with the standard prefix declarations."""
    return Template(SPARQL_PREFIXES + body)


# Writing these queries for Oxigraph: bound values (substitutions) are not known when it plans a
# query, so it orders the patterns as if ``?resource`` were free. A pattern with a constant
# predicate and object (``?x a qb:Observation``), a ``VALUES`` block, or a pattern joined after a
# ``UNION`` is planned as a scan of the whole store joined by hashing: the cost grows with the
# store, not the resource. So every branch below starts from ``?resource`` and walks outwards, and
# label properties are tested with ``FILTER(?p IN …)`` per solution rather than joined from a
# ``VALUES`` list. (At 100k triples this took the description of an observation from ~45 ms to ~1 ms.)
_LABEL = f". ?s ?p ?o FILTER(?p IN ({', '.join(p.n3() for p in LABEL_PROPERTIES)}))"

# The symmetric CBD plus labels, in three queries: the resource's own triples either way; the labels
# of the things the resource links to, of those linking to it and of every predicate either way; and,
# only when the resource has blank-node objects, those followed three levels deep (none of our data has
# deeper nesting; the dataset has no blank nodes at all today) with the labels of the objects and
# predicates of its first-level blank nodes. Three, not one: Oxigraph plans a query again at every
# call, and the eleven branches in one query took ~0.6 ms to plan, these ~0.2 ms (the third is rarely
# needed). Their union is what the one query constructed.
OWN_TRIPLES_QUERY = Template(
    """
CONSTRUCT { ?s ?p ?o } WHERE {
  { ?resource ?p ?o BIND(?resource AS ?s) }
  UNION { ?s ?p ?resource BIND(?resource AS ?o) }
}
"""
)
LINKED_LABELS_QUERY = Template(
    f"""
CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ ?resource ?p0 ?s FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ ?s ?p0 ?resource FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ {{ SELECT DISTINCT ?resource ?s WHERE {{ ?resource ?s ?o0 }} }} {_LABEL} }}
  UNION {{ {{ SELECT DISTINCT ?resource ?s WHERE {{ ?s0 ?s ?resource }} }} {_LABEL} }}
}}
"""
)
BLANK_NODES_QUERY = Template(
    f"""
CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ ?resource ?p1 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?p2 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?p2 ?b2 FILTER(isBlank(?b2))
           ?b2 ?p3 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?p2 ?s FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?s ?o2 {_LABEL} }}
}}
"""
)

EXISTS_QUERY = Template("ASK { { ?resource ?p ?o } UNION { ?s ?p ?resource } }")


def exists(store: Store, iri: URIRef) -> bool:
    return store.ask(EXISTS_QUERY, {"resource": iri})


def describe(store: Store, iri: URIRef) -> Graph:
    """The symmetric concise bounded description of ``iri`` in the store, with labels of linked things."""
    bound = {"resource": iri}
    found = store.construct(OWN_TRIPLES_QUERY, bound)
    found += store.construct(LINKED_LABELS_QUERY, bound)
    if any(isinstance(o, BNode) for o in found.objects(iri, None)):
        found += store.construct(BLANK_NODES_QUERY, bound)
    return found


def describe_in_graph(graph: Graph, iri: URIRef) -> Graph:
    """The same description computed over an rdflib graph held in memory (the shapes)."""
    out = Graph()
    linked: set[Node] = set()
    pending: list[Node] = [iri]
    seen: set[Node] = set()
    while pending:
        node = pending.pop()
        if node in seen:
            continue
        seen.add(node)
        for s, p, o in graph.triples((node, None, None)):
            out.add((s, p, o))
            linked.update((p, o))
            if isinstance(o, BNode):
                pending.append(o)
    for s, p, o in graph.triples((None, None, iri)):
        out.add((s, p, o))
        linked.update((s, p))
    for node in linked:
        if isinstance(node, URIRef):
            for prop in LABEL_PROPERTIES:
                for value in graph.objects(node, prop):
                    out.add((node, prop, value))
    return out


def graph_description(store: Store, graph_iri: URIRef) -> Graph:
    """A named graph as a resource: its own description (from the metadata) and every triple in it."""
    out = describe(store, graph_iri)
    for triple in store.graph_triples(graph_iri):
        out.add(triple)
    return out


# Serialisation ----------------------------------------------------------------------------------


def jsonld_context(base: str) -> dict[str, object]:
    """The published JSON-LD ``@context``: our prefixes, so compact IRIs read as in the Turtle."""
    return {"@context": dict(prefix_map(base))}


def serialise(graph: Graph, fmt: RdfFormat, base: str) -> bytes:
    """One resource's description in ``fmt``. JSON-LD is compacted with the published context, given
    inline so that no consumer has to fetch it (many JSON-LD processors would, from the network)."""
    if fmt.name == "jsonld":
        bind_prefixes(graph, base)
        context = jsonld_context(base)["@context"]
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    # Oxigraph's writers keep every literal's lexical form ("85"^^xsd:decimal stays "85", where
    # rdflib's Turtle writer would print 85.0) and sort the triples, so answers are byte-stable.
    triples = Dataset()
    for triple in graph:
        triples.add(triple)
    return rdfio.serialise(triples, fmt, prefix_map(base))
