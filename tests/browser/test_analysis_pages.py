"""The analysts' theme pages in a real browser: group tables stay tables at 375 px and 1280 px, and a theme
page shows its description, sub-themes, stance and quotes with their attribution."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_facilitator_journey import log_in
from tests.support.live import LiveServer, flask_command, live_server

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Every cell of a row sits on one line, left to right; the table scrolls inside its own region.
TABLE_LAYOUT = """
() => Array.from(document.querySelectorAll('.consult-group-table')).map(table => {
  const region = table.closest('[role=region]');
  const rows = Array.from(table.querySelectorAll('tbody tr')).map(tr => {
    const boxes = Array.from(tr.children).map(c => c.getBoundingClientRect());
    return {
      sameLine: boxes.every(b => Math.abs(b.top - boxes[0].top) < 2),
      leftToRight: boxes.every((b, i) => i === 0 || b.left >= boxes[i - 1].right - 1),
      display: Array.from(tr.children).map(c => getComputedStyle(c).display),
    };
  });
  return {
    rows,
    cells: table.querySelectorAll('tbody td').length,
    height: table.getBoundingClientRect().height,
    region: region ? {tabindex: region.getAttribute('tabindex'), label: region.getAttribute('aria-labelledby'),
                      scrollable: region.scrollWidth > region.clientWidth + 1,
                      width: region.getBoundingClientRect().width} : null,
  };
})
"""


@pytest.fixture(scope="module")
def analysed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo with one finished analysis of the whole consultation (run 1)."""
    database = tmp_path_factory.mktemp("analysed") / "demo.sqlite3"
    flask_command(database, "init-db")
    flask_command(database, "seed-demo", "--no-feedback")  # the demo's own phase 1 analysis would be run 1
    flask_command(database, "analyse", "ahp-strategy")
    with live_server(database) as server:
        yield server


@pytest.mark.parametrize("width", [375, 1280])
def test_group_tables_are_real_tables_that_fit_the_screen(browser, analysed_server, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        log_in(page, analysed_server.url, "analyst@demo.consult.test")
        page.goto(analysed_server.url + "/analyse/runs/1/groups")
        expect(page.get_by_role("heading", level=1)).to_have_text("Who said what")
        screenshot(page, f"groups-{width}")
        tables = page.evaluate(TABLE_LAYOUT)
        assert tables, "no group tables on the page"
        for table in tables:
            assert table["cells"] > 0
            assert all(row["sameLine"] and row["leftToRight"] for row in table["rows"]), table["rows"][:2]
            assert all(d == "table-cell" for row in table["rows"] for d in row["display"])
            assert table["region"] == {**table["region"], "tabindex": "0"} and table["region"]["label"]
            assert table["region"]["width"] <= width
            # A row of a dozen themes, not a 60,000 px column of stacked cells.
            assert table["height"] < 4000
        # The page itself never scrolls sideways: wide tables scroll inside their region.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        region = page.locator(".consult-table-scroll[role=region]").first
        region.focus()
        expect(region).to_be_focused()
    finally:
        context.close()


def test_theme_page_reads_as_a_description_with_sub_themes_stance_and_quotes(browser, analysed_server) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        log_in(page, analysed_server.url, "analyst@demo.consult.test")
        page.goto(analysed_server.url + "/analyse/runs/1")
        expect(page.get_by_role("heading", level=2, name="Answers set aside")).to_be_visible()
        expect(page.get_by_role("heading", level=2, name="Phases compared")).to_be_visible()
        screenshot(page, "analysis-overview")
        page.locator("table tbody tr th a").first.click()
        expect(page.locator("p.nhsuk-body-l")).to_have_text(re.compile(r"^\d[\d,]* contributions \(\d+%\) from"))
        expect(page.get_by_role("heading", level=2, name="Where people agree and divide")).to_be_visible()
        expect(page.get_by_role("heading", level=2, name="Sub-themes")).to_be_visible()
        # "Anon, June 2021, People and communities": the phase by its title, as everywhere else.
        expect(page.locator(".consult-quote figcaption").first).to_have_text(
            re.compile(r"^Anon, \w+ \d{4}, (?!Phase \d)\w"))
        screenshot(page, "theme")
        page.get_by_label("Phase", exact=True).select_option(index=1)
        page.get_by_role("button", name="Show contributions").click()
        chosen = page.locator("#filter-phase option:checked").inner_text()  # the phase's title, as cards name it
        cards = page.locator(".consult-card-list > li")
        assert cards.count() > 0
        assert all(chosen in text for text in cards.all_inner_texts())
    finally:
        context.close()
