"""Two real servers (``ceopgraph serve``), each with its own data directory as two machines would have,
over one PostgreSQL database: one release history, drafts and tokens shared, a publish on one served by
the other, a revocation on one refused by the other."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ceopgraph.compose import open_releases
from ceopgraph.config import load_settings
from ceopgraph.releases.service import OPERATOR

from .live import running_server
from .releasing import GOOD_FIGURE, bearer, call, changed, current_dump, publish, submit


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
            assert call(a.url + "drafts", headers=bearer(submitter))[0] == 200
            assert operator.registry.revoke_token(sam.id)
            operator.registry.audit(OPERATOR.id, "revoke-token", sam.id, "done")
            assert call(a.url + "drafts", headers=bearer(submitter))[0] == 401  # revoked elsewhere: refused here
            assert call(b.url + "drafts", headers=bearer(submitter))[0] == 401
    finally:
        operator.registry.close()
