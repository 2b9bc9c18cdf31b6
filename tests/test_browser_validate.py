"""The validation page in a real browser: paste an invalid submission, see the report grouped by rule,
with severity badges, counts, the offending value and links to the rules' documentation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from rdflib import Graph

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.namespaces import prefix_map

from .browser import assert_accessible, screenshot
from .live import LiveServer
from .submissions import MUTATIONS, mutate


@pytest.mark.browser
def test_pasting_an_invalid_submission_shows_the_grouped_report(
    page: Page, live_server: LiveServer, union: Graph, settings: Settings
) -> None:
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    mutated = mutate(union, settings, next(m for m in MUTATIONS if m.name == "negative-count").update)
    text = rdfio.serialise(mutated, FORMATS_BY_NAME["turtle"], prefix_map(settings.scheme)).decode()

    page.goto(live_server.url + "validate")
    expect(page.get_by_role("heading", name="What a submission must contain")).to_be_visible()
    page.get_by_label("Paste RDF").fill(text)
    page.get_by_role("button", name="Validate").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Validation report")
    expect(page.locator("#verdict")).to_contain_text("does not conform")
    group = page.locator(".result-group", has_text="A count cannot be negative")
    expect(group).to_have_count(1)
    expect(group.locator(".count")).to_have_text("1")
    expect(group.locator(".badge-violation")).to_have_text("Violation")
    expect(group.locator("code.value").first).to_have_text("the number -790 (xsd:integer)")
    rule = group.locator(".group-shape a").first
    expect(rule).to_have_attribute("href", "/validate#rule-ObservationShape-count-not-negative")
    shacl = group.locator(".group-shape a.iri-small")
    expect(shacl).to_have_attribute("href", "/def/shapes/ObservationShape/count-not-negative")
    groups = page.locator(".result-group")
    assert groups.count() >= 1
    for index in range(groups.count()):
        count = groups.nth(index).locator(".count").inner_text()
        assert int(count) == groups.nth(index).locator("tbody tr").count()
    expect(page.get_by_label("Paste RDF")).to_have_value(text.replace("\r\n", "\n"))
    screenshot(page, "validate-report-negative-count")
    assert_accessible(page, "validation report")

    rule.click()  # the rule's entry in the guide, opened, with an example of a fix
    expect(page).to_have_url(live_server.url + "validate#rule-ObservationShape-count-not-negative")
    entry = page.locator("#rule-ObservationShape-count-not-negative")
    expect(entry).to_be_visible()
    expect(entry.locator("pre.guide-example")).to_contain_text("sdmx-measure:obsValue 790")
    assert all(url.startswith(live_server.url) for url in requests_seen), requests_seen
