"""``ceopgraph publish`` against real stores: idempotent, verified, refusing data that does not conform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Dataset, Literal, URIRef

from ceopgraph.cli import main
from ceopgraph.config import Settings
from ceopgraph.publish import PublishError, Target, batches, named_graphs, publish
from ceopgraph.sparqltext import sparql_iri
from ceopgraph.store.remote import RemoteStore

from .conftest import project_copy
from .stores import PASSWORD_ENV, STORE_KINDS, VIRTUOSO_PASSWORD, StoreProcess, make_store, publish_args

pytestmark = pytest.mark.remote


@pytest.fixture(scope="module", params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreProcess]:
    process = make_store(request.param, tmp_path_factory.mktemp(request.param))
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(autouse=True)
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, VIRTUOSO_PASSWORD)


def graph_prefix(settings: Settings) -> str:
    return str(settings.scheme.graph)


def expected_counts(dataset: Dataset, settings: Settings) -> dict[URIRef, int]:
    return {name: len(graph) for name, graph in named_graphs(dataset, graph_prefix(settings)).items()}


def store_counts(store: StoreProcess, settings: Settings) -> dict[URIRef, int]:
    return RemoteStore(store.query_url, graph_prefix(settings), cache_s=0).counts()


def wipe(store: StoreProcess, settings: Settings) -> None:
    """Drop our graphs, so that each test starts from a store without them."""
    from ceopgraph.publish import _Writer

    target = Target(store.query_url, update_url=store.update_url, credentials=_credentials(store))
    writer = _Writer(target)
    for name in store_counts(store, settings):
        writer.update(f"DROP SILENT GRAPH {sparql_iri(str(name))}")
    assert store_counts(store, settings) == {}


def _credentials(store: StoreProcess):  # type: ignore[no-untyped-def]
    from ceopgraph.store.client import Credentials

    from .stores import VIRTUOSO_USER, VirtuosoServer

    return Credentials(VIRTUOSO_USER, VIRTUOSO_PASSWORD) if isinstance(store, VirtuosoServer) else None


@pytest.mark.parametrize("method", ["update", "graph-store"])
def test_publishing_twice_gives_the_same_store(
    store: StoreProcess,
    method: str,
    dataset: Dataset,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wipe(store, settings)
    expected = expected_counts(dataset, settings)
    assert main(publish_args(store, method)) == 0
    first = store_counts(store, settings)
    assert main(publish_args(store, method)) == 0
    second = store_counts(store, settings)
    assert first == second == expected
    out = capsys.readouterr().out
    assert f"published {len(expected)} graphs, {sum(expected.values())} triples" in out
    assert "verified: the store holds the dataset's graphs" in out
    assert "default graph: the union of the named graphs" in out


def test_update_and_graph_store_give_the_same_store(store: StoreProcess, dataset: Dataset, settings: Settings) -> None:
    wipe(store, settings)
    assert main(publish_args(store, "graph-store")) == 0
    names = list(expected_counts(dataset, settings))
    by_put = {name: RemoteStore(store.query_url, graph_prefix(settings)).graph_triples(name) for name in names}
    assert main(publish_args(store, "update")) == 0
    remote = RemoteStore(store.query_url, graph_prefix(settings))
    for name, graph in by_put.items():
        assert set(remote.graph_triples(name)) == set(graph)


def test_graphs_no_longer_in_the_dataset_are_dropped(
    store: StoreProcess, settings: Settings, dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    from ceopgraph.publish import _Writer

    stale = URIRef(graph_prefix(settings) + "withdrawn")
    _Writer(Target(store.query_url, update_url=store.update_url, credentials=_credentials(store))).update(
        f"INSERT DATA {{ GRAPH {sparql_iri(stale)} {{ <urn:x:s> <urn:x:p> {Literal('old').n3()} }} }}"
    )
    assert stale in store_counts(store, settings)
    assert main(publish_args(store, "update")) == 0
    assert store_counts(store, settings) == expected_counts(dataset, settings)
    assert f"dropped {stale}" in capsys.readouterr().out


def test_publish_refuses_data_that_does_not_conform(
    store: StoreProcess,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wipe(store, settings)
    root = project_copy(tmp_path / "root")
    with (root / "data" / "organisations.ttl").open("a") as turtle:
        # A person without a name violates the PersonShape.
        turtle.write("\n<id/person/nameless> a <http://xmlns.com/foaf/0.1/Person> .\n")
    monkeypatch.setenv("CEOPGRAPH_ROOT", str(root))
    assert main(publish_args(store, "update")) == 1
    err = capsys.readouterr().err
    assert "publish refused, the store was not touched" in err
    assert "id/person/nameless" in err
    assert store_counts(store, settings) == {}


def test_each_literal_the_store_rewrites_is_reported_with_both_forms(
    store: StoreProcess,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Both stores canonicalise integers on load: the read-back names the triple and both forms."""
    wipe(store, settings)
    root = project_copy(tmp_path / "root", ('"790"^^xsd:integer', '"0790"^^xsd:integer'))
    monkeypatch.setenv("CEOPGRAPH_ROOT", str(root))
    assert main(publish_args(store, "update")) == 0
    out = capsys.readouterr().out
    integer = "<http://www.w3.org/2001/XMLSchema#integer>"
    assert "do not come back from the store as written (it rewrites values):" in out, out
    (line,) = [line for line in out.splitlines() if f'"0790"^^{integer}' in line]
    assert "children-safeguarded/2012-2013" in line
    assert line.endswith(f'comes back as "790"^^{integer}')


def test_default_graph_that_is_not_the_union_is_reported(
    tmp_path: Path, settings: Settings, dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = make_store("oxigraph", tmp_path / "plain", union_default_graph=False)
    plain.start()
    try:
        assert main(publish_args(plain, "update")) == 0
        assert store_counts(plain, settings) == expected_counts(dataset, settings)
    finally:
        plain.stop()
    out = capsys.readouterr().out
    assert "is not the union of its named graphs" in out
    assert "oxigraph serve --union-default-graph" in out
    assert "unionDefaultGraph" in out


def test_unreachable_store_fails_with_a_message(settings: Settings, dataset: Dataset) -> None:
    from .live import free_port

    url = f"http://127.0.0.1:{free_port()}/"
    target = Target(url + "query", update_url=url + "update", timeout_s=2)
    with pytest.raises(PublishError, match="cannot be reached"):
        publish(dataset, target, graph_prefix(settings))


def test_password_is_never_taken_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["publish", "--endpoint", "http://127.0.0.1:9/q", "--password", "secret"])
    assert main(["publish", "--endpoint", "http://127.0.0.1:9/q", "--user", "u", "--password-env", "UNSET_VAR"]) == 2
    assert "--password-env VAR" in capsys.readouterr().err


def test_batches_keep_blank_nodes_together_and_respect_the_limits() -> None:
    from rdflib import BNode, Graph

    graph = Graph()
    node = BNode()
    for i in range(25):
        graph.add((URIRef(f"urn:x:s{i}"), URIRef("urn:x:p"), Literal(i)))
    graph.add((URIRef("urn:x:a"), URIRef("urn:x:q"), node))
    graph.add((node, URIRef("urn:x:p"), Literal("inside")))
    parts = list(batches(graph, max_triples=10))
    assert sum(len(part) for part in parts) == len(graph)
    assert all(len(part) <= 10 for part in parts)
    assert sum("_:" in line for line in parts[0]) == 2  # both blank node triples in one request


def test_the_altered_triples_of_a_graph_are_listed_up_to_a_limit() -> None:
    from ceopgraph.publish import SHOWN_ALTERED, PublishReport, describe

    graph = URIRef("https://w3id.org/ceopgraph/data/graph/figures")
    altered = tuple(f"<s{n}> <p> 1.0 comes back as 1" for n in range(SHOWN_ALTERED + 10))
    report = PublishReport("SPARQL Update", {graph: 1}, {graph: 1}, (), 1, 0.1, True, {graph: altered})
    lines = describe(report, "http://127.0.0.1/query")
    assert sum(1 for line in lines if "comes back as" in line) == SHOWN_ALTERED
    assert "  ... and 10 more" in lines
