"""The fence on pushes into a remote store (``releases.remote``), against a real Oxigraph server: the store
records the state it holds; a newer push writes, an equal one writes nothing, an older one (or another
history's) is refused and writes nothing, a withdrawal is a newer state; a write fenced by an older state
is a no-op once a newer one has claimed the store; two pushes racing leave the newest.

Two data folders stand for two replicas' registries: ``older`` holds release 1, ``newer`` release 1 then
release 2 (the since-launch figure 2255 → 2301), each made once per module in this process."""

from __future__ import annotations

import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ceopgraph.bnodes import relabel_triples
from ceopgraph.cli import main
from ceopgraph.publish import Target, publish, update
from ceopgraph.releases.remote import (
    Marker,
    Pushed,
    StoreAhead,
    _claim,
    _claim_iri,
    _claimed_by,
    _complete,
    current_state,
    push_current,
    read_marker,
)
from ceopgraph.releases.service import OPERATOR, Releases
from ceopgraph.store.client import Credentials
from ceopgraph.store.remote import RemoteStore
from ceopgraph.validation.service import Submission

from .releasing import call, local_releases, with_since_launch
from .stores import (
    PASSWORD_ENV,
    STORE_KINDS,
    VIRTUOSO_PASSWORD,
    VIRTUOSO_USER,
    StoreProcess,
    VirtuosoServer,
    make_store,
    publish_args,
)

SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
QUERY = f"SELECT ?v WHERE {{ <{SINCE_LAUNCH}> <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }}"


@dataclass(frozen=True)
class Replicas:
    store: StoreProcess
    target: Target
    older: Path  # release 1
    newer: Path  # release 1, then release 2 published


def _published(releases: Releases, value: int) -> None:
    """Publish the current release with the since-launch figure set to ``value``, as the operator."""
    current = releases.registry.state()[0]
    dump = (releases.release_folder(current) / "ceopgraph.trig").read_bytes()
    draft = releases.create_draft(OPERATOR, Submission(with_since_launch(dump, value), "trig", "change.trig"))
    assert draft.conforms
    releases.publish(OPERATOR, draft.id, None)


@pytest.fixture(scope="module", params=STORE_KINDS)
def replicas(
    tmp_path_factory: pytest.TempPathFactory, built_dist: Path, request: pytest.FixtureRequest
) -> Iterator[Replicas]:
    root = tmp_path_factory.mktemp("fence")
    store = make_store(request.param, root / request.param)
    credentials = None
    if isinstance(store, VirtuosoServer):
        credentials = Credentials(VIRTUOSO_USER, VIRTUOSO_PASSWORD, scheme="digest")
    older, newer = root / "older", root / "newer"
    local_releases(older).ensure_first_release(built_dist / "ceopgraph.trig")
    made = local_releases(newer)
    made.ensure_first_release(built_dist / "ceopgraph.trig")
    _published(made, 2301)
    store.start()
    try:
        target = Target(store.query_url, store.update_url, credentials=credentials, timeout_s=30)
        yield Replicas(store, target, older, newer)
    finally:
        store.stop()


@pytest.fixture
def fresh(replicas: Replicas) -> Replicas:
    """The replicas over an emptied store."""
    _clear(replicas)
    return replicas


def _clear(replicas: Replicas) -> None:
    """Our graphs and the marker dropped (not DROP ALL: Virtuoso keeps its own graphs in the store)."""
    marker = local_releases(replicas.older).scheme.store_marker
    for graph in [*_graphs(replicas), str(marker)]:
        update(replicas.target, f"DROP SILENT GRAPH <{graph}>")


def _value(store: StoreProcess) -> str:
    query = urllib.parse.urlencode({"query": QUERY})
    return call(f"{store.query_url}?{query}", headers={"Accept": "text/csv"})[2].decode().split()[-1]


def _graphs(replicas: Replicas) -> dict[str, int]:
    store = RemoteStore(replicas.store.query_url, "https://w3id.org/ceopgraph/data/graph/", cache_s=0)
    return {str(graph): count for graph, count in store.counts(fresh=True).items()}


def _held(replicas: Replicas, folder: Path) -> Marker | None:
    return read_marker(replicas.target, local_releases(folder).scheme)


def _push(replicas: Replicas, folder: Path) -> Pushed:
    return push_current(local_releases(folder), replicas.target)


def test_a_push_into_an_empty_store_writes_and_records_what_the_store_holds(fresh: Replicas) -> None:
    pushed = _push(fresh, fresh.older)
    assert pushed.report is not None and pushed.report.verified
    held = _held(fresh, fresh.older)
    assert held is not None and (held.release, held.changes, held.complete) == (1, 1, True)
    assert held.modified.endswith("Z")  # when release 1 was made
    assert _value(fresh.store) == "2255"
    # The marker is not one of the graphs the front end serves or counts.
    assert not any("store-marker" in graph for graph in _graphs(fresh))


def test_an_equal_push_writes_nothing_and_one_over_an_incomplete_store_mends_it(fresh: Replicas) -> None:
    started = time.perf_counter()
    first = _push(fresh, fresh.older)
    full_s = time.perf_counter() - started
    before = _graphs(fresh)
    started = time.perf_counter()
    again = _push(fresh, fresh.older)
    equal_s = time.perf_counter() - started
    assert first.report is not None and again.report is None
    assert _graphs(fresh) == before
    print(f"full push {full_s:.3f} s, equal push (nothing written) {equal_s:.3f} s")  # measured, not asserted

    graph = sorted(before)[0]  # a graph lost (a push interrupted, or someone's DROP): the same state is mended
    update(fresh.target, f"DROP SILENT GRAPH <{graph}>")
    mended = _push(fresh, fresh.older)
    assert mended.report is not None and _graphs(fresh) == before


def test_a_newer_push_writes_and_an_older_one_is_refused_writing_nothing(fresh: Replicas) -> None:
    _push(fresh, fresh.older)
    newer = _push(fresh, fresh.newer)
    assert newer.report is not None and (newer.release, newer.state.changes) == (2, 2)
    assert _value(fresh.store) == "2301"
    before = _graphs(fresh)
    with pytest.raises(StoreAhead) as refused:
        _push(fresh, fresh.older)
    assert (refused.value.held.release, refused.value.held.changes) == (2, 2)
    assert (refused.value.pushing.release, refused.value.pushing.changes) == (1, 1)
    assert "the store holds release 2 after 2 change(s)" in str(refused.value)
    assert _value(fresh.store) == "2301" and _graphs(fresh) == before
    held = _held(fresh, fresh.newer)
    assert held is not None and (held.release, held.changes, held.complete) == (2, 2, True)


def test_a_withdrawal_is_a_newer_state_though_its_release_is_older(fresh: Replicas, tmp_path: Path) -> None:
    _push(fresh, fresh.newer)
    withdrawing = tmp_path / "withdrawing"
    shutil.copytree(fresh.newer, withdrawing)  # the newer registry's history, then one change more
    releases = local_releases(withdrawing)
    releases.withdraw(OPERATOR, 2, "The corrected figure was wrong")
    pushed = push_current(releases, fresh.target)
    assert pushed.report is not None and (pushed.release, pushed.state.changes) == (1, 3)
    assert _value(fresh.store) == "2255"
    for behind in (fresh.newer, fresh.older):  # release 2 after 2 changes, release 1 after 1: both older
        with pytest.raises(StoreAhead):
            _push(fresh, behind)
    assert _value(fresh.store) == "2255"


def test_another_historys_state_after_as_many_changes_is_refused(fresh: Replicas) -> None:
    scheme = local_releases(fresh.older).scheme
    another = Marker(2, 1, "2026-01-01T00:00:00Z")  # as another registry's push would leave it
    _claim(fresh.target, scheme, another)
    _complete(fresh.target, scheme, another)
    with pytest.raises(StoreAhead, match="another history"):
        _push(fresh, fresh.older)
    assert _graphs(fresh) == {}


def test_writes_fenced_by_an_older_state_are_no_ops_once_a_newer_one_claimed_the_store(fresh: Replicas) -> None:
    """The interleaving the fence is for, made deterministic: the newer push claims the store while the
    older one is still writing; every request the older one sends afterwards changes nothing."""
    _push(fresh, fresh.newer)
    before = _graphs(fresh)
    older_state, older_dataset = current_state(local_releases(fresh.older))
    scheme = local_releases(fresh.older).scheme
    report = publish(older_dataset, fresh.target, str(scheme.graph), only_if=_claimed_by(scheme, older_state))
    assert report.requests > 0  # sent, and refused by the store's condition
    assert _value(fresh.store) == "2301" and _graphs(fresh) == before
    # The older push's claim, and its completion, are fenced too: the marker stays the newer one's.
    _claim(fresh.target, scheme, older_state)
    _complete(fresh.target, scheme, older_state)
    held = _held(fresh, fresh.older)
    assert held is not None and (held.release, held.changes, held.complete) == (2, 2, True)


def test_two_claims_recorded_at_once_read_as_the_newest_incomplete(fresh: Replicas) -> None:
    """What two claims landing side by side leave (a store running update requests on snapshots): each on
    its own node, read as the newest state, incomplete; its push writes and leaves one claim, the older's
    is refused."""
    scheme = local_releases(fresh.older).scheme
    older_state, _ = current_state(local_releases(fresh.older))
    newer_state, _ = current_state(local_releases(fresh.newer))
    _claim(fresh.target, scheme, older_state)
    marker = scheme.store_marker
    update(
        fresh.target,
        f"INSERT DATA {{ GRAPH <{marker}> {{ <{_claim_iri(scheme, newer_state)}> "
        f"<http://www.w3.org/ns/dcat#hasCurrentVersion> <{scheme.release(2)}> ; <http://schema.org/version> 2 ; "
        "<http://schema.org/actionStatus> <http://schema.org/ActiveActionStatus> } }",
    )
    held = _held(fresh, fresh.older)
    assert held is not None and (held.release, held.changes, held.complete) == (2, 2, False)
    with pytest.raises(StoreAhead):
        _push(fresh, fresh.older)
    pushed = _push(fresh, fresh.newer)
    assert pushed.report is not None and _value(fresh.store) == "2301"
    held = _held(fresh, fresh.newer)
    assert held is not None and (held.release, held.changes, held.complete) == (2, 2, True)
    query = urllib.parse.urlencode(
        {"query": f"SELECT (COUNT(DISTINCT ?s) AS ?n) {{ GRAPH <{marker}> {{ ?s ?p ?o }} }}"}
    )
    assert call(f"{fresh.store.query_url}?{query}", headers={"Accept": "text/csv"})[2].decode().split()[-1] == "1"


def _contents(replicas: Replicas) -> dict[str, object]:
    """Every graph of ours in the store, stably labelled: as the store gives it back (it writes some
    literals in its own form), so two states compare exactly."""
    store = RemoteStore(replicas.store.query_url, "https://w3id.org/ceopgraph/data/graph/", cache_s=0)
    return {str(name): relabel_triples(store.graph_triples(name)) for name in store.counts(fresh=True)}


@pytest.mark.parametrize("first", ["older", "newer"])
def test_two_pushes_racing_leave_the_newest(fresh: Replicas, first: str) -> None:
    """Two replicas (separate locks) push at once, over a store each time emptied: whichever starts first
    and however their requests interleave, the store ends holding the newer state, every graph exactly."""
    _push(fresh, fresh.newer)
    newest = _contents(fresh)  # the newer state, pushed alone
    outcomes: dict[str, str] = {}
    for round_ in range(3):
        _clear(fresh)
        gate = threading.Barrier(2)

        def run(folder: Path, name: str, delay: float, gate: threading.Barrier = gate) -> None:
            releases = local_releases(folder)
            gate.wait()
            time.sleep(delay)
            try:
                push_current(releases, fresh.target)
                outcomes[name] = "written"
            except StoreAhead:
                outcomes[name] = "refused"

        delays = {"older": 0.0, "newer": 0.0}
        delays["newer" if first == "older" else "older"] = (0.0, 0.2, 1.5)[round_]
        threads = [
            threading.Thread(target=run, args=(getattr(fresh, name), name, delays[name])) for name in ("older", "newer")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert outcomes.get("newer") == "written", outcomes
        held = _held(fresh, fresh.newer)
        assert held is not None and (held.release, held.changes, held.complete) == (2, 2, True), (round_, outcomes)
        assert _contents(fresh) == newest, (round_, outcomes)
        print(f"round {round_}: older {outcomes.get('older')}")


def test_the_publish_command_refuses_a_store_a_release_series_holds(
    fresh: Replicas, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ceopgraph publish`` writes the built dataset, outside any release series: over a store that a server
    with releases pushed into, it would take the store back to the build (here: 2301 back to 2255)."""
    _push(fresh, fresh.newer)
    before = _graphs(fresh)
    monkeypatch.setenv(PASSWORD_ENV, VIRTUOSO_PASSWORD)
    assert main(publish_args(fresh.store, "update")) == 3
    assert "publish refused, the store was not touched: it holds release 2 after 2 change(s)" in capsys.readouterr().err
    assert _value(fresh.store) == "2301" and _graphs(fresh) == before
    _clear(fresh)  # a store no series holds is the command's to write
    assert main(publish_args(fresh.store, "update")) == 0
    assert _value(fresh.store) == "2255"
