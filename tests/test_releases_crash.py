"""Crash safety: the server is killed with SIGKILL at many points of a publish (and of a draft upload),
started again, and found with the old release or the new one current, never a mix, every release's dumps
matching the hashes recorded for them, and nothing half-written left behind. On both registry backends:
with PostgreSQL the files of record are in the database and the data directory is this machine's copy,
and both must match (fewer kill points there, spread from before the dumps are rendered to past the
commit, which keeps its run about as long as SQLite's)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from .backends import Backend
from .releasing import (
    NOTE,
    bearer,
    call,
    local_releases,
    release_server,
    sha256,
    since_launch,
    submit,
    with_since_launch,
)

# Seconds into the request at which the server dies: from before the dumps are rendered to after the commit.
PUBLISH_KILL_POINTS = {"sqlite": (0.02, 0.15, 0.3, 0.5, 0.8, 1.2, 2.0), "postgres": (0.02, 0.3, 0.8, 1.2, 2.0)}
UPLOAD_KILL_POINTS = (0.05, 0.4)
SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
QUERY = f"SELECT ?v WHERE {{ <{SINCE_LAUNCH}> <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }}"


def _consistent(data_dir: Path, backend: Backend) -> int:
    """Check the data directory (and, with PostgreSQL, the files in the database) as a restart finds
    them; the current release."""
    releases = local_releases(data_dir, backend.url)
    try:
        releases.recover()
        current, _ = releases.registry.state()
        rows = releases.registry.releases()
        assert [r.n for r in rows] == list(range(1, len(rows) + 1))
        assert current == rows[-1].n
        for release in rows:
            if releases.registry.holds_files():  # the files of record: whole, and the ones the row names
                files = releases.registry.release_files(release.n) or {}
                assert {name: hashlib.sha256(data).hexdigest() for name, data in files.items()} == release.dumps
            folder = releases.release_folder(release.n)  # the server wrote it before its commit
            assert sorted(p.name for p in folder.iterdir()) == sorted(release.dumps)
            for name, digest in release.dumps.items():
                assert sha256(folder / name) == digest, (release.n, name)
        found = sorted(p.name for p in (data_dir / "releases").iterdir())
        fetching = {f".fetch-{r.n}.lock" for r in rows}  # the empty files that let one process write a copy
        assert [name for name in found if name not in fetching] == [str(r.n) for r in rows]
        published = {d.id: d.release for d in releases.registry.all_drafts() if d.status == "published"}
        assert sorted(published.values()) == [r.n for r in rows if r.draft_id is not None]  # type: ignore[type-var]  # published: numbered
        return current
    finally:
        releases.registry.close()


def _drafts(data_dir: Path, backend: Backend) -> int:
    releases = local_releases(data_dir, backend.url)
    try:
        return len(releases.registry.all_drafts())
    finally:
        releases.registry.close()


def _cut_short(url: str, body: bytes, headers: dict[str, str]) -> None:
    """The write whose server is killed under it: its connection ends without an answer, or with one."""
    with contextlib.suppress(OSError):
        call(url, "POST", body, headers)


def _killed_during(server_pid: int, request: threading.Thread, delay: float) -> None:
    request.start()
    time.sleep(delay)
    os.killpg(server_pid, signal.SIGKILL)
    request.join(timeout=30)


@pytest.mark.parametrize("phase", ["publish", "upload"])
def test_sigkill_during_a_write_leaves_the_old_state_or_the_new(
    phase: str, backend: Backend, tmp_path: Path, built_dist: Path
) -> None:
    data_dir = tmp_path / "data"
    points = PUBLISH_KILL_POINTS[backend.name] if phase == "publish" else UPLOAD_KILL_POINTS
    outcomes = []
    for index, delay in enumerate(points):
        log = tmp_path / f"server-{index}.log"
        with release_server(data_dir, built_dist, log, workers=1, database_url=backend.url) as server:
            current = _consistent(data_dir, backend)
            status, _, listing = call(server.url + "releases", headers={"Accept": "application/json"})
            assert status == 200 and f'"current": {current}'.encode() in listing
            dump = call(server.url + f"releases/{current}/dumps/ceopgraph.trig")[2]
            data = with_since_launch(dump, 2300 + index)
            drafts_before = _drafts(data_dir, backend)
            if phase == "publish":
                draft = submit(server.url, server.submitter, data)[1]
                assert draft["conforms"], draft
                etag = call(server.url + f"drafts/{draft['id']}", headers=bearer(server.publisher))[1]["etag"]
                url, body = server.url + f"drafts/{draft['id']}/publish", json.dumps({"note": NOTE}).encode()
                headers = bearer(server.publisher, **{"If-Match": etag, "Content-Type": "application/json"})
            else:
                url, body = server.url + "drafts", data
                headers = bearer(server.submitter, **{"Content-Type": "application/trig"})
            request = threading.Thread(target=_cut_short, args=(url, body, headers), daemon=True)
            _killed_during(server.server.pid, request, delay)
        after = _consistent(data_dir, backend)
        if phase == "publish":
            assert after in (current, current + 1)
            outcomes.append(after - current)
        else:
            assert after == current
            grown = _drafts(data_dir, backend) - drafts_before
            assert grown in (0, 1)
            outcomes.append(grown)
    # The last start serves what the registry says, with the figure of its current release.
    last = tmp_path / "server-last.log"
    with release_server(data_dir, built_dist, last, workers=1, database_url=backend.url) as server:
        current = _consistent(data_dir, backend)
        query = urllib.parse.urlencode({"query": QUERY})
        answer = call(server.url + "sparql?" + query, headers={"Accept": "text/csv"})[2].decode().split()[-1]
        dump = call(server.url + f"releases/{current}/dumps/ceopgraph.trig")[2]
        assert since_launch(dump) == answer.encode()
    if phase == "publish":  # the kill points span the publish: some died before its commit, some after
        assert 0 in outcomes and 1 in outcomes, outcomes
