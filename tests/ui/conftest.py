"""A real browser for the UI tests: playwright (sync API) driving Debian's chromium, headless.

playwright cannot download its own browsers here; ``scripts/bootstrap.sh`` installs ``chromium``. A missing
browser is an error, never a skip. ``shot(name)`` saves a screenshot of the page under the test's tmp_path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: run scripts/bootstrap.sh (apt-get install chromium)"
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium's sandbox refuses to run as root
    launched = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def shot(page: Page, tmp_path: Path) -> Callable[[str], Path]:
    """Save a full-page screenshot as ``<tmp_path>/screenshots/<n>-<name>.png``; return its path."""
    taken: list[Path] = []

    def take(name: str) -> Path:
        path = tmp_path / "screenshots" / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        taken.append(path)
        return path

    return take
