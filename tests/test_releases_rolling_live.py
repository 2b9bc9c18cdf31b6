"""The rolling restart of issue 25, end to end: two ``ceopgraph serve`` processes (A and B), each with its
own data folder, over one Oxigraph server. A draft published on A makes release 2, which goes into the
store; B restarts, as a rolling deploy does, with a registry that still says release 1: the store keeps
release 2 for every reader (A's and B's ``/sparql``), and B's start says why it wrote nothing."""

from __future__ import annotations

import json
import time
import urllib.parse
from contextlib import AbstractContextManager
from pathlib import Path

from ceopgraph.store.remote import RemoteStore

from .releasing import (
    ReleaseServer,
    bearer,
    call,
    current_dump,
    publish,
    release_server,
    submit,
    with_since_launch,
)
from .stores import make_store

SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
QUERY = f"SELECT ?v WHERE {{ <{SINCE_LAUNCH}> <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }}"


def _served(server: ReleaseServer) -> str:
    body = call(server.url + "sparql?" + urllib.parse.urlencode({"query": QUERY}), headers={"Accept": "text/csv"})[2]
    return body.decode().split()[-1]


def _eventually_served(server: ReleaseServer, expected: str) -> None:
    """Within the remote store's cache of its graph list (a publish elsewhere is seen when it expires)."""
    deadline = time.monotonic() + RemoteStore.DEFAULT_CACHE_S + 10
    while (found := _served(server)) != expected:
        assert time.monotonic() < deadline, f"{server.url} still serves {found}, not {expected}"
        time.sleep(0.2)


def test_a_replica_restarted_behind_the_store_never_takes_it_back(tmp_path: Path, built_dist: Path) -> None:
    store = make_store("oxigraph", tmp_path / "oxigraph")
    store.start()
    env = {"CEOPGRAPH_UPDATE_ENDPOINT": store.update_url}
    args = ("--endpoint", store.query_url)
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    try:
        with release_server(folder_a, built_dist, tmp_path / "a.log", workers=1, env=env, args=args) as a:
            with release_server(folder_b, built_dist, tmp_path / "b1.log", workers=1, env=env, args=args) as b:
                assert _served(a) == _served(b) == "2255"  # release 1 on both
                draft = submit(a.url, a.submitter, with_since_launch(current_dump(a.url), 2301))[1]
                assert publish(a.url, a.publisher, draft["id"])[0] == 201  # release 2, on A, pushed
                _eventually_served(a, "2301")
                _eventually_served(b, "2301")  # from the store
            # B restarts (a rolling deploy): its own folder still says release 1 is current.
            with release_server(folder_b, built_dist, tmp_path / "b2.log", workers=1, env=env, args=args) as b:
                assert _served(b) == "2301" and _served(a) == "2301"
                started = b.server.log.read_text()
                assert "warning: the store holds release 2" in started, started
                assert "this replica has release 1" in started, started
    finally:
        store.stop()


def test_replicas_over_one_database_and_one_store_serve_every_change_and_no_restart_takes_it_back(
    postgres_url: str, tmp_path: Path, built_dist: Path
) -> None:
    """The supported way: A and B share one PostgreSQL and one Oxigraph server. A publish on A is served by
    both; B restarted finds the same history (nothing to write, nothing to warn of); a withdrawal on B takes
    both back to release 1, and A restarted afterwards does not push release 2 again."""
    store = make_store("oxigraph", tmp_path / "oxigraph")
    store.start()
    env = {"CEOPGRAPH_UPDATE_ENDPOINT": store.update_url}

    def replica(name: str, log: str) -> AbstractContextManager[ReleaseServer]:
        args = ("--endpoint", store.query_url)
        return release_server(
            tmp_path / name, built_dist, tmp_path / log, workers=1, env=env, args=args, database_url=postgres_url
        )

    try:
        with replica("a", "a1.log") as a:
            with replica("b", "b1.log") as b:
                assert _served(a) == _served(b) == "2255"
                draft = submit(a.url, a.submitter, with_since_launch(current_dump(a.url), 2301))[1]
                assert publish(a.url, a.publisher, draft["id"])[0] == 201
                _eventually_served(a, "2301")
                _eventually_served(b, "2301")
            with replica("b", "b2.log") as b:
                assert _served(b) == "2301"
                started = b.server.log.read_text()
                assert "release 2 after 2 change(s)" in started and "nothing written" in started, started
                assert "the store holds" not in started, started
                reason = json.dumps({"note": "the since-launch count was keyed wrongly"}).encode()
                headers = bearer(b.publisher, **{"Content-Type": "application/json"})
                assert call(b.url + "releases/2/withdraw", "POST", reason, headers)[0] == 200
                _eventually_served(b, "2255")
                _eventually_served(a, "2255")
        with replica("a", "a2.log") as a:
            assert _served(a) == "2255"
            started = a.server.log.read_text()
            assert "release 1 after 3 change(s)" in started and "nothing written" in started, started
    finally:
        store.stop()
