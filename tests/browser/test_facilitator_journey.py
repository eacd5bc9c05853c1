"""A facilitator creates a phase with a topic, opens it, closes it; afterwards no participant can contribute."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from consult.demo import DEMO_PASSWORD
from tests.browser.conftest import screenshot
from tests.browser.test_participant_journey import register

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def log_in(page: Page, base: str, email: str) -> None:
    """Log in through the form."""
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_facilitator_journey_and_closed_phase(browser, demo_server) -> None:
    base = demo_server.url
    staff = browser.new_context()
    page = staff.new_page()
    log_in(page, base, "facilitator@demo.consult.test")
    page.get_by_role("link", name="Facilitator dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Facilitator dashboard")

    page.get_by_role("link", name=re.compile("^Add a phase to Allied health professions")).click()
    page.get_by_label("Title").fill("Workshop follow-up")
    page.get_by_label("The question this phase asks").fill("What did we miss about care closer to home?")
    page.get_by_role("button", name="Add phase").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Topics in phase 4: Workshop follow-up")
    page.get_by_role("link", name="Add a topic").click()
    page.get_by_label("Title").fill("Home visits")
    page.get_by_role("button", name="Add topic").click()
    expect(page.get_by_text("Home visits").first).to_be_visible()

    page.goto(base + "/facilitate/")
    page.get_by_role("button", name=re.compile(r"^Open now\W+phase 4")).click()
    page.get_by_role("button", name="Yes, open it now").click()  # opening cannot be taken back, so it asks
    expect(page.get_by_role("button", name=re.compile(r"^Close now\W+phase 4"))).to_be_visible()
    screenshot(page, "dashboard")

    # A participant takes part while it is open...
    person = browser.new_context()
    participant = person.new_page()
    register(participant, demo_server, "after-close@example.org", category="A person who uses health or care services")
    participant.goto(base + "/c/ahp-strategy")
    participant.get_by_role("link", name=re.compile("Phase 4: Workshop follow-up")).click()
    participant.get_by_role("link", name="Home visits").click()
    participant.get_by_role("link", name="Add an idea").click()
    participant.get_by_label("Title").fill("Physio at home after a fall")
    participant.get_by_label("Your idea").fill("Visits at home in the first week after hospital.")
    participant.get_by_role("button", name="Post idea").click()
    expect(participant.get_by_text("Your idea has been posted.")).to_be_visible()
    idea_url = participant.url

    # ...the facilitator closes it...
    page.get_by_role("button", name=re.compile(r"^Close now\W+phase 4")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Close phase 4")  # it asks first
    page.get_by_role("button", name="Yes, close it now").click()
    expect(page.get_by_role("button", name=re.compile(r"^Reopen now\W+phase 4"))).to_be_visible()
    page.get_by_role("link", name=re.compile("^History of phase 4")).click()
    expect(page.locator("main")).to_contain_text("facilitator@demo.consult.test")
    expect(page.locator("main table")).to_contain_text("Closed")

    # ...and the participant can read it but can no longer add ideas, comments or votes.
    participant.goto(idea_url)
    expect(participant.get_by_text("This phase is closed.")).to_be_visible()
    expect(participant.get_by_label("Add a comment")).to_have_count(0)
    expect(participant.get_by_role("button", name=re.compile("^Support"))).to_have_count(0)
    # Whatever the browser sends, the server refuses: send a vote with a valid token (from the log-out form).
    token = participant.locator("input[name=csrf_token]").first.get_attribute("value")
    idea_pid = idea_url.rstrip("/").split("/")[-1].split("?")[0].split("#")[0]
    refused = participant.request.post(base + "/vote", form={"kind": "idea", "id": idea_pid, "value": "1",
                                                             "csrf_token": token},
                                       headers={"Accept": "application/json"})
    assert refused.status == 409
    assert "closed" in refused.json()["error"]
    screenshot(participant, "closed-idea")
    staff.close()
    person.close()
