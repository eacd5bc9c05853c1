"""axe-core finds no WCAG 2.2 A/AA violations on the participant pages, on a phone-sized screen."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.test_participant_journey import register

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}


def violations(page: Page) -> list[str]:
    """axe violations on the current page, as readable lines."""
    # A click starts a navigation without waiting for its stylesheet: unstyled links read as tiny targets.
    page.wait_for_load_state("load")
    results = Axe().run(page, options=WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]]


def test_participant_pages_have_no_wcag_violations(page: Page, demo_server) -> None:
    base = demo_server.url
    found: dict[str, list[str]] = {}
    for path in ("/", "/about", "/login", "/register"):
        page.goto(base + path)
        found[path] = violations(page)
    page.goto(base + "/register")
    page.get_by_role("button", name="Create account").click()
    found["form with errors"] = violations(page)
    register(page, demo_server, "axe@example.org")
    page.goto(base + "/me/about-you")
    found["questions about you"] = violations(page)
    for path in ("/account", "/me/how-you-take-part"):
        page.goto(base + path)
        found[path] = violations(page)
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
    found["consultation"] = violations(page)
    page.locator(".nhsuk-card--feature").get_by_role("link").first.click()
    found["topic"] = violations(page)
    page.locator(".consult-card-list h3 a").first.click()
    found["idea"] = violations(page)
    # The open phase is check and challenge: an emerging theme to check, and What we heard for phase 1.
    page.go_back()
    page.locator("#themes + p + ul a").first.click()
    found["emerging theme"] = violations(page)
    page.goto(base + "/c/ahp-strategy")
    page.get_by_role("link", name=re.compile("What we heard in phase 1")).first.click()
    found["what we heard"] = violations(page)
    page.goto(base + "/me/contributions")
    found["my contributions"] = violations(page)
    assert {k: v for k, v in found.items() if v} == {}


def test_staff_pages_fit_a_phone_and_raise_no_script_errors(browser, demo_server) -> None:
    from tests.browser.test_facilitator_journey import log_in

    context = browser.new_context(viewport={"width": 375, "height": 812})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, demo_server.url, "admin@demo.consult.test")
        widths = {}
        for path in ("/", "/c/ahp-strategy", "/facilitate/", "/admin/users", "/analyse/"):
            page.goto(demo_server.url + path)
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        assert {p: w for p, w in widths.items() if w > 375} == {}
        assert errors == []
        # The header's "More" menu holds the staff links that do not fit.
        page.get_by_role("button", name="Browse More").click()
        page.get_by_role("link", name="Users and roles").click()
        assert page.url.endswith("/admin/users")
    finally:
        context.close()
