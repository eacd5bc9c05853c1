"""A participant registers, picks a topic, posts an idea, comments, replies, votes and changes the vote."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.support.live import LiveServer
from tests.support.mail import mail_dir, wait_for_link

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def register(page: Page, server: LiveServer, email: str, category: str = "A member of the public") -> None:
    """Create an account through the form and confirm it with the link emailed to the address."""
    page.goto(server.url + "/register")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Create a password").fill("a long enough password")
    page.get_by_label(category).check()
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    page.goto(server.url + wait_for_link(mail_dir(server.database), email, "/confirm/"))
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_text("Your email address is confirmed")).to_be_visible()
    # Confirmation leads on to the optional questions about you; these journeys skip them from the home page.
    page.goto(server.url + "/")


def test_participant_journey(page: Page, demo_server) -> None:
    register(page, demo_server, "journey@example.org")

    page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
    expect(page.get_by_role("heading", level=2, name=re.compile("Open now"))).to_be_visible()
    page.locator(".nhsuk-card--feature").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=2, name=re.compile("Ideas"))).to_be_visible()
    screenshot(page, "topic")

    page.get_by_role("link", name="Add an idea").click()
    page.get_by_label("Title").fill("Physio appointments in the evening 🌙")
    page.get_by_label("Your idea").fill("Many of us work 9 to 5.\nEvening slots would help — diolch!")
    page.get_by_role("button", name="Post idea").click()
    expect(page.get_by_text("Your idea has been posted.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Physio appointments in the evening 🌙")
    expect(page.locator("h1 .consult-you")).to_have_text("You")

    page.get_by_label("Add a comment").fill("Saturday mornings would work too.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_text("Your comment has been posted.")).to_be_visible()
    page.get_by_text("Reply to this comment").first.click()
    page.get_by_label("Your reply").first.fill("Agreed, and weekends for children.")
    page.get_by_role("button", name="Post reply").first.click()
    expect(page.get_by_text("Your reply has been posted.")).to_be_visible()
    expect(page.locator(".consult-reply")).to_contain_text("Agreed, and weekends for children.")

    votes = page.locator(".consult-votes").first
    votes.get_by_role("button", name="Support this idea").click()
    expect(votes.locator("[data-vote-mine]")).to_have_text("(you support this)")
    expect(votes.locator("[data-vote-up]")).to_have_text("1")
    votes.get_by_role("button", name="Against this idea").click()
    expect(votes.locator("[data-vote-mine]")).to_have_text("(you are against this)")
    expect(votes.locator("[data-vote-up]")).to_have_text("0")
    expect(votes.locator("[data-vote-down]")).to_have_text("1")
    screenshot(page, "idea")

    # The change survives a reload: it was stored, not just shown.
    page.reload()
    expect(page.locator(".consult-votes").first.locator("[data-vote-mine]")).to_have_text("(you are against this)")
    page.get_by_role("link", name="My contributions").click()
    expect(page.get_by_role("link", name="Physio appointments in the evening 🌙")).to_be_visible()


def test_voting_works_without_javascript(browser, demo_server) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        register(page, demo_server, "nojs@example.org", category="A carer")
        page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
        page.locator(".nhsuk-card--feature").get_by_role("link").first.click()
        # Ideas come in a random order for each visitor; a workshop idea, which takes no votes, or an emerging
        # theme, which is checked rather than supported, may come first.
        first = page.locator(".consult-card-list > li",
                             has=page.get_by_role("button", name=re.compile("^Support"))).first
        title = first.locator("h3 a").inner_text()
        up_before = int(first.locator("[data-vote-up]").inner_text())
        first.get_by_role("button", name=re.compile("^Support")).click()
        expect(page.get_by_text("You support this.")).to_be_visible()
        card = page.locator(".consult-card-list > li", has=page.get_by_role("link", name=title, exact=True))
        expect(card.locator("[data-vote-up]")).to_have_text(str(up_before + 1))
        expect(card.locator("[data-vote-mine]")).to_have_text("(you support this)")
    finally:
        context.close()


def test_visitor_is_told_how_to_take_part(page: Page, demo_server) -> None:
    page.goto(demo_server.url)
    page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
    page.locator(".nhsuk-card--feature").get_by_role("link").first.click()
    expect(page.get_by_text("Log in or create an account to take part.")).to_be_visible()
    expect(page.get_by_role("link", name="Add an idea")).to_have_count(0)


@pytest.mark.parametrize("javascript", [True, False])
def test_an_emerging_theme_is_checked_as_right_or_not_right_on_a_phone(browser, demo_server, javascript) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, java_script_enabled=javascript)
    page = context.new_page()
    try:
        register(page, demo_server, f"checking-{'js' if javascript else 'nojs'}@example.org", category="A carer")
        page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
        page.get_by_role("link", name="Have we heard you right?").first.click()
        themes = page.get_by_role("heading", name="Emerging themes to check")
        expect(themes).to_be_visible()
        page.locator("#themes + p + ul").get_by_role("link").first.click()
        expect(page.locator("h1 .nhsuk-tag")).to_have_text("Emerging theme")
        votes = page.locator(".consult-votes").first
        expect(votes.get_by_role("button", name=re.compile("^Support"))).to_have_count(0)
        up = int(votes.locator("[data-vote-up]").inner_text())
        votes.get_by_role("button", name="This is right this summary").click()
        if not javascript:
            expect(page.get_by_text("You said this summary is right.")).to_be_visible()
        expect(votes.locator("[data-vote-mine]")).to_have_text("(you said this is right)")
        expect(votes.locator("[data-vote-up]")).to_have_text(str(up + 1))
        expect(votes.locator(".consult-votes__counts")).to_contain_text("say this is right")
        votes.get_by_role("button", name="This is not right this summary").click()
        if not javascript:
            expect(page.get_by_text("You said this summary is not right.")).to_be_visible()
        expect(votes.locator("[data-vote-mine]")).to_have_text("(you said this is not right)")
        expect(votes.get_by_role("button", name="This is not right this summary")).to_have_attribute(
            "aria-pressed", "true")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(page, f"emerging-theme-{'js' if javascript else 'nojs'}-375")
    finally:
        context.close()
