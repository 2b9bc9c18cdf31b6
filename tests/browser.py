"""Helpers of the browser tests: Debian's Chromium driven by Playwright, never a downloaded browser.

The fixtures live in ``tests/conftest.py``: ``browser`` (one Chromium for the whole session, shared by
every browser test), ``page`` and ``console_errors``; this module holds what they and the tests call. A test
asks for ``page`` and the ``live_server`` fixture for a real server:

    @pytest.mark.browser
    def test_home(page: Page, live_server: LiveServer) -> None:
        page.goto(live_server.url)
        screenshot(page, "home")

``page`` fails the test on any console error or uncaught page error (a CSP violation, a failed
asset, a script exception); a test that provokes an error answer on purpose (a 404 page, a query
the endpoint refuses) asks for the ``console_errors`` fixture too and names the one message it
expects with ``console_errors.expect(...)``; the test then fails if that message does not come.
Screenshots go to ``tests/artifacts/`` (git-ignored). ``assert_accessible(page, name)`` runs
axe-core (from node_modules, pinned in package.json) in the page and fails on any WCAG 2.1 A/AA
or best-practice violation. ``sign_in``, ``post_form`` and ``violations`` are the write path's steps, shared
by the browser tests of releases.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Playwright, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ROOT = Path(__file__).resolve().parents[1]
# axe-core, a dev dependency in package.json (installed by `npm ci`, never served by the app).
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
VIEWPORT = {"width": 1280, "height": 900}


class ConsoleErrors(list[str]):
    """Console errors and uncaught exceptions seen by one page, in order, and the ones a test expects."""

    def __init__(self) -> None:
        super().__init__()
        self.expected: list[re.Pattern[str]] = []

    def expect(self, pattern: str) -> None:
        """A console error the test provokes on purpose (``pattern``, a regular expression, matched with
        ``re.search``): Chromium logs "Failed to load resource: … 404" for every error answer, and no
        script can silence it. Errors matching it are not failures; if none comes, the test fails."""
        self.expected.append(re.compile(pattern))

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.append(f"console error: {message.text} ({location})")

    def on_page_error(self, error: object) -> None:
        self.append(f"page error: {error}")

    def problems(self) -> list[str]:
        unexpected = [e for e in self if not any(p.search(e) for p in self.expected)]
        missing = [
            f"expected console error never came: {p.pattern!r}" for p in self.expected if not any(map(p.search, self))
        ]
        return unexpected + missing


# Where the ``page`` fixture leaves the page's ConsoleErrors for the ``console_errors`` fixture.
CONSOLE_ERRORS = pytest.StashKey[ConsoleErrors]()


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium (``make system-deps`` installs it), headless; never a browser Playwright downloads."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium package)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` as ``tests/artifacts/{name}.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "page"
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Accessibility: axe-core in the page ---------------------------------------------------------------

# Run in the page by Playwright's evaluate (the DevTools protocol), which the page's Content-Security-Policy
# does not govern. page.add_script_tag(path=...) inlines the file as a <script>, which `script-src 'self'`
# blocks (Chromium logs the violation); bypass_csp=True on the context would switch the CSP off for the
# page's own scripts too, and hide the violations the `page` fixture is there to catch.
_AXE_RUN = """tags => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.map(String).join(" "), summary: n.failureSummary || ""}))
  })))"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations in ``page`` as it is now, for the WCAG 2.1 A and AA and best-practice rules."""
    if not AXE_SCRIPT.is_file():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `make setup` (npm ci installs axe-core from package-lock.json)")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    violations: list[dict[str, Any]] = page.evaluate(_AXE_RUN, list(AXE_TAGS))
    return violations


def describe_violations(violations: list[dict[str, Any]], nodes_shown: int = 3) -> str:
    """One paragraph per violated rule: id, impact, what it asks, how many nodes, the first few nodes."""
    lines = []
    for v in violations:
        nodes = v["nodes"]
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}; {len(nodes)} node(s); {v['helpUrl']}")
        for node in nodes[:nodes_shown]:
            first = next((line.strip() for line in node["summary"].splitlines()[1:] if line.strip()), "")
            lines.append(f"    {node['target']}" + (f"  [{first}]" if first else ""))
        if len(nodes) > nodes_shown:
            lines.append(f"    … and {len(nodes) - nodes_shown} more")
    return "\n".join(lines)


def assert_accessible(page: Page, name: str) -> None:
    """Fail, listing each violated rule with its impact and first nodes, unless axe finds no violation."""
    violations = axe_violations(page)
    assert not violations, (
        f"{name} ({page.url}): {len(violations)} axe-core rule(s) violated "
        f"({', '.join(AXE_TAGS)}):\n" + describe_violations(violations)
    )


# The write path: signing in, posting its forms, reading a draft's report ------------------------------------


def sign_in(page: Page, url: str, token: str, *, check: bool = False) -> None:
    """Sign in with ``token`` on the sign-in page; ``check``: screenshot it and run axe on it first."""
    page.goto(url + "sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    if check:
        screenshot(page, "releases-sign-in")
        assert_accessible(page, "sign-in page")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url + "drafts")


def post_form(page: Page, button: str, action: str) -> None:
    """Click ``button``, whose form posts to ``action``; the server must answer 303 (to the next page)."""
    with page.expect_response(lambda r: r.url == action and r.request.method == "POST") as posted:
        page.get_by_role("button", name=button, exact=True).click()
    answer = posted.value
    if answer.status != 303:
        page.wait_for_load_state()
        shown = page.locator("main").inner_text() if page.locator("main").count() else answer.text()[:500]
        pytest.fail(f"POST {action} answered {answer.status}, not 303: {' '.join(shown.split())}")


def violations(page: Page) -> Locator:
    """The items of the draft's results list that are violations (warnings are listed too)."""
    return page.locator("#results li").filter(has=page.locator("strong", has_text=re.compile("^Violation$")))
