"""The release workflow in a real browser: a submitter signs in, uploads a draft with a violation, sees it,
replaces the data with a fix, sees the figure-level diff; a publisher publishes it as release 2; release 1
stays resolvable and the public SPARQL endpoint answers the new figure; withdrawn with its reason, release 2
leaves a notice on the figure's page."""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .browser import VIEWPORT, assert_accessible, post_form, screenshot, sign_in, violations
from .releasing import BAD_FIGURE, GOOD_CHANGE, GOOD_FIGURE, call, changed, release_server

FIGURE = (
    "https://w3id.org/ceopgraph/data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013"
)
FIGURE_QUERY = f"SELECT ?v WHERE {{ <{FIGURE}> <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v }}"
VIOLATION = "Percentage change disagrees with the counts of its reference and comparison periods"
SPARQL_SWITCH_S = 10.0


def sparql_values(url: str, query: str) -> list[str]:
    status, _, body = call(url + "sparql?" + urllib.parse.urlencode({"query": query}), headers={"Accept": "text/csv"})
    assert status == 200, body[:500]
    lines = body.decode().splitlines()
    assert lines and lines[0].strip() == "v", lines
    return [line.strip() for line in lines[1:] if line.strip()]


@pytest.mark.browser
def test_a_draft_is_fixed_and_published_as_release_2(page: Page, built_dist: Path, tmp_path: Path) -> None:
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log") as server:
        url = server.url
        try:
            requests_seen: list[str] = []
            page.on("request", lambda request: requests_seen.append(request.url))

            # 1. The current release's dump, broken (one violation) and changed (conforms).
            status, _, release_1_dump = call(url + "releases/1/dumps/ceopgraph.trig")
            assert status == 200, release_1_dump[:500]
            bad, good = tmp_path / "bad.trig", tmp_path / "good.trig"
            bad.write_bytes(changed(release_1_dump, BAD_FIGURE))
            good.write_bytes(changed(release_1_dump, GOOD_FIGURE))
            assert sparql_values(url, FIGURE_QUERY) == ["2255"]

            # 2. The submitter signs in.
            sign_in(page, url, server.submitter, check=True)
            expect(page.get_by_role("heading", level=1)).to_have_text("Drafts")
            expect(page.locator("#me")).to_have_text("Sam Submitter")
            assert_accessible(page, "drafts page")

            # 3. A draft with one violation.
            page.get_by_label("File", exact=True).set_input_files(bad)
            post_form(page, "Upload draft", url + "drafts")
            expect(page).to_have_url(re.compile(re.escape(url + "drafts/") + r"[^/?#]+$"))
            draft_url = page.url
            expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
            expect(page.locator("#verdict")).to_have_text("The draft has 1 violation(s) of the shapes")
            expect(violations(page)).to_have_count(1)
            expect(violations(page)).to_contain_text(VIOLATION)
            screenshot(page, "releases-draft-violation")
            assert_accessible(page, "draft page with a violation")

            # 4. The fix replaces the draft's data; the figure-level diff shows the change.
            page.get_by_label("New file").set_input_files(good)
            post_form(page, "Replace the draft's data", draft_url + "/replace")
            expect(page.locator("#verdict")).to_have_text("The draft conforms to the shapes")
            assert page.url == draft_url
            expect(violations(page)).to_have_count(0)
            expect(page.locator("#figure-changes")).to_contain_text(GOOD_CHANGE)
            screenshot(page, "releases-draft-fixed")
            assert_accessible(page, "draft page, conforming")

            # The draft's pages show the data as it would be published, inside the preview.
            page.locator("#preview").click()
            expect(page.locator("#preview-banner")).to_be_visible()
            preview = draft_url.removeprefix(url.rstrip("/")) + "/view/"
            inside = page.locator(f"main a[href^='{preview}']")
            assert inside.count() > 10  # the home page's links stay in the preview
            page.goto(draft_url + "/view/" + FIGURE.removeprefix("https://w3id.org/ceopgraph/"))
            expect(page.locator("main")).to_contain_text("2300")
            expect(page.locator("#preview-banner")).to_be_visible()
            screenshot(page, "releases-draft-preview")
            assert_accessible(page, "draft preview of a figure")
            page.goto(draft_url)

            # 5. The publisher publishes it.
            post_form(page, "Sign out", url + "sign-out")
            expect(page).to_have_url(url)
            expect(page.locator("#me")).to_have_count(0)
            sign_in(page, url, server.publisher)
            expect(page.locator("#me")).to_have_text("Pat Publisher")
            page.goto(draft_url)
            expect(page.locator("#verdict")).to_have_text("The draft conforms to the shapes")
            expect(page.locator("#figure-changes")).to_contain_text(GOOD_CHANGE)
            publish = page.locator("#publish")
            expect(publish).to_have_text("Publish as release 2")
            screenshot(page, "releases-draft-publisher")
            assert_accessible(page, "draft page, seen by a publisher")
            page.get_by_label("Release note (required)", exact=False).fill("The since-launch count corrected to 2300")
            page.get_by_label("I have reviewed the changes above", exact=False).check()
            post_form(page, "Publish as release 2", draft_url + "/publish")

            expect(page).to_have_url(url + "releases")
            expect(page.locator("#current")).to_have_text("release 2")
            expect(page.locator("#release-1")).to_have_count(1)
            expect(page.locator("#release-2")).to_have_count(1)
            expect(page.locator("#release-1")).to_contain_text("superseded")
            expect(page.locator("#release-2")).to_contain_text("current")
            expect(page.locator("#release-2")).to_contain_text("The since-launch count corrected to 2300")
            screenshot(page, "releases-list")
            assert_accessible(page, "releases page")
            for narrow in ("releases", "drafts"):  # on a phone, the tables scroll in their box, not the page
                page.set_viewport_size({"width": 390, "height": 844})
                page.goto(url + narrow)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"/{narrow} is {width}px wide at 390px"
                screenshot(page, f"{narrow}-phone")
            page.set_viewport_size({"width": VIEWPORT["width"], "height": VIEWPORT["height"]})
            page.goto(url + "releases")

            # 6. Release 1 stays resolvable; the public endpoint switches to release 2.
            release_1_page = url + "releases/1"
            with page.expect_response(release_1_page) as shown:
                page.get_by_role("link", name="Release 1", exact=True).click()
            assert shown.value.status == 200, shown.value.status
            expect(page).to_have_url(release_1_page)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            screenshot(page, "releases-release-1")
            status, _, dump_after = call(url + "releases/1/dumps/ceopgraph.trig")
            assert status == 200
            assert dump_after == release_1_dump

            deadline = time.monotonic() + SPARQL_SWITCH_S
            values = sparql_values(url, FIGURE_QUERY)
            while values != ["2300"] and time.monotonic() < deadline:
                time.sleep(0.2)
                values = sparql_values(url, FIGURE_QUERY)
            assert values == ["2300"], f"after {SPARQL_SWITCH_S} s the public endpoint still answers {values}"
            page.goto(url + "releases/2")
            expect(page.locator("#release-note")).to_have_text("The since-launch count corrected to 2300")
            assert_accessible(page, "a release's page")

            # 7. The publisher withdraws release 2, giving the reason; the figure's page then says so.
            page.goto(url + "releases")
            page.locator("#note-2").fill("Keyed from the wrong table")
            post_form(page, "Withdraw release 2", url + "releases/2/withdraw")
            expect(page.locator("#current")).to_have_text("release 1")
            figure_page = url + FIGURE.removeprefix("https://w3id.org/ceopgraph/")
            deadline = time.monotonic() + SPARQL_SWITCH_S
            # A page says what the release it is served from says: until the workers serve release 1 again
            # (within their poll), that is release 2's correction. Asked outside the browser, whose cache
            # keeps a page for its max-age, and several times, so that every worker has followed.
            html = {"Accept": "text/html"}
            while not all(b"was withdrawn" in call(figure_page, headers=html)[2] for _ in range(4)):
                assert time.monotonic() < deadline, "the figure's page did not follow the withdrawal"
                time.sleep(0.3)
            page.goto(figure_page)
            expect(page.locator("#notice-1")).to_contain_text("release 2, which had changed this page, was withdrawn")
            expect(page.locator("#notice-1")).to_contain_text("Reason: Keyed from the wrong table")
            screenshot(page, "releases-withdrawal-notice")
            assert_accessible(page, "a figure's page with a withdrawal notice")

            # 8. The browser only ever talked to our server.
            elsewhere = [seen for seen in requests_seen if not seen.startswith(url)]
            assert requests_seen and not elsewhere, elsewhere
        finally:
            page.goto("about:blank")  # nothing left loading from the server when it stops


@pytest.mark.browser
def test_the_navigation_signs_in_and_out_from_any_page(page: Page, built_dist: Path, tmp_path: Path) -> None:
    """There was no Sign in or Drafts in the navigation. The public pages are cached and shared, so their
    navigation is switched in the browser (static/nav.js) by the sign-in hint cookie."""
    with release_server(tmp_path / "data", built_dist, tmp_path / "server.log", workers=1) as server:
        url = server.url
        try:
            nav = page.get_by_role("navigation", name="Main")
            page.goto(url + "def/threat-area")
            expect(nav.get_by_role("link", name="Drafts")).to_be_hidden()
            expect(nav.get_by_role("link", name="Sign out")).to_be_hidden()
            nav.get_by_role("link", name="Sign in").click()
            sign_in(page, url, server.submitter)

            page.goto(url + "def/threat-area")  # a public, cached page
            expect(nav.get_by_role("link", name="Sign in")).to_be_hidden()
            nav.get_by_role("link", name="Drafts").click()
            expect(page).to_have_url(url + "drafts")
            nav.get_by_role("link", name="Sign out").click()
            expect(page).to_have_url(url + "sign-out")
            expect(page.locator("#me")).to_have_text("Sam Submitter")
            assert_accessible(page, "sign-out page")
            post_form(page, "Sign out", url + "sign-out")

            expect(page).to_have_url(url)
            expect(nav.get_by_role("link", name="Sign in")).to_be_visible()
            expect(nav.get_by_role("link", name="Drafts")).to_be_hidden()
            screenshot(page, "navigation-signed-out")
        finally:
            page.goto("about:blank")
