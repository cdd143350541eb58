"""The browser suite's shared parts: Debian's Chromium driven by Playwright, logged-in pages for
each role, an accessibility check with axe-core, and screenshots a person can look at.

Screenshots go to ``SCREENSHOTS_DIR`` (default ``var/screenshots``), never into the repository;
the README's pictures under ``docs/`` are copied from there on purpose.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Playwright's 30 s default is no longer than SQLite's own 30 s lock wait, nor than a first
# premailer run on a 2-core machine shared with another suite: wait for pages, not for a guess.
PAGE_TIMEOUT_MS = int(os.environ.get("E2E_TIMEOUT_MS", "180000"))
AXE_SCRIPT = ROOT / "tests" / "e2e" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_LEVELS = ["wcag2a", "wcag2aa"]

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
# expect() has a 5 s timeout of its own, apart from the page's: a test send over SMTP answered
# in more than that while the PostgreSQL pass ran beside this one. Waiting costs a passing test
# nothing.
sync_api.expect.set_options(timeout=PAGE_TIMEOUT_MS)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    missing = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if "tests/e2e/" in str(item.fspath) and not shutil.which(CHROMIUM):
            item.add_marker(missing)


def screenshots_dir() -> Path:
    directory = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def browser(live_server, settings, monkeypatch) -> Iterator:
    """One headless Chromium for a test; cookies are plain HTTP on the live server."""
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    # Playwright's sync API runs an event loop in this thread, so Django takes every ORM call of
    # the test for one made from async code. They are plain synchronous calls: let them through.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page_for(browser, live_server, client) -> Callable:
    """``page_for(user)``: a page logged in as ``user`` (through the test client's session),
    at ``width`` px; ``page_for(None)`` is an anonymous visitor."""

    def open_page(user=None, width: int = 1280, height: int = 900):
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
        if user is not None:
            client.force_login(user)
            cookie = client.cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        return page

    return open_page


def axe_violations(page) -> list[str]:
    """WCAG 2 A/AA violations axe-core finds on the page as it is now, one line each."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: `npm ci --prefix tests/e2e` (make test does it)")
    # Evaluated through the devtools protocol, so pages whose Content-Security-Policy refuses
    # every script (the public pages) are checked too.
    page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async (levels) => (await axe.run(document, {runOnly: levels})).violations.map(
            v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)""",
        WCAG_LEVELS,
    )
    return list(found)


def check_page(page, name: str) -> None:
    """What every page of the walk must be: no console errors, no WCAG 2 A/AA violation; and a
    screenshot of it for a person to look at."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshots_dir() / f"{name}.png"), full_page=True)
    assert page.console_errors == [], f"{name}: console errors {page.console_errors}"
    violations = axe_violations(page)
    assert violations == [], f"{name}: accessibility violations {violations}"
