"""Accessibility, measured: axe-core (WCAG 2.1 A and AA, and best practice) in Debian's Chromium on every
kind of page the server makes, with no violation allowed. The SPARQL editor's states (results, the
Response view, the settings menu, an error, the row-limit notice) are checked in test_sparql_browser.py,
the validation report in test_browser_validate.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from rdflib import RDF, Graph, URIRef

from ceopgraph.config import Settings
from ceopgraph.paths import Linker

from .browser import ConsoleErrors, assert_accessible, axe_violations, describe_violations
from .live import LiveServer

pytestmark = pytest.mark.browser

# Pages that are not a resource of the dataset (the resources are swept below, one page of each kind).
PAGES = [
    ("home", ""),
    ("derived-figure", "data/annual-review-2012-13/children-safeguarded/2011-2012"),
    ("shapes", "def/shapes"),
    ("shape", "def/shapes/ObservationShape"),
    ("shape-rule", "def/shapes/ObservationShape/count-not-negative"),
    ("validate", "validate"),
    ("link", "link"),
    ("search", "search?q=children"),
    ("search-by-type", "search?q=children&type=http%3A%2F%2Fwww.w3.org%2F2004%2F02%2Fskos%2Fcore%23Concept"),
    ("search-next-page", "search?q=a&page=2"),
    ("search-empty", "search"),
]

# Error answers a browser can reach by following a link or typing an address.
ERROR_PAGES = [
    ("not-found-with-suggestions", "doc/organisation/ceo", 404, "404 Not found"),
    ("not-found", "nothing/here", 404, "404 Not found"),
    ("not-found-dump", "dumps/nope", 404, "404 Not found"),
    # A browser's navigation to a query gets the editor, which shows the parse error (test_sparql_browser.py);
    # with format= the endpoint answers the query itself, and its refusal is this page.
    ("bad-query", "sparql?query=SELEC&format=xml", 400, "400 Bad request"),
    # A search with a page that is not one: the search page again, saying why.
    ("bad-search", "search?q=crime&page=0", 400, "Search"),
]

# Kinds the sweep must reach whatever the data holds, so that it cannot shrink to nothing unnoticed.
REQUIRED_KINDS = {
    "organisation": "a http://www.w3.org/ns/org#FormalOrganization",
    "observation": "a http://purl.org/linked-data/cube#Observation",
    "data set": "a http://purl.org/linked-data/cube#DataSet",
    "quotation": "a http://schema.org/Quotation",
    "concept": "a http://www.w3.org/2004/02/skos/core#Concept",
    "concept scheme": "a http://www.w3.org/2004/02/skos/core#ConceptScheme",
    "threat area": "a http://www.w3.org/2004/02/skos/core#Concept under def/threat-area",
    "vocabulary": "a http://www.w3.org/2002/07/owl#Ontology",
    "class": "a http://www.w3.org/2002/07/owl#Class",
    "news item segment": "a http://www.w3.org/ns/oa#SpecificResource",
}


def kinds_of_page(union: Graph, base: str) -> dict[str, URIRef]:
    """One resource (the first by IRI) for each kind of page: each rdf:type of our resources, each top-level
    folder of our URI space (``id/organisation``, ``def/threat-area``…), and each type within each folder."""
    ours = sorted({s for s in union.subjects() if isinstance(s, URIRef) and str(s).startswith(base)})
    kinds: dict[str, URIRef] = {}
    for subject in ours:
        folder = "/".join(str(subject)[len(base) :].split("/")[:2])
        kinds.setdefault(f"under {folder}", subject)
        for kind in union.objects(subject, RDF.type):
            kinds.setdefault(f"a {kind}", subject)
            kinds.setdefault(f"a {kind} under {folder}", subject)
    return kinds


@pytest.mark.parametrize(("name", "path"), PAGES, ids=[name for name, _ in PAGES])
def test_page_has_no_axe_violation(page: Page, live_server: LiveServer, name: str, path: str) -> None:
    answer = page.goto(live_server.url + path)
    assert answer is not None and answer.status == 200, path
    expect(page.locator("h1")).to_be_visible()
    assert_accessible(page, name)


@pytest.mark.parametrize(
    ("name", "path", "status", "heading"), ERROR_PAGES, ids=[name for name, *_ in ERROR_PAGES]
)  # fmt: skip
def test_error_page_has_no_axe_violation(
    page: Page, console_errors: ConsoleErrors, live_server: LiveServer, name: str, path: str, status: int, heading: str
) -> None:
    console_errors.expect(rf"Failed to load resource: the server responded with a status of {status}\b")
    answer = page.goto(live_server.url + path)
    assert answer is not None and answer.status == status, path
    expect(page.locator("h1")).to_have_text(heading)
    assert_accessible(page, name)


def test_every_kind_of_resource_page_has_no_axe_violation(
    page: Page, live_server: LiveServer, union: Graph, settings: Settings
) -> None:
    kinds = kinds_of_page(union, settings.base_uri)
    missing = {name: kind for name, kind in REQUIRED_KINDS.items() if kind not in kinds}
    assert not missing, f"the sweep no longer reaches these kinds of page: {missing}"
    linker = Linker(settings.scheme)
    pages: dict[str, list[str]] = {}
    for kind, subject in kinds.items():
        href = linker.href(str(subject))
        assert href is not None and href.startswith("/"), subject
        pages.setdefault(href, []).append(kind)
    failures = []
    for href, kinds_here in sorted(pages.items()):
        answer = page.goto(live_server.url + href.lstrip("/"))
        assert answer is not None and answer.status == 200, href
        violations = axe_violations(page)
        if violations:
            failures.append(f"{href} ({'; '.join(kinds_here)}):\n{describe_violations(violations)}")
    assert not failures, f"axe-core violations on {len(failures)} of {len(pages)} pages:\n" + "\n".join(failures)


# Focus visible: WCAG 2.4.7, with the indicator's contrast of 1.4.11 (3:1) --------------------------------

# For the focused element: its outline (on CodeMirror's hidden textarea, the editor's frame), its colour's
# contrast against the first opaque background behind the outline (outside the element when the offset is
# positive), by WCAG's relative luminance. Colours are read as Chromium computes them (rgb() or rgba()).
_FOCUS_INDICATOR = """() => {
  const focused = document.activeElement;
  if (!focused || focused === document.body) return null;
  const el = focused.matches(".CodeMirror textarea") ? focused.closest(".CodeMirror") : focused;
  const style = getComputedStyle(el);
  const rgb = text => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let behind = parseFloat(style.outlineOffset) >= 0 ? el.parentElement : el;
  let background = [255, 255, 255];
  for (; behind; behind = behind.parentElement) {
    const colour = rgb(getComputedStyle(behind).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) { background = colour.slice(0, 3); break; }
  }
  const [light, dark] = [luminance(rgb(style.outlineColor)), luminance(background)].sort((a, b) => b - a);
  const label = el.tagName.toLowerCase() + (el.className && typeof el.className === "string" ? "." +
    el.className.trim().split(/\\s+/).join(".") : "") + " " + (el.textContent || "").trim().slice(0, 30);
  return {label, style: style.outlineStyle, width: parseFloat(style.outlineWidth),
          contrast: (light + 0.05) / (dark + 0.05)};
}"""


@pytest.mark.parametrize("path", ["", "validate", "sparql", "data/annual-review-2012-13", "search?q=children"])
def test_every_control_shows_a_focus_indicator_with_3_to_1_contrast(
    page: Page, live_server: LiveServer, path: str
) -> None:
    """The outline was #ffdd00, 1.4:1 on white: faint. Tab through the page's first controls."""
    page.goto(live_server.url + path)
    expect(page.locator("h1")).to_be_visible()
    seen, faint = 0, []
    for _ in range(30):
        page.keyboard.press("Tab")
        indicator = page.evaluate(_FOCUS_INDICATOR)
        if indicator is None:
            continue
        seen += 1
        if indicator["style"] == "none" or indicator["width"] < 2 or indicator["contrast"] < 3:
            faint.append(indicator)
    assert seen >= 10, f"only {seen} controls took the focus on /{path}"
    assert not faint, f"/{path}: focus indicators missing or under 3:1:\n" + "\n".join(map(str, faint))
