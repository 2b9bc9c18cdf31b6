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
from ceopgraph.web.services import of

from .apps import embedded_app
from .releasing import (
    CONTRADICTING_COPY,
    GOOD_FIGURE,
    NOTE,
    changed,
    contradicting_copy,
    first_release_app,
    local_releases,
    release_dump,
    releases_of,
)
from .submissions.drafts import CORPUS, HostileDraft

BLOB_COLUMNS = {"nquads", "changeset", "report", "diff"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with first_release_app(settings, built_dist, tmp_path_factory.mktemp("releases") / "data") as made:
        yield made


def _token(app: Flask, role: str, name: str) -> tuple[str, dict[str, str]]:
    """A new token's id, and the headers that present it."""
    record, secret = releases_of(app).tokens.create(role, name)
    return record.id, {"Authorization": f"Bearer {secret}"}


def _dump(client: FlaskClient) -> bytes:
    return release_dump(client, 1)


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
    registry = releases_of(app).registry
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
    with client.get("/releases/1/dumps/ceopgraph.trig") as served:
        assert served.status_code == 200


def test_a_revoked_submitters_draft_cannot_be_published(app: Flask) -> None:
    client = app.test_client()
    sam_id, sam = _token(app, "submitter", "Sam")
    _, pat = _token(app, "publisher", "Pat")
    draft = _draft(client, sam, changed(_dump(client), GOOD_FIGURE))
    releases = releases_of(app)
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
    "/sign-out": {"GET", "HEAD", "POST", "OPTIONS"},
    "/drafts": {"GET", "HEAD", "POST", "OPTIONS"},
    "/drafts/ID": {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"},
    "/drafts/ID/replace": {"POST", "OPTIONS"},
    "/drafts/ID/discard": {"POST", "OPTIONS"},
    "/drafts/ID/diff": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/diff.json": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/sparql": {"GET", "HEAD", "POST", "OPTIONS"},
    "/drafts/ID/view/": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/view/doc/x": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/view/search": {"GET", "HEAD", "OPTIONS"},
    "/drafts/ID/publish": {"POST", "OPTIONS"},
    "/releases": {"GET", "HEAD", "OPTIONS"},
    "/releases/1": {"GET", "HEAD", "OPTIONS"},
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


# The diff a reviewer reads, and what a publish must acknowledge ---------------------------------------

IMAGES = "https://w3id.org/ceopgraph/def/threat-area/indecent-images"


@pytest.fixture
def fresh(tmp_path: Path, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    """An app over its own data directory (release 1), for tests that publish."""
    data_dir = tmp_path / "data"
    assert local_releases(data_dir).ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with embedded_app(settings, built_dist, data_dir=data_dir, writes_per_client=1000, writes_per_token=1000) as made:
        yield made


def _with_alt_labels(dump: bytes, n: int) -> bytes:
    labels = ", ".join(f'"alias {i}"@en' for i in range(n))
    return dump + f"\n<{BASE}data/graph/threat-areas> {{ <{IMAGES}> <{SKOS}altLabel> {labels} . }}\n".encode()


BASE = "https://w3id.org/ceopgraph/"
SKOS = "http://www.w3.org/2004/02/skos/core#"


def test_the_diff_page_lists_every_change_its_link_gives_json_and_its_counts_agree(app: Flask) -> None:
    """The issue: the page said "10 triple(s) added" and "submitted: 479 added", an added altLabel was
    "1 triple(s) added", nowhere saying which, and its "the diff as JSON" link opened the same HTML."""
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    draft = _draft(client, sam, _with_alt_labels(changed(_dump(client), GOOD_FIGURE), 1))
    page = client.get(f"/drafts/{draft['id']}/diff", headers={**sam, "Accept": "text/html"}).get_data(as_text=True)
    # The figure's value and its words (the article's text, its quote, the next quote's prefix) changed.
    assert 'id="counts">1 statement(s) added, 0 removed, 4 changed' in page
    assert "triple(s) added, " not in page  # one set of counts
    altlabel = re.search(r'<tr class="added">.*?</tr>', page, re.S)
    assert altlabel and "skos:altLabel" in altlabel.group() and "alias 0" in altlabel.group()
    assert f'href="/drafts/{draft["id"]}/view/def/threat-area/indecent-images"' in page  # into the preview
    assert "<td>2255</td><td>2300</td>" in page.replace("\n    ", "")
    link = re.search(r'href="([^"]+)" id="diff-json"', page)
    assert link and link.group(1) == f"/drafts/{draft['id']}/diff.json"
    as_json = client.get(link.group(1), headers={**sam, "Accept": "text/html,*/*;q=0.8"})  # as a browser asks
    assert as_json.mimetype == "application/json" and as_json.get_json()["statements"] == {
        "added": 1,
        "removed": 0,
        "changed": 4,
    }
    negotiated = client.get(f"/drafts/{draft['id']}/diff", headers={**sam, "Accept": "application/json"})
    assert negotiated.get_json() == as_json.get_json()
    trig = client.get(f"/drafts/{draft['id']}/diff.trig", headers={**sam, "Accept": "text/html"})
    assert trig.mimetype == "application/trig" and b"diff#added" in trig.data


def test_the_diff_page_caps_its_rows(app: Flask) -> None:
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    draft = _draft(client, sam, _with_alt_labels(_dump(client), 350))
    page = client.get(f"/drafts/{draft['id']}", headers={**sam, "Accept": "text/html"}).get_data(as_text=True)
    table = page.split('id="statement-changes"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr class=") == 300
    assert "And 50 more change(s), all in the diff as JSON." in page


def test_a_draft_that_removes_most_of_the_release_needs_acknowledge_removals(fresh: Flask) -> None:
    """The issue: a draft from ``/validate/example-submission.ttl`` plus one figure removed 456 statements,
    every threat area, quotation and claim, and was published with one click."""
    client = fresh.test_client()
    _, sam = _token(fresh, "submitter", "Sam")
    _, pat = _token(fresh, "publisher", "Pat")
    example = client.get("/validate/example-submission.ttl").data
    figure = (
        b"\n<https://w3id.org/ceopgraph/data/annual-review-2012-13/children-safeguarded/2013-2014> "
        b'<http://www.w3.org/2000/01/rdf-schema#label> "Children safeguarded and protected, 2013-2014"@en .\n'
    )
    made = client.post("/drafts", data=example + figure, headers={**sam, "Content-Type": "text/turtle"})
    assert made.status_code == 201, made.data
    draft = made.get_json()
    assert draft["acknowledge"] == ["removals"]
    diff = client.get(f"/drafts/{draft['id']}/diff", headers=pat).get_json()
    assert diff["statements"]["removed"] > 100
    page = client.get(f"/drafts/{draft['id']}", headers={**pat, "Accept": "text/html"}).get_data(as_text=True)
    warnings = page.split('id="warnings"', 1)[1].split("</div>", 1)[0]
    assert "It removes 4 of the 4 threat areas of release 1" in warnings and "The home page would be empty" in warnings
    assert page.index('id="warnings"') < page.index('id="counts"')  # at the top of the diff
    assert 'name="acknowledge" value="removals" required' in page
    registry = releases_of(fresh).registry
    before = registry.state()
    version = {"If-Match": f'"{draft["version"]}"'}
    refused = client.post(f"/drafts/{draft['id']}/publish", headers={**pat, **version})
    assert refused.status_code == 409 and "acknowledge=removals" in refused.get_json()["error"]
    assert "It removes 4 of the 4 threat areas" in refused.get_json()["error"]
    wrong = client.post(f"/drafts/{draft['id']}/publish?acknowledge=reverts", headers={**pat, **version})
    assert wrong.status_code == 409 and registry.state() == before
    bogus = client.post(f"/drafts/{draft['id']}/publish?acknowledge=everything", headers={**pat, **version})
    assert bogus.status_code == 400 and "acknowledge=everything: not an acknowledgement" in bogus.get_json()["error"]
    done = client.post(
        f"/drafts/{draft['id']}/publish",
        data={"acknowledge": "reverts,removals", "note": NOTE},
        headers={**pat, **version},
    )
    assert done.status_code == 201, done.data
    assert ("publish", "refused") in [(r.action, r.outcome) for r in registry.audit_records()]


def test_a_stale_draft_shows_what_it_reverts_and_needs_acknowledge_reverts(fresh: Flask) -> None:
    """The issue: a draft made from release 1, diffed again against release 2, showed a change of release
    2's as its own, nothing said it was written against release 1, and one click reverted release 2."""
    client = fresh.test_client()
    _, sam = _token(fresh, "submitter", "Sam")
    _, pat = _token(fresh, "publisher", "Pat")
    one = _dump(client)
    first = _draft(client, sam, changed(one, GOOD_FIGURE))
    published = client.post(
        f"/drafts/{first['id']}/publish", json={"note": NOTE}, headers={**pat, "If-Match": f'"{first["version"]}"'}
    )
    assert published.status_code == 201, published.data
    stale = one.replace(b"obsValue 16568", b"obsValue 16570")
    guessed = _draft(client, sam, stale)  # no base named: release 1 matches it best
    assert guessed["made_from"] == 1 and guessed["acknowledge"] == ["reverts"]
    assert _draft(client, sam, release_dump(client, 2).replace(b"obsValue 16568", b"obsValue 16570"))["made_from"] == 2
    bad = client.post("/drafts?base=one", data=stale, headers={**sam, "Content-Type": "application/trig"})
    assert bad.status_code == 400 and "base=one" in bad.get_json()["error"]
    unknown = client.post("/drafts?base=9", data=stale, headers={**sam, "Content-Type": "application/trig"})
    assert unknown.status_code == 422 and "no release 9" in unknown.get_json()["error"]
    named = client.post("/drafts?base=2", data=stale, headers={**sam, "Content-Type": "application/trig"})
    assert named.status_code == 201 and named.get_json()["made_from"] == 2  # as its submitter says
    draft = guessed
    diff = client.get(f"/drafts/{draft['id']}/diff", headers=pat).get_json()
    (revert,) = diff["reverts"]
    assert revert["releases"] == "release 2"
    taken_back = [(c["before"], c["after"]) for s in revert["subjects"] for c in s["changes"]]
    assert ("2300", "2255") in taken_back and len(taken_back) == 4  # the value and its three texts
    page = client.get(f"/drafts/{draft['id']}", headers={**pat, "Accept": "text/html"}).get_data(as_text=True)
    assert "Made from release 1" in page and "What it takes back of release 2: 4 statement(s)" in page
    version = {"If-Match": f'"{draft["version"]}"'}
    refused = client.post(f"/drafts/{draft['id']}/publish", headers={**pat, **version})
    assert refused.status_code == 409
    message = refused.get_json()["error"]
    assert "acknowledge=reverts" in message and "made from release 1" in message and "release 2: " in message
    done = client.post(
        f"/drafts/{draft['id']}/publish", json={"acknowledge": ["reverts"], "note": NOTE}, headers={**pat, **version}
    )
    assert done.status_code == 201, done.data


def test_the_home_page_and_releases_say_what_their_counts_count(app: Flask) -> None:
    """The home page said 1,053 statements and /releases 925 for the same release, neither saying of what."""
    client = app.test_client()
    home = client.get("/", headers={"Accept": "text/html"}).get_data(as_text=True)
    listed = client.get("/releases", headers={"Accept": "text/html"}).get_data(as_text=True)
    releases = client.get("/releases", headers={"Accept": "application/json"}).get_json()["releases"]
    content = f"{releases[0]['triples']:,}"
    whole = re.search(r'<span id="statements">([\d,]+) statements in all its graphs, the metadata computed', home)
    assert whole is not None and whole.group(1) != content  # two counts of two things, each named
    assert f'<td class="n">{content}</td>' in listed
    assert "without the metadata every build computes from them" in listed
    assert "which the home page's count of statements includes" in listed


def _nav(page: str) -> dict[str, bool]:
    """The navigation's session items: each link's text, and whether it is shown (not ``hidden``)."""
    items = re.findall(r'<li data-session="(?:in|out)"( hidden)?><a href="[^"]*">([^<]+)</a></li>', page)
    return {text: not hidden for hidden, text in items}


def test_the_navigation_offers_sign_in_and_once_signed_in_drafts_and_sign_out(app: Flask) -> None:
    """There was no Sign in or Drafts in the navigation: a submitter had to know the addresses."""
    client = app.test_client()
    _, secret = releases_of(app).tokens.create("submitter", "Nav Tester")
    html = {"Accept": "text/html"}
    home = client.get("/", headers=html).get_data(as_text=True)
    assert _nav(home) == {"Sign in": True, "Drafts": False, "Sign out": False}
    assert "/static/nav.js" in home  # the public page is shared: the script shows the signed-in items

    signed_in = client.post("/sign-in", data={"token": secret}, headers=html)
    assert signed_in.status_code == 303 and client.get_cookie("ceopgraph_signed_in") is not None
    drafts = client.get("/drafts", headers=html).get_data(as_text=True)
    assert _nav(drafts) == {"Sign in": False, "Drafts": True, "Sign out": True}
    assert "/static/nav.js" not in drafts  # rendered for its reader
    sign_out = client.get("/sign-out", headers=html).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', sign_out)
    assert csrf is not None and "Nav Tester" in sign_out

    signed_out = client.post("/sign-out", data={"csrf": csrf.group(1)}, headers=html)
    assert signed_out.status_code == 303
    assert client.get_cookie("ceopgraph_signed_in") is None and client.get_cookie("ceopgraph_session") is None
    again = client.get("/sign-out", headers=html).get_data(as_text=True)
    assert 'id="signed-out"' in again and _nav(again) == {"Sign in": True, "Drafts": False, "Sign out": False}


def test_a_drafts_report_links_its_figures_into_the_preview_and_its_rules_into_the_guide(
    app: Flask, settings: Settings
) -> None:
    """Regression: a draft's focus nodes linked to the public site, a 404 for what only the draft holds.
    The issue's example: the 790 figure copied to 2013-2014 with the value 900, contradicting its words."""
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    base, copy = settings.base_uri, CONTRADICTING_COPY
    draft = _draft(client, sam, _dump(client) + contradicting_copy(base))
    assert draft["report"]["conforms"] is False
    page = client.get(f"/drafts/{draft['id']}", headers={**sam, "Accept": "text/html"}).get_data(as_text=True)
    preview = f"/drafts/{draft['id']}/view/{copy}"
    results = page[page.index('<ul id="results">') : page.index("</ul>", page.index('<ul id="results">'))]
    assert f'<a href="{preview}"><code>{base}{copy}</code></a>' in results
    assert '<a href="/validate#rule-ObservationShape-value-in-words">' in results
    assert '<a href="/validate#rule-ObservationShape-period-in-words">' in results
    assert client.get(preview, headers={**sam, "Accept": "text/html"}).status_code == 200  # the draft has it


def test_a_drafts_cube_that_is_not_one_table_answers_its_csv_with_422(app: Flask, settings: Settings) -> None:
    """A figure with two values of its measure cannot be one row: the preview's CSV says so, never a 500."""
    client = app.test_client()
    _, sam = _token(app, "submitter", "Sam")
    base = settings.base_uri
    second_value = f"""<{base}data/graph/figures> {{
    <{base}{CONTRADICTING_COPY.replace("2013-2014", "2012-2013")}>
        <http://purl.org/linked-data/sdmx/2009/measure#obsValue> 791 .
}}
""".encode()
    draft = _draft(client, sam, _dump(client) + second_value)
    answer = client.get(f"/drafts/{draft['id']}/view/data/annual-review-2012-13.csv", headers=sam)
    assert answer.status_code == 422, answer.data[:300]
    assert b"2 values" in answer.data
