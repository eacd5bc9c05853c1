"""A participant who forgot their password resets it with the emailed link, in a real browser."""

from __future__ import annotations

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
