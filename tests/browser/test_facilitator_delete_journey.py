"""A facilitator adds a topic by mistake, is stopped from adding it twice, then deletes it after a confirmation
page; a topic with ideas cannot be deleted. The pages pass axe; the unusual-activity cards show their texts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import violations
from tests.browser.test_facilitator_journey import log_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_facilitator_deletes_a_topic_added_by_mistake(page: Page, demo_server) -> None:
    base = demo_server.url
    found: dict[str, list[str]] = {}
    log_in(page, base, "facilitator@demo.consult.test")
    page.goto(base + "/facilitate/")
    section = page.locator("section", has=page.get_by_role("heading", name="Children and young people's therapy "
                                                                               "services"))
    section.get_by_role("link", name=re.compile("^Topics for phase 1")).click()
    topics_url = page.url

    page.get_by_role("link", name="Add a topic").click()
    page.get_by_label("Title").fill("Typo topic")
    page.get_by_role("button", name="Add topic").click()
    expect(page.get_by_text("The topic “Typo topic” has been added.")).to_be_visible()

    # The same title again (in other case and spacing) is refused, naming the first, keeping what was typed.
    page.get_by_role("link", name="Add a topic").click()
    page.get_by_label("Title").fill(" typo  TOPIC")
    page.get_by_label("Description (optional)").fill("Typed before the problem")
    page.get_by_role("button", name="Add topic").click()
    expect(page.locator(".nhsuk-error-summary")).to_contain_text("This phase already has a topic called “Typo topic”")
    expect(page.get_by_label("Description (optional)")).to_have_value("Typed before the problem")
    found["duplicate title"] = violations(page)

    page.goto(topics_url)
    page.get_by_role("link", name="Edit Typo topic").click()
    page.get_by_role("link", name="Delete this topic").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete the topic “Typo topic”?")
    found["confirm"] = violations(page)
    screenshot(page, "delete-topic-confirm")
    page.get_by_role("button", name="Yes, delete it").click()
    expect(page.get_by_text("The topic “Typo topic” has been deleted.")).to_be_visible()
    expect(page.get_by_role("link", name="Edit Typo topic")).to_have_count(0)
    assert page.url == topics_url

    # Going back and sending it again says so, rather than an error.
    page.go_back()
    expect(page.get_by_text("“Typo topic” has already been deleted.")).to_be_visible()

    # A topic with ideas: refused with the reason and what to do instead, and no delete button.
    page.goto(base + "/facilitate/")
    ahp = page.locator("section", has=page.get_by_role("heading", name="Allied health professions strategy"))
    ahp.get_by_role("link", name=re.compile("^Topics for phase 1")).click()
    page.get_by_role("link", name="Edit Getting the care you need").click()
    page.get_by_role("link", name="Delete this topic").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("You cannot delete the topic")
    expect(page.locator("main")).to_contain_text("Ideas are never deleted with their topic")
    expect(page.get_by_role("button", name="Yes, delete it")).to_have_count(0)
    found["refused"] = violations(page)
    screenshot(page, "delete-topic-refused")

    page.goto(base + "/moderation")
    page.locator("li", has=page.get_by_role("heading", name=re.compile("^Allied health professions"))).get_by_role(
        "link", name="Moderation queue").click()
    page.get_by_role("link", name="Unusual activity").click()
    expect(page.get_by_role("heading", name="What was posted").first).to_be_visible()
    found["anomalies"] = violations(page)
    screenshot(page, "anomalies")
    assert {k: v for k, v in found.items() if v} == {}
