"""The SPARQL editor in a real browser (Debian's Chromium): YASGUI loads from our origin under our CSP,
runs a query against the endpoint and shows the results, with no console error."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .browser import browser, page, screenshot  # noqa: F401
from .live import LiveServer


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
