"""In a real browser: a report leads to a comment hidden in place with its reason; a phone number is held and
its author told why; a safeguarding disclosure reaches the restricted queue and its author sees where to get help."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.sync_api import Browser, Page, expect

from consult.demo import DEMO_DOMAIN
from tests.browser.conftest import screenshot
from tests.browser.test_facilitator_journey import log_in
from tests.browser.test_participant_journey import register
from tests.support.live import flask_command

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
LEAD = "safeguarding-lead@example.org"
LEAD_PASSWORD = "correct horse battery staple 2021"


def _assign_staff(database) -> int:
    """Assign the demo facilitator (moderation) and a new safeguarding lead to the open consultation."""
    flask_command(database, "create-user", LEAD, "--role", "moderator", "--password", LEAD_PASSWORD)
    with sqlite3.connect(database) as connection:
        consultation_id = connection.execute("SELECT id FROM consultation WHERE is_published = 1 "
                                             "ORDER BY id LIMIT 1").fetchone()[0]
        for email, role in ((f"facilitator@{DEMO_DOMAIN}", "facilitator"), (LEAD, "safeguarding")):
            connection.execute("INSERT OR IGNORE INTO consultation_assignment (consultation_id, user_id, role, "
                               "created_at) SELECT ?, id, ?, CURRENT_TIMESTAMP FROM user WHERE email = ?",
                               (consultation_id, role, email))
    return consultation_id


def _open_an_idea(page: Page, base: str) -> str:
    """Go from the home page to an idea of the open phase's first topic that takes votes and has fewer than ten
    comments (so a new comment shows on its first page); returns its address."""
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("Allied health professions")).first.click()
    page.locator(".nhsuk-card--feature").get_by_role("link").first.click()
    # The topic lists ideas in a random order for each visitor: the first may be a workshop idea, a long thread or
    # an emerging theme the team published (no one's own idea).
    cards = page.locator(".consult-card-list > li", has=page.locator("[data-vote-up]")).filter(
        has_not_text="Emerging theme")
    cards.filter(has_text=re.compile(r"· \d comments?\b")).first.locator("h3 a").click()
    return page.url.split("#")[0]


def _comment(page: Page, text: str) -> None:
    """Post a comment on the idea page."""
    page.get_by_label("Add a comment").fill(text)
    page.get_by_role("button", name="Post comment").click()


def test_moderation_journey(browser: Browser, demo_server) -> None:
    base = demo_server.url
    consultation_id = _assign_staff(demo_server.database)
    author_ctx, reporter_ctx, staff_ctx, lead_ctx, visitor_ctx = (
        browser.new_context(viewport={"width": 390, "height": 844}) for _ in range(5))
    try:
        author = author_ctx.new_page()
        register(author, demo_server, "moderation-author@example.org")
        idea_url = _open_an_idea(author, base)
        _comment(author, "The car park pay machines by outpatients never take cards")
        expect(author.get_by_text("Your comment has been posted.")).to_be_visible()

        # Another participant reports it, once, and is told what happens next.
        reporter = reporter_ctx.new_page()
        register(reporter, demo_server, "moderation-reporter@example.org")
        reporter.goto(idea_url)
        comment = reporter.locator(".consult-comment", has_text="pay machines by outpatients")
        comment.get_by_role("link", name="Report this comment").click()
        reporter.get_by_label("It is not about this consultation").check()
        reporter.get_by_role("button", name="Send report").click()
        expect(reporter.get_by_text("Thank you. You reported this comment")).to_be_visible()
        screenshot(reporter, "moderation-reported")

        # A facilitator assigned to the consultation hides it with a reason, which shows in its place.
        staff = staff_ctx.new_page()
        log_in(staff, base, f"facilitator@{DEMO_DOMAIN}")
        staff.goto(f"{base}/moderation/{consultation_id}?reason=off_topic")
        case = staff.locator(".consult-queue > li", has_text="pay machines by outpatients")
        case.get_by_role("link", name=re.compile("Open this case")).click()
        staff.get_by_label("Hide it, with the reason below").check()
        staff.get_by_label("Reason shown in place of it, if you hide it").fill("It was not about this question")
        staff.get_by_role("button", name="Record decision").click()
        expect(staff.get_by_text("Your decision has been recorded.")).to_be_visible()
        visitor = visitor_ctx.new_page()
        visitor.goto(idea_url)
        expect(visitor.get_by_text("This comment was hidden by a moderator: It was not about this question")
               ).to_be_visible()
        expect(visitor.get_by_text("pay machines by outpatients")).to_have_count(0)
        screenshot(visitor, "moderation-hidden-in-place")

        # A phone number is held, and its author is told why on the page they land on.
        author.goto(idea_url)
        _comment(author, "Happy to explain more, ring me on 07700 900123")
        expect(author.get_by_role("heading", level=1)).to_have_text("Your comment is not published yet")
        expect(author.locator("#held-reason")).to_contain_text("it contains a phone number")
        screenshot(author, "moderation-held-phone")
        visitor.goto(idea_url)
        expect(visitor.get_by_text("07700 900123")).to_have_count(0)

        # A disclosure goes to the restricted queue; its author sees where to get help now.
        author.goto(idea_url)
        _comment(author, "Since the clinic closed I feel so alone that I want to end my life")
        expect(author.get_by_text("Samaritans free on 116 123")).to_be_visible()
        expect(author.get_by_text("NHS 111")).to_be_visible()
        expect(author.get_by_text("Patient Advice and Liaison Service (PALS)")).to_be_visible()
        screenshot(author, "moderation-signposting")
        staff.goto(f"{base}/moderation/{consultation_id}?status=all")
        expect(staff.get_by_text("want to end my life")).to_have_count(0)
        lead = lead_ctx.new_page()
        lead.goto(base + "/login")
        lead.get_by_label("Email address").fill(LEAD)
        lead.get_by_label("Password").fill(LEAD_PASSWORD)
        lead.get_by_role("button", name="Log in").click()
        lead.goto(f"{base}/moderation")
        lead.get_by_role("link", name="Safeguarding queue").first.click()
        expect(lead.get_by_role("heading", level=1)).to_have_text("Safeguarding queue")
        expect(lead.get_by_text("want to end my life")).to_be_visible()
        screenshot(lead, "moderation-safeguarding-queue")
    finally:
        for ctx in (author_ctx, reporter_ctx, staff_ctx, lead_ctx, visitor_ctx):
            ctx.close()
