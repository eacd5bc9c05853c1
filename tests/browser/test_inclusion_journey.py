"""A new participant answers the questions about them; a facilitator sees who is missing and uploads a workshop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_facilitator_journey import log_in
from tests.browser.test_participant_journey import register
from tests.support.live import LiveServer, flask_command, live_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Dated today: rows dated before their phase opened are refused.
TODAY = datetime.now(UTC).date().isoformat()
WORKSHOP = f"""topic,title,idea,channel,event,date,people,group_profile,category
1,Buses to the clinic,The bus does not reach the clinic so people miss therapy.,workshop,Day centre forum,\
{TODAY},12,"older adults, mostly disabled",service_user
1,Large print letters,Letters should come in large print.,workshop,Day centre forum,{TODAY},,,service_user
1,Bad row,This row has a channel nobody uses.,carrier pigeon,Day centre forum,{TODAY},,,
1,Call me back,Phone me after the appointment.,phone,Phone line,{TODAY},,,carer
"""


@pytest.fixture(scope="module")
def busy_demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo served as `make run` serves it, allowing a slow start on a busy shared machine."""
    database = tmp_path_factory.mktemp("inclusion-demo") / "demo.sqlite3"
    flask_command(database, "init-db")
    flask_command(database, "seed-demo")
    with live_server(database, timeout=180.0) as server:
        yield server


def test_inclusion_journey(browser, busy_demo_server, tmp_path: Path) -> None:
    base = busy_demo_server.url
    person = browser.new_context(viewport={"width": 390, "height": 844})
    page = person.new_page()
    register(page, busy_demo_server, "about-me@example.org")
    page.goto(base + "/me/about-you")
    expect(page.get_by_role("heading", level=1)).to_have_text("About you")
    expect(page.get_by_text("Every question is optional.")).to_be_visible()
    page.locator("#age_band-75_plus").check()
    page.locator("#sex-prefer_not_to_say").check()
    page.locator("#sexual_orientation-prefer_not_to_say").check()
    page.get_by_label(re.compile("^What is your ethnic group")).select_option("caribbean")
    page.get_by_label(re.compile("^What is the first part of your postcode")).fill("ne1")
    page.get_by_role("button", name="Save my answers").click()
    # Special-category answers need consent: nothing is lost, the box is explained.
    expect(page.get_by_role("alert")).to_contain_text("Tick the box to agree")
    expect(page.locator("#age_band-75_plus")).to_be_checked()
    page.get_by_label(re.compile("^I agree that consult may hold")).check()
    page.get_by_role("button", name="Save my answers").click()
    expect(page.get_by_text("Your answers are saved")).to_be_visible()
    expect(page.get_by_text("75 and over")).to_be_visible()
    screenshot(page, "about-you-saved")
    person.close()

    staff = browser.new_context()
    page = staff.new_page()
    log_in(page, base, "facilitator@demo.consult.test")
    page.goto(base + "/facilitate/consultations/1/inclusion")
    expect(page.get_by_role("heading", level=1)).to_have_text("Who is being heard")
    expect(page.get_by_text(re.compile(r"Under-represented: people aged 75 and over, under 0\.\dx")).first
           ).to_be_visible()
    expect(page.get_by_text("England, Census 2021").first).to_be_visible()
    expect(page.locator("#summary-text")).to_contain_text("registrants in")
    page.get_by_label("Active contributors (posted or voted)").check()
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(re.compile(r"active contributors; .* answered")).first).to_be_visible()
    screenshot(page, "inclusion-page")

    page.get_by_role("link", name="Offline contributions for phase 3").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Workshop, paper and phone contributions")
    csv_file = tmp_path / "workshop.csv"
    csv_file.write_text(WORKSHOP, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and check").click()
    report = page.get_by_role("alert")
    expect(report).to_contain_text("3 rows added, 1 not added")
    expect(report).to_contain_text("Row 4")
    expect(report).to_contain_text("The channel “carrier pigeon” should be workshop, paper or phone")
    expect(page.get_by_role("cell", name="Day centre forum")).to_be_visible()
    screenshot(page, "workshop-upload")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("alert")).to_contain_text("0 rows added, 3 already there, 1 not added")
    staff.close()
