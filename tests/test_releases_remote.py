"""Releases with a remote store (``serve --endpoint`` and a data directory), on both independent stores:
the current release is pushed into the store's named graphs at start and after each publish; a publish
while the store is down commits here, answers 502, and the next start brings the store up to date."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

import pytest

from ceopgraph.store.remote import RemoteStore

from .live import ROOT
from .releasing import (
    ReleaseServer,
    bearer,
    call,
    current_dump,
    local_releases,
    publish,
    release_server,
    since_launch,
    submit,
    with_since_launch,
)
from .stores import STORE_KINDS, VIRTUOSO_PASSWORD, VIRTUOSO_USER, StoreProcess, VirtuosoServer, make_store

SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
QUERY = f"SELECT ?v WHERE {{ <{SINCE_LAUNCH}> <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }}"


def _env(store: StoreProcess) -> dict[str, str]:
    env = {"CEOPGRAPH_UPDATE_ENDPOINT": store.update_url}
    if isinstance(store, VirtuosoServer):
        env |= {"CEOPGRAPH_UPDATE_USER": VIRTUOSO_USER, "CEOPGRAPH_UPDATE_PASSWORD": VIRTUOSO_PASSWORD}
    return env


def _served(server: ReleaseServer) -> str:
    body = call(server.url + "sparql?" + urllib.parse.urlencode({"query": QUERY}), headers={"Accept": "text/csv"})[2]
    return body.decode().split()[-1]


def _in_store(store: StoreProcess) -> str:
    body = call(store.query_url + "?" + urllib.parse.urlencode({"query": QUERY}), headers={"Accept": "text/csv"})[2]
    return body.decode().split()[-1]


def _eventually(what: Callable[[], str], expected: str, seconds: float = RemoteStore.DEFAULT_CACHE_S + 10) -> None:
    deadline = time.monotonic() + seconds
    while (found := what()) != expected:
        assert time.monotonic() < deadline, f"still {found}, not {expected}"
        time.sleep(0.2)


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_releases_are_pushed_to_the_store_and_a_failed_push_is_mended(
    kind: str, tmp_path: Path, built_dist: Path
) -> None:
    store = make_store(kind, tmp_path / kind)
    store.start()
    data_dir = tmp_path / "data"
    args = ("--endpoint", store.query_url)
    try:
        with release_server(data_dir, built_dist, tmp_path / "one.log", env=_env(store), args=args) as server:
            assert _in_store(store) == "2255" and _served(server) == "2255"  # release 1, pushed at start
            draft = submit(server.url, server.submitter, with_since_launch(current_dump(server.url), 2301))[1]
            query = urllib.parse.urlencode({"query": QUERY})
            status, _, body = call(
                f"{server.url}drafts/{draft['id']}/sparql?{query}", headers=bearer(server.publisher, Accept="text/csv")
            )
            assert status == 200 and body.decode().split()[-1] == "2301"  # the draft, not the store
            assert publish(server.url, server.publisher, draft["id"])[0] == 201
            assert _in_store(store) == "2301"  # pushed before the publish answered
            _eventually(lambda: _served(server), "2301")
            listing = call(server.url + "releases", headers={"Accept": "text/turtle"})[2]
            assert b"hasCurrentVersion" in listing
            assert since_launch(call(server.url + "dumps/ceopgraph.trig")[2]) == b"2301"

            draft = submit(server.url, server.submitter, with_since_launch(current_dump(server.url), 2302))[1]
            store.stop()
            status, _, body = publish(server.url, server.publisher, draft["id"])
            assert status == 502 and b"could not be updated" in body, body
        assert local_releases(data_dir).registry.state()[0] == 3  # committed here all the same
        store.start()
        assert _in_store(store) == "2301"
        with release_server(data_dir, built_dist, tmp_path / "two.log", env=_env(store), args=args) as server:
            assert _in_store(store) == "2302"  # the start pushed what the registry says is current
            _eventually(lambda: _served(server), "2302")
    finally:
        store.stop()


def test_the_command_lines_publish_pushes_to_the_remote_store(tmp_path: Path, built_dist: Path) -> None:
    """``ceopgraph draft publish`` with a remote store pushes the new release as the server's publish does;
    a store that is down is said (exit 3), the release committed here all the same."""
    store = make_store("oxigraph", tmp_path / "oxigraph")
    store.start()
    data_dir = tmp_path / "data"
    env = {**os.environ, "CEOPGRAPH_DATA_DIR": str(data_dir), "CEOPGRAPH_ENDPOINT": store.query_url, **_env(store)}

    def ceopgraph(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ceopgraph.cli", *args]
        return subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)

    try:
        releases = local_releases(data_dir)
        releases.ensure_first_release(built_dist / "ceopgraph.trig")
        release_1 = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
        for value in (2301, 2302):
            (tmp_path / f"{value}.trig").write_bytes(with_since_launch(release_1, value))
        drafts = [ceopgraph("draft", "create", str(tmp_path / f"{value}.trig")) for value in (2301, 2302)]
        assert all(made.returncode == 0 for made in drafts), [made.stderr for made in drafts]
        ids = [made.stdout.split()[1].rstrip(":") for made in drafts]
        published = ceopgraph("draft", "publish", ids[0])
        assert published.returncode == 0 and "release 2" in published.stdout, published.stderr
        assert _in_store(store) == "2301"  # pushed by the command line itself
        store.stop()
        diff = ceopgraph("draft", "diff", ids[1])  # against release 2 now: its version names that diff
        assert diff.returncode == 0 and "against release 2" in diff.stdout
        version = diff.stdout.split("; version ", 1)[1].split()[0]
        # Made from release 1, it takes back release 2's figure: acknowledged, as a publisher must.
        refused = ceopgraph("draft", "publish", ids[1], "--version", version, "--acknowledge", "reverts")
        assert refused.returncode == 3 and "could not be updated" in refused.stderr, refused.stderr
        assert local_releases(data_dir).registry.state()[0] == 3
    finally:
        store.stop()
