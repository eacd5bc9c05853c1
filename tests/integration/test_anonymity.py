"""No page or API response built from the demo data contains any registrant's email, any database id of an
idea or comment (a global sequence), or a contribution's exact time."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from consult.demo import DEMO_PASSWORD, seed_demo
from consult.extensions import db
from consult.models import Comment, Consultation, Idea, Phase, Topic, User
from consult.services.contributions import recount
from tests.conftest import make_app
from tests.support.publicids import idea_url, item_url, pid

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = make_app(tmp_path_factory.mktemp("anon"))
    with app.app_context():
        seed_demo(db.session, scale=0.3, now=datetime(2021, 6, 15, 12, 0))
        recount(db.session)
        db.session.commit()
    return app


def _urls(app: Flask) -> list[str]:
    """Every kind of public page and API response, over all the demo's objects of each kind (capped)."""
    with app.app_context():
        slugs = db.session.scalars(select(Consultation.slug)).all()
        phases = db.session.scalars(select(Phase.id)).all()
        topics = db.session.scalars(select(Topic.id)).all()
        ideas = db.session.scalars(select(Idea.id).order_by(Idea.id)).all()[:60]
        commented = db.session.scalars(select(Comment.idea_id).distinct().limit(20)).all()
    urls = ["/", "/about", "/api/v1/", "/api/v1/consultations"]
    urls += [f"/c/{s}" for s in slugs] + [f"/api/v1/consultations/{s}" for s in slugs]
    urls += [f"/phases/{p}" for p in phases] + [f"/api/v1/phases/{p}" for p in phases]
    for t in topics:
        urls += [f"/topics/{t}?order={o}" for o in ("random", "newest", "discussed", "supported")]
        urls.append(f"/api/v1/topics/{t}/ideas")
    urls += [idea_url(i, app) for i in ideas] + [f"/api/v1{idea_url(i, app)}" for i in ideas]
    urls += [f"/api/v1{idea_url(i, app)}/comments" for i in commented] + [idea_url(i, app) for i in commented]
    return urls


def test_no_page_or_api_response_contains_a_registrant_email(demo_app: Flask) -> None:
    with demo_app.app_context():
        emails = set(db.session.scalars(select(User.email)).all())
        participant = db.session.scalar(select(User.email).where(User.email.like("public@%")))
    local_parts = {e.split("@")[0] for e in emails if len(e.split("@")[0]) > 6}
    domain = re.compile(r"[\w.+-]+@demo\.consult\.test")
    visitor = demo_app.test_client()
    member = demo_app.test_client()
    response = member.post("/login", data={"email": participant, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    checked = 0
    for url in _urls(demo_app):
        for client in (visitor, member):
            response = client.get(url)
            assert response.status_code in (200, 404), (url, response.status_code)
            body = response.get_data(as_text=True)
            assert not domain.search(body), f"an email address appears on {url}"
            assert not any(email in body for email in emails), url
            checked += 1
    # A participant's own pages show their own contributions, never other people's addresses.
    body = member.get("/me/contributions").get_data(as_text=True)
    assert not any(email in body for email in emails - {participant})
    print(f"\n{checked} responses checked, {len(emails)} registrant emails, {len(local_parts)} local parts: 0 found")
    assert checked > 200


def test_api_exposes_no_account_ids(demo_app: Flask) -> None:
    client = demo_app.test_client()
    with demo_app.app_context():
        idea_id = db.session.scalar(select(Comment.idea_id).limit(1))
    for url in (f"/api/v1{idea_url(idea_id, demo_app)}", f"/api/v1{idea_url(idea_id, demo_app)}/comments"):
        text = client.get(url).get_data(as_text=True)
        for field in ("author", "voter", "user", "email", "entered_by", "viewer"):
            assert f'"{field}' not in text, (url, field)


# Where a database id of an idea or comment could show in a page: links, anchors, form values, data attributes.
INTEGER_ID_IN_PAGE = re.compile(
    r"/ideas/\d+\b|/(?:report|my)/(?:idea|comment)/\d+\b|#comment-\d+\b|id=\"(?:comment|reply)-\d+\"|"
    r"name=\"(?:id|parent_id)\" value=\"\d+\"|data-vote-id=\"\d+\"")
PUBLIC_ID = re.compile(r"^[a-p][a-z2-7]{12}$")
# A time of day, seconds or microseconds beside an API contribution would single people out.
EXACT_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\d{2}:\d{2}:\d{2}|\.\d{6}")
SKIP = ("/static/", "/logout", "/login", "/register", "/account", "/auth/", "/reset", "/rights/", "/equality")


def _contributions(value: object) -> list[dict]:
    """Every idea or comment object in an API response (they carry vote counts)."""
    if isinstance(value, dict):
        found = [value] if "votes" in value else []
        return found + [c for v in value.values() for c in _contributions(v)]
    if isinstance(value, list):
        return [c for v in value for c in _contributions(v)]
    return []


def _crawl(client, start: list[str], limit: int) -> dict[str, str]:
    """Follow the site's own links from the start pages (breadth first, up to limit pages): {url: body}."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen or url.startswith(SKIP):
            continue
        response = client.get(url)
        assert response.status_code < 500, url
        body = response.get_data(as_text=True)
        seen[url] = body
        for link in re.findall(r'href="(/[^"#]*)', body):
            link = link.replace("&amp;", "&")
            # One page of each list is enough; the ids on later pages come from the same templates.
            if "page=" not in link or link.endswith("page=2"):
                queue.append(link)
        queue += re.findall(r'"(?:url|comments|ideas|consultations|next)":\s*"http://localhost(/api/[^"]+)"', body)
    return seen


def test_no_public_page_or_api_response_shows_a_database_id_of_an_idea_or_comment(demo_app: Flask) -> None:
    with demo_app.app_context():
        participant = db.session.scalar(select(User.email).where(User.email.like("public@%")))
    visitor, member = demo_app.test_client(), demo_app.test_client()
    assert member.post("/login", data={"email": participant, "password": DEMO_PASSWORD}).status_code == 302
    start = ["/", "/me/contributions", "/me/contributions?kind=comments"]
    checked, contributions = 0, 0
    for client in (visitor, member):
        pages = _crawl(client, start, limit=200) | _crawl(client, ["/api/v1/", "/api/v1/consultations"], limit=120)
        assert any(url.startswith("/ideas/") for url in pages) and any(url.startswith("/api/v1/ideas/")
                                                                       for url in pages)
        for url, body in pages.items():
            found = INTEGER_ID_IN_PAGE.search(body)
            assert found is None, f"{url} shows {found.group(0)!r}"
            if url.startswith("/api/"):
                for item in _contributions(json.loads(body)):
                    assert PUBLIC_ID.match(item["id"]), (url, item["id"])
                    assert "idea_id" not in item or PUBLIC_ID.match(item["idea_id"]), (url, item)
                    assert not EXACT_TIME.search(str(item.get("created"))), (url, item["created"])
                    contributions += 1
            checked += 1
    # The participant's own pages link to their posts (report, edit, withdraw) by public id too.
    member_pages = _crawl(member, ["/me/contributions?kind=comments"], limit=40)
    assert any("/my/comment/" in body or "/report/comment/" in body for body in member_pages.values())
    print(f"\n{checked} pages and responses crawled, {contributions} API contributions: no database ids")
    assert checked > 200 and contributions > 50


def test_old_integer_addresses_of_ideas_and_comments_are_not_found(demo_app: Flask) -> None:
    with demo_app.app_context():
        idea_id = db.session.scalar(select(Idea.id).where(Idea.moderation_state == "published").limit(1))
        comment_id = db.session.scalar(select(Comment.id).where(Comment.moderation_state == "published").limit(1))
        participant = db.session.scalar(select(User.email).where(User.email.like("public@%")))
    client = demo_app.test_client()
    assert client.post("/login", data={"email": participant, "password": DEMO_PASSWORD}).status_code == 302
    assert client.get(idea_url(idea_id, demo_app)).status_code == 200
    assert client.get(item_url("report", "comment", comment_id, demo_app)).status_code == 200
    for url in (f"/ideas/{idea_id}", f"/api/v1/ideas/{idea_id}", f"/api/v1/ideas/{idea_id}/comments",
                f"/report/idea/{idea_id}", f"/report/comment/{comment_id}", f"/my/comment/{comment_id}/edit",
                f"/ideas/{pid('comment', idea_id, demo_app)}", f"/report/comment/{pid('idea', comment_id, demo_app)}",
                f"/ideas/{pid('idea', idea_id, demo_app).upper()}"):
        response = client.get(url, follow_redirects=False)
        # Not found, and never a redirect: a redirect to the public id would give the mapping away.
        assert response.status_code == 404, url
        assert "Location" not in response.headers
    response = client.post(f"/ideas/{idea_id}/comments", data={"body": "By the old address"})
    assert response.status_code == 404
