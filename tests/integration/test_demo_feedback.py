"""The demo a new user loads shows check and challenge: emerging themes to check, and What we heard."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from consult.demo import seed_demo
from consult.demo.feedback import _PERSONAL, THEMES
from consult.extensions import db
from consult.models import Comment, Consultation, HeardPage, Idea, Phase, Statement, User, utcnow
from consult.services import challenge, codebook_quotes, contributions
from tests.conftest import make_app
from tests.support.publicids import idea_url

pytestmark = pytest.mark.xdist_group("demo")
# Seeded today, as `make run` does, so phase 3 is open to vote in.
NOW = utcnow()


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The command line's demo: with phase 1 analysed and its themes sent back to check."""
    app = make_app(tmp_path_factory.mktemp("feedback"))
    with app.app_context():
        counts = seed_demo(db.session, now=NOW, feedback=True)
        contributions.recount(db.session)
        db.session.commit()
        app.config["DEMO_COUNTS"] = counts
    return app


def _login(client, email: str) -> None:
    """Log in as a demo account through the form."""
    assert client.post("/login", data={"email": email, "password": "ahp-demo-2021"}).status_code == 302


def test_the_demo_has_emerging_themes_to_check_in_phase_3_with_votes_and_comments(demo_app: Flask) -> None:
    with demo_app.app_context():
        consultation = db.session.scalar(select(Consultation).where(Consultation.slug == "ahp-strategy"))
        checking = consultation.phases[-1]
        ideas = db.session.scalars(select(Idea).join(Statement, Statement.idea_id == Idea.id)).all()
        assert {i.title for i in ideas} == {t["label"] for t in THEMES.values()}
        assert {i.topic_id for i in ideas} == {checking.topics[0].id} and checking.state == "open"
        for idea in ideas:
            assert idea.up_count + idea.down_count >= 15 and idea.up_count > idea.down_count
            assert idea.comment_count == 2 and idea.created_at < checking.opens_at
            assert db.session.scalar(select(Comment.created_at).where(Comment.idea_id == idea.id)
                                     .order_by(Comment.created_at.desc()).limit(1)) < NOW
        statement = ideas[0].id
        assert demo_app.config["DEMO_COUNTS"]["statements"] == 4
    client = demo_app.test_client()
    topic = client.get(f"/topics/{checking.topics[0].id}").get_data(as_text=True)
    assert "Emerging themes to check" in topic and "Waiting for care" in topic
    # A demo participant who has not checked it yet can say whether it is right.
    _login(client, "public@demo.consult.test")
    page = client.get(idea_url(statement, demo_app)).get_data(as_text=True)
    assert "Summarised by the consultation team from" in page and "This is right<span" in page
    assert '<span class="consult-votes__mine" data-vote-mine></span>' in page


def test_the_demo_publishes_what_we_heard_for_phase_1_quoting_nothing_personal(demo_app: Flask) -> None:
    with demo_app.app_context():
        page = db.session.scalar(select(HeardPage).where(HeardPage.is_published))
        assert page is not None and db.session.get(Phase, page.phase_id).position == 1
        shown = challenge.heard_view(db.session, page)
        assert len(shown) == 4 and all(t["quotes"] for t in shown), [(t["label"], len(t["quotes"])) for t in shown]
        quoted = [q for t in shown for q in t["quotes"]]
        for quote in quoted:
            # General suggestions, never someone's own story: no "my", family, conditions or numbers.
            assert not _PERSONAL.search(quote["text"]), quote["text"]
            assert re.fullmatch(r"Anon, \w+ \d{4}, People and communities", quote["who"])
        book = page.themes[0].theme.codebook
        chosen = [c for ids in codebook_quotes.chosen(db.session, book).values() for c in ids]
        allowed = {title for t in THEMES.values() for title in t["quotable"]}
        assert {db.session.get(Idea, int(c[1:])).title for c in chosen} <= allowed
        emails = db.session.scalars(select(User.email)).all()
        phase_id = page.phase_id
    text = demo_app.test_client().get(f"/phases/{phase_id}/what-we-heard").get_data(as_text=True)
    assert "What we heard" in text and "Waiting for care" in text and "said it is right" in text
    assert not any(email in text for email in emails)
