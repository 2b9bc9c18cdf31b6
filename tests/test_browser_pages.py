"""The pages as a person sees them: Debian's Chromium against the real server, screenshots saved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .browser import screenshot
from .live import LiveServer

pytestmark = pytest.mark.browser


def test_home_page_shows_the_dataset_from_the_store(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)
    expect(page.locator("h1")).to_contain_text("CEOP Annual Review 2012/13")
    expect(page.locator(".cards")).to_contain_text("790")
    expect(page.locator(".threats li")).to_have_count(4)
    expect(page.locator(".quotation")).to_have_count(2)
    expect(page.get_by_role("link", name="SPARQL query editor and endpoint")).to_be_visible()
    screenshot(page, "home")


def test_resource_page_reads_as_a_page(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "id/organisation/ceop")  # follows the 303
    assert page.url.endswith("/doc/organisation/ceop")
    expect(page.locator("h1")).to_have_text("Child Exploitation and Online Protection Centre")
    expect(page.locator("table.properties").first).to_contain_text("also known as")
    expect(page.locator("#incoming-heading")).to_be_visible()
    screenshot(page, "organisation-ceop")


def test_dataset_page_has_a_chart_and_marks_derived_figures(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "data/annual-review-2012-13")
    expect(page.locator(".chart svg")).to_be_visible()
    expect(page.locator("tr.derived")).to_have_count(2)
    expect(page.locator("tr.derived").first).to_contain_text("Derived")
    screenshot(page, "dataset-figures")


def test_click_from_a_figure_to_its_source_sentence(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)
    page.locator(".card-link", has_text="790").click()
    expect(page).to_have_url(re.compile(r"/data/annual-review-2012-13/children-safeguarded/2012-2013$"))
    expect(page.locator(".figure-box")).to_contain_text("Reported")
    expect(page.locator(".excerpt mark").first).to_have_text(
        "The Centre safeguarded and protected 790 children in 2012/2013"
    )
    screenshot(page, "figure-790")
    page.locator(".excerpt .segment-link").first.click()
    expect(page).to_have_url(re.compile(r"/doc/news-item/ceop-annual-review-2012-13/segment/children-safeguarded$"))
    expect(page.locator(".excerpt mark")).to_contain_text("790 children")
    screenshot(page, "source-sentence-790")


def test_derived_figure_is_marked_derived(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url + "data/annual-review-2012-13/children-safeguarded/2011-2012")
    expect(page.locator(".figure-box.derived")).to_contain_text("Derived, not reported")
    expect(page.locator(".figure-box")).to_contain_text("How it was derived")
    screenshot(page, "figure-derived")


def test_narrow_screen_keeps_the_page_usable(page: Page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "doc/organisation/ceop")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    screenshot(page, "organisation-ceop-phone")


def test_on_a_phone_every_column_of_the_figures_table_is_on_screen(page: Page, live_server: LiveServer) -> None:
    """At 390 px the figures table's status column sat past the screen's edge, in a scroll nobody saw."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "data/annual-review-2012-13")
    rows = page.locator("table.observations tbody tr")
    expect(rows.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for column in range(1, 5):
        cells = rows.locator(f"td:nth-of-type({column})")
        assert cells.count() == rows.count()
        for box in cells.evaluate_all("cells => cells.map(c => c.getBoundingClientRect().toJSON())"):
            assert box["width"] > 0 and box["left"] >= 0 and box["right"] <= 390, (column, box)
    expect(rows.first.locator("td").last).to_contain_text(re.compile("reported|derived", re.IGNORECASE))
    screenshot(page, "dataset-figures-phone")
