"""The remote backend: the ``Store`` protocol over any SPARQL 1.1 store, through SPARQLWrapper.

Nothing here assumes the store's default graph is the union of its named graphs (Oxigraph needs
``--union-default-graph`` for that, Fuseki ``unionDefaultGraph``; Virtuoso's default graph is every
graph it holds, system graphs included): every query names its dataset explicitly with the protocol's
``default-graph-uri`` and ``named-graph-uri`` (SPARQL 1.1 Protocol §2.1.4), listing our named graphs
only, so the default graph is their merge and ``GRAPH ?g`` sees nothing else, whatever else the store
holds.

SPARQLWrapper has no bindings, so values are bound into our own queries by their ``Template``
(``ceopgraph.sparqltext``): a ``VALUES`` block first in the WHERE group, each term written by
``sparql_term``; request text is never spliced into a query. Failures become the store's domain
exceptions (``ceopgraph.store.client``). Nothing is kept between requests but a short cache of the
graph list, so the front end recovers by itself when the store comes back.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.term import Node
from SPARQLWrapper import JSON, TURTLE, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_NAME, rdf_format_for_media_type
from ceopgraph.querydataset import DatasetSelection
from ceopgraph.sparqltext import Bindings, Template, sparql_string, template
from ceopgraph.store.client import USER_AGENT, Credentials, configure, raise_failure, store_message
from ceopgraph.store.jobs import (
    QueryAnswer,
    QueryJob,
    QuerySyntaxError,
    StoreBadGateway,
    ordered_variables,
    written_as,
)
from ceopgraph.store.protocol import OwnQuery, Row
from ceopgraph.terms import literal

# Answers to our own queries are small (a page, a graph); anything bigger is a misbehaving store.
MAX_ANSWER_BYTES = 64 * 1024 * 1024

# Our own queries of the store itself.
_HOLDS_QUERY = Template("SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o }")
_GRAPH_QUERY = Template("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }")


def term_from_json(value: Mapping[str, str]) -> Node:
    """One RDF term of SPARQL 1.1 Query Results JSON (§3.2.2), as the embedded store gives it.

    ``typed-literal`` is the 2008 draft's form, still sent by Virtuoso. ``xsd:string`` becomes a plain
    literal, as in RDF 1.1 and the embedded backend.
    """
    kind = value.get("type")
    text = value.get("value", "")
    if kind == "uri":
        return URIRef(text)
    if kind == "bnode":
        return BNode(text)
    if kind in {"literal", "typed-literal"}:
        return literal(text, value.get("xml:lang"), value.get("datatype"))
    raise ValueError(f"not an RDF term in SPARQL JSON results: {value!r}")


class RemoteStore:
    """The ``Store`` protocol over a SPARQL 1.1 query endpoint.

    ``graph_prefix`` names which of the store's graphs are ours: a shared store (and every Virtuoso)
    holds others, which the front end must neither show nor count.
    """

    # How long the graph list and version are trusted; while they are, the endpoint may still serve
    # answers it has cached for that version, even if the store has just gone away.
    DEFAULT_CACHE_S = 2.0

    def __init__(
        self,
        endpoint: str,
        graph_prefix: str,
        timeout_s: float = 10.0,
        cache_s: float | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.graph_prefix = graph_prefix
        self.timeout_s = timeout_s
        self.cache_s = self.DEFAULT_CACHE_S if cache_s is None else cache_s
        self.credentials = credentials
        self._lock = threading.Lock()
        self._counts: dict[URIRef, int] | None = None
        self._counts_until = 0.0

    def close(self) -> None:
        """Nothing to release: every request opens and closes its own connection."""

    @classmethod
    def from_settings(cls, settings: Settings, endpoint: str | None = None) -> RemoteStore:
        url = endpoint or settings.endpoint
        if not url:
            raise ValueError("no SPARQL endpoint configured (--endpoint or CEOPGRAPH_ENDPOINT)")
        prefix = str(settings.scheme.graph)
        return cls(url, prefix, timeout_s=settings.query_timeout_s)

    # Requests -------------------------------------------------------------------------------------

    def _ours(self) -> DatasetSelection:
        """Every graph of ours, as both the default graph (their merge) and the named graphs."""
        graphs = tuple(str(g) for g in self.graphs())
        return DatasetSelection(graphs, graphs)

    def _fetch(
        self,
        query: str,
        return_format: str,
        what: str,
        dataset: DatasetSelection | None,
        timeout_s: float | None = None,
        endpoint_query: bool = False,
    ) -> tuple[bytes, str]:
        """The answer's bytes and media type. ``dataset`` names the dataset (None: the store's own);
        a query of the endpoint's (``endpoint_query``) that the store refuses as malformed is the
        client's error, one of ours is the store's."""
        wrapper = SPARQLWrapper(self.endpoint, agent=USER_AGENT)
        configure(wrapper, self.credentials, self.timeout_s if timeout_s is None else timeout_s)
        wrapper.setReturnFormat(return_format)
        wrapper.setQuery(query)
        if dataset is not None:
            # §2.1.4: these replace any dataset the store would use by default. An empty list would mean
            # "the store's default", so a graph nobody has stands in for "no graphs at all".
            nothing = (self.graph_prefix + "none",)
            for graph in dataset.default_graphs or nothing:
                wrapper.addDefaultGraph(graph)
            for graph in dataset.named_graphs or nothing:
                wrapper.addNamedGraph(graph)
        try:
            answer = wrapper.query()
            body = answer.response.read(MAX_ANSWER_BYTES + 1)
            media_type = answer.response.headers.get("Content-Type", "")
        except QueryBadFormed as exc:
            if not endpoint_query:
                raise_failure(exc, what)
            raise QuerySyntaxError(f"the query was refused: {store_message(exc)}") from exc
        except Exception as exc:  # mapped to the domain exceptions, or re-raised (see failure())
            raise_failure(exc, what)
        if len(body) > MAX_ANSWER_BYTES:
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is larger than {MAX_ANSWER_BYTES:,} bytes")
        return body, media_type

    def _json(
        self, query: str, what: str, ours: bool = True, dataset: DatasetSelection | None = None
    ) -> dict[str, Any]:
        """The answer as SPARQL JSON, over ``dataset``, else every graph of ours (``ours``), else the store's own."""
        body, _ = self._fetch(query, JSON, what, dataset or (self._ours() if ours else None))
        try:
            answer = json.loads(body)
        except ValueError as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is not JSON: {exc}") from exc
        if not isinstance(answer, dict):
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is not SPARQL JSON results")
        return answer

    # Graphs and version --------------------------------------------------------------------------------

    def counts(self, fresh: bool = False) -> dict[URIRef, int]:
        """Triples per named graph of ours, from one aggregate query, cached for ``cache_s`` seconds.

        The query names no dataset, so ``GRAPH ?g`` ranges over every named graph the store holds,
        which is the one thing every store agrees on (none needs a union default graph for it).
        """
        with self._lock:
            if not fresh and self._counts is not None and time.monotonic() < self._counts_until:
                return dict(self._counts)
        # The prefix is ours (configuration), written as a string literal by the one term writer.
        query = (
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
            f"FILTER(STRSTARTS(STR(?g), {sparql_string(self.graph_prefix)})) }} GROUP BY ?g"
        )
        answer = self._json(query, "the graph count query", ours=False)
        try:
            counts = {
                URIRef(row["g"]["value"]): int(row["n"]["value"])
                for row in answer["results"]["bindings"]
                if row.get("g", {}).get("type") == "uri"
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to the graph count query is unexpected: {exc}") from exc
        with self._lock:
            self._counts, self._counts_until = counts, time.monotonic() + self.cache_s
        return dict(counts)

    @property
    def version(self) -> str:
        """A hash of the per-graph counts: changes when a publish changes any graph's size.

        A republish that changes a value but no count keeps the version for good; that is the price of
        not reading the whole store to compute it (see the README's remote store notes).
        """
        listing = "\n".join(f"{graph} {count}" for graph, count in sorted(self.counts().items()))
        return "r" + hashlib.sha256(listing.encode()).hexdigest()[:19]

    def graphs(self) -> list[URIRef]:
        return sorted(self.counts())

    def default_graph_holds(self, triples: Sequence[tuple[Node, Node, Node]]) -> bool:
        """Whether the store's own default graph (no dataset named) has every one of these triples.

        Given one triple of each named graph, that is a cheap test of "the default graph is the union of
        the named graphs" (Oxigraph without ``--union-default-graph`` has an empty default graph).
        """
        wanted = set(triples)
        if not wanted:
            return True
        query = _HOLDS_QUERY.with_values(("s", "p", "o"), sorted(wanted))
        answer = self._json(query, "the default graph check", ours=False)
        try:
            found = {
                tuple(term_from_json(row[name]) for name in ("s", "p", "o")) for row in answer["results"]["bindings"]
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to the default graph check is unexpected: {exc}") from exc
        return wanted <= found

    # Our own queries -------------------------------------------------------------------------------------

    def select(
        self, query: OwnQuery, bindings: Bindings | None = None, dataset: DatasetSelection | None = None
    ) -> list[Row]:
        """Rows of one of our queries over every graph of ours, or over ``dataset`` (graphs the front end
        does not serve, such as the store's own record of the release it holds)."""
        answer = self._json(template(query).bind(bindings), "a SELECT query", dataset=dataset)
        try:
            return [
                {name: term_from_json(value) for name, value in row.items()} for row in answer["results"]["bindings"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to a SELECT query is unexpected: {exc}") from exc

    def ask(self, query: OwnQuery, bindings: Bindings | None = None) -> bool:
        answer = self._json(template(query).bind(bindings), "an ASK query")
        if not isinstance(answer.get("boolean"), bool):
            raise StoreBadGateway("the SPARQL store's answer to an ASK query has no boolean")
        return bool(answer["boolean"])

    def construct(self, query: OwnQuery, bindings: Bindings | None = None) -> Graph:
        what = "a CONSTRUCT query"
        body, media_type = self._fetch(template(query).bind(bindings), TURTLE, what, self._ours())
        fmt = rdf_format_for_media_type(media_type) or FORMATS_BY_NAME["turtle"]
        try:
            return rdfio.parse_rdf(body, fmt, "the SPARQL store's answer", MAX_ANSWER_BYTES)
        except rdfio.UnreadableRdf as exc:
            raise StoreBadGateway(f"the SPARQL store's answer to {what} is unreadable: {exc}") from exc

    def graph_triples(self, graph: URIRef) -> Graph:
        return self.construct(_GRAPH_QUERY, {"g": graph})

    # The endpoint's execution path -----------------------------------------------------------------

    def execute(self, job: QueryJob) -> QueryAnswer:
        """Forward a vetted endpoint query; answer in ``job.result_format``, at most ``job.max_rows``.

        The dataset is always explicit and always ours: the protocol's selection, else the query's own
        ``FROM`` clauses, else every graph of ours as the default graph (the union, whatever the store's
        configuration); graphs that are not ours become an empty graph. Results are fetched as SPARQL
        JSON and graphs as Turtle, which every store writes, then capped and written here in the format
        asked for, so the answer does not depend on which formats the store offers.
        """
        ours = [str(g) for g in self.graphs()]
        query, own = job.query, None
        if job.query_has_dataset:
            # Virtuoso lets the query's clauses win over the protocol's dataset: they are cut out, always.
            if job.dataset_clauses is None:  # read by the checker, in a process with a time limit
                raise ValueError("a query with dataset clauses reaches the store without them read")
            query, own = job.dataset_clauses.query_without, job.dataset_clauses.graphs
        if job.dataset.default_graphs or job.dataset.named_graphs:
            default, named = job.dataset.default_graphs, job.dataset.named_graphs
        elif own is not None:
            default, named = own.default_graphs, own.named_graphs
        else:
            default = named = tuple(ours)
        keep = set(ours)
        selection = DatasetSelection(tuple(g for g in default if g in keep), tuple(g for g in named if g in keep))
        graph_form = job.form in {"CONSTRUCT", "DESCRIBE"}
        body, media_type = self._fetch(
            query, TURTLE if graph_form else JSON, "the query", selection, job.timeout_s, endpoint_query=True
        )
        if graph_form:
            return _graph_answer(body, media_type, job)
        return _results_answer(body, job)

    def __repr__(self) -> str:
        return f"RemoteStore({self.endpoint!r}, graphs under {self.graph_prefix!r})"


def _results_answer(body: bytes, job: QueryJob) -> QueryAnswer:
    """SPARQL JSON results from the store, capped at ``job.max_rows`` and written as the job asks."""
    try:
        results = json.loads(body)
        rows = results["results"]["bindings"] if "boolean" not in results else None
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreBadGateway(f"the SPARQL store's answer is not SPARQL JSON results: {exc}") from exc
    truncated = rows is not None and len(rows) > job.max_rows
    if rows is not None and isinstance(results.get("head", {}).get("vars"), list):
        results["head"]["vars"] = ordered_variables(results["head"]["vars"], job.variable_order)
    if rows is not None:
        results["results"]["bindings"] = rows = rows[: job.max_rows]
        for row in rows:
            for value in row.values():
                if value.get("type") == "typed-literal":  # the 2008 draft's form (Virtuoso): §3.2.2's is "literal"
                    value["type"] = "literal"
    capped = json.dumps(results, ensure_ascii=False).encode("utf-8")
    if job.result_format == "json":
        return QueryAnswer(capped, truncated)
    try:
        written = written_as(ox.parse_query_results(capped, format=ox.QueryResultsFormat.JSON), job.result_format)
    except (SyntaxError, ValueError) as exc:
        raise StoreBadGateway(f"the SPARQL store's results cannot be converted: {exc}") from exc
    return QueryAnswer(written, truncated)


def _graph_answer(body: bytes, media_type: str, job: QueryJob) -> QueryAnswer:
    """An RDF answer from the store, capped at ``job.max_rows`` triples and written as the job asks."""
    fmt = rdf_format_for_media_type(media_type) or FORMATS_BY_NAME["turtle"]
    try:
        graph = rdfio.parse_rdf(body, fmt, "the SPARQL store's answer", MAX_ANSWER_BYTES)
    except rdfio.UnreadableRdf as exc:
        raise StoreBadGateway(f"the SPARQL store's answer is unreadable: {exc}") from exc
    truncated = len(graph) > job.max_rows
    # rdfio.serialise wants a Dataset; the answer's triples go in its default graph.
    capped = Dataset()
    for triple in itertools.islice(sorted(graph), job.max_rows) if truncated else graph:
        capped.add(triple)
    return QueryAnswer(rdfio.serialise(capped, FORMATS_BY_NAME[job.result_format], dict(job.prefixes)), truncated)
