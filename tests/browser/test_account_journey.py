"""Account journeys in a real browser: resetting a forgotten password, changing how you take part, short ideas."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from consult.demo import DEMO_DOMAIN, DEMO_PASSWORD
from tests.browser.conftest import screenshot
from tests.support.mail import mail_dir, wait_for_link

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
EMAIL = f"carer@{DEMO_DOMAIN}"
NEW_PASSWORD = "kettle on the windowsill"


def test_participant_resets_a_forgotten_password(page: Page, demo_server) -> None:
    base = demo_server.url
    page.goto(base + "/login")
    page.get_by_role("link", name="I have forgotten my password").click()
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = wait_for_link(mail_dir(demo_server.database), EMAIL, "/reset-password/")
    page.goto(base + link)
    page.get_by_label("New password").fill("carer1234567")
    page.get_by_role("button", name="Change my password").click()
    expect(page.locator(".nhsuk-error-message")).to_contain_text("email address")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change my password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()
    screenshot(page, "password-reset")

    # The link worked once; the old password no longer does, the new one does.
    page.goto(base + link)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    for password, works in ((DEMO_PASSWORD, False), (NEW_PASSWORD, True)):
        page.goto(base + "/login")
        page.get_by_label("Email address").fill(EMAIL)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        if works:
            expect(page.get_by_role("link", name="Your account")).to_be_visible()
        else:
            expect(page.get_by_text("Enter a correct email address and password").first).to_be_visible()


def _fits(page: Page) -> None:
    """Nothing on the page is wider than the screen (no sideways scrolling)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]


def test_participant_changes_how_they_take_part_on_a_phone(browser, demo_server) -> None:
    from tests.browser.test_accessibility import violations
    from tests.browser.test_participant_journey import register

    context = browser.new_context(viewport={"width": 375, "height": 812})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        register(page, demo_server, "switching@example.org")
        page.goto(demo_server.url + "/account")
        expect(page.get_by_text("A member of the public")).to_be_visible()
        page.get_by_role("link", name="Change how you take part").click()
        expect(page.get_by_role("heading", level=1, name="Change how you take part")).to_be_visible()
        assert violations(page) == []
        _fits(page)
        page.get_by_role("radio", name="Health or care staff").check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".nhsuk-error-summary")).to_contain_text("Select your profession")
        assert violations(page) == []
        screenshot(page, "taking-part-error-375")
        page.get_by_label(re.compile("If you are health or care staff")).select_option("physiotherapist")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("You now take part as health or care staff")).to_be_visible()
        expect(page.get_by_text("Your claim is not verified yet")).to_be_visible()
        expect(page.get_by_text("Health or care staff (Physiotherapist)")).to_be_visible()
        _fits(page)
        screenshot(page, "taking-part-saved-375")
        # Saving the same again changes nothing and says so.
        page.get_by_role("link", name="Change how you take part").click()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Nothing changed")).to_be_visible()
    finally:
        context.close()


def test_a_one_letter_idea_is_refused_and_kept_without_javascript(browser, demo_server) -> None:
    from tests.browser.test_participant_journey import register

    context = browser.new_context(viewport={"width": 375, "height": 812}, java_script_enabled=False)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        register(page, demo_server, "tooshort@example.org")
        page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
        page.locator(".nhsuk-card--feature").get_by_role("link").first.click()
        page.get_by_role("link", name="Add an idea").click()
        page.get_by_label("Title").fill("a")
        page.get_by_label("Your idea").fill(".")
        page.get_by_role("button", name="Post idea").click()
        summary = page.locator(".nhsuk-error-summary")
        expect(summary).to_contain_text("at least 2 words, or one word of 5 letters or more")
        expect(summary).to_contain_text("no letters or numbers")
        expect(page.get_by_label("Title")).to_have_value("a")
        expect(page.get_by_label("Your idea")).to_have_value(".")
        _fits(page)
        screenshot(page, "idea-too-short-375-nojs")
        page.get_by_label("Title").fill("Evening clinics")
        page.get_by_label("Your idea").fill("After work, please.")
        page.get_by_role("button", name="Post idea").click()
        expect(page.get_by_text("Your idea has been posted.")).to_be_visible()
    finally:
        context.close()
