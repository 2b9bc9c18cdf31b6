"""Publishing with care, over HTTP with Flask's test client: a publish needs its release note (and, from
the page's form, its confirmation), the note is the release's version notes (on ``/releases``, the
release's own page and in the DCAT of its dumps and of the live releases graph); a withdrawal needs its
reason; buttons name the real next release; reading a draft writes nothing; ``/releases/{n}`` is a
page (and JSON, and RDF); the drafts list says who submitted each draft, with machine-readable times."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Dataset, Graph, Literal, URIRef

from ceopgraph.config import Settings
from ceopgraph.releases.service import Releases
from ceopgraph.web.services import of

from .releasing import NOTE, first_release_app, release_dump, releases_of, with_since_launch

VERSION_NOTES = URIRef("http://www.w3.org/ns/adms#versionNotes")
JSON_BODY = {"Content-Type": "application/json"}
# A registry time as a page shows it: readable, with the machine-readable value kept.
READABLE_TIME = r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC</time>'


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, settings: Settings, built_dist: Path) -> Iterator[Flask]:
    with first_release_app(settings, built_dist, tmp_path_factory.mktemp("publishing") / "data") as made:
        yield made


def _token(app: Flask, role: str, name: str) -> tuple[str, str, dict[str, str]]:
    """A new token's id, its secret, and the headers that present it."""
    record, secret = releases_of(app).tokens.create(role, name)
    return record.id, secret, {"Authorization": f"Bearer {secret}"}


def _current(client: FlaskClient) -> int:
    current: int = client.get("/releases", headers={"Accept": "application/json"}).get_json()["current"]
    return current


def _draft(client: FlaskClient, headers: dict[str, str], value: int) -> dict[str, Any]:
    """A conforming draft of the current release with the since-launch figure set to ``value``."""
    dump = release_dump(client, _current(client))
    answer = client.post(
        "/drafts", data=with_since_launch(dump, value), headers={**headers, "Content-Type": "application/trig"}
    )
    assert answer.status_code == 201, answer.data
    made: dict[str, Any] = answer.get_json()
    return made


def _publish(client: FlaskClient, pat: dict[str, str], draft_id: str, body: bytes) -> Any:
    read = client.get(f"/drafts/{draft_id}", headers=pat)
    assert read.status_code == 200, read.data
    return client.post(
        f"/drafts/{draft_id}/publish", data=body, headers={**pat, **JSON_BODY, "If-Match": read.headers["ETag"]}
    )


def _registry_state(releases: Releases) -> dict[str, object]:
    """Everything a write could change in the registry: every exported table and the state."""
    tables = {table: releases.registry.rows(table) for table in ("tokens", "drafts", "releases", "audit")}
    return {"tables": repr(tables), "state": releases.registry.state()}


def _sign_in(client: FlaskClient, secret: str) -> None:
    answer = client.post("/sign-in", data={"token": secret})
    assert answer.status_code == 303, answer.data


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_a_publish_needs_its_note_which_becomes_the_releases_version_notes(app: Flask) -> None:
    client = app.test_client()
    _, _, sam = _token(app, "submitter", "Sam")
    _, _, pat = _token(app, "publisher", "Pat")
    draft = _draft(client, sam, 2301)
    before = _registry_state(releases_of(app))
    for body in (b"", b"{}", b'{"note": "   "}'):
        refused = _publish(client, pat, draft["id"], body)
        assert refused.status_code == 400, refused.data
        assert "give a release note" in refused.get_json()["error"] and "note" in refused.get_json()["error"]
    assert _registry_state(releases_of(app))["state"] == before["state"]
    published = _publish(client, pat, draft["id"], b'{"note": "The since-launch count <corrected> to 2301"}')
    assert published.status_code == 201, published.data
    n = published.get_json()["release"]
    assert published.get_json()["notes"] == "The since-launch count <corrected> to 2301"

    listed = client.get("/releases", headers={"Accept": "text/html"}).get_data(as_text=True)
    row = listed.split(f'id="release-{n}"', 1)[1].split("</tr>", 1)[0]
    assert "The since-launch count &lt;corrected&gt; to 2301" in row  # shown, escaped
    page = client.get(f"/releases/{n}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "The since-launch count &lt;corrected&gt; to 2301" in page.get_data(as_text=True)

    note = Literal("The since-launch count <corrected> to 2301", lang="en")
    dump = Dataset(default_union=True)
    dump.parse(data=release_dump(client, n), format="trig")
    assert (of(app).settings.scheme.release(n), VERSION_NOTES, note) in dump  # in the release itself
    live = Graph().parse(data=client.get("/releases", headers={"Accept": "text/turtle"}).data, format="turtle")
    assert (of(app).settings.scheme.release(n), VERSION_NOTES, note) in live


def test_a_withdrawal_needs_its_reason(app: Flask) -> None:
    client = app.test_client()
    _, _, sam = _token(app, "submitter", "Sam")
    _, _, pat = _token(app, "publisher", "Pat")
    draft = _draft(client, sam, 2302)
    n = _publish(client, pat, draft["id"], b'{"note": "' + NOTE.encode() + b'"}').get_json()["release"]
    before = _registry_state(releases_of(app))
    for body in (b"", b"{}", b'{"note": ""}', b'{"note": " \\n "}'):
        refused = client.post(f"/releases/{n}/withdraw", data=body, headers={**pat, **JSON_BODY})
        assert refused.status_code == 400, refused.data
        assert refused.get_json()["error"].startswith(f"give the reason for withdrawing release {n}")
    assert _registry_state(releases_of(app))["state"] == before["state"]
    assert releases_of(app).registry.release(n).withdrawn is None  # type: ignore[union-attr]
    done = client.post(f"/releases/{n}/withdraw", data=b'{"note": "keyed wrongly"}', headers={**pat, **JSON_BODY})
    assert done.status_code == 200 and done.get_json()["withdrawn_note"] == "keyed wrongly"


def test_the_publish_button_names_the_real_next_release_and_the_form_needs_its_confirmation(app: Flask) -> None:
    """After a withdrawal the current release is an older one: the next release is still one past the
    highest ever published, and the form says so; the form's publish needs its box ticked and a note."""
    client = app.test_client()
    _, _, sam = _token(app, "submitter", "Sam")
    _, secret, pat = _token(app, "publisher", "Pat")
    first = _draft(client, sam, 2303)
    n = _publish(client, pat, first["id"], b'{"note": "' + NOTE.encode() + b'"}').get_json()["release"]
    withdrawn = client.post(f"/releases/{n}/withdraw", data=b'{"note": "a slip"}', headers={**pat, **JSON_BODY})
    assert withdrawn.status_code == 200
    assert _current(client) < n
    draft = _draft(client, sam, 2304)
    browser = app.test_client()
    _sign_in(browser, secret)
    page = browser.get(f"/drafts/{draft['id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert re.search(rf'<button type="submit" id="publish">Publish as release {n + 1}</button>', page), page
    version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": _csrf(page), "version": version, "note": "Corrected again"}
    before = _registry_state(releases_of(app))["state"]
    unconfirmed = browser.post(f"/drafts/{draft['id']}/publish", data=form, headers={"Accept": "text/html"})
    assert unconfirmed.status_code == 400
    assert "tick the box confirming" in unconfirmed.get_data(as_text=True)
    no_note = browser.post(f"/drafts/{draft['id']}/publish", data={**form, "confirm": "yes", "note": ""})
    assert no_note.status_code == 400 and "give a release note" in no_note.get_json()["error"]
    assert _registry_state(releases_of(app))["state"] == before
    confirmed = {**form, "confirm": "yes"}
    done = browser.post(f"/drafts/{draft['id']}/publish", data=confirmed, headers={"Accept": "text/html"})
    assert done.status_code == 303, done.data
    assert releases_of(app).registry.release(n + 1).notes == "Corrected again"  # type: ignore[union-attr]


def test_reading_a_draft_writes_nothing_even_when_its_diff_is_against_an_older_release(app: Flask) -> None:
    """A draft made before the latest publish: a publisher's GET (page, JSON, diff) computes its diff
    against the current release for the reader, and the registry (its "Updated" time, revision, audit)
    stays exactly as it was; the version the reader got names that diff, and publishes."""
    client = app.test_client()
    _, _, sam = _token(app, "submitter", "Sam")
    _, secret, pat = _token(app, "publisher", "Pat")
    stale = _draft(client, sam, 2310)
    newer = _draft(client, sam, 2311)
    assert _publish(client, pat, newer["id"], b'{"note": "' + NOTE.encode() + b'"}').status_code == 201
    browser = app.test_client()
    _sign_in(browser, secret)
    before = _registry_state(releases_of(app))
    page = browser.get(f"/drafts/{stale['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    read = client.get(f"/drafts/{stale['id']}", headers=pat)
    diff = client.get(f"/drafts/{stale['id']}/diff", headers=pat)
    assert read.status_code == 200 and diff.status_code == 200
    assert _registry_state(releases_of(app)) == before
    assert read.get_json()["base_release"] == _current(client) == diff.get_json()["base_release"]
    assert read.get_json()["updated"] == stale["updated"]
    assert read.headers["ETag"] != f'"{stale["version"]}"'  # it names the diff against the newer release
    published = client.post(
        f"/drafts/{stale['id']}/publish",
        data=b'{"acknowledge": "reverts", "note": "' + NOTE.encode() + b'"}',  # it takes back the newer one
        headers={**pat, **JSON_BODY, "If-Match": read.headers["ETag"]},
    )
    assert published.status_code == 201, published.data


def test_every_release_has_its_own_page_json_and_description(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/releases/1", headers={"Accept": "text/html"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<h1>Release 1 of the dataset</h1>" in text
    assert '<a href="/releases/1/dumps/ceopgraph.trig">' in text
    assert re.search(READABLE_TIME, text)
    assert client.get("/releases/1", headers={"Accept": "application/json"}).get_json()["release"] == 1
    described = Graph().parse(data=client.get("/releases/1", headers={"Accept": "text/turtle"}).data, format="turtle")
    iri = of(app).settings.scheme.release(1)
    assert (iri, URIRef("http://www.w3.org/ns/dcat#version"), Literal("1")) in described
    others = tuple(f"/release/{n}" for n in range(2, 9))
    assert not any(s != iri and str(s).endswith(others) for s in described.subjects())  # this release's only
    missing = client.get("/releases/999", headers={"Accept": "application/json"})
    assert missing.status_code == 404 and "no release 999" in missing.get_json()["error"]


def test_the_drafts_list_says_who_submitted_each_draft_its_base_release_and_readable_times(app: Flask) -> None:
    client = app.test_client()
    _, _, sam = _token(app, "submitter", "Sam Submitter-Listed")
    _, secret, _ = _token(app, "publisher", "Pat")
    draft = _draft(client, sam, 2320)
    browser = app.test_client()
    _sign_in(browser, secret)
    page = browser.get("/drafts", headers={"Accept": "text/html"}).get_data(as_text=True)
    row = page.split(f'id="draft-{draft["id"][:8]}"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="submitter">Sam Submitter-Listed</td>' in row
    made_from = draft["made_from"]  # the release it matches best
    link = f'<a href="/releases/{made_from}">release {made_from}</a>'
    assert made_from >= 1 and f'<td class="made-from">{link}</td>' in row
    stamp = re.escape(draft["created"])
    assert re.search(rf'<time datetime="{stamp}">\d{{1,2}} [A-Z][a-z]+ \d{{4}}, \d\d:\d\d UTC</time>', row), row
