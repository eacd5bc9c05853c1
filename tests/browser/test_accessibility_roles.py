"""Every page type, as every role: axe-core finds nothing serious or critical, and nothing scrolls sideways.

The page list comes from the app's URL map, so a new page is checked as soon as it has a route. Pages are
checked on a 320 px wide screen (WCAG 2.2 reflow); the participant pages again at 200% zoom. The participant
journey is done with the keyboard alone, and the page weight of the topic and idea pages is printed.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from consult.demo import DEMO_PASSWORD
from tests.support.live import LiveServer, flask_command, live_server
from tests.support.publicids import LIVE_PUBLIC_ID_KEY

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
BLOCKING = ("serious", "critical")
MODERATOR = "moderator@demo.consult.test"
ROLES = {"visitor": None, "participant": "service-user@demo.consult.test", "moderator": MODERATOR,
         "facilitator": "facilitator@demo.consult.test", "analyst": "analyst@demo.consult.test",
         "admin": "admin@demo.consult.test"}
# Not pages: files, JSON, and links that only work with a token from an email.
SKIP_ENDPOINT = re.compile(r"^(static|api\.)|download|\.json$|\.csv$")
SKIP_ARGUMENT = {"token", "filename"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo, plus a moderator assigned to its consultation, served by gunicorn."""
    database = tmp_path_factory.mktemp("a11y") / "demo.sqlite3"
    flask_command(database, "init-db")
    flask_command(database, "seed-demo", "--scale", "0.3")  # every kind of page, quicker to build
    with sqlite3.connect(database) as con:
        # A moderator like the demo's staff: a copy of the analyst's account (same password), then assigned.
        columns = [row[1] for row in con.execute("PRAGMA table_info(user)") if row[1] != "id"]
        picked = ", ".join("?" if c == "email" else "'moderator'" if c == "role" else c for c in columns)
        con.execute(f"INSERT INTO user ({', '.join(columns)}) SELECT {picked} FROM user WHERE email = ?",
                    (MODERATOR, "analyst@demo.consult.test"))
        con.execute("INSERT INTO consultation_assignment (consultation_id, user_id, role, created_at) "
                    "SELECT (SELECT min(id) FROM consultation), id, 'moderator', CURRENT_TIMESTAMP "
                    "FROM user WHERE email = ?", (MODERATOR,))
    with live_server(database) as live:
        yield live


def sample_values(database: Path) -> dict[str, object]:
    """A real value for each kind of URL argument, from the demo's first consultation and its open phase."""
    with sqlite3.connect(database) as con:
        one = lambda sql: (con.execute(sql).fetchone() or (None,))[0]  # noqa: E731
        consultation = one("SELECT min(id) FROM consultation")
        phase = one(f"SELECT min(id) FROM phase WHERE consultation_id = {consultation} AND state = 'open'")
        topic = one(f"SELECT min(id) FROM topic WHERE phase_id = {phase}")
        idea = one(f"SELECT id FROM idea WHERE topic_id = {topic} AND moderation_state = 'published' "
                   "ORDER BY comment_count DESC LIMIT 1")
        run = one("SELECT max(id) FROM analysis_run WHERE state = 'done'")
        slug = one(f"SELECT slug FROM consultation WHERE id = {consultation}")
        return {"consultation_id": consultation, "slug": slug,
                "phase_id": phase, "topic_id": topic, "idea_id": idea, "kind": "idea", "item_id": idea,
                "user_id": one("SELECT max(id) FROM user WHERE role = 'participant'"),
                "case_id": one("SELECT min(id) FROM moderation_case"), "run_id": run,
                "event_id": one("SELECT min(id) FROM offline_event"),
                "theme_id": 0 if run else None}


def page_paths(database: Path) -> dict[str, str]:
    """One path per GET page in the URL map, filled with demo values (pages it cannot fill are left out)."""
    from consult import create_app

    # The live server's public id key, so idea and comment addresses are the ones it serves.
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "x", "ANALYSIS_WORKER": False,
                      "PUBLIC_ID_KEY": LIVE_PUBLIC_ID_KEY})
    values = sample_values(database)
    paths: dict[str, str] = {}
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or SKIP_ENDPOINT.search(rule.endpoint + " " + rule.rule):
                continue
            if rule.arguments & SKIP_ARGUMENT or any(values.get(arg) is None for arg in rule.arguments):
                continue
            paths[rule.endpoint] = url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments})
    return paths


def log_in(page: Page, base: str, email: str) -> None:
    """Log in through the form."""
    page.goto(base + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name=re.compile("Log out|Account", re.I)).first).to_be_attached()


def blocking_violations(axe: Axe, page: Page) -> list[str]:
    """axe's serious and critical violations on the current page, as readable lines."""
    results = axe.run(page, options=WCAG_AA)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def overflows(page: Page) -> bool:
    """True when the page body scrolls sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"))


def test_every_page_as_every_role_has_no_serious_violations_and_fits_320px(browser: Browser, server, promise) -> None:
    paths = page_paths(server.database)
    assert {"public.topic", "public.idea", "facilitate.dashboard", "moderation.queue", "admin.audit_log"} <= set(paths)
    axe = Axe()
    found: dict[str, list[str]] = {}
    wide: list[str] = []
    checked: dict[str, int] = {}
    for role, email in ROLES.items():
        context = browser.new_context(viewport={"width": 320, "height": 640})
        page = context.new_page()
        try:
            if email:
                log_in(page, server.url, email)
            seen: set[str] = set()
            checked[role] = 0
            for _endpoint, path in sorted(paths.items()):
                response = page.goto(server.url + path)
                status = response.status if response else 0
                if "text/html" not in (response.headers.get("content-type", "") if response else ""):
                    continue
                # Each page once: many URLs redirect to the login page or answer with the same error page.
                landed = f"{status} " + ("error" if status >= 400 else page.url.split("?")[0].split("#")[0])
                if landed in seen:
                    continue
                seen.add(landed)
                checked[role] += 1
                problems = blocking_violations(axe, page)
                if problems:
                    found[f"{role} {path} ({status})"] = problems
                if overflows(page):
                    wide.append(f"{role} {path}")
        finally:
            context.close()
    for role, count in checked.items():
        promise(f"axe: {role}, {count} pages, {sum(1 for k in found if k.startswith(role + ' '))} with serious "
                "or critical violations")
    assert found == {}
    assert wide == []


def test_participant_pages_reflow_at_200_percent_zoom(browser: Browser, server) -> None:
    # 200% zoom of a 1280 px window: 640 CSS pixels drawn at twice the density.
    context = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    page = context.new_page()
    paths = page_paths(server.database)
    try:
        log_in(page, server.url, ROLES["participant"])
        wide = []
        for endpoint in ("public.home", "public.consultation", "public.phase", "public.topic", "public.idea",
                         "participate.new_idea", "participate.my_contributions", "account.index"):
            page.goto(server.url + paths[endpoint])
            if overflows(page):
                wide.append(endpoint)
        assert wide == []
    finally:
        context.close()


def test_page_weight_of_the_topic_and_idea_pages(browser: Browser, server, promise) -> None:
    paths = page_paths(server.database)
    weights = {}
    for name in ("public.topic", "public.idea"):
        context = browser.new_context(viewport={"width": 390, "height": 844})  # empty cache: a first visit
        page = context.new_page()
        try:
            page.goto(server.url + paths[name], wait_until="load")
            weights[name] = page.evaluate(
                "performance.getEntriesByType('navigation')[0].transferSize + performance.getEntriesByType("
                "'resource').reduce((sum, r) => sum + r.transferSize, 0)")
        finally:
            context.close()
    for name, size in weights.items():
        promise(f"page weight: {name.split('.')[1]} page, {size / 1024:.0f} KB transferred on first load")
    assert all(size > 0 for size in weights.values())


def test_participant_journey_with_the_keyboard_only(browser: Browser, server) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    keys = page.keyboard

    def tab_to(pattern: str, limit: int = 200) -> None:
        """Press Tab until the focused element's accessible text matches."""
        wanted = re.compile(pattern)
        for _ in range(limit):
            keys.press("Tab")
            text = page.evaluate("(() => { const e = document.activeElement; return (e.innerText || e.value || "
                                 "e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].innerText)"
                                 " || '').trim(); })()")
            if wanted.search(text):
                return
        raise AssertionError(f"Tab never reached {pattern!r}")

    try:
        page.goto(server.url + "/login")
        tab_to("^Email address")
        keys.type(ROLES["participant"])
        tab_to("^Password")
        keys.type(DEMO_PASSWORD)
        tab_to("^Log in$")
        keys.press("Enter")
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.goto(server.url + page_paths(server.database)["public.consultation"])
        # The open phase's first topic: reached with Tab, followed with Enter.
        tab_to("^" + re.escape(page.locator(".nhsuk-card--feature a").first.inner_text().strip()))
        keys.press("Enter")
        page.wait_for_url(re.compile(r"/topics/\d+"))
        tab_to("^Add an idea$")
        keys.press("Enter")
        page.wait_for_url(re.compile(r"/ideas/new"))
        tab_to("^Title")
        keys.type("Keyboard-only idea about ramps")
        tab_to("^Your idea")
        keys.type("Every clinic entrance should have a ramp.")
        tab_to("^Post idea$")
        keys.press("Enter")
        expect(page.get_by_text("Your idea has been posted.")).to_be_visible()
        tab_to("^Add a comment")
        keys.type("And automatic doors.")
        tab_to("^Post comment$")
        keys.press("Enter")
        expect(page.get_by_text("Your comment has been posted.")).to_be_visible()
        page.goto(server.url + page_paths(server.database)["public.idea"])  # someone else's idea
        votes = page.locator(".consult-votes").first
        tab_to("^Support")
        keys.press("Space")
        expect(votes.locator("[data-vote-mine]")).not_to_have_text(re.compile("saving"))
        if votes.locator("[data-vote-mine]").inner_text() == "(vote withdrawn)":
            keys.press("Space")  # they had supported it before: support it again
        expect(votes.locator("[data-vote-mine]")).to_have_text("(you support this)")
        expect(votes.locator("[data-vote-hint]")).to_be_visible()
        keys.press("Space")  # the same button again withdraws
        expect(votes.locator("[data-vote-mine]")).to_have_text("(vote withdrawn)")
        expect(votes.locator("[data-vote-hint]")).to_be_hidden()
        page.reload()
        expect(page.locator(".consult-votes").first.locator("button").first).to_have_attribute("aria-pressed", "false")
    finally:
        context.close()


def test_rapid_vote_clicks_end_in_the_last_state_clicked(browser: Browser, server) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, server.url, "carer@demo.consult.test")
        page.goto(server.url + page_paths(server.database)["public.idea"])
        votes = page.locator(".consult-votes").first
        support, against = votes.locator("button").nth(0), votes.locator("button").nth(1)
        state = 1 if support.get_attribute("aria-pressed") == "true" else (
            -1 if against.get_attribute("aria-pressed") == "true" else 0)
        # Five clicks without waiting for any answer; each asks for the state shown when it was clicked.
        for button, value in ((support, 1), (against, -1), (support, 1), (against, -1), (support, 1)):
            button.click(no_wait_after=True)
            state = 0 if state == value else value
        words = {1: "(you support this)", -1: "(you are against this)", 0: "(vote withdrawn)"}
        expect(votes.locator("[data-vote-mine]")).to_have_text(words[state])
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        page.reload()
        votes = page.locator(".consult-votes").first
        expect(votes.locator("button").nth(0)).to_have_attribute("aria-pressed", "true" if state == 1 else "false")
        expect(votes.locator("button").nth(1)).to_have_attribute("aria-pressed", "true" if state == -1 else "false")
        hint = votes.locator("[data-vote-hint]")
        expect(hint).to_be_visible() if state else expect(hint).to_be_hidden()
    finally:
        context.close()
