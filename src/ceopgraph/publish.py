"""Put the built, validated dataset into any SPARQL 1.1 store, each named graph replaced as a whole.

Two ways in, both idempotent because a graph is always replaced, never added to:

- the SPARQL 1.1 Graph Store Protocol (W3C Recommendation, 2013-03-21), §5.3 HTTP PUT with indirect
  graph identification (§4.2, ``?graph=IRI``): "the request... SHOULD replace the graph's content";
- SPARQL 1.1 Update (W3C Recommendation, 2013-03-21): ``DROP SILENT GRAPH`` (§3.2.2) then
  ``INSERT DATA`` (§3.1.1) in batches, the drop and the first batch in one request (§3.1: a request is a
  sequence of operations, which stores such as Oxigraph apply atomically).

A write may be fenced (``only_if``, by SPARQL Update only): every request then carries a condition on
what the store holds, as a group pattern in its ``WHERE`` clause, so the store applies each request only
if the condition holds when it evaluates it; the graph's replacement is then ``DELETE … WHERE`` and
``INSERT … WHERE`` (§3.1.3) instead of ``DROP`` and ``INSERT DATA``, which take no condition.
``releases.remote`` fences its pushes so, by the state of the release series the store records.

Afterwards the store is read back through its query endpoint: triples per graph must equal the
dataset's, graphs of ours the dataset no longer has are dropped, and the store's default graph is
checked for being the union of the named graphs (the front end does not need it, but clients querying
without ``GRAPH`` do).
"""

from __future__ import annotations

import hashlib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.term import Node
from SPARQLWrapper import SPARQLWrapper

from ceopgraph.bnodes import relabel_triples
from ceopgraph.sparqltext import sparql_iri, sparql_term
from ceopgraph.store.client import USER_AGENT, Credentials, configure, failure
from ceopgraph.store.jobs import StoreError
from ceopgraph.store.remote import RemoteStore

# One INSERT DATA request carries at most this many triples or bytes: small enough for any store's
# request limits (Virtuoso's SQL compiler slows down sharply on huge ones), big enough to be quick.
BATCH_TRIPLES = 1000
# Altered triples listed per graph after a publish (a store that rewrites every decimal would list all).
SHOWN_ALTERED = 50
BATCH_BYTES = 512 * 1024

UNION_DEFAULT_GRAPH_HELP = """\
The store's default graph is not the union of its named graphs. ceopgraph's front end does not need it
(it names its graphs in every query), but clients querying the store without GRAPH will see nothing.
To make the default graph the union:
  Oxigraph server:  oxigraph serve --union-default-graph   (or serve-read-only --union-default-graph)
  Apache Jena Fuseki (TDB2): set  tdb2:unionDefaultGraph true  on the dataset in its configuration
  Virtuoso:         the default behaviour; remove any DefaultGraph setting from the [SPARQL] section"""


class PublishError(Exception):
    """The store refused or failed a write; nothing claims the store holds the dataset."""


@dataclass(frozen=True)
class Target:
    """Where to publish: the query endpoint (for verification) and one way to write."""

    query_url: str
    update_url: str | None = None  # SPARQL Update; defaults to the query URL (Virtuoso takes both there)
    graph_store_url: str | None = None  # Graph Store Protocol; preferred when given
    credentials: Credentials | None = None
    timeout_s: float = 60.0

    @property
    def method(self) -> str:
        return "Graph Store Protocol PUT" if self.graph_store_url else "SPARQL Update"


@dataclass(frozen=True)
class PublishReport:
    method: str
    expected: dict[URIRef, int]  # triples per graph in the dataset
    found: dict[URIRef, int]  # triples per graph of ours in the store afterwards
    dropped: tuple[URIRef, ...]  # graphs of ours in the store that the dataset no longer has
    requests: int
    seconds: float
    union_default_graph: bool
    # Per graph, each triple of the dataset that does not come back as written, with what comes back
    # instead (a store canonicalising literals: Virtuoso turns "85"^^xsd:decimal into "85"^^xsd:integer).
    altered: dict[URIRef, tuple[str, ...]] = field(default_factory=dict)

    @property
    def triples(self) -> int:
        return sum(self.expected.values())

    @property
    def verified(self) -> bool:
        """The store holds exactly the dataset's graphs, with the dataset's number of triples in each."""
        return self.found == self.expected

    def mismatches(self) -> list[str]:
        return [
            f"{graph}: {self.expected.get(graph, 0)} triples in the dataset, {self.found.get(graph, 0)} in the store"
            for graph in sorted(set(self.expected) | set(self.found))
            if self.expected.get(graph, 0) != self.found.get(graph, 0)
        ]


@dataclass
class _Writer:
    """Sends the writes of one publish and counts them."""

    target: Target
    requests: int = 0
    _opener: urllib.request.OpenerDirector | None = field(default=None, repr=False)

    def update(self, operation: str) -> None:
        """One SPARQL Update request (Protocol §2.2, ``update=`` form-encoded POST) through SPARQLWrapper."""
        wrapper = SPARQLWrapper(self.target.query_url, updateEndpoint=self.target.update_url or self.target.query_url)
        wrapper.agent = USER_AGENT
        configure(wrapper, self.target.credentials, self.target.timeout_s)
        wrapper.setQuery(operation)
        assert wrapper.isSparqlUpdateRequest(), "only update operations are sent here"
        self.requests += 1
        try:
            wrapper.query().response.read()
        except Exception as exc:  # mapped to a message, or re-raised when it is a bug (see store.client.failure)
            raise _write_failure(exc, "an update") from exc

    def put(self, graph: URIRef, body: bytes) -> None:
        """Graph Store Protocol §5.3: PUT the whole graph, which replaces what the store had under it."""
        assert self.target.graph_store_url is not None
        separator = "&" if "?" in self.target.graph_store_url else "?"
        url = self.target.graph_store_url + separator + urllib.parse.urlencode({"graph": str(graph)})
        # N-Triples is a subset of Turtle, the one RDF syntax every Graph Store implementation reads.
        request = urllib.request.Request(  # noqa: S310 - the operator's own store URL, http(s) checked in the CLI
            url,
            data=body,
            method="PUT",
            headers={"Content-Type": "text/turtle; charset=utf-8", "User-Agent": USER_AGENT},
        )
        self.requests += 1
        try:
            with self._open(request) as answer:
                answer.read()
        except Exception as exc:
            raise _write_failure(exc, f"the PUT of {graph}") from exc

    def _open(self, request: urllib.request.Request) -> Any:
        if self._opener is None:
            handlers: list[urllib.request.BaseHandler] = []
            credentials = self.target.credentials
            if credentials is not None:
                passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
                passwords.add_password(None, self.target.graph_store_url or "", credentials.user, credentials.password)
                # Whichever scheme the store's challenge names; credentials are sent only after a 401.
                handlers += [
                    urllib.request.HTTPDigestAuthHandler(passwords),
                    urllib.request.HTTPBasicAuthHandler(passwords),
                ]
            self._opener = urllib.request.build_opener(*handlers)
        return self._opener.open(request, timeout=self.target.timeout_s)


def _write_failure(exc: BaseException, what: str) -> PublishError:
    if isinstance(exc, urllib.error.HTTPError):
        detail = " ".join(exc.read().decode("utf-8", "replace").split())[:300]
        return PublishError(f"the store refused {what}: HTTP {exc.code} {detail}")
    mapped = failure(exc, what)
    if mapped is None:
        raise exc
    return PublishError(str(mapped))


# Writing graphs ----------------------------------------------------------------------------------------


def _blank(node: BNode) -> str:
    """A blank node label safe in N-Triples and SPARQL (the original may contain any characters)."""
    return "_:b" + hashlib.sha256(str(node).encode()).hexdigest()[:16]


def _term(node: Node) -> str:
    return _blank(node) if isinstance(node, BNode) else sparql_term(node)


def triple_lines(graph: Graph) -> list[str]:
    """The graph as N-Triples lines (also valid Turtle and SPARQL triples), sorted for reproducibility."""
    return sorted(" ".join(_term(t) for t in triple) + " ." for triple in graph)


def batches(graph: Graph, max_triples: int = BATCH_TRIPLES, max_bytes: int = BATCH_BYTES) -> Iterator[list[str]]:
    """Lines in groups for ``INSERT DATA`` requests.

    Blank node labels name the same node only within one request (SPARQL 1.1 Update §3.1.1), so every
    triple that mentions a blank node goes into the first batch, whatever its size.
    """

    def line(triple: tuple[Node, Node, Node]) -> str:
        return " ".join(_term(t) for t in triple) + " ."

    with_blanks = sorted(line(t) for t in graph if any(isinstance(x, BNode) for x in t))
    rest = sorted(line(t) for t in graph if not any(isinstance(x, BNode) for x in t))
    batch, size = with_blanks, sum(len(text) for text in with_blanks)
    for text in rest:
        if batch and (len(batch) >= max_triples or size + len(text) > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(text)
        size += len(text)
    yield batch


def _replace_by_update(writer: _Writer, name: URIRef, graph: Graph, only_if: str = "") -> None:
    iri = sparql_iri(str(name))
    for number, batch in enumerate(batches(graph)):
        if only_if:
            insert = f"INSERT {{ GRAPH {iri} {{\n" + "\n".join(batch) + f"\n}} }} WHERE {{ {only_if} }}"
        else:
            insert = f"INSERT DATA {{ GRAPH {iri} {{\n" + "\n".join(batch) + "\n} }"
        writer.update(f"{_drop(iri, only_if)} ;\n{insert}" if number == 0 else insert)


def _drop(iri: str, only_if: str) -> str:
    """Empty the graph ``iri`` (written), unconditionally or only while ``only_if`` holds."""
    if not only_if:
        return f"DROP SILENT GRAPH {iri}"
    return f"DELETE {{ GRAPH {iri} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {iri} {{ ?s ?p ?o }} {only_if} }}"


def _replace_by_put(writer: _Writer, name: URIRef, graph: Graph) -> None:
    writer.put(name, ("\n".join(triple_lines(graph)) + "\n").encode("utf-8"))


# Publishing ---------------------------------------------------------------------------------------------


def named_graphs(dataset: Dataset, graph_prefix: str) -> dict[URIRef, Graph]:
    """The dataset's non-empty named graphs; all must be ours (under the prefix), or the stale-graph
    cleanup and the front end's graph listing would not see them."""
    graphs: dict[URIRef, Graph] = {}
    for graph in dataset.graphs():
        name = graph.identifier
        if not len(graph):
            continue
        if not isinstance(name, URIRef) or not str(name).startswith(graph_prefix):
            raise PublishError(f"graph {name} is not under {graph_prefix}; refusing to publish it")
        graphs[name] = graph
    return dict(sorted(graphs.items()))


def union_samples(graphs: dict[URIRef, Graph]) -> list[tuple[Node, Node, Node]]:
    """One triple per graph, without blank nodes and preferably with an IRI object (values that a store
    might canonicalise, such as ``"05"^^xsd:integer``, make poor probes)."""
    samples = []
    for graph in graphs.values():
        candidates = sorted(
            (t for t in graph if not any(isinstance(x, BNode) for x in t)),
            key=lambda t: (not isinstance(t[2], URIRef), t[0], t[1], str(t[2])),
        )
        if candidates:
            samples.append(candidates[0])
    return samples


def update(target: Target, operation: str) -> None:
    """One SPARQL Update request to the target's update endpoint (PublishError when the store refuses it)."""
    _Writer(target).update(operation)


def publish(dataset: Dataset, target: Target, graph_prefix: str, *, only_if: str = "") -> PublishReport:
    """Replace each of the dataset's named graphs in the store, drop graphs of ours it no longer has,
    then read the store back. The dataset must already be validated (see ``cli.cmd_publish``).
    ``only_if``: a SPARQL group pattern (our own text) every write request is conditioned on (see the
    module's docstring); SPARQL Update only, since a Graph Store Protocol PUT takes no condition."""
    if only_if and target.graph_store_url:
        raise ValueError("a fenced publish writes by SPARQL Update, not by the Graph Store Protocol")
    graphs = named_graphs(dataset, graph_prefix)
    reader = RemoteStore(
        target.query_url, graph_prefix, timeout_s=target.timeout_s, cache_s=0, credentials=target.credentials
    )
    writer = _Writer(target)
    started = time.perf_counter()
    for name, graph in graphs.items():
        if target.graph_store_url:
            _replace_by_put(writer, name, graph)
        else:
            _replace_by_update(writer, name, graph, only_if)
    try:
        stale = tuple(sorted(set(reader.counts(fresh=True)) - set(graphs)))
    except StoreError as exc:
        raise PublishError(f"written, but the query endpoint cannot be read back: {exc}") from exc
    for name in stale:
        writer.update(_drop(sparql_iri(str(name)), only_if))
    seconds = time.perf_counter() - started
    try:
        found = reader.counts(fresh=True)
        union = reader.default_graph_holds(union_samples(graphs))
        altered = {
            name: diff for name, graph in graphs.items() if (diff := _altered(graph, reader.graph_triples(name)))
        }
    except StoreError as exc:
        raise PublishError(f"written, but the query endpoint cannot be read back: {exc}") from exc
    return PublishReport(
        method=target.method,
        expected={name: len(graph) for name, graph in graphs.items()},
        found=found,
        dropped=stale,
        requests=writer.requests,
        seconds=seconds,
        union_default_graph=union,
        altered=altered,
    )


def _altered(written: Graph, read: Graph) -> tuple[str, ...]:
    """Each triple of the dataset that the store does not give back as written, with what it gives
    back in its place (the same subject and predicate, an object the dataset does not have)."""
    if relabel_triples(written) == relabel_triples(read):  # isomorphic: equal once stably labelled
        return ()
    lines = []
    for subject, predicate, value in written:
        if (subject, predicate, value) in read:
            continue
        instead = sorted(
            _term(other) for other in read.objects(subject, predicate) if (subject, predicate, other) not in written
        )
        lines.append(
            f"{_term(subject)} {_term(predicate)} {_term(value)} comes back as {', '.join(instead) or 'nothing'}"
        )
    return tuple(sorted(lines))


def describe(report: PublishReport, endpoint: str) -> Sequence[str]:
    """What the CLI prints: what was done, then the verification."""
    lines = [
        f"published {len(report.expected)} graphs, {report.triples} triples to {endpoint} by {report.method} "
        f"in {report.seconds:.2f} s ({report.requests} requests)"
    ]
    lines += [f"  {graph}  {count} triples" for graph, count in report.expected.items()]
    lines += [f"  dropped {graph} (no longer in the dataset)" for graph in report.dropped]
    if report.verified:
        lines.append(
            "verified: the store holds the dataset's graphs, the same number of triples in each, "
            "and no other graphs of ours"
        )
    else:
        lines.append("NOT verified: the store does not hold exactly the dataset:")
        lines += [f"  {line}" for line in report.mismatches()]
    for graph, altered in report.altered.items():
        lines.append(
            f"warning: {len(altered)} triples of {graph} do not come back from the store as written "
            "(it rewrites values):"
        )
        lines += [f"  {line}" for line in altered[:SHOWN_ALTERED]]
        if len(altered) > SHOWN_ALTERED:
            lines.append(f"  ... and {len(altered) - SHOWN_ALTERED} more")
    if report.union_default_graph:
        lines.append("default graph: the union of the named graphs")
    else:
        lines.append(UNION_DEFAULT_GRAPH_HELP)
    return lines
