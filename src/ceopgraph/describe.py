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

from collections.abc import Sequence
from dataclasses import dataclass

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDFS, SKOS
from rdflib.term import Node

from ceopgraph import rdfio
from ceopgraph.conneg import RdfFormat
from ceopgraph.namespaces import SCHEMA, STANDARD_PREFIXES, bind_prefixes, prefix_map
from ceopgraph.sparqltext import Template
from ceopgraph.store.jobs import QueryJob
from ceopgraph.store.protocol import Row, Store
from ceopgraph.urischeme import UriScheme

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

# A document lists at most this many statements of the data, whatever the data: a draft of 4 MiB can
# hang 21,000 blank nodes (or IRIs) off one resource, and rendering them all took ~1.5 s of a server
# thread. The largest document of the built dataset holds 261 (a named graph's); the shapes pages add
# our own shapes (1,097 statements, not data) to theirs. ``tests/test_resources.py`` checks that no
# document of the built dataset is cut.
MAX_STATEMENTS = 1_000

# The symmetric CBD plus labels, in three parts: the resource's own triples either way; the labels of
# the things the resource links to, of those linking to it and of every predicate either way; and,
# only when the resource has blank-node objects, those followed three levels deep (none of our data has
# deeper nesting; the dataset has no blank nodes at all today) with the labels of the objects and
# predicates of its first-level blank nodes. Three queries, not one: Oxigraph plans a query again at
# every call, and the eleven branches in one query took ~0.6 ms to plan, these ~0.2 ms (the third is
# rarely needed). Each part's statements are ``?s ?p ?o``, one solution each (DISTINCT: the same triple
# in two graphs, or reached two ways, is one statement).
OWN_TRIPLES = """
  { ?resource ?p ?o BIND(?resource AS ?s) }
  UNION { ?s ?p ?resource BIND(?resource AS ?o) }
"""
LINKED_LABELS = f"""
  {{ ?resource ?p0 ?s FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ ?s ?p0 ?resource FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ {{ SELECT DISTINCT ?resource ?s WHERE {{ ?resource ?s ?o0 }} }} {_LABEL} }}
  UNION {{ {{ SELECT DISTINCT ?resource ?s WHERE {{ ?s0 ?s ?resource }} }} {_LABEL} }}
"""
BLANK_NODES = f"""
  {{ ?resource ?p1 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?p2 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?p2 ?b2 FILTER(isBlank(?b2))
           ?b2 ?p3 ?s FILTER(isBlank(?s)) ?s ?p ?o }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?p2 ?s FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ ?resource ?p1 ?b1 FILTER(isBlank(?b1)) ?b1 ?s ?o2 {_LABEL} }}
"""
# The same labels without subqueries, for the query of all of a document's statements: its values come as a
# VALUES block first in the WHERE group, outside any subquery, which Oxigraph would then evaluate over the
# whole store (39 s at 22,000 blank nodes). Its solutions repeat a label once per statement that links
# to it: the query is DISTINCT.
LINKED_LABELS_FLAT = f"""
  {{ ?resource ?p0 ?s FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ ?s ?p0 ?resource FILTER(isIRI(?s)) {_LABEL} }}
  UNION {{ ?resource ?s ?o0 {_LABEL} }}
  UNION {{ ?s0 ?s ?resource {_LABEL} }}
"""
# A named graph's triples, the graph bound as ``?resource``.
GRAPH_TRIPLES = "\n  { GRAPH ?resource { ?s ?p ?o } }\n"


def _part(where: str) -> Template:
    """The statements of one part, at most one past the cap: Oxigraph stops there, unordered (cheap)."""
    return Template(f"SELECT DISTINCT ?resource ?s ?p ?o WHERE {{{where}}}\nLIMIT {MAX_STATEMENTS + 1}\n")


OWN_TRIPLES_QUERY = _part(OWN_TRIPLES)
LINKED_LABELS_QUERY = _part(LINKED_LABELS)
BLANK_NODES_QUERY = _part(BLANK_NODES)
GRAPH_TRIPLES_QUERY = _part(GRAPH_TRIPLES)
# The resources a named graph describes (its page lists them), one past the cap.
GRAPH_SUBJECTS_QUERY = Template(
    "SELECT DISTINCT ?resource ?s WHERE { GRAPH ?resource { ?s ?p ?o } FILTER(isIRI(?s)) }\n"
    f"LIMIT {MAX_STATEMENTS + 1}\n"
)


def graph_subjects(store: Store, graph_iri: URIRef) -> list[URIRef] | None:
    """The IRIs a named graph holds statements about; None when they are more than ``MAX_STATEMENTS``
    (unordered, so any choice of some would differ between processes: the page lists none, and says it is cut)."""
    rows = store.select(GRAPH_SUBJECTS_QUERY, {"resource": graph_iri})
    subjects = [row["s"] for row in rows if isinstance(row["s"], URIRef)]
    return subjects if len(rows) <= MAX_STATEMENTS else None


EXISTS_QUERY = Template("ASK { { ?resource ?p ?o } UNION { ?s ?p ?resource } }")


def exists(store: Store, iri: URIRef) -> bool:
    return store.ask(EXISTS_QUERY, {"resource": iri})


@dataclass(frozen=True)
class Description:
    """A document's statements, and whether they are all of them.

    ``rest`` is None when ``graph`` holds every statement of the document; else ``graph`` holds the first
    ``MAX_STATEMENTS`` in SPARQL order (``ORDER BY ?s ?p ?o``: the same choice in every process) and
    ``rest`` is the query of all of them, ordered, its values bound: what a client runs at the SPARQL
    endpoint (with LIMIT and OFFSET) to read on.
    """

    graph: Graph
    rest: str | None = None

    def __add__(self, more: Graph) -> Description:
        """This description with statements of ours added (a constant few: the shapes, the endpoint)."""
        found = rdfio.light_graph()
        found += self.graph
        found += more
        return Description(found, self.rest)


def describe(store: Store, iri: URIRef, timeout_s: float = 10.0) -> Description:
    """The symmetric concise bounded description of ``iri`` in the store, with labels of linked things."""
    bound = {"resource": iri}
    own = store.select(OWN_TRIPLES_QUERY, bound)
    parts = [own, store.select(LINKED_LABELS_QUERY, bound)]
    objects = (row["o"] for row in own if row["s"] == iri)
    blank = any(isinstance(o, BNode) for o in objects)
    if blank:
        parts.append(store.select(BLANK_NODES_QUERY, bound))
    wheres = (OWN_TRIPLES, LINKED_LABELS_FLAT, *((BLANK_NODES,) if blank else ()))
    return _capped(store, iri, parts, wheres, timeout_s)


def graph_description(store: Store, graph_iri: URIRef, timeout_s: float = 10.0) -> Description:
    """A named graph as a resource: its own description (from the metadata) and every triple in it."""
    bound = {"resource": graph_iri}
    parts = [store.select(q, bound) for q in (OWN_TRIPLES_QUERY, LINKED_LABELS_QUERY, GRAPH_TRIPLES_QUERY)]
    return _capped(store, graph_iri, parts, (OWN_TRIPLES, LINKED_LABELS_FLAT, GRAPH_TRIPLES), timeout_s)


def graph_contents(store: Store, graph_iri: URIRef, timeout_s: float = 10.0) -> Description:
    """Every triple of one named graph (the metadata, as the VoID document), capped like a description."""
    parts = [store.select(GRAPH_TRIPLES_QUERY, {"resource": graph_iri})]
    return _capped(store, graph_iri, parts, (GRAPH_TRIPLES,), timeout_s)


def rest_query(wheres: Sequence[str]) -> Template:
    """All the statements of a document made of these parts, in the order a cut document keeps."""
    union = "\n  UNION\n".join(f"  {{{where}  }}" for where in wheres)
    return Template(f"SELECT DISTINCT ?s ?p ?o WHERE {{\n{union}\n}}\nORDER BY ?s ?p ?o\n")


def _capped(
    store: Store, iri: URIRef, parts: Sequence[list[Row]], wheres: Sequence[str], timeout_s: float
) -> Description:
    """The statements of ``parts`` when they are at most ``MAX_STATEMENTS`` in all; else the first
    ``MAX_STATEMENTS`` of them in SPARQL order, chosen by the store in a query process (``Store.execute``:
    killable, with the endpoint's time limit), since ordering grows with the data (21,000 statements took
    Oxigraph ~0.4 s to sort) and this thread must answer in a time that does not."""
    found = rdfio.light_graph()
    for rows in parts:
        for row in rows:
            found.add((row["s"], row["p"], row["o"]))
    if len(found) <= MAX_STATEMENTS and all(len(rows) <= MAX_STATEMENTS for rows in parts):
        return Description(found)
    rest = rest_query(wheres).bind({"resource": iri})
    job = QueryJob(query=f"{rest}LIMIT {MAX_STATEMENTS}\n", form="SELECT", result_format="json",
                   max_rows=MAX_STATEMENTS, timeout_s=timeout_s)  # fmt: skip
    answer = store.execute(job)
    return Description(rdfio.statements_of_answer(answer.body), rest)


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


# Serialisation ----------------------------------------------------------------------------------


def jsonld_context(scheme: UriScheme) -> dict[str, object]:
    """The published JSON-LD ``@context``: our prefixes, so compact IRIs read as in the Turtle."""
    return {"@context": dict(prefix_map(scheme))}


def serialise(graph: Graph, fmt: RdfFormat, scheme: UriScheme) -> bytes:
    """One resource's description in ``fmt``. JSON-LD is compacted with the published context, given
    inline so that no consumer has to fetch it (many JSON-LD processors would, from the network)."""
    if fmt.name == "jsonld":
        bind_prefixes(graph, scheme)
        context = jsonld_context(scheme)["@context"]
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    # Oxigraph's writers keep every literal's lexical form ("85"^^xsd:decimal stays "85", where
    # rdflib's Turtle writer would print 85.0) and sort the triples, so answers are byte-stable.
    triples = Dataset()
    for triple in graph:
        triples.add(triple)
    return rdfio.serialise(triples, fmt, prefix_map(scheme))
