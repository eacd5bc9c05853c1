"""The strategy team's workspace in a real browser: an analyst curates the codebook and downloads the exports;
a facilitator publishes two themes into the open phase, a participant votes on one, and "What we heard" shows them."""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator

import pytest
from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from consult.demo import seed_demo
from consult.extensions import make_engine
from tests.browser.conftest import screenshot
from tests.browser.test_facilitator_journey import log_in
from tests.browser.test_participant_journey import register
from tests.support.live import LiveServer, flask_command, live_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def analysed_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo with one finished analysis of the whole consultation, served by gunicorn."""
    database = tmp_path_factory.mktemp("workspace") / "demo.sqlite3"
    flask_command(database, "init-db")
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        seed_demo(session)  # the same rows at any hour of a day (consult/demo)
        session.commit()
    engine.dispose()
    flask_command(database, "analyse", "ahp-strategy")
    assign_demo_staff(database)
    with live_server(database, timeout=180) as server:
        yield server


def assign_demo_staff(database) -> None:
    """Assign the demo's facilitator and analyst to the demo consultation (the demo predates assignments)."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT OR IGNORE INTO consultation_assignment (consultation_id, user_id, role, created_at) "
            "SELECT c.id, u.id, u.role, CURRENT_TIMESTAMP FROM consultation c, user u "
            "WHERE u.role IN ('facilitator', 'analyst')")


def _flash(page, text: str) -> None:
    expect(page.locator(".consult-flash").first).to_contain_text(text)


def _expect_member(page, contribution: str) -> None:
    """The theme page lists this contribution on one of its pages (a theme's contributions come 50 a page)."""
    tick = page.get_by_label(f"Tick {contribution}", exact=True)
    while tick.count() == 0 and page.get_by_role("link", name=re.compile("^Next")).count():
        page.get_by_role("link", name=re.compile("^Next")).first.click()
    expect(tick).to_have_count(1)


NEW_IDEAS = {
    "Physio waiting list": "I waited nine months for physiotherapy after my knee operation. The waiting list for "
                           "physio appointments is far too long.",
    "Zebra quokka": "Xylophone zeppelin quasar.",
    # Close to contributions already coded, so they are clear fits.
    "Phone appointments for simple reviews": "A quick phone call is fine for a check-up. Save face-to-face visits "
                                             "for when they are needed.",
    "Students on placement": "More placements for students so they can train in the community.",
}


def rerun_and_accept_proposals(browser, page, server: LiveServer) -> None:
    """New ideas arrive; the analyst re-runs the analysis from the codebook page and codes them in bulk."""
    people = browser.new_context()
    people.set_default_timeout(90_000)
    person = people.new_page()
    register(person, server, "newcomer@example.org")
    for title, body in NEW_IDEAS.items():
        person.goto(server.url + "/c/ahp-strategy")
        person.locator(".nhsuk-card--feature").get_by_role("link").first.click()
        person.get_by_role("link", name="Add an idea").click()
        person.get_by_label("Title").fill(title)
        person.get_by_label("Your idea").fill(body)
        person.get_by_role("button", name="Post idea").click()
        expect(person.get_by_text("Your idea has been posted.")).to_be_visible()
    people.close()

    # Re-run from the codebook page; the worker in the live server runs it and the page follows its progress.
    page.get_by_role("button", name="Re-run the analysis").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Analysis \d+: themes$"),
                                                              timeout=600_000)
    expect(page.locator("main")).to_contain_text("which this analysis leaves as it is")
    page.get_by_role("link", name=re.compile("^Review where they seem to fit the codebook")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New contributions to code")
    # The three kinds of proposal are kept apart, each under its own heading.
    for heading in ("Fits a theme", "Not sure", "None of these themes"):
        expect(page.get_by_role("heading", level=2, name=re.compile(f"^{heading} \\(\\d+\\)$"))).to_be_visible()
    # Found by their text (contribution ids are the workspace's; public URLs are not relied on).
    physio = page.locator("[data-proposal]", has_text="nine months for physiotherapy")
    nonsense = page.locator("[data-proposal]", has_text="Xylophone zeppelin quasar")
    ids = {"Physio waiting list": physio.get_attribute("data-proposal"),
           "Zebra quokka": nonsense.get_attribute("data-proposal")}
    expect(physio).to_contain_text(re.compile(r"confidence \d+%"))
    # Words found in no theme: "None of these", kept apart from "Not sure", whose choices are left to the analyst.
    expect(nonsense).to_have_attribute("data-verdict", "none")
    for choice in page.locator("[data-verdict='unsure'] select").all():
        expect(choice).to_have_value("")
    fits = page.locator("[data-verdict='fits']")
    expect(fits.filter(has_text="quick phone call")).to_have_count(1)
    expect(fits.filter(has_text="placements for students")).to_have_count(1)
    left_open = nonsense.get_by_role("combobox").input_value() == ""
    # Change one: the physio idea goes to the children's waits theme, whatever was proposed.
    children = page.locator("main select").first.locator("option", has_text="Waits for children's therapy")
    physio.get_by_role("combobox").select_option(children.get_attribute("value"))
    # Another clear fit is accepted as proposed, with the rest, in one save.
    accepted = page.locator(f"[data-verdict='fits']:not([data-proposal='{ids['Physio waiting list']}'])").first
    accepted_id = accepted.get_attribute("data-proposal")
    accepted_theme = accepted.get_by_role("combobox").locator("option:checked").inner_text()
    chosen = page.eval_on_selector_all("main form select", "els => els.filter(e => e.value).length")
    screenshot(page, "workspace-proposals")
    page.get_by_role("button", name="Save these choices").click()
    _flash(page, f"{chosen} contribution{'' if chosen == 1 else 's'} coded (version 6)")
    expect(page.locator(f"[data-proposal='{ids['Physio waiting list']}']")).to_have_count(0)
    expect(page.locator(f"[data-proposal='{accepted_id}']")).to_have_count(0)
    # Left open (not a sure thing) it waits for the analyst; chosen as fitting none, it is done.
    expect(page.locator(f"[data-proposal='{ids['Zebra quokka']}']")).to_have_count(1 if left_open else 0)

    page.get_by_role("link", name=re.compile("^Codebook: ")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codebook, version 6")
    page.locator("main table").first.get_by_role("link", name="Waits for children's therapy", exact=True).click()
    _expect_member(page, ids['Physio waiting list'])
    page.get_by_role("link", name=re.compile("^Codebook: ")).click()
    page.locator("main table").first.get_by_role("link", name=accepted_theme, exact=True).click()
    _expect_member(page, accepted_id)
    page.get_by_role("link", name=re.compile("^Codebook: ")).click()


def test_workspace_journey(browser, analysed_demo) -> None:
    base = analysed_demo.url
    staff = browser.new_context(accept_downloads=True)
    # Theme pages list every contribution of a theme (hundreds in the demo); allow a loaded machine time.
    staff.set_default_timeout(90_000)
    page = staff.new_page()
    log_in(page, base, "analyst@demo.consult.test")
    page.goto(base + "/workspace/")
    page.get_by_role("link", name=re.compile("Allied health professions")).click()
    page.get_by_role("button", name=re.compile("^Adopt these themes")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codebook, version 1")

    # Rename the first theme and write its summary.
    page.locator("table").first.locator("tbody th a").nth(0).click()
    page.get_by_label("Name", exact=True).fill("Long waits for therapy")
    page.get_by_label("Summary", exact=True).fill("People wait months for therapy and want shorter waits.")
    page.get_by_role("button", name="Save name and summary").click()
    _flash(page, "Saved as version 2")
    # Merge another theme into it.
    page.get_by_label(re.compile("^Theme to merge into")).select_option(index=1)
    page.get_by_role("button", name="Merge").click()
    _flash(page, "has been merged into “Long waits for therapy”")
    # Split two of its contributions into a new theme with its own summary.
    boxes = page.get_by_label(re.compile(r"^Tick [ic]\d+$"))
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.get_by_label("Name of the new theme").fill("Waits for children's therapy")
    page.get_by_label("Summary of the new theme (optional)").fill("Parents describe long waits for children.")
    page.get_by_role("button", name="Split into a new theme").click()
    _flash(page, "2 contributions are now in the new theme")
    expect(page.get_by_role("heading", level=1)).to_have_text("Waits for children's therapy")
    # Move one contribution of the new theme back to another theme.
    page.get_by_label(re.compile(r"^Tick [ic]\d+$")).first.check()
    page.get_by_label("Theme they should go to").select_option(index=1)
    page.get_by_role("button", name="Move or add to that theme").click()
    _flash(page, "1 contribution has been moved to")
    screenshot(page, "workspace-theme")

    page.get_by_role("link", name=re.compile("^Codebook: ")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codebook, version 5")
    rerun_and_accept_proposals(browser, page, analysed_demo)
    # Choose a quote for the strategy: what the evidence pack and "What we heard" will quote.
    page.locator("main table").first.get_by_role("link", name="Long waits for therapy", exact=True).click()
    expect(page.locator("#quotes ~ p").first).to_contain_text("The quotes you choose go in the evidence pack")
    page.get_by_label(re.compile(r"^Tick i\d+$")).first.check()
    page.get_by_role("button", name="Quote for the strategy").click()
    _flash(page, "1 quote chosen for “Long waits for therapy”")
    expect(page.locator(".consult-quote figcaption").first).to_contain_text(re.compile(r"^Anon, \w+ \d{4}, "))
    screenshot(page, "workspace-quotes")
    page.get_by_role("link", name=re.compile("^Codebook: ")).click()
    page.get_by_role("link", name="History of changes").click()
    expect(page.locator("main table")).to_contain_text("Merged")
    expect(page.locator("main table")).to_contain_text("analyst@demo.consult.test")
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the workbook (XLSX)").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    assert "Themes" in book.sheetnames and "Vote totals" in book.sheetnames
    labels = [row[1] for row in list(book["Themes"].iter_rows(values_only=True))[1:]]
    assert "Long waits for therapy" in labels and "Waits for children's therapy" in labels
    assert len(list(book["Ideas"].iter_rows(values_only=True))) > 100
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the evidence pack (Word)").click()
    text = "\n".join(p.text for p in Document(io.BytesIO(download.value.path().read_bytes())).paragraphs)
    assert "People wait months for therapy" in text and "Anon, " in text
    screenshot(page, "workspace-codebook")

    # A facilitator publishes the two themes into the open phase.
    others = browser.new_context()
    others.set_default_timeout(90_000)
    facilitator = others.new_page()
    log_in(facilitator, base, "facilitator@demo.consult.test")
    facilitator.goto(base + "/facilitate/")
    facilitator.get_by_role("link", name=re.compile("^Check and challenge, and What we heard for Allied")).click()
    facilitator.get_by_label("Publish under this topic").select_option(index=1)
    facilitator.get_by_label("Long waits for therapy", exact=True).check()
    facilitator.get_by_label("Waits for children's therapy", exact=True).check()
    facilitator.get_by_role("button", name="Publish as statements").click()
    _flash(facilitator, "2 statements published")

    # A participant checks one of them: a vote as on any idea, worded "This is right".
    people = browser.new_context()
    people.set_default_timeout(90_000)
    person = people.new_page()
    register(person, analysed_demo, "checker@example.org")
    facilitator.get_by_role("link", name="Long waits for therapy", exact=True).click()
    statement_url = facilitator.url
    person.goto(statement_url)
    expect(person.get_by_role("heading", level=1)).to_contain_text("Long waits for therapy")
    person.get_by_role("button", name=re.compile("^This is right")).first.click()
    expect(person.locator("[data-vote-up]").first).to_have_text("1")

    # The facilitator writes "What we heard" for the first conversation from the codebook and publishes it.
    facilitator.goto(base + "/facilitate/")
    facilitator.get_by_role("link", name=re.compile("^Check and challenge, and What we heard for Allied")).click()
    expect(facilitator.locator("main table").first).to_contain_text("Long waits for therapy")
    facilitator.get_by_role("link", name=re.compile("^Write “What we heard” for People and communities")).click()
    facilitator.get_by_label("Introduction").fill("We asked what would make care better. Here is what you said.")
    facilitator.get_by_label("Long waits for therapy", exact=True).check()
    facilitator.get_by_label("Waits for children's therapy", exact=True).check()
    facilitator.get_by_label("What was done about “Long waits for therapy” (optional)").fill(
        "Waiting times are a priority.")
    facilitator.get_by_label("Publish this page to everyone").check()
    facilitator.get_by_role("button", name="Save").click()
    _flash(facilitator, "The page is published.")

    person.goto(base + "/c/ahp-strategy")
    person.get_by_role("link", name=re.compile("^Phase 1")).first.click()
    person.get_by_role("link", name="What we heard in this conversation").click()
    main = person.locator("main")
    expect(main).to_contain_text("Long waits for therapy")
    expect(main).to_contain_text("Waits for children's therapy")
    expect(main).to_contain_text("Waiting times are a priority.")
    expect(main).to_contain_text(re.compile(r"Anon, \w+ \d{4}, "))
    expect(main).to_contain_text("1 said it is right, 0 said it is not right")
    screenshot(person, "what-we-heard")
    for ctx in (staff, others, people):
        ctx.close()
