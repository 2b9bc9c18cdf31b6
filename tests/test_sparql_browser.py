"""The SPARQL editor in a real browser (Debian's Chromium): YASGUI loads from our origin under our CSP,
runs a query against the endpoint and shows the results, with no console error."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .browser import VIEWPORT, ConsoleErrors, assert_accessible, screenshot
from .live import CAPPED_ROWS, LiveServer


@pytest.mark.browser
def test_editor_runs_an_example_query(page: Page, live_server: LiveServer) -> None:
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.goto(live_server.url + "sparql")
    expect(page.locator(".yasqe .CodeMirror")).to_be_visible()
    expect(page.locator("form.sparql-form")).to_be_hidden()  # the no-JavaScript form gives way to the editor
    page.locator("a.sparql-example", has_text="Threat areas").click()
    table = page.locator(".yasr table.dataTable")
    expect(table).to_be_visible(timeout=15_000)
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table).to_contain_text("Proliferation of indecent images of children")
    screenshot(page, "sparql-editor-threat-areas")
    assert all(url.startswith(live_server.url) for url in requests_seen), requests_seen


@pytest.mark.browser
def test_an_example_opened_in_a_new_tab_shows_the_editor_and_its_results(page: Page, live_server: LiveServer) -> None:
    """Opened in a new tab, an example's link is a navigation with the browser's own Accept, which ranks
    application/xml above */*: the endpoint sent SPARQL XML, a download, instead of a page."""
    page.goto(live_server.url + "sparql")
    link = page.locator("a.sparql-example", has_text="Threat areas")
    with page.context.expect_page() as opened:
        link.click(modifiers=["Control"])  # a new tab, as a person opens it (no script handles this click)
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == link.evaluate("a => a.href")
    expect(tab.locator("h1")).to_have_text("SPARQL endpoint")
    table = tab.locator(".yasr table.dataTable")
    expect(table.locator("tbody tr")).to_have_count(4, timeout=15_000)
    expect(table).to_contain_text("Proliferation of indecent images of children")
    assert "Threat areas" not in tab.evaluate("window.ceopgraphYasgui.getTab().getQuery()")
    assert "skos:notation ?notation" in tab.evaluate("window.ceopgraphYasgui.getTab().getQuery()")
    screenshot(tab, "sparql-example-in-a-new-tab")


@pytest.mark.browser
def test_editor_typed_query(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "sparql")
    page.evaluate(
        "window.ceopgraphYasgui.getTab().setQuery("
        "'SELECT ?text WHERE { ?q a <http://schema.org/Quotation> ; <http://schema.org/text> ?text }'); true"
    )
    page.locator(".yasqe_queryButton").click()
    rows = page.locator(".yasr table.dataTable tbody tr")
    expect(rows).to_have_count(2, timeout=15_000)
    expect(page.locator(".yasr")).to_contain_text("we aren't complacent")
    screenshot(page, "sparql-editor-quotations")


# Accessibility, measured with axe-core in each state a person sees ---------------------------------------


@pytest.mark.browser
def test_editor_has_no_axe_violation_in_any_state(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "sparql")
    expect(page.locator(".yasqe .CodeMirror")).to_be_visible()
    assert_accessible(page, "editor, as loaded")

    page.get_by_role("button", name="Open settings").click()
    expect(page.locator(".tabMenu.open")).to_be_visible()
    assert_accessible(page, "editor, request settings open")
    page.get_by_role("button", name="Close settings").click()
    expect(page.locator(".tabMenu.open")).to_have_count(0)

    page.locator("a.sparql-example", has_text="Threat areas").click()
    expect(page.locator(".yasr table.dataTable tbody tr")).to_have_count(4, timeout=15_000)
    assert_accessible(page, "editor, results table")

    page.locator(".yasr .select_response").click()
    expect(page.locator(".yasr .CodeMirror")).to_be_visible()
    assert_accessible(page, "editor, Response view")

    tabs = page.get_by_role("tab")
    expect(tabs).to_have_count(1)
    page.get_by_role("button", name="Add a new tab").click()
    expect(tabs).to_have_count(2)
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    assert_accessible(page, "editor, a second tab")
    tabs.nth(0).click()
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    assert_accessible(page, "editor, back on the first tab")
    screenshot(page, "sparql-editor-two-tabs")


@pytest.mark.browser
def test_the_query_text_scrolls_from_the_keyboard(page: Page, live_server: LiveServer) -> None:
    """The editor's scrolling region (made focusable for axe's scrollable-region-focusable) does scroll."""
    page.goto(live_server.url + "sparql")
    scroller = page.get_by_role("region", name="SPARQL query, scrollable")
    expect(scroller).to_be_visible()
    page.evaluate("window.ceopgraphYasgui.getTab().setQuery(Array(80).fill('# a comment line').join('\\n')); true")
    scroller.focus()
    assert scroller.evaluate("el => el.scrollTop") == 0
    page.keyboard.press("PageDown")
    page.wait_for_function("el => el.scrollTop > 0", arg=scroller.element_handle(), timeout=5_000)
    expect(scroller).to_be_focused()


# Keyboard: WCAG 2.1.2 no keyboard trap ------------------------------------------------------------------

QUERY_INPUT = ".yasqe .CodeMirror textarea"  # CodeMirror's hidden textarea takes the typing
IN_EDITOR = f"() => document.activeElement.matches('{QUERY_INPUT}')"


@pytest.mark.browser
def test_the_editor_takes_no_focus_on_load_and_tab_leaves_it(page: Page, live_server: LiveServer) -> None:
    """The editor took the focus on load, and Tab inserted a tab: the keyboard could not leave it."""
    page.goto(live_server.url + "sparql")
    expect(page.locator(".yasqe .CodeMirror")).to_be_visible()
    page.wait_for_timeout(300)  # YASGUI focused the editor a moment after it drew it
    assert not page.evaluate(IN_EDITOR), "the editor took the focus on load"
    expect(page.locator("#editor-keys")).to_contain_text("Tab and Shift+Tab move")
    query = "window.ceopgraphYasgui.getTab().getQuery()"
    before = page.evaluate(query)

    page.locator(".yasqe .CodeMirror-code").click()
    expect(page.locator(QUERY_INPUT)).to_be_focused()
    page.keyboard.press("Tab")
    assert not page.evaluate(IN_EDITOR), "Tab did not leave the query text"
    assert page.evaluate(query) == before, "Tab changed the query"
    run = page.get_by_role("button", name="Run query")
    for _ in range(3):  # the query text's scrolling region and the share button come first
        page.keyboard.press("Tab")
        if run.evaluate("button => button === document.activeElement"):
            break
    expect(run).to_be_focused()

    page.locator(".yasqe .CodeMirror-code").click()
    page.keyboard.press("Shift+Tab")
    assert not page.evaluate(IN_EDITOR), "Shift+Tab did not leave the query text"
    assert page.evaluate(query) == before

    page.locator(".yasqe .CodeMirror-code").click()
    page.keyboard.press("Control+BracketRight")  # indenting, as the page says, still works
    assert page.evaluate(query) != before


def run_query(page: Page, query: str) -> None:
    page.evaluate("query => { window.ceopgraphYasgui.getTab().setQuery(query); }", query)
    page.locator(".yasqe_queryButton").click()


# A long error message wraps -------------------------------------------------------------------------------

LONG_ERRORS = [
    # The parser's "expected one of …" list: one long line with spaces.
    (
        "syntax-error",
        "SELECT * WHERE { ?s ?p <http://example.org/" + "a" * 300 + "> ; ?q undefined:x }",
        "does not parse",
    ),
    # One long word: an IRI the message quotes, with no space to break at.
    ("long-iri", "SELECT (<http://example.org/" + "f" * 300 + ">(1) AS ?x) {}", "http://example.org/fff"),
]


@pytest.mark.browser
@pytest.mark.parametrize(("name", "query", "shown"), LONG_ERRORS, ids=[c[0] for c in LONG_ERRORS])
def test_a_long_error_message_wraps_inside_the_page(
    page: Page, console_errors: ConsoleErrors, live_server: LiveServer, name: str, query: str, shown: str
) -> None:
    console_errors.expect(r"Failed to load resource: the server responded with a status of 400\b")
    assert VIEWPORT["width"] == 1280  # the width a laptop shows; the page must not scroll sideways in it
    page.goto(live_server.url + "sparql")
    expect(page.locator(".yasqe .CodeMirror")).to_be_visible()
    run_query(page, query)
    message = page.locator(".yasr .errorResult pre")
    expect(message).to_be_visible(timeout=15_000)
    expect(message).to_contain_text(shown)
    # Unwrapped, the message is wider than the window: so the checks below mean something.
    unwrapped = message.evaluate(
        """el => { const copy = el.cloneNode(true);
            Object.assign(copy.style, {position: "absolute", whiteSpace: "pre", width: "max-content"});
            document.body.appendChild(copy); const width = copy.getBoundingClientRect().width; copy.remove();
            return width; }"""
    )
    assert unwrapped > 1280, f"the message is too short to test wrapping ({unwrapped}px): {message.inner_text()!r}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the error message widens the page to {width}px"
    box = message.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, box
    assert_accessible(page, "editor, an error message")
    screenshot(page, f"sparql-editor-long-error-{name}")


# The row limit is shown -----------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_editor_says_when_the_row_limit_cut_the_answer(page: Page, capped_server: LiveServer) -> None:
    page.goto(capped_server.url + "sparql")
    expect(page.locator(".yasqe .CodeMirror")).to_be_visible()
    notice = page.locator(".sparql-notice")
    rows = page.locator(".yasr table.dataTable tbody tr")

    run_query(page, "SELECT * WHERE { ?s ?p ?o }")  # far more than CAPPED_ROWS triples
    expect(rows).to_have_count(CAPPED_ROWS, timeout=15_000)
    expect(notice).to_be_visible()
    expect(notice).to_have_text(re.compile(rf"^Only the first {CAPPED_ROWS} results are shown: .*\b{CAPPED_ROWS}\b"))
    expect(notice).to_have_attribute("role", "status")
    assert_accessible(page, "editor, row-limit notice")
    screenshot(page, "sparql-editor-row-limit")

    run_query(page, "SELECT * WHERE { ?s ?p ?o } LIMIT 3")  # under the limit: no notice
    expect(rows).to_have_count(3, timeout=15_000)
    expect(notice).to_have_text("")
    expect(notice).to_be_hidden()

    run_query(page, f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {CAPPED_ROWS + 1}")  # one over: the notice again
    expect(rows).to_have_count(CAPPED_ROWS, timeout=15_000)
    expect(notice).to_be_visible()
