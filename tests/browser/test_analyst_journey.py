"""An analyst starts an analysis of the demo consultation, watches its progress and reads the themes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_facilitator_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_analyst_runs_an_analysis_and_reads_themes(browser, demo_server) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        log_in(page, demo_server.url, "analyst@demo.consult.test")
        page.get_by_role("link", name="Analysis").click()
        card = page.locator(".nhsuk-card", has_text="Allied health professions")
        card.get_by_label("The whole consultation").check()
        card.get_by_role("button", name=re.compile("^Start analysis")).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Analysis \d+"))
        expect(page.get_by_role("status")).to_be_visible()
        # The background worker picks the run up; the page refreshes itself until the themes appear.
        expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("themes$"), timeout=180_000)
        screenshot(page, "analysis")
        rows = page.locator("table tbody tr")
        assert rows.count() >= 5
        expect(page.get_by_text("Saturation", exact=True)).to_be_visible()
        rows.first.get_by_role("link").click()
        expect(page.get_by_role("heading", level=2, name="Contributions, most supported first")).to_be_visible()
        assert page.locator(".consult-card-list > li").count() > 0
        page.go_back()
        page.get_by_role("link", name="Who said what").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Who said what")
    finally:
        context.close()
