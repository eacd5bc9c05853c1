"""No page or API response built from the demo data contains any registrant's email."""

from __future__ import annotations

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
    urls += [f"/ideas/{i}" for i in ideas] + [f"/api/v1/ideas/{i}" for i in ideas]
    urls += [f"/api/v1/ideas/{i}/comments" for i in commented] + [f"/ideas/{i}" for i in commented]
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
    for url in (f"/api/v1/ideas/{idea_id}", f"/api/v1/ideas/{idea_id}/comments"):
        text = client.get(url).get_data(as_text=True)
        for field in ("author", "voter", "user", "email", "entered_by", "viewer"):
            assert f'"{field}' not in text, (url, field)
