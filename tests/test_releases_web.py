"""The write path over HTTP (``web.releases``) with Flask's test client: the hostile-draft corpus (each
refusal, and the stored size bound), no draft's blobs read to list, authorise or answer 404, the same work
for a foreign draft as for an unknown one, release numbers past SQLite's integers, a revoked submitter's
draft, and the preflights."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ceopgraph.config import Settings
from ceopgraph.releases.service import Releases
from ceopgraph.web.services import of

from .apps import embedded_app
from .releasing import GOOD_FIGURE, changed, local_releases
from .submissions.drafts import CORPUS, HostileDraft

BLOB_COLUMNS = {"nquads", "changeset", "report", "diff"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    data_dir = tmp_path_factory.mktemp("releases") / "data"
    assert local_releases(data_dir).ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with embedded_app(settings, built_dist, data_dir=data_dir, writes_per_client=1000, writes_per_token=1000) as made:
        yield made


def _releases(app: Flask) -> Releases:
    releases = of(app).releases
    assert releases is not None
    return releases


def _token(app: Flask, role: str, name: str) -> tuple[str, dict[str, str]]:
    """A new token's id, and the headers that present it."""
    record, secret = _releases(app).tokens.create(role, name)
    return record.id, {"Authorization": f"Bearer {secret}"}


def _dump(client: FlaskClient) -> bytes:
    return client.get("/releases/1/dumps/ceopgraph.trig").data


def _draft(client: FlaskClient, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    answer = client.post("/drafts", data=data, headers={**headers, "Content-Type": "application/trig"})
    assert answer.status_code == 201, answer.data
    made: dict[str, Any] = answer.get_json()
    return made


@pytest.mark.parametrize("case", [c for c in CORPUS if c.in_suite], ids=lambda c: c.name)
def test_every_hostile_draft_gets_its_answer_and_a_stored_one_fits_the_bound(app: Flask, case: HostileDraft) -> None:
    """Each case of the hostile-draft corpus, posted as a submitter posts it, prepared by the service in its
    validation worker: a refusal has its status and message and writes nothing (81 KB of Turtle whose IRIs
    share a 2,000-character prefix was stored as 61.6 MB of N-Quads and a 20.5 MB changeset); a stored draft
    takes at most ``CEOPGRAPH_MAX_DRAFT_BYTES``, data, changeset, report and diff together."""
    client = app.test_client()
    _, sam = _token(app, "submitter", case.name)
    registry = _releases(app).registry
    before = registry.rows("drafts")
    answer = client.post("/drafts", data=case.upload(_dump(client)), headers={**sam, "Content-Type": case.content_type})
    assert answer.status_code == case.status, answer.data
    if case.status != 201:
        message = answer.get_json()["error"] if answer.is_json else answer.get_data(as_text=True)
        assert re.search(case.says, message), message
        assert registry.rows("drafts") == before
        return
    draft = registry.draft(answer.get_json()["id"], None)
    assert draft is not None
    stored = len(draft.nquads) + len(draft.changeset) + len(draft.report.encode()) + len(draft.diff.encode())
    assert stored <= of(app).settings.max_draft_bytes
    assert len(registry.rows("drafts")) == len(before) + 1


@contextmanager
def _reading(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, object]]]:
    """Every (table, column) the registry's statements read, as SQLite's authorizer reports them, plus
    each statement ("sql", text) and each row it fetched ("row", values): what a request cost."""
    seen: list[tuple[str, object]] = []

    class Cursor(sqlite3.Cursor):
        def fetchone(self) -> Any:
            row = super().fetchone()
            seen.append(("row", row))
            return row

        def fetchall(self) -> list[Any]:
            rows = super().fetchall()
            seen.append(("rows", rows))
            return rows

    class Connection(sqlite3.Connection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.set_authorizer(self._authorise)

        @staticmethod
        def _authorise(action: int, table: str | None, column: str | None, *_: object) -> int:
            if action == sqlite3.SQLITE_READ:
                seen.append((f"read {table}", column))
            return sqlite3.SQLITE_OK

        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            seen.append(("sql", (sql, tuple(parameters))))
            return self.cursor(Cursor).execute(sql, parameters)

    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *args, **kwargs: real(*args, factory=Connection, **kwargs))
    yield seen
    monkeypatch.setattr(sqlite3, "connect", real)


def _blobs_read(seen: list[tuple[str, object]]) -> set[object]:
    return {column for what, column in seen if what == "read drafts" and column in BLOB_COLUMNS}


def test_listing_authorising_and_not_found_read_no_draft_blob(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    _, sue = _token(app, "submitter", "Sue")
    _, pat = _token(app, "publisher", "Pat")
    draft = _draft(client, sam, changed(_dump(client), GOOD_FIGURE))
    for headers in (sam, sue, pat):  # each token verified once before, as a worker's cache holds it
        client.get("/drafts", headers=headers)
    with _reading(monkeypatch) as seen:
        for headers in (sam, pat):
            listed = client.get("/drafts", headers=headers)
            assert listed.status_code == 200 and draft["id"] in [d["id"] for d in listed.get_json()]
        for path in (f"/drafts/{draft['id']}", f"/drafts/{'0' * 32}"):
            assert client.get(path, headers=sue).status_code == 404
            assert client.get(f"{path}/diff", headers=sue).status_code == 404
            assert client.get(f"{path}/sparql?query=ASK{{}}", headers=sue).status_code == 404
            assert client.put(path, data=b"", headers={**sue, "Content-Type": "application/trig"}).status_code == 404
            assert client.delete(path, headers=sue).status_code == 404
            assert client.post(f"{path}/publish", headers=pat | {"If-Match": '"x"'}).status_code in (404, 409)
        assert client.post(f"/drafts/{draft['id']}/publish", headers=sam).status_code == 403
    assert {what for what, _ in seen} >= {"read drafts", "sql", "row"}  # the registry was watched
    assert _blobs_read(seen) == set()
    with _reading(monkeypatch) as seen:  # the one draft shown: its report is read
        assert client.get(f"/drafts/{draft['id']}", headers=sam).get_json()["report"]["conforms"] is True
    assert _blobs_read(seen) >= {"report"}


def test_a_foreign_draft_costs_what_an_unknown_one_does(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same statements, the same rows fetched (none), whether the id is somebody else's or nobody's."""
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    _, sue = _token(app, "submitter", "Sue")
    foreign = _draft(client, sam, changed(_dump(client), GOOD_FIGURE))["id"]
    unknown = "f" * 32
    client.get("/drafts", headers=sue)  # the token verified once, as a worker's cache holds it
    costs = []
    for draft_id in (foreign, unknown):
        with _reading(monkeypatch) as seen:
            for path in (f"/drafts/{draft_id}", f"/drafts/{draft_id}/diff"):
                answer = client.get(path, headers=sue)
                assert answer.status_code == 404 and answer.get_json()["error"] == "no such draft"
        costs.append(json.loads(json.dumps(seen, default=repr).replace(draft_id, "ID")))
    assert costs[0] == costs[1]


def test_release_numbers_past_sqlites_integers_are_not_found(app: Flask) -> None:
    client = app.test_client()
    _, pat = _token(app, "publisher", "Pat")
    for n in (1 << 63, 1 << 64, 10**40):
        dump = client.get(f"/releases/{n}/dumps/ceopgraph.trig", headers={"Accept": "application/json"})
        assert dump.status_code == 404 and dump.get_json()["error"].startswith(f"no release {n}")
        withdrawn = client.post(f"/releases/{n}/withdraw", headers=pat)
        assert withdrawn.status_code == 404 and withdrawn.get_json()["error"].startswith(f"no release {n}")
    assert client.get(f"/releases/{(1 << 63) - 1}/dumps/ceopgraph.trig").status_code == 404
    assert client.get("/releases/1/dumps/ceopgraph.trig").status_code == 200


def test_a_revoked_submitters_draft_cannot_be_published(app: Flask) -> None:
    client = app.test_client()
    sam_id, sam = _token(app, "submitter", "Sam")
    _, pat = _token(app, "publisher", "Pat")
    draft = _draft(client, sam, changed(_dump(client), GOOD_FIGURE))
    releases = _releases(app)
    assert releases.registry.revoke_token(sam_id)
    read = client.get(f"/drafts/{draft['id']}", headers=pat)
    assert read.status_code == 200  # publishers still see it, and may read why it will not be published
    before = releases.registry.state()
    answer = client.post(f"/drafts/{draft['id']}/publish", headers={**pat, "If-Match": read.headers["ETag"]})
    assert answer.status_code == 409, answer.data
    assert "revoked" in answer.get_json()["error"] and "can no longer be published" in answer.get_json()["error"]
    assert releases.registry.state() == before
    assert ("publish", "conflict") in [(r.action, r.outcome) for r in releases.registry.audit_records()]


# Every write-path route and exactly the methods it takes (HEAD with every GET, OPTIONS everywhere).
PREFLIGHTS = {
    "/sign-in": {"GET", "HEAD", "POST", "OPTIONS"},
    "/sign-out": {"POST", "OPTIONS"},
    "/drafts": {"GET", "HEAD", "POST", "OPTIONS"},
    "/drafts/ID": {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"},
    "/drafts/ID/replace": {"POST", "OPTIONS"},
    "/drafts/ID/discard": {"POST", "OPTIONS"},
    "/drafts/ID/diff": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/sparql": {"GET", "HEAD", "POST", "OPTIONS"},
    "/drafts/ID/view/": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/view/doc/x": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/publish": {"POST", "OPTIONS"},
    "/releases": {"GET", "HEAD", "OPTIONS"},
    "/releases/1/dumps/ceopgraph.trig": {"GET", "HEAD", "OPTIONS"},
    "/releases/1/withdraw": {"POST", "OPTIONS"},
}


def test_every_write_path_preflight_lists_exactly_the_methods_its_route_takes(app: Flask) -> None:
    client = app.test_client()
    adapter = app.url_map.bind("localhost")
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("releases.")}
    tried = set()
    for path, methods in PREFLIGHTS.items():
        for method in methods - {"HEAD", "OPTIONS"}:
            tried.add(adapter.match(path.replace("ID", "0" * 32), method=method, return_rule=True)[0].rule)
    assert tried == routes  # every route of the write path, every method
    for path, methods in PREFLIGHTS.items():
        answer = client.options(path.replace("ID", "0" * 32))
        assert answer.status_code == 204, path
        assert set(answer.headers["Allow"].split(", ")) == methods, path
        assert answer.headers["Access-Control-Allow-Methods"] == answer.headers["Allow"]


def test_a_drafts_report_links_its_figures_into_the_preview_and_its_rules_into_the_guide(
    app: Flask, settings: Settings
) -> None:
    """Regression: a draft's focus nodes linked to the public site, a 404 for what only the draft holds.
    The issue's example: the 790 figure copied to 2013-2014 with the value 900, contradicting its words."""
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    base, copy = settings.base_uri, "data/annual-review-2012-13/children-safeguarded/2013-2014"
    copied = f"""<{base}data/graph/figures> {{
        <{base}{copy}> a <http://purl.org/linked-data/cube#Observation> ;
            <http://www.w3.org/2000/01/rdf-schema#label> "Children safeguarded and protected, 2013-2014"@en ;
            <http://purl.org/linked-data/cube#dataSet> <{base}data/annual-review-2012-13> ;
            <{base}def/dimension/statistic> <{base}def/statistic/children-safeguarded> ;
            <http://purl.org/linked-data/sdmx/2009/dimension#refPeriod>
                <http://reference.data.gov.uk/id/government-year/2013-2014> ;
            <http://purl.org/linked-data/sdmx/2009/measure#obsValue> 900 ;
            <http://purl.org/linked-data/sdmx/2009/attribute#unitMeasure> <{base}def/unit/child> ;
            <{base}def/attribute/precision> <{base}def/precision/exact> ;
            <{base}def/attribute/figure-status> <{base}def/figure-status/reported> ;
            <http://www.w3.org/ns/prov#wasDerivedFrom>
                <{base}id/news-item/ceop-annual-review-2012-13/segment/children-safeguarded> .
    }}
    """
    draft = _draft(client, sam, _dump(client) + copied.encode())
    assert draft["report"]["conforms"] is False
    page = client.get(f"/drafts/{draft['id']}", headers={**sam, "Accept": "text/html"}).get_data(as_text=True)
    preview = f"/drafts/{draft['id']}/view/{copy}"
    results = page[page.index('<ul id="results">') : page.index("</ul>", page.index('<ul id="results">'))]
    assert f'<a href="{preview}"><code>{base}{copy}</code></a>' in results
    assert '<a href="/validate#rule-ObservationShape-value-in-words">' in results
    assert '<a href="/validate#rule-ObservationShape-period-in-words">' in results
    assert client.get(preview, headers={**sam, "Accept": "text/html"}).status_code == 200  # the draft has it
