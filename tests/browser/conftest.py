"""Real-browser fixtures: the demo served by gunicorn, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.support.live import LiveServer, flask_command, live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo data served on 127.0.0.1 by gunicorn, as `make run` serves it."""
    database = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    flask_command(database, "init-db")
    flask_command(database, "seed-demo")
    with live_server(database) as server:
        yield server


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (cookies) per test, phone-sized."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=False)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture()
def page(context: BrowserContext) -> Page:
    """A page in the fresh context."""
    return context.new_page()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under tests/browser/screenshots (ignored by git) for people to look at."""
    folder = Path(__file__).parent / "screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
