"""~680 XSS payloads through every user-controlled field, rendered in real Chromium from the real server.

Stored fields (consultation, phase and topic titles and descriptions, idea titles and bodies, comments, replies,
ideas entered on someone's behalf, moderation reasons) are written straight into the database, so the pages are
tested against the raw payloads, as if input cleaning did not exist. Reflected fields are the query parameters
each page reads, found by watching which ones the views ask for. Payloads go in batches (one field holds a batch,
framed by a start and an end marker), and every page that shows the field is loaded as the admin, who sees
everything, and as the contributor where it differs.

The browser ignores the site's Content-Security-Policy (``bypass_csp``), so the probe measures escaping itself,
not the CSP backstop. A payload counts as executed if it calls the hook (``xss(n)``), opens a dialog, or shows a
template expression evaluated; a page counts as injected if it has a handler attribute, script or javascript:
URL carrying a payload, or lost the end marker of a field it sent (markup swallowed the rest).

A second test renders what the open data API serves for contributions posted through the app's own input
cleaning, the way a consumer that trusts the API's plain text would (innerHTML).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy.orm import Session
from werkzeug.datastructures import ImmutableMultiDict

from consult import create_app
from consult.extensions import db, make_engine
from consult.models import (
    Codebook,
    CodebookTheme,
    Comment,
    Consultation,
    HeardPage,
    HeardTheme,
    Idea,
    ModerationCase,
    ParticipantProfile,
    Phase,
    Report,
    Topic,
    User,
    utcnow,
)
from consult.services.text import clean_text
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import _HASH, PASSWORD
from tests.security.world import LIVE_ENV, RATE_LIMIT_SCALE
from tests.security.xss_corpus import Payload, corpus
from tests.support.live import LiveServer, flask_command, live_server
from tests.support.publicids import LIVE_PUBLIC_ID_KEY, idea_url

pytestmark = [pytest.mark.sqlite_only, pytest.mark.browser, pytest.mark.slow,
              pytest.mark.xdist_group("browser")]

# Payloads per stored field (the end marker shows when markup swallowed the rest) and per query parameter
# (a URL of about 6 KB: the server is started with gunicorn's longest request line).
BATCH = 120
QUERY_BATCH = 60
EMAIL = "admin@xss.example"
# Stored fields: (code, what it is). Each batch's objects carry every one of them.
FIELDS = {
    "ct": "consultation title", "cs": "consultation summary", "cd": "consultation description",
    "pt": "phase title", "pq": "phase question", "pd": "phase description",
    "tt": "topic title", "td": "topic description",
    "it": "idea title", "ib": "idea body", "cb": "comment", "rb": "reply",
    "ot": "on-behalf idea title", "ob": "on-behalf idea body", "mr": "moderation reason",
    "rn": "report note", "al": "codebook theme label", "as": "codebook theme summary",
    "hi": "What we heard introduction", "ho": "What we heard outcome", "ha": "What we heard action",
}
HOOK = """
window.__xss = [];
window.xss = function (n) { window.__xss.push(String(n)); };
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = function (n) { window.__xss.push(name + ":" + String(n)); };
}
"""
SCAN = """
() => {
  const bad = [];
  const urlish = ["href", "src", "action", "formaction", "data", "xlink:href", "background", "content", "poster"];
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = a.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (!value.includes("xss")) continue;
      if (name.startsWith("on") || name === "srcdoc") bad.push(el.tagName + "[" + name + "]");
      else if (urlish.includes(name) && (value.startsWith("javascript:") || value.startsWith("data:text/html")
               || value.includes("url=javascript:"))) bad.push(el.tagName + "[" + name + "]");
    }
    if (el.tagName === "SCRIPT" && el.textContent.includes("xss(")) bad.push("SCRIPT");
  }
  const values = [...document.querySelectorAll("input, textarea")].map(e => e.value);
  const attributes = [...document.querySelectorAll("*")].flatMap(e => [...e.attributes].map(a => a.value));
  return {bad, calls: window.__xss || [], plain: document.documentElement.textContent,
          text: document.documentElement.textContent + "\\n" + values.join("\\n") + "\\n" + attributes.join("\\n")};
}
"""


def live_idea(idea_id: int) -> str:
    """An idea's page on the live server (by its public id there)."""
    return idea_url(idea_id, key=LIVE_PUBLIC_ID_KEY)


def markers(code: str, batch: int) -> tuple[str, str]:
    """The start and end markers of one field's batch."""
    return f"zz{code}{batch}a", f"zz{code}{batch}z"


def batch_text(code: str, batch: int, payloads: list[Payload]) -> str:
    """A field's value: its start marker, the batch's payloads, its end marker."""
    start, end = markers(code, batch)
    return " ".join([start, *(p.text for p in payloads), end])


@dataclass
class XssSite:
    """The seeded server, the pages to load, and what each batch holds."""

    server: LiveServer
    payloads: list[Payload]
    batches: list[list[Payload]]
    pages: list[tuple[str, set[str]]] = field(default_factory=list)  # (path, markers it should show)
    reflected: list[tuple[str, str]] = field(default_factory=list)  # (endpoint, query parameter)
    api_topic: int = 0


def _seed(database: Path, payloads: list[Payload]) -> tuple[list[list[Payload]], list[tuple[str, set[str]]], int]:
    """Write the batches into every stored field; returns the batches, the pages and the API topic's id."""
    flask_command(database, "init-db")
    batches = [payloads[i:i + BATCH] for i in range(0, len(payloads), BATCH)]
    pages: list[tuple[str, set[str]]] = []
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        admin = User(email=EMAIL, password_hash=_HASH, role="admin", email_confirmed_at=utcnow())
        admin.profile = ParticipantProfile(category="staff")
        session.add(admin)
        session.flush()
        for k, batch in enumerate(batches):
            def text(code: str, k: int = k, batch: list[Payload] = batch) -> str:
                return batch_text(code, k, batch)
            consultation = Consultation(slug=f"xss-{k}", title=text("ct"), summary=text("cs"),
                                        description=text("cd"), is_published=True)
            phase = Phase(consultation=consultation, position=1, title=text("pt"), question=text("pq"),
                          description=text("pd"), state="open", opens_at=utcnow() - timedelta(days=1))
            topic = Topic(phase=phase, position=1, title=text("tt"), description=text("td"))
            session.add_all([consultation, phase, topic])
            session.flush()
            idea = Idea(topic=topic, phase_id=phase.id, title=text("it"), body=text("ib"), author_id=admin.id)
            offline = Idea(topic=topic, phase_id=phase.id, title=text("ot"), body=text("ob"), channel="workshop",
                           entered_by_id=admin.id)
            held = Idea(topic=topic, phase_id=phase.id, title=f"Held {k}", body="Held", author_id=admin.id,
                        moderation_state="held", moderation_reason=text("mr"))
            session.add_all([idea, offline, held])
            session.flush()
            comment = Comment(idea_id=idea.id, phase_id=phase.id, body=text("cb"), author_id=admin.id)
            session.add(comment)
            session.flush()
            session.add(Comment(idea_id=idea.id, parent_id=comment.id, phase_id=phase.id, body=text("rb"),
                                author_id=admin.id))
            # A report on the held idea (its note on the case page), a codebook theme and a published
            # "What we heard" page that shows it.
            session.add(Report(reporter_id=admin.id, idea_id=held.id, reason="other", note=text("rn")))
            case = ModerationCase(consultation_id=consultation.id, phase_id=phase.id, idea_id=held.id,
                                  reason="other", reasons=["other"], report_count=1)
            book = Codebook(consultation_id=consultation.id, created_by_id=admin.id)
            theme = CodebookTheme(codebook=book, position=1, label=text("al"), summary=text("as"))
            heard = HeardPage(phase_id=phase.id, introduction=text("hi"), outcome=text("ho"), is_published=True)
            session.add_all([case, book, theme, heard])
            session.flush()
            session.add(HeardTheme(page_id=heard.id, theme_id=theme.id, position=1, action=text("ha")))
            session.flush()
            shown = {
                f"/c/xss-{k}": "ct cs cd pt pq tt", f"/phases/{phase.id}": "ct pt pq pd tt td",
                f"/topics/{topic.id}": "pt tt td it ib ot ob", live_idea(idea.id): "tt it ib cb rb",
                live_idea(offline.id): "ot ob", live_idea(held.id): "mr",
                f"/facilitate/consultations/{consultation.id}/edit": "ct cs cd",
                f"/facilitate/phases/{phase.id}/edit": "ct pt pq pd", f"/facilitate/topics/{topic.id}/edit": "tt td",
                f"/facilitate/phases/{phase.id}/topics": "pt tt", f"/facilitate/topics/{topic.id}/on-behalf": "tt",
                f"/moderation/cases/{case.id}": "rn", f"/workspace/{consultation.id}/themes/{theme.id}": "al as",
                f"/phases/{phase.id}/what-we-heard": "hi ho ha al",
            }
            pages += [(path, {markers(code, k)[0] for code in codes.split()}) for path, codes in shown.items()]
        # Lists that show many batches at once (their markers are checked on the detail pages above).
        pages += [("/", set()), ("/facilitate/", set()), ("/moderation", set()), ("/workspace/", set()),
                  ("/facilitate/?page=2", set()), ("/analyse/", set()),
                  ("/me/contributions", set()), ("/me/contributions?kind=comments", set())]
        # Contributions as the app stores them after its own cleaning, one payload each, for the API test.
        consultation = Consultation(slug="xss-api", title="API", summary="API", is_published=True)
        phase = Phase(consultation=consultation, position=1, title="API", question="Q", state="open",
                      opens_at=utcnow() - timedelta(days=1))
        topic = Topic(phase=phase, position=1, title="API")
        session.add_all([consultation, phase, topic])
        session.flush()
        for payload in payloads:
            title = clean_text(payload.text, single_line=True) or "(empty after cleaning)"
            body = clean_text(payload.text) or "(empty after cleaning)"
            session.add(Idea(topic=topic, phase_id=phase.id, title=title, body=body, author_id=admin.id))
        session.commit()
        return batches, pages, topic.id


class _Recording(ImmutableMultiDict):
    """Query parameters that remember which names a view asked for."""

    asked: set[str] = set()

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # noqa: A002 - Werkzeug's name
        """Record the name, then look it up."""
        _Recording.asked.add(key)
        return super().get(key, default, type)

    def getlist(self, key: Any, type: Any = None) -> Any:  # noqa: A002
        """Record the name, then look it up."""
        _Recording.asked.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key: Any) -> Any:
        _Recording.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        _Recording.asked.add(str(key))
        return super().__contains__(key)


def discover_query_parameters(database: Path, pages: list[tuple[str, set[str]]]) -> list[tuple[str, str]]:
    """The (page, query parameter) pairs the views read, found by loading each page type in-process."""
    app = create_app({"DATABASE_URL": f"sqlite:///{database}", "TESTING": True, "SECRET_KEY": "x",
                      "RATE_LIMIT_SCALE": RATE_LIMIT_SCALE,
                      "ANALYSIS_WORKER": False, "TICK_INTERVAL": 0.0})
    base = app.request_class
    app.request_class = type("RecordingRequest", (base,), {"parameter_storage_class": _Recording})
    client = app.test_client()
    client.post("/login", data={"email": EMAIL, "password": PASSWORD,
                                "csrf_token": _token(app, client)})
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    candidates = [p for p, _ in pages if "?" not in p] + ["/admin/users", "/admin/audit", "/login", "/register",
                                                         "/about", "/api/v1/consultations"]
    for path in candidates:
        kind = re.sub(r"\d+", "N", path)
        if kind in seen:
            continue
        seen.add(kind)
        _Recording.asked = set()
        client.get(path)
        for name in sorted(_Recording.asked - {"csrf_token"}):
            # Only parameters the page echoes can inject markup; the rest are parsed and dropped.
            echoed = client.get(path, query_string={name: "zzecho<b>"}).get_data(as_text=True)
            if "zzecho" in echoed:
                found.append((path, name))
    db.dispose()
    return found


def _token(app: Any, client: Any) -> str:
    """A CSRF token for the client's session, read from the login form."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return match.group(1) if match else ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XssSite]:
    """The seeded server (long query strings allowed, big pages) and what to load."""
    folder = tmp_path_factory.mktemp("xss")
    database = folder / "xss.sqlite3"
    payloads = corpus()
    batches, pages, api_topic = _seed(database, payloads)
    reflected = discover_query_parameters(database, pages)
    env = {**LIVE_ENV, "CONSULT_PAGE_SIZE": "200", "GUNICORN_CMD_ARGS": "--limit-request-line 8190"}
    with live_server(database, extra_env=env) as server:
        yield XssSite(server, payloads, batches, pages, reflected, api_topic)


def with_chromium(work: Callable[[Browser], Any]) -> Any:
    """Run work with a Chromium of its own, in a thread of its own.

    The browser tests' session-wide Playwright may be running in this process, and Playwright's sync API allows
    one per thread; a second thread keeps the two apart.
    """
    def run() -> Any:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                return work(chromium)
            finally:
                chromium.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def admin_context(browser: Browser, site: XssSite) -> BrowserContext:
    """A browser profile logged in as the admin, ignoring the CSP, with the hook in every frame."""
    context = browser.new_context(bypass_csp=True)
    context.set_default_timeout(30_000)
    context.add_init_script(HOOK)
    page = context.new_page()
    page.goto(site.server.url + "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.close()
    return context


def _load(page: Page, url: str) -> tuple[int, str, dict[str, Any]]:
    """Load a page in the one tab; returns (status, raw HTML, what the scan found)."""
    response = page.goto(url, wait_until="load")
    page.wait_for_timeout(50)  # let autofocus, animation and media error handlers fire
    status = response.status if response else 0
    raw = response.text() if response else ""
    return status, raw, page.evaluate(SCAN)


def test_xss_no_payload_executes_in_any_field(site: XssSite, promise) -> None:
    from urllib.parse import urlencode

    executed: list[str] = []
    injected: list[str] = []
    seen_markers: set[str] = set()
    evaluated = [p for p in site.payloads if p.evaluated]
    loads = [(path, expect) for path, expect in site.pages]
    query_batches = [site.payloads[i:i + QUERY_BATCH] for i in range(0, len(site.payloads), QUERY_BATCH)]
    for i, (path, name) in enumerate(site.reflected):
        for k, batch in enumerate(query_batches):
            loads.append((path + "?" + urlencode({name: batch_text(f"q{i}x", k, batch)}),
                          {markers(f"q{i}x", k)[0]}))
    failed_pages: list[str] = []

    def visit(browser: Browser) -> None:
        """Load every page as the admin and scan it."""
        context = admin_context(browser, site)
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path, expect in loads:
            dialogs.clear()
            status, raw, scan = _load(page, site.server.url + path)
            if status != 200:
                failed_pages.append(f"{path[:100]} -> {status}")
                continue
            text = scan["text"]
            executed.extend(f"{path[:80]}: payload {c}" for c in scan["calls"])
            executed.extend(f"{path[:80]}: dialog {d}" for d in list(dialogs))
            # A template expression shown other than as typed was evaluated (or mangled) on its way to the page.
            executed.extend(f"{path[:80]}: template evaluated in payload {p.number}" for p in evaluated
                            if f"xss-tpl-{p.number}" in scan["plain"] and p.text not in scan["plain"])
            injected.extend(f"{path[:80]}: {b}" for b in scan["bad"])
            for marker in expect:
                end = marker[:-1] + "z"
                if marker in text:
                    seen_markers.add(marker)
                if end in raw and end not in text:
                    injected.append(f"{path[:80]}: the end marker {end} was swallowed by markup")
        context.close()

    with_chromium(visit)
    fields = {**FIELDS, **{f"q{i}x": f"?{name} on {path}" for i, (path, name) in enumerate(site.reflected)}}
    missing = sorted({code for code in fields for k in range(len(query_batches))
                      if any(markers(code, k)[0] in e for _, e in loads) and markers(code, k)[0] not in seen_markers})
    covered = len([code for code in fields if code not in missing])
    promise(f"xss: {len(site.payloads)} payloads x {covered} fields, {len(set(executed))} executed")
    print(f"\n{len(loads)} page loads; reflected parameters: {site.reflected}; {len(injected)} injected")
    assert not failed_pages, "pages the probe could not load:\n" + "\n".join(failed_pages[:20])
    assert not missing, f"fields never shown where expected: {[fields[c] for c in missing]}"
    assert not executed, "executed:\n" + "\n".join(executed[:30])
    assert not injected, "markup injected:\n" + "\n".join(injected[:30])


def test_xss_probe_detects_live_markup() -> None:
    """The detectors are not vacuous: raw payloads in a page without escaping are caught."""
    raw = [p for p in corpus() if p.text.startswith("<")][:40]

    def scan_raw(browser: Browser) -> dict[str, Any]:
        context = browser.new_context(bypass_csp=True)
        context.add_init_script(HOOK)
        try:
            page = context.new_page()
            page.set_content("<!doctype html><html><body>" + "\n".join(p.text for p in raw) + "</body></html>")
            page.wait_for_timeout(300)
            return page.evaluate(SCAN)
        finally:
            context.close()

    scan = with_chromium(scan_raw)
    assert len(set(scan["calls"])) >= 10, scan["calls"]
    assert len(scan["bad"]) >= 20, scan["bad"]


API_CONSUMER = """
async (url) => {
  window.__xss = [];
  let next = url;
  const box = document.createElement("div");
  document.body.appendChild(box);
  let items = 0;
  while (next) {
    const data = await (await fetch(next)).json();
    for (const idea of data.items) {
      const el = document.createElement("article");
      el.innerHTML = "<h3>" + idea.title + "</h3><p>" + idea.body + "</p>";
      box.appendChild(el);
      items += 1;
    }
    next = data.next;
  }
  await new Promise(r => setTimeout(r, 300));
  return {items, calls: window.__xss};
}
"""


def test_xss_api_text_is_inert_when_rendered_as_html(site: XssSite, promise) -> None:
    def consume(browser: Browser) -> dict[str, Any]:
        context = browser.new_context(bypass_csp=True)
        context.add_init_script(HOOK)
        try:
            page = context.new_page()
            page.goto(site.server.url + "/about")
            url = site.server.url + f"/api/v1/topics/{site.api_topic}/ideas?per_page=200"
            return page.evaluate(API_CONSUMER, url)
        finally:
            context.close()

    result = with_chromium(consume)
    ran = sorted({c for c in result["calls"]}, key=str)
    promise(f"xss-api: {len(site.payloads)} payloads stored through the input cleaning, rendered from the API "
            f"as HTML: {len(ran)} executed")
    assert result["items"] == len(site.payloads)
    assert not ran, f"{len(ran)} payloads ran from the API's text, for example {json.dumps(ran[:10])}"
