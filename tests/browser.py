"""Shared browser fixtures: Debian's Chromium driven by Playwright, never a downloaded browser.

Use them from a test module with ``from .browser import browser, page, screenshot  # noqa: F401``
(pytest finds fixtures imported into the module) and the ``live_server`` fixture for a real server:

    @pytest.mark.browser
    def test_home(page: Page, live_server: LiveServer) -> None:
        page.goto(live_server.url)
        screenshot(page, "home")

``page`` fails the test on any console error or uncaught page error (a CSP violation, a failed
asset, a script exception); screenshots go to ``tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

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
VIEWPORT = {"width": 1280, "height": 900}


class _SharedChromium:
    """One Playwright and one Chromium per test process.

    Each test module that imports the ``browser`` fixture gets its own copy of the fixture, and
    Playwright's sync API cannot be started twice at once; so the copies share this one instance,
    counted, and the last copy to finish closes it.
    """

    def __init__(self) -> None:
        self.users = 0
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None

    def acquire(self) -> Browser:
        if self.browser is None:
            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        self.users += 1
        return self.browser

    def release(self) -> None:
        self.users -= 1
        if self.users == 0 and self.browser is not None and self.playwright is not None:
            self.browser.close()
            self.playwright.stop()
            self.browser = self.playwright = None


_CHROMIUM = _SharedChromium()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session (Debian's package; `make system-deps` installs it)."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium package)")
    launched = _CHROMIUM.acquire()
    try:
        yield launched
    finally:
        _CHROMIUM.release()


class ConsoleErrors(list[str]):
    """Console errors and uncaught exceptions seen by one page, in order."""

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.append(f"console error: {message.text} ({location})")

    def on_page_error(self, error: object) -> None:
        self.append(f"page error: {error}")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in its own context; the test fails if the page logs any console error."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    new_page = context.new_page()
    errors = ConsoleErrors()
    new_page.on("console", errors.on_console)
    new_page.on("pageerror", errors.on_page_error)
    try:
        yield new_page
    finally:
        context.close()
    if errors:
        pytest.fail(f"{request.node.name}: the page reported errors:\n" + "\n".join(errors), pytrace=False)


def screenshot(page: Page, name: str, full_page: bool = True) -> Path:
    """Save a PNG of ``page`` as ``tests/artifacts/{name}.png`` and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "page"
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
