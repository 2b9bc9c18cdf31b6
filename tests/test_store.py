"""The embedded store: our own queries in process, endpoint queries in killable worker processes."""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef

from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.querydataset import DatasetSelection
from ceopgraph.store import embedded
from ceopgraph.store.disk import DiskStore
from ceopgraph.store.embedded import EmbeddedStore, QueryLimits
from ceopgraph.store.jobs import QueryEvaluationError, QueryJob, QuerySyntaxError, QueryTimeout

COSTLY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
GRAPH = "https://w3id.org/ceopgraph/data/graph/"


def bindings(answer: bytes) -> list[dict[str, dict[str, str]]]:
    result: list[dict[str, dict[str, str]]] = json.loads(answer)["results"]["bindings"]
    return result


def test_version_and_graphs(built_store: EmbeddedStore) -> None:
    assert len(built_store.version) == 20
    assert URIRef(GRAPH + "figures") in built_store.graphs()


def test_select_binds_values_instead_of_splicing(built_store: EmbeddedStore) -> None:
    rows = built_store.select(
        "SELECT ?s ?label { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label }",
        {"s": URIRef("https://w3id.org/ceopgraph/id/quotation/past-year")},
    )
    assert [row["label"] for row in rows] == [Literal("Peter Davies on the past year", lang="en")]


def test_execute_uses_the_union_default_graph(built_store: EmbeddedStore) -> None:
    answer = built_store.execute(QueryJob("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "SELECT", "json"))
    union = int(bindings(answer.body)[0]["n"]["value"])
    per_graph = built_store.select("SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }")[0]["n"]
    assert union == int(per_graph) > 500  # type: ignore[call-overload]  # a count Literal; rdflib types a solution's values as any Node


@pytest.mark.parametrize(
    ("selection", "query_has_dataset", "query", "expected"),
    [
        # The protocol dataset selects graphs of the store; the default graph is their merge.
        (DatasetSelection((GRAPH + "quotations",)), False, "ASK { ?q a <http://schema.org/Quotation> }", True),
        (DatasetSelection((GRAPH + "figures",)), False, "ASK { ?q a <http://schema.org/Quotation> }", False),
        # Named graphs only: the default graph is empty.
        (DatasetSelection((), (GRAPH + "quotations",)), False, "ASK { ?s ?p ?o }", False),
        # The protocol dataset overrides FROM in the query (SPARQL 1.1 Protocol §2.1.4).
        (
            DatasetSelection((GRAPH + "quotations",)),
            True,
            f"ASK FROM <{GRAPH}figures> {{ ?q a <http://schema.org/Quotation> }}",
            True,
        ),
        # FROM in the query is honoured (not replaced by the union default graph).
        (DatasetSelection(), True, f"ASK FROM <{GRAPH}figures> {{ ?q a <http://schema.org/Quotation> }}", False),
        # A graph the store does not hold is empty, never fetched.
        (DatasetSelection(("http://127.0.0.1:9/elsewhere",)), False, "ASK { ?s ?p ?o }", False),
    ],
)
def test_dataset_selection(
    built_store: EmbeddedStore, selection: DatasetSelection, query_has_dataset: bool, query: str, expected: bool
) -> None:
    answer = built_store.execute(QueryJob(query, "ASK", "json", selection, query_has_dataset))
    assert json.loads(answer.body)["boolean"] is expected


def test_rows_are_capped_with_a_signal(built_store: EmbeddedStore) -> None:
    answer = built_store.execute(QueryJob("SELECT * { ?s ?p ?o }", "SELECT", "json", max_rows=7))
    assert answer.truncated and len(bindings(answer.body)) == 7
    full = built_store.execute(QueryJob("SELECT * { ?s ?p ?o } LIMIT 7", "SELECT", "json", max_rows=7))
    assert not full.truncated and len(bindings(full.body)) == 7


def test_triples_are_capped_with_a_signal(built_store: EmbeddedStore) -> None:
    answer = built_store.execute(QueryJob("CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT", "ntriples", max_rows=5))
    assert answer.truncated and len(Graph().parse(data=answer.body, format="nt")) == 5


def test_errors_are_domain_exceptions(built_store: EmbeddedStore) -> None:
    with pytest.raises(QuerySyntaxError, match="does not parse"):
        built_store.execute(QueryJob("ASK {", "ASK", "json"))
    with pytest.raises(QueryEvaluationError):
        built_store.execute(QueryJob("SELECT (<http://ex/f>(1) AS ?x) {}", "SELECT", "json"))
    # The worker survived both and still answers.
    assert json.loads(built_store.execute(QueryJob("ASK {}", "ASK", "json")).body)["boolean"] is True


# pyoxigraph's answers may only be dropped by the thread that made them; a SERVICE call (refused offline)
# fails part way through reading one. The failure is kept past its thread, in a reference cycle, the way a
# request's error is: collecting it on another thread must not raise there.
FAILS_PART_WAY = "SELECT * { ?s ?p ?o SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } LIMIT 1"
FAILS_PART_WAY_TRIPLES = "CONSTRUCT { ?s ?p ?o } { ?s ?p ?o SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } LIMIT 1"


@pytest.mark.parametrize("read", ["select", "construct"])
def test_an_answer_that_fails_part_way_is_let_go_in_its_own_thread(built_store: EmbeddedStore, read: str) -> None:
    kept: list[object] = []

    def run() -> None:
        try:
            if read == "select":
                built_store.select(FAILS_PART_WAY)
            else:
                built_store.construct(FAILS_PART_WAY_TRIPLES)
        except OSError as exc:
            kept.append(exc)
            kept.append(kept)  # a cycle: only the collector frees it, on whichever thread it runs

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert len(kept) == 2, "the query did not fail part way"
    unraisable: list[object] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        kept.clear()
        gc.collect()
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert unraisable == []


def test_timeout_kills_the_work_and_the_pool_recovers(built_store: EmbeddedStore) -> None:
    started = time.monotonic()
    with pytest.raises(QueryTimeout, match="longer than the 1 s limit"):
        built_store.execute(QueryJob(COSTLY, "SELECT", "json", timeout_s=1.0))
    assert time.monotonic() - started < 2.5
    assert json.loads(built_store.execute(QueryJob("ASK {}", "ASK", "json", timeout_s=10)).body)["boolean"] is True


def test_a_costly_query_does_not_hold_up_others(built_store: EmbeddedStore) -> None:
    errors: list[BaseException] = []

    def costly() -> None:
        try:
            built_store.execute(QueryJob(COSTLY, "SELECT", "json", timeout_s=3.0))
        except QueryTimeout as exc:
            errors.append(exc)

    thread = threading.Thread(target=costly)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    answer = built_store.execute(QueryJob("ASK { ?s ?p ?o }", "ASK", "json", timeout_s=3.0))
    assert time.monotonic() - started < 0.5
    assert json.loads(answer.body)["boolean"] is True
    thread.join()
    assert len(errors) == 1


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_store_built_in_memory_serves_endpoint_queries(built_store: EmbeddedStore, in_memory: bool) -> None:
    """A store built in memory gives its query workers a scratch dump to hold in memory, or a scratch
    copy on disk, removed on close."""
    copy = EmbeddedStore(built_store.engine, "copy", query_processes=1, limits=QueryLimits(in_memory=in_memory))
    try:
        answer = copy.execute(QueryJob("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "SELECT", "json"))
        assert int(bindings(answer.body)[0]["n"]["value"]) > 500
    finally:
        copy.close()


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_store_built_in_memory_removes_its_scratch_copy_on_close(built_store: EmbeddedStore, in_memory: bool) -> None:
    copy = EmbeddedStore(built_store.engine, "copy", query_processes=1, limits=QueryLimits(in_memory=in_memory))
    copy.start_query_pool(wait=True)
    scratch = Path(copy._dump.name) if copy._dump is not None else copy._scratch.path if copy._scratch else None
    assert scratch is not None and scratch.is_dir()
    copy.close()
    assert not scratch.exists()


def test_servers_started_together_build_one_copy_in_a_configured_folder(built_dist: Path, tmp_path: Path) -> None:
    """Builders serialise on a file lock; the second finds the first's finished copy and reuses it."""
    trig = [built_dist / "ceopgraph.trig"], [FORMATS_BY_EXTENSION["trig"]]
    (tmp_path / ".building-crashed").mkdir()  # left by a builder that died
    built: list[DiskStore] = []
    threads = [threading.Thread(target=lambda: built.append(DiskStore.build(*trig, tmp_path))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({disk.path for disk in built}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", f"store-{built[0].version}"]
    served = EmbeddedStore.from_files(*trig, 1, built[0])
    try:
        answer = served.execute(QueryJob("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "SELECT", "json"))
        assert int(bindings(answer.body)[0]["n"]["value"]) > 500
    finally:
        served.close()
    built[0].remove()  # a configured folder is kept for the next start
    assert built[0].path.is_dir()


def test_a_scratch_copy_is_removed_by_its_owner_only(built_dist: Path) -> None:
    """Forked server workers inherit the copy and run the same clean-up on exit: only the owner removes."""
    disk = DiskStore.build([built_dist / "ceopgraph.trig"], [FORMATS_BY_EXTENSION["trig"]])
    child = os.fork()
    if child == 0:
        disk.remove()
        os._exit(0)
    os.waitpid(child, 0)
    assert disk.path.is_dir()
    disk.remove()
    assert not disk.path.exists()


@pytest.mark.parametrize("in_memory", [True, False])
def test_relative_iris_in_served_files_resolve_against_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: bool
) -> None:
    """``serve --data`` of a file with relative IRIs (``<>``, ``rdf:resource=""``: the W3C suite's data has
    them) failed to start ("No scheme found in an absolute IRI"); they resolve against the file's IRI, which
    is also its graph's name, in memory and in the on-disk copy the query workers read, from any folder."""
    (tmp_path / "doc.ttl").write_text('<> <http://example.org/p> <#part> .\n<#part> <http://example.org/q> "x" .\n')
    (tmp_path / "doc.rdf").write_text(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">'
        '<rdf:Description rdf:about="http://example.org/s"><ex:p rdf:resource=""/></rdf:Description></rdf:RDF>\n'
    )
    monkeypatch.chdir(tmp_path)  # relative paths, as on a command line
    paths = [Path("doc.ttl"), Path("doc.rdf")]
    formats = [FORMATS_BY_EXTENSION["ttl"], FORMATS_BY_EXTENSION["rdf"]]
    turtle, rdfxml = ((tmp_path / name).as_uri() for name in ("doc.ttl", "doc.rdf"))
    query = f"ASK {{ GRAPH <{turtle}> {{ <{turtle}> ?p <{turtle}#part> }} GRAPH <{rdfxml}> {{ ?s ?p <{rdfxml}> }} }}"
    disk = DiskStore.build(paths, formats)
    served = EmbeddedStore.from_files(paths, formats, 1, disk, QueryLimits(in_memory=in_memory))
    try:
        assert served.ask(query)
        assert json.loads(served.execute(QueryJob(query, "ASK", "json")).body)["boolean"] is True
    finally:
        served.close()
        disk.remove()


def test_only_short_terms_are_kept_in_the_term_cache() -> None:
    """A draft's preview reads a submitter's data: a long literal is converted, not kept."""
    engine = ox.Store()
    graph = ox.NamedNode("https://example.org/graph")
    long_text, short_text = "x" * 10_000, "a short label"
    for predicate, text in (("long", long_text), ("short", short_text)):
        engine.add(ox.Quad(ox.NamedNode("https://example.org/s"), ox.NamedNode(f"https://example.org/{predicate}"),
                           ox.Literal(text), graph))  # fmt: skip
    store = EmbeddedStore(engine, "cache-test", query_processes=1)
    try:
        embedded._cached_term.cache_clear()
        rows = store.select("SELECT ?o WHERE { ?s <https://example.org/long> ?o }")
        assert rows == [{"o": Literal(long_text)}]
        assert embedded._cached_term.cache_info().currsize == 0
        rows = store.select("SELECT ?o WHERE { ?s <https://example.org/short> ?o }")
        assert rows == [{"o": Literal(short_text)}]
        assert embedded._cached_term.cache_info().currsize == 1
    finally:
        store.close()
