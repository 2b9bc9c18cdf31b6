"""Two real servers (``ceopgraph serve``), each with its own data directory as two machines would have,
over one PostgreSQL database: one release history, drafts and tokens shared, a publish on one served by
the other, two publishes racing on the two ending in one release and a 409, a revocation on one refused
by the other."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from pathlib import Path

from ceopgraph.compose import open_releases
from ceopgraph.config import load_settings
from ceopgraph.releases.service import OPERATOR

from .live import running_server
from .postgres import Postgres, start, stop
from .releasing import GOOD_FIGURE, NOTE, bearer, call, changed, current_dump, publish, submit, with_since_launch


def _current(url: str) -> int:
    return int(json.loads(call(url + "releases", headers={"Accept": "application/json"})[2])["current"])


def test_two_servers_over_one_database_share_releases_drafts_and_tokens(
    postgres_url: str, tmp_path: Path, built_dist: Path
) -> None:
    operator = open_releases(load_settings(environ={}, data_dir=tmp_path / "operator", database_url=postgres_url))
    try:
        sam, submitter = operator.tokens.create("submitter", "Sam Submitter")
        _, publisher = operator.tokens.create("publisher", "Pat Publisher")
        env = {"CEOPGRAPH_DATABASE_URL": postgres_url, "CEOPGRAPH_RELEASE_POLL_S": "0.5"}
        common = ["--dist", str(built_dist), "--workers", "1"]
        with (
            running_server([*common, "--data-dir", str(tmp_path / "a")], tmp_path / "a.log", env) as a,
            running_server([*common, "--data-dir", str(tmp_path / "b")], tmp_path / "b.log", env) as b,
        ):
            assert _current(a.url) == _current(b.url) == 1
            assert [r.n for r in operator.registry.releases()] == [1]  # made once, by the first to start
            status, draft = submit(a.url, submitter, changed(current_dump(a.url), GOOD_FIGURE))
            assert status == 201, draft
            status, _, body = publish(b.url, publisher, draft["id"])  # the draft made on A, published on B
            assert status == 201, body
            deadline = time.monotonic() + 5
            while _current(a.url) != 2:
                assert time.monotonic() < deadline, "A did not serve the release published on B within 5 s"
                time.sleep(0.1)
            dump = call(a.url + "releases/2/dumps/ceopgraph.trig")
            assert dump[0] == 200 and dump[2] == call(b.url + "releases/2/dumps/ceopgraph.trig")[2]
            # Two publishes racing on the two servers: one new release, and a 409 for the other.
            latest = current_dump(a.url)
            drafts = [submit(a.url, submitter, with_since_launch(latest, value))[1]["id"] for value in (7001, 7002)]
            versions = [call(b.url + f"drafts/{d}", headers=bearer(publisher))[1]["etag"] for d in drafts]
            statuses: list[int] = []
            start = threading.Barrier(2)

            def publish_on(url: str, draft: str, version: str) -> None:
                start.wait()
                body = json.dumps({"note": NOTE}).encode()
                headers = bearer(publisher, **{"If-Match": version, "Content-Type": "application/json"})
                statuses.append(call(url + f"drafts/{draft}/publish", "POST", body, headers)[0])

            racers = [
                threading.Thread(target=publish_on, args=(url, draft, version))
                for url, draft, version in zip((a.url, b.url), drafts, versions, strict=True)
            ]
            for racer in racers:
                racer.start()
            for racer in racers:
                racer.join(timeout=120)
            assert sorted(statuses) == [201, 409]
            assert [r.n for r in operator.registry.releases()] == [1, 2, 3]
            deadline = time.monotonic() + 5
            while (_current(a.url), _current(b.url)) != (3, 3):
                assert time.monotonic() < deadline, "the winning publish was not served by both within 5 s"
                time.sleep(0.1)
            assert call(a.url + "drafts", headers=bearer(submitter))[0] == 200
            assert operator.registry.revoke_token(sam.id)
            operator.registry.audit(OPERATOR.id, "revoke-token", sam.id, "done")
            assert call(a.url + "drafts", headers=bearer(submitter))[0] == 401  # revoked elsewhere: refused here
            assert call(b.url + "drafts", headers=bearer(submitter))[0] == 401
    finally:
        operator.registry.close()


# The figure a publish changes (``GOOD_FIGURE``): its page, and a query for its value.
FIGURE = "data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
FIGURE_VALUE = (
    "SELECT ?v WHERE { <https://w3id.org/ceopgraph/" + FIGURE + "> "
    "<http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }"
)
# What a reader fetches: the home page, a figure's page, a query, the current release's dumps and the VoID.
READS = (
    ("", "text/html"),
    (FIGURE, "text/html"),
    ("sparql?" + urllib.parse.urlencode({"query": FIGURE_VALUE}), "text/csv"),
    ("dumps/ceopgraph.trig", "application/trig"),
    ("releases/1/dumps/ceopgraph.trig", "application/trig"),
    (".well-known/void", "text/turtle"),
)


def _reads(url: str) -> dict[str, bytes]:
    """Each read's body, asked for several times so that every worker answers it (asserted the same)."""
    bodies: dict[str, bytes] = {}
    for path, accept in READS:
        for _ in range(4):
            status, _, body = call(url + path, headers={"Accept": accept})
            assert status == 200, (path, status, body[:300])
            assert bodies.setdefault(path, body) == body, path
    return bodies


def _figure(url: str) -> str:
    query = urllib.parse.urlencode({"query": FIGURE_VALUE})
    return call(url + "sparql?" + query, headers={"Accept": "text/csv"})[2].decode().split()[-1]


def test_reads_go_on_while_the_database_is_down_and_writes_wait_for_it(
    postgres: Postgres, postgres_url: str, tmp_path: Path, built_dist: Path
) -> None:
    operator = open_releases(load_settings(environ={}, data_dir=tmp_path / "operator", database_url=postgres_url))
    try:
        _, submitter = operator.tokens.create("submitter", "Sam Submitter")
        _, publisher = operator.tokens.create("publisher", "Pat Publisher")
    finally:
        operator.registry.close()
    # No replayed answers: each read below is made again by a worker while the database is down.
    env = {"CEOPGRAPH_DATABASE_URL": postgres_url, "CEOPGRAPH_RELEASE_POLL_S": "0.5", "CEOPGRAPH_ANSWER_CACHE_MB": "0"}
    common = ["--dist", str(built_dist)]
    with (
        running_server([*common, "--workers", "2", "--data-dir", str(tmp_path / "a")], tmp_path / "a.log", env) as a,
        running_server([*common, "--workers", "1", "--data-dir", str(tmp_path / "b")], tmp_path / "b.log", env) as b,
    ):
        before = {a.url: _reads(a.url), b.url: _reads(b.url)}
        status, draft = submit(a.url, submitter, changed(current_dump(a.url), GOOD_FIGURE))
        assert status == 201, draft
        etag = call(a.url + f"drafts/{draft['id']}", headers=bearer(publisher))[1]["etag"]
        publishing = bearer(publisher, **{"If-Match": etag, "Content-Type": "application/json"})
        body = json.dumps({"note": NOTE}).encode()
        stop(postgres)
        try:
            for url in (a.url, b.url):
                assert _reads(url) == before[url]  # the same bytes, from the release each worker holds
            started = time.monotonic()
            status, headers, answer = call(a.url + f"drafts/{draft['id']}/publish", "POST", body, publishing)
            assert status == 503 and headers.get("retry-after"), (status, answer[:300])
            assert time.monotonic() - started < 15, "a write waited too long for the database"
            assert b"Traceback" not in answer
        finally:
            start(postgres)
        deadline = time.monotonic() + 30
        while (found := call(b.url + f"drafts/{draft['id']}/publish", "POST", body, publishing))[0] == 503:
            assert time.monotonic() < deadline, "the write path did not recover once the database was back"
            time.sleep(0.5)
        assert found[0] == 201, found[2][:300]
        published = time.monotonic()
        while not all(_figure(url) == "2300" for url in (a.url, b.url) for _ in range(4)):
            assert time.monotonic() - published < 5, "not every worker served the new release within 5 s"
            time.sleep(0.1)
        for server, workers in ((a, 2), (b, 1)):  # each worker says so once it serves it
            while server.log.read_text().count("now serving release 2 ") < workers:
                assert time.monotonic() - published < 5, f"{server.log.read_text()[-3000:]}"
                time.sleep(0.1)
