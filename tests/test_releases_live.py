"""The write path on a real server (Granian, two workers, a scratch data directory): the workflow over
HTTP, the read path following a publish in every worker, and what an attacker would try, each refused
with nothing changed (the registry's rows and every release file's hash compared before and after)."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ceopgraph.urischeme import DUMP_STEM

from .listener import Listener
from .releasing import (
    BAD_FIGURE,
    GOOD_CHANGE,
    GOOD_FIGURE,
    NOTE,
    ReleaseServer,
    bearer,
    call,
    changed,
    cli,
    current_dump,
    new_token,
    publish,
    release_server,
    session_cookie,
    sha256,
    store_state,
    submit,
    with_since_launch,
)
from .submissions.drafts import with_cycles, with_twins
from .test_rdfio import REFUSED, bounded, hostile

SINCE_LAUNCH = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
VALUE_QUERY = f"SELECT ?v WHERE {{ <{SINCE_LAUNCH}> <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }}"
TRIG = {"Content-Type": "application/trig"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[ReleaseServer]:
    folder = tmp_path_factory.mktemp("releases-live")
    # Every test here writes from 127.0.0.1 with the same few tokens: the budgets are raised here and
    # tested on a server of their own (test_releases_tokens_live).
    env = {
        "CEOPGRAPH_WRITES_PER_CLIENT": "10000",
        "CEOPGRAPH_WRITES_PER_TOKEN": "10000",
        "CEOPGRAPH_SIGN_INS_PER_CLIENT": "10000",
        "CEOPGRAPH_MAX_OPEN_DRAFTS_PER_SUBMITTER": "1000",
        "CEOPGRAPH_TRUSTED_PROXIES": "127.0.0.1",
    }
    with release_server(folder / "data", built_dist, folder / "server.log", env=env) as running:
        yield running


def _release_1(server: ReleaseServer) -> bytes:
    status, _, body = call(server.url + "releases/1/dumps/ceopgraph.trig")
    assert status == 200
    return body


def _value(server: ReleaseServer) -> str:
    status, _, body = call(
        server.url + "sparql?" + urllib.parse.urlencode({"query": VALUE_QUERY}), headers={"Accept": "text/csv"}
    )
    assert status == 200, body
    return body.decode().split()[-1]


def test_submit_review_publish_and_every_worker_follows(server: ReleaseServer) -> None:
    release_1 = _release_1(server)
    void_before = call(server.url + ".well-known/void", headers={"Accept": "text/turtle"})[1]["etag"]
    status, bad = submit(server.url, server.submitter, changed(release_1, BAD_FIGURE))
    assert status == 201 and bad["conforms"] is False and bad["violations"] == 1
    assert bad["submitted_by"] == {"id": server.submitter.split("_")[1], "name": "Sam Submitter"}
    assert bad["created"].endswith("Z") and bad["report"]["results"][0]["severity"] == "Violation"
    location = server.url + f"drafts/{bad['id']}"
    status, _, body = publish(server.url, server.publisher, bad["id"])
    assert status == 422 and json.loads(body)["report"]["conforms"] is False

    status, _, body = call(location, "PUT", changed(release_1, GOOD_FIGURE), bearer(server.submitter, **TRIG))
    assert status == 200 and json.loads(body)["conforms"] is True
    status, headers, body = call(location + "/diff", headers=bearer(server.publisher))
    assert status == 200 and headers["cache-control"] == "no-store"
    assert [f["change"] for f in json.loads(body)["figures"]] == [GOOD_CHANGE]
    status, headers, body = call(location + "/diff", headers=bearer(server.publisher, Accept="application/trig"))
    assert status == 200 and b"#added>" in body and b"2300" in body

    ask = urllib.parse.urlencode({"query": VALUE_QUERY})
    status, headers, body = call(f"{location}/sparql?{ask}", headers=bearer(server.submitter, Accept="text/csv"))
    assert status == 200 and body.decode().split()[-1] == "2300" and headers["cache-control"] == "no-store"
    assert _value(server) == "2255"  # the public endpoint still shows release 1

    status, _, body = publish(server.url, server.publisher, bad["id"])
    assert status == 201 and json.loads(body)["release"] == 2
    published = time.monotonic()
    while {_value(server) for _ in range(20)} != {"2300"}:  # 20 answers in a row: both workers switched
        assert time.monotonic() - published < 15, "a worker still serves release 1"
        time.sleep(0.1)
    assert call(server.url + ".well-known/void", headers={"Accept": "text/turtle"})[1]["etag"] != void_before

    assert _release_1(server) == release_1  # immutable, still resolvable
    status, _, page = call(server.url + "data/ceopgraph/release/1", headers={"Accept": "text/html"})
    assert status == 200 and b"Release 1" in page
    status, _, listing = call(server.url + "releases", headers={"Accept": "application/json"})
    data = json.loads(listing)
    assert data["current"] == 2 and [r["release"] for r in data["releases"]] == [1, 2]
    current_dump = call(server.url + f"dumps/{DUMP_STEM}.trig")[2]
    assert current_dump == call(server.url + "releases/2/dumps/ceopgraph.trig")[2]
    for release in data["releases"]:
        for name, dump in release["dumps"].items():
            assert sha256(server.data_dir / "releases" / str(release["release"]) / name) == dump["sha256"]
    status, _, turtle = call(server.url + "releases", headers={"Accept": "text/turtle"})
    assert status == 200 and b"hasCurrentVersion" in turtle


def test_attacks_are_refused_and_change_nothing(server: ReleaseServer, listener: Listener, tmp_path: Path) -> None:
    url = server.url
    mine = submit(url, server.submitter, changed(_release_1(server), GOOD_FIGURE))[1]["id"]
    other = new_token(server.data_dir, "submitter", "Someone Else")
    before = store_state(server.data_dir)
    data = changed(_release_1(server), GOOD_FIGURE)
    refused: list[tuple[str, str, dict[str, str], bytes, int]] = [
        ("no token", "POST", TRIG, data, 401),
        ("a malformed token", "POST", bearer("cgt_nope", **TRIG), data, 401),
        ("a wrong secret", "POST", bearer(server.submitter[:-4] + "AAAA", **TRIG), data, 401),
        ("basic auth", "POST", {"Authorization": "Basic YTpi", **TRIG}, data, 401),
        ("an enormous token", "POST", bearer("cgt_" + "a" * 5000, **TRIG), data, 401),
    ]
    for why, method, headers, body, expected in refused:
        status, _, answer = call(url + "drafts", method, body, headers)
        assert status == expected, (why, status, answer)
    draft = url + f"drafts/{mine}"
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/diff"), ("GET", "/sparql?query=ASK{}"),
                         ("POST", "/publish")):  # fmt: skip
        status, _, _ = call(draft + path, method, data if method == "PUT" else None, bearer(other, **TRIG))
        assert status == 404, (method, path, status)  # another submitter: as if there were no such draft
        status, _, _ = call(url + "drafts/" + "f" * 32 + path, method, None, bearer(server.publisher))
        assert status in (404, 403), (method, path, status)
    assert call(draft + "/publish", "POST", b"", bearer(server.submitter))[0] == 403
    assert call(url + "releases/1/withdraw", "POST", b"", bearer(server.submitter))[0] == 403
    for update in ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "DROP ALL"):
        for token in (server.publisher, server.submitter):
            body = urllib.parse.urlencode({"update": update}).encode()
            headers = bearer(token, **{"Content-Type": "application/x-www-form-urlencoded"})
            status, _, _ = call(url + "sparql", "POST", body, headers)
            assert 400 <= status < 500
    for name, _reason in REFUSED:
        file = hostile(name, listener.url, tmp_path)
        media = {"rdf": "application/rdf+xml", "jsonld": "application/ld+json"}[file.suffix.lstrip(".")]
        status, _, answer = call(
            url + "drafts", "POST", file.read_bytes(), bearer(server.submitter, **{"Content-Type": media})
        )
        assert status == 400, (name, answer)
    assert listener.requests == 0
    assert _declared_too_large(url, server.submitter) == 413
    assert store_state(server.data_dir) == before


def test_a_browser_session_needs_its_csrf_token_and_our_origin(server: ReleaseServer) -> None:
    url = server.url
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, headers, _ = call(
        url + "sign-in", "POST", urllib.parse.urlencode({"token": server.submitter}).encode(), form
    )
    assert status == 303
    cookie = session_cookie(headers)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    session = {"Cookie": cookie.split(";", 1)[0]}
    page = call(url + "drafts", headers={**session, "Accept": "text/html"})[2].decode()
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    before = store_state(server.data_dir)
    data = changed(_release_1(server), GOOD_FIGURE)
    for headers in ({**session, **TRIG}, {**session, **TRIG, "X-CSRF-Token": "wrong"},
                    {**session, **TRIG, "X-CSRF-Token": csrf, "Origin": "https://evil.example"}):  # fmt: skip
        assert call(url + "drafts", "POST", data, headers)[0] == 403
    assert store_state(server.data_dir)["files"] == before["files"]
    assert store_state(server.data_dir)["state"] == before["state"]
    status, _, body = call(
        url + "drafts", "POST", data, {**session, **TRIG, "X-CSRF-Token": csrf, "Origin": url.rstrip("/")}
    )
    assert status == 201, body
    assert call(url + "sign-in", "POST", b"token=x", {**form, "Origin": "https://evil.example"})[0] == 403
    call(url + "sign-out", "POST", urllib.parse.urlencode({"csrf": csrf}).encode(), {**session, **form})
    assert call(url + "drafts", headers=session)[0] == 401  # the session is gone


def test_revocation_takes_effect_at_once_in_every_worker(server: ReleaseServer) -> None:
    token = new_token(server.data_dir, "submitter", "Soon Revoked")
    assert {call(server.url + "drafts", headers=bearer(token))[0] for _ in range(6)} == {200}
    token_id = token.split("_")[1]
    done = cli(server.data_dir, "tokens", "revoke", token_id)
    assert done.returncode == 0, done.stderr
    assert {call(server.url + "drafts", headers=bearer(token))[0] for _ in range(10)} == {401}


def _declared_too_large(url: str, token: str) -> int:
    """A draft declaring 64 MB: refused from its head, before a byte of the body is read."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)  # type: ignore[arg-type]  # a URL with a host
    try:
        connection.putrequest("POST", "/drafts")
        for name, value in bearer(token, **{"Content-Type": "text/turtle", "Content-Length": str(64 << 20)}).items():
            connection.putheader(name, value)
        connection.endheaders(b"@prefix ex: <urn:x:> .\n")
        return connection.getresponse().status
    finally:
        connection.close()


def test_concurrent_uploads_do_not_interfere_and_reads_go_on_during_a_publish(server: ReleaseServer) -> None:
    dump = current_dump(server.url)
    bodies = [with_since_launch(dump, 4000 + i) for i in range(6)]
    results: dict[int, tuple[int, dict[str, Any]]] = {}

    def upload(index: int) -> None:
        results[index] = submit(server.url, server.submitter, bodies[index])

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(status for status, _ in results.values()) == [201] * len(bodies)
    assert len({draft["id"] for _, draft in results.values()}) == len(bodies)
    for index, (_, draft) in results.items():
        diff = json.loads(call(server.url + f"drafts/{draft['id']}/diff", headers=bearer(server.publisher))[2])
        assert [f["after"] for f in diff["figures"]] == [str(4000 + index)]

    reads: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for path in (
                "sparql?" + urllib.parse.urlencode({"query": VALUE_QUERY}),
                "doc/organisation/ceop",
                "dumps/ceopgraph.ttl",
            ):
                reads.append(
                    call(server.url + path, headers={"Accept": "text/html" if "doc" in path else "text/csv"})[0]
                )

    reader = threading.Thread(target=read)
    reader.start()
    try:
        status, _, body = publish(server.url, server.publisher, results[0][1]["id"])
        assert status == 201, body
        deadline = time.monotonic() + 15
        while {_value(server) for _ in range(20)} != {"4000"}:
            assert time.monotonic() < deadline
    finally:
        stop.set()
        reader.join(timeout=60)
    assert reads and set(reads) == {200}, sorted(set(reads))
    stale = results[1][1]  # its version names its diff against the release before this publish
    headers = bearer(server.publisher, **{"If-Match": f'"{stale["version"]}"', "Content-Type": "application/json"})
    note = json.dumps({"note": NOTE}).encode()
    status, _, body = call(server.url + f"drafts/{stale['id']}/publish", "POST", note, headers)
    assert status == 409 and b"read the draft again" in body


def test_draft_pages_show_the_data_as_it_would_be_to_its_readers_only(server: ReleaseServer) -> None:
    dump = current_dump(server.url)
    body = with_since_launch(dump, 9876)
    draft = submit(server.url, server.submitter, body)[1]["id"]
    view = f"{server.url}drafts/{draft}/view/"
    page_path = "data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
    html = bearer(server.submitter, Accept="text/html")
    status, headers, page = call(view + page_path, headers=html)
    assert status == 200 and b"9876" in page and b'id="preview-banner"' in page
    assert headers["cache-control"] == "no-store" and "etag" not in headers
    assert f'href="/drafts/{draft}/view/'.encode() in page  # its links stay in the preview
    assert b"9876" not in call(server.url + page_path, headers={"Accept": "text/html"})[2]  # not published
    status, _, turtle = call(view + page_path, headers=bearer(server.publisher, Accept="text/turtle"))
    assert status == 200 and b"9876" in turtle
    status, _, home = call(view, headers=html)
    assert status == 200 and b'id="preview-banner"' in home
    status, headers, _ = call(view + "id/organisation/ceop", headers=html)
    assert status == 303 and headers["location"] == f"/drafts/{draft}/view/doc/organisation/ceop"
    status, _, missing = call(view + "doc/organisation/nobody", headers=html)
    assert status == 404 and b"preview-banner" in missing
    other = new_token(server.data_dir, "submitter", "Not Theirs")
    for token in (other, None):
        headers = bearer(other, Accept="text/html") if token else {"Accept": "text/html"}
        assert call(view + page_path, headers=headers)[0] in ((404,) if token else (401,))


def test_audit_and_tokens_are_never_public(server: ReleaseServer) -> None:
    """Every write was audited, but the audit is not in the store, the dumps or the pages, and the
    releases credit the organisation, not the token that published them."""
    from .releasing import local_releases

    dump = current_dump(server.url)
    body = with_since_launch(dump, 5555)
    draft = submit(server.url, server.submitter, body)[1]["id"]
    assert publish(server.url, server.publisher, draft)[0] == 201
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        call(server.url + "sign-in", "POST", urllib.parse.urlencode({"token": server.publisher}).encode(), form)[0]
        == 303
    )
    records = local_releases(server.data_dir).registry.audit_records()
    assert {"create-draft", "publish", "sign-in"} <= {r.action for r in records}
    publisher_id = server.publisher.split("_")[1]
    assert any(r.agent == publisher_id and r.action == "publish" and r.outcome == "done" for r in records)
    audit = "ASK { ?a a prov:Activity ; prov:wasAssociatedWith ?who FILTER(CONTAINS(STR(?a), '/audit/')) }"
    ask = urllib.parse.urlencode({"query": "PREFIX prov: <http://www.w3.org/ns/prov#> " + audit})
    assert (
        call(server.url + "sparql?" + ask, headers={"Accept": "application/sparql-results+json"})[2].count(b"false")
        == 1
    )
    listing = json.loads(call(server.url + "releases", headers={"Accept": "application/json"})[2])
    for release in listing["releases"]:
        for name, dump in release["dumps"].items():
            data = call(server.url + dump["url"].lstrip("/"))[2]
            assert publisher_id.encode() not in data and b"Pat Publisher" not in data, (release["release"], name)
    turtle = call(server.url + "releases", headers={"Accept": "text/turtle"})[2]
    assert publisher_id.encode() not in turtle and b"Pat Publisher" not in turtle
    page = call(server.url + "releases", headers={"Accept": "text/html"})[2]
    assert publisher_id.encode() not in page


def test_two_publishers_at_once_one_wins_the_other_gets_409(server: ReleaseServer) -> None:
    dump = current_dump(server.url)
    first, second = (
        submit(server.url, server.submitter, with_since_launch(dump, value))[1]["id"] for value in (7001, 7002)
    )
    other_publisher = new_token(server.data_dir, "publisher", "Second Publisher")
    versions = {
        d: call(server.url + f"drafts/{d}", headers=bearer(server.publisher))[1]["etag"] for d in (first, second)
    }
    statuses: list[int] = []
    start = threading.Barrier(2)

    def publish(draft: str, token: str) -> None:
        start.wait()
        statuses.append(
            call(
                server.url + f"drafts/{draft}/publish",
                "POST",
                json.dumps({"note": NOTE}).encode(),
                bearer(token, **{"If-Match": versions[draft], "Content-Type": "application/json"}),
            )[0]
        )

    threads = [
        threading.Thread(target=publish, args=pair) for pair in ((first, server.publisher), (second, other_publisher))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [201, 409]
    listing = json.loads(call(server.url + "releases", headers={"Accept": "application/json"})[2])
    assert [r["release"] for r in listing["releases"]] == list(range(1, listing["current"] + 1))


def test_the_session_cookie_is_secure_over_https(server: ReleaseServer) -> None:
    """Behind a configured proxy that says the client used HTTPS (here: this test, from 127.0.0.1)."""
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Proto": "https"}
    body = urllib.parse.urlencode({"token": server.submitter}).encode()
    status, headers, _ = call(
        server.url + "sign-in", "POST", body, {**form, "Origin": "https://" + server.url.split("//")[1].rstrip("/")}
    )
    assert status == 303 and "Secure" in session_cookie(headers) and "HttpOnly" in session_cookie(headers)
    status, headers, _ = call(
        server.url + "sign-in", "POST", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 303 and "Secure" not in session_cookie(headers)


def test_a_withdrawn_release_stays_resolvable_with_a_notice(server: ReleaseServer) -> None:
    before = json.loads(call(server.url + "releases", headers={"Accept": "application/json"})[2])
    dump = current_dump(server.url)
    draft = submit(server.url, server.submitter, with_since_launch(dump, 8888))[1]["id"]
    status, _, body = publish(server.url, server.publisher, draft)
    n = json.loads(body)["release"]
    deadline = time.monotonic() + 15
    while {_value(server) for _ in range(20)} != {"8888"}:
        assert time.monotonic() < deadline
    note = json.dumps({"note": "a figure was keyed wrongly"}).encode()
    headers = bearer(server.publisher, **{"Content-Type": "application/json"})
    status, _, body = call(server.url + f"releases/{n}/withdraw", "POST", note, headers)
    assert status == 200 and json.loads(body)["withdrawn_note"] == "a figure was keyed wrongly"
    assert call(server.url + f"releases/{n}/withdraw", "POST", note, headers)[0] == 409  # once only
    listing = json.loads(call(server.url + "releases", headers={"Accept": "application/json"})[2])
    assert listing["current"] == before["current"]  # the one before it is current again
    deadline = time.monotonic() + 15
    while {_value(server) for _ in range(20)} == {"8888"} or "8888" in {_value(server) for _ in range(20)}:
        assert time.monotonic() < deadline
    status, _, page = call(server.url + f"data/ceopgraph/release/{n}", headers={"Accept": "text/html"})
    assert status == 200 and b"Withdrawn on" in page and b"a figure was keyed wrongly" in page
    assert call(server.url + f"releases/{n}/dumps/ceopgraph.ttl")[0] == 200
    assert b"adms#status" in call(server.url + "releases", headers={"Accept": "application/n-triples"})[2]


def test_a_publish_is_of_the_version_reviewed(server: ReleaseServer) -> None:
    """The submitter cannot swap the data between the publisher's reading and the publish."""
    before = json.loads(call(server.url + "releases", headers={"Accept": "application/json"})[2])["current"]
    draft = submit(server.url, server.submitter, with_since_launch(current_dump(server.url), 6001))[1]["id"]
    status, headers, _ = call(server.url + f"drafts/{draft}", headers=bearer(server.publisher))
    reviewed = headers["etag"]
    status, _, body = call(server.url + f"drafts/{draft}/publish", "POST", b"", bearer(server.publisher))
    assert status == 428 and b"If-Match" in body
    swapped = with_since_launch(current_dump(server.url), 9999)
    assert call(server.url + f"drafts/{draft}", "PUT", swapped, bearer(server.submitter, **TRIG))[0] == 200
    headers = bearer(server.publisher, **{"If-Match": reviewed})
    status, _, body = call(server.url + f"drafts/{draft}/publish", "POST", b"", headers)
    assert status == 409 and b"changed since you read it" in body
    assert json.loads(call(server.url + "releases", headers={"Accept": "application/json"})[2])["current"] == before


def test_blank_node_bombs_cost_the_server_nothing(server: ReleaseServer) -> None:
    """100 identical blank nodes (rdflib's labelling: over 60 s, in every preview) are a prompt draft whose
    preview answers the same bytes from either worker; symmetric cycles are refused by the worker, 400."""
    status, draft = bounded(lambda: submit(server.url, server.submitter, with_twins(_release_1(server), 100)), 60.0)
    assert status == 201, draft
    page = f"{server.url}drafts/{draft['id']}/view/doc/organisation/ceop"
    answers = set()
    for accept in ("text/turtle", "text/turtle", "application/ld+json", "application/ld+json", "text/html"):
        status, _, body = bounded(lambda a=accept: call(page, headers=bearer(server.publisher, Accept=a)), 20.0)  # type: ignore[misc]  # a lambda binding the loop's values by default
        assert status == 200 and body.count(b"_:") >= (0 if accept == "text/html" else 100)
        answers.add((accept, body))  # a preview is private: no ETag, but the same bytes
    assert len(answers) == 3  # one answer per format, whichever worker gave it
    assert call(server.url + "healthz")[0] == 200
    cycles = with_cycles(_release_1(server), 150)
    status, _, refusal = bounded(lambda: call(server.url + "drafts", "POST", cycles, bearer(server.submitter, **TRIG)))
    assert status == 400 and b"blank nodes cannot be told apart" in refusal, refusal


def test_a_stopped_server_leaves_no_scratch_file_behind(tmp_path: Path, built_dist: Path) -> None:
    """A draft's preview queried: its worker writes a copy of the draft's data for its query processes to
    read. Once the server stops nothing of it is left in the temporary folder, though Granian's workers
    exit without closing their app (every stop left one copy of a draft behind). What a server killed with
    SIGKILL leaves, the next one to start removes."""
    scratch = tmp_path / "tmp"
    killed, running = scratch / "ceopgraph-serve-999999999-a", scratch / f"ceopgraph-serve-{os.getpid()}-b"
    for folder in (killed, running):  # a PID past any kernel's limit; one that runs (this test's)
        folder.mkdir(parents=True)
    (theirs := tmp_path / "theirs").mkdir()  # a folder a link of that name leads to: never swept
    (theirs / "kept").touch()
    link = scratch / "ceopgraph-serve-999999998-c"
    link.symlink_to(theirs)
    log = tmp_path / "server.log"
    with release_server(tmp_path / "data", built_dist, log, workers=1, env={"TMPDIR": str(scratch)}) as server:
        assert not killed.exists() and running.exists()  # a killed server's folder is swept at the next start
        assert link.is_symlink() and (theirs / "kept").exists()
        status, draft = submit(server.url, server.submitter, changed(_release_1(server), GOOD_FIGURE))
        assert status == 201
        ask = urllib.parse.urlencode({"query": VALUE_QUERY})
        url = server.url + f"drafts/{draft['id']}/sparql?{ask}"
        status, _, body = call(url, headers=bearer(server.submitter, Accept="text/csv"))
        assert status == 200 and body.decode().split()[-1] == "2300"
        assert [path.name for path in scratch.rglob("*.nq")] == ["store.nq"]  # written while it serves
    assert set(scratch.iterdir()) == {link, running}
