"""The reviewer's journey of issue 24 in a real browser, through one real server, as a submitter and a publisher.

1. A draft whose figure contradicts its words (the 790 figure copied to 2013-2014 with the value 900) is
   refused: its page names the figure, the value and the quoted words, and it cannot be published.
2. A stale draft (made from release 1 after release 2 changed the since-launch figure) shows what it takes
   back of release 2, and is not published until its publisher acknowledges that; then it is release 3, with
   its note on ``/releases`` and ``/releases/3``.
3. Release 3 added a resource; withdrawn with a reason, it leaves that resource's IRI answering 410 with a
   page naming the reason, the release it last appeared in and that release's dump.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from .browser import ConsoleErrors, assert_accessible, post_form, screenshot, sign_in, violations
from .releasing import (
    CONTRADICTED_WORDS,
    CONTRADICTING_COPY,
    call,
    contradicting_copy,
    publish,
    release_server,
    submit,
    with_since_launch,
)

BASE = "https://w3id.org/ceopgraph/"
ADDED = "id/test/added-in-3"  # the resource the stale draft adds, so release 3 is its only release
DOC = "doc/test/added-in-3"  # its page
SINCE_LAUNCH = "Children protected since CEOP's launch in 2006, to the end of 2012-2013"
NOTE_3 = "A test resource added"
REASON = "Made from an old release by mistake"
SWITCH_S = 10.0  # the server's worker follows a new generation within CEOPGRAPH_RELEASE_POLL_S (0.5 s)


def _with_added(dump: bytes) -> bytes:
    """``dump`` with one more graph naming ``ADDED`` (a labelled resource: the shapes ask nothing more of it)."""
    label = "http://www.w3.org/2000/01/rdf-schema#label"
    return dump + f'<{BASE}data/graph/test-extra> {{ <{BASE}{ADDED}> <{label}> "added in 3"@en . }}\n'.encode()


def _answers(url: str, status: int) -> bool:
    """Whether the page at ``url`` comes to answer ``status`` within ``SWITCH_S`` (one worker: once its store
    is the new release's, it stays so)."""
    deadline = time.monotonic() + SWITCH_S
    while (found := call(url, headers={"Accept": "text/html"})[0]) != status and time.monotonic() < deadline:
        time.sleep(0.2)
    return found == status


def _upload(page: Page, url: str, file: Path) -> str:
    """Upload ``file`` on the drafts page as the signed-in submitter; the draft's page URL."""
    page.goto(url + "drafts")
    page.get_by_label("File", exact=True).set_input_files(file)
    post_form(page, "Upload draft", url + "drafts")
    expect(page).to_have_url(re.compile(re.escape(url + "drafts/") + r"[^/?#]+$"))
    return page.url


@pytest.mark.browser
def test_the_reviewers_journey(page: Page, console_errors: ConsoleErrors, built_dist: Path, tmp_path: Path) -> None:
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log", workers=1) as server:
        url = server.url
        try:
            status, _, release_1 = call(url + "releases/1/dumps/ceopgraph.trig")
            assert status == 200, release_1[:500]
            contradicting, stale = tmp_path / "contradicting.trig", tmp_path / "stale.trig"
            contradicting.write_bytes(release_1 + contradicting_copy(BASE))
            stale.write_bytes(_with_added(release_1))  # made from release 1: it keeps the since-launch 2,255

            # 1. The submitter uploads the draft whose figure contradicts its words: refused, and said why.
            sign_in(page, url, server.submitter)
            contradicting_url = _upload(page, url, contradicting)
            expect(page.locator("#verdict")).to_contain_text("violation(s) of the shapes")
            named = violations(page).filter(has_text=BASE + CONTRADICTING_COPY).filter(has_text=CONTRADICTED_WORDS)
            expect(named.filter(has_text=re.compile(r"\b900\b"))).to_have_count(1)  # its value against its words
            expect(named.filter(has_text="2013-2014")).not_to_have_count(0)  # and its period against theirs
            screenshot(page, "review-1-contradiction")

            # Release 2 is published meanwhile (over HTTP: the browser's publish is step 2's): 2,255 → 2,300.
            status, made = submit(url, server.submitter, with_since_launch(release_1, 2300))
            assert status == 201 and made["report"]["conforms"], made
            status, _, body = publish(url, server.publisher, made["id"])
            assert status == 201, body[:500]

            # 2. The submitter uploads the stale draft; best matched, it is taken as made from release 1.
            stale_url = _upload(page, url, stale)
            expect(page.locator("#verdict")).to_have_text("The draft conforms to the shapes")
            expect(page.locator("#changes")).to_have_text("Changes against release 2")
            expect(page.get_by_text("Made from release 1", exact=True)).to_be_visible()
            takes_back = page.locator("h3.reverts")
            expect(takes_back).to_have_text(re.compile(r"^What it takes back of release 2: \d+ statement\(s\)$"))
            reverted = page.locator("#reverts-2 tr", has_text="obsValue")
            expect(reverted.locator("td").nth(2)).to_have_text("2300")  # before: what release 2 made
            expect(reverted.locator("td").nth(3)).to_have_text("2255")  # after: what the draft would make it
            expect(page.locator("#warnings")).to_contain_text("It was made from release 1 and takes back")
            expect(page.locator("#warnings")).to_contain_text(SINCE_LAUNCH)
            screenshot(page, "review-2-stale-draft")
            post_form(page, "Sign out", url + "sign-out")

            # 1, as the publisher: the contradicting draft offers no publish, and the server refuses one.
            sign_in(page, url, server.publisher)
            page.goto(contradicting_url)
            expect(page.locator("#verdict")).to_contain_text("violation(s) of the shapes")
            expect(page.get_by_text("A draft with violations cannot be published.")).to_be_visible()
            expect(page.locator("#publish")).to_have_count(0)
            status, _, body = publish(url, server.publisher, contradicting_url.rsplit("/", 1)[1])
            assert status == 422, (status, body[:500])

            # 2, as the publisher: note and confirmation given, the acknowledgement not: nothing is sent.
            publishes: list[Request] = []
            stale_id = stale_url.rsplit("/", 1)[1]
            page.on("request", lambda r: publishes.append(r) if r.url.endswith(f"/{stale_id}/publish") else None)
            page.goto(stale_url)
            acknowledge = page.locator("input[name=acknowledge][value=reverts]")
            expect(acknowledge).not_to_be_checked()
            page.get_by_label("Release note (required)", exact=False).fill(NOTE_3)
            page.get_by_label("I have reviewed the changes above", exact=False).check()
            page.get_by_role("button", name="Publish as release 3", exact=True).click()
            expect(acknowledge).to_be_focused()  # the browser's form validation stopped at the unticked box
            assert acknowledge.evaluate("box => box.validity.valueMissing") is True
            expect(page).to_have_url(stale_url)
            screenshot(page, "review-2-unacknowledged")
            # A client without the browser's validation: the server answers 409, saying what it would revert.
            status, _, body = publish(url, server.publisher, stale_id)
            assert status == 409, (status, body[:500])
            said = json.dumps(json.loads(body))
            assert "acknowledge" in said and "reverts" in said and SINCE_LAUNCH in said, said
            assert call(url + "releases/3", headers={"Accept": "application/json"})[0] == 404

            acknowledge.check()
            post_form(page, "Publish as release 3", stale_url + "/publish")
            assert len(publishes) == 1  # the unacknowledged click never reached the server
            expect(page).to_have_url(url + "releases")
            expect(page.locator("#current")).to_have_text("release 3")
            expect(page.locator("#release-3")).to_contain_text(NOTE_3)
            page.goto(url + "releases/3")
            expect(page.locator("#release-note")).to_have_text(NOTE_3)
            screenshot(page, "review-2-release-3")

            # 3. The publisher withdraws release 3 with its reason: what only it held answers 410 Gone. Asked
            # outside the browser, which would keep a page it had loaded for the page's max-age: the worker
            # follows a publish and a withdrawal within its poll.
            assert _answers(url + DOC, 200), "release 3's resource was never served"
            page.goto(url + "releases")
            page.locator("#note-3").fill(REASON)
            post_form(page, "Withdraw release 3", url + "releases/3/withdraw")
            expect(page.locator("#current")).to_have_text("release 2")
            assert _answers(url + DOC, 410), "the withdrawn resource's page still answers"
            console_errors.expect(r"Failed to load resource: the server responded with a status of 410\b")
            answer = page.goto(url + ADDED)  # the thing's IRI, as a reader follows it
            assert answer is not None and answer.status == 410, answer and answer.status
            expect(page).to_have_url(url + ADDED)  # answered where it is, not sent on to its page
            expect(page.get_by_role("heading", level=1)).to_have_text("410 Gone")
            expect(page.locator("#gone")).to_contain_text(f"{BASE}{ADDED} is no longer published")
            expect(page.locator("#gone")).to_contain_text("release 3")
            expect(page.locator("#gone-why")).to_contain_text("Release 3 was withdrawn on")
            expect(page.locator("#gone-why")).to_contain_text(f"Reason: {REASON}")
            dump = page.locator("#last-dump")
            expect(dump).to_have_text("the dump of release 3")
            href = dump.get_attribute("href")
            assert href == "/releases/3/dumps/ceopgraph.trig", href
            status, _, last = call(url + href.lstrip("/"))
            assert status == 200 and b"added in 3" in last, (status, last[:300])
            screenshot(page, "review-3-gone")
            assert_accessible(page, "the 410 page of a withdrawn resource")
        finally:
            page.goto("about:blank")  # nothing left loading from the server when it stops
