"""Titles must tell things apart: no two topics in a phase, phases in a consultation or consultations share one
(ignoring case and spacing), on create and edit, with the existing one named and what was typed kept."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consult.extensions import db
from consult.models import Consultation, Phase, Topic, User
from consult.services import manage
from consult.services.errors import Invalid
from tests.conftest import ON_POSTGRES
from tests.integration.test_facilitate import _facilitator, _fresh, _phase_form
from tests.support.race import race


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("typed", ["Topic 1", "topic 1", "  TOPIC   1 "])
def test_a_second_topic_with_the_same_title_is_refused_naming_the_first(client, make, typed) -> None:
    phase = make.phase(topics=1)
    _facilitator(client, make)
    response = client.post(f"/facilitate/phases/{phase.id}/topics/new",
                           data={"title": typed, "description": "Kept when refused"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This phase already has a topic called “Topic 1”. Give this topic a different title." in page
    assert "Kept when refused" in page and f'value="{typed}"' in page
    assert _count(Topic) == 1


def test_a_topic_title_may_repeat_in_another_phase_and_a_topic_may_change_its_own_case(client, make) -> None:
    phase = make.phase(topics=2)
    other = make.phase(topics=0)
    _facilitator(client, make)
    assert client.post(f"/facilitate/phases/{other.id}/topics/new", data={"title": "Topic 1"}).status_code == 302
    first, second = phase.topics
    assert client.post(f"/facilitate/topics/{first.id}/edit", data={"title": "TOPIC 1"}).status_code == 302
    assert _fresh(Topic, first.id).title == "TOPIC 1"
    response = client.post(f"/facilitate/topics/{second.id}/edit", data={"title": "topic 1", "description": "x"})
    assert response.status_code == 400 and "already has a topic called “TOPIC 1”" in response.get_data(as_text=True)
    assert _fresh(Topic, second.id).title == "Topic 2"


def test_phase_titles_are_unique_within_a_consultation_on_create_and_edit(client, make) -> None:
    phase = make.phase(state="draft")
    consultation = phase.consultation
    _facilitator(client, make)
    url = f"/facilitate/consultations/{consultation.id}/phases/new"
    response = client.post(url, data=_phase_form(title=f" {phase.title.upper()} ", question="Kept question?"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"This consultation already has a phase called “{phase.title}”." in page and "Kept question?" in page
    assert client.post(url, data=_phase_form(title="Check and challenge")).status_code == 302
    added = db.session.scalar(select(Phase).where(Phase.title == "Check and challenge"))
    response = client.post(f"/facilitate/phases/{added.id}/edit", data=_phase_form(title=phase.title))
    assert response.status_code == 400 and "already has a phase called" in response.get_data(as_text=True)
    assert _fresh(Phase, added.id).title == "Check and challenge"
    other = make.phase(state="draft")  # another consultation may use the same phase title
    _facilitator(client, make)
    assert client.post(f"/facilitate/phases/{other.id}/edit", data=_phase_form(title=phase.title)).status_code == 302


def test_consultation_titles_are_unique_on_create_and_edit(client, make) -> None:
    existing = make.phase().consultation
    _facilitator(client, make)
    form = {"title": existing.title.lower(), "slug": "", "summary": "Kept summary", "is_published": "no"}
    response = client.post("/facilitate/consultations/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"There is already a consultation called “{existing.title}”." in page and "Kept summary" in page
    assert _count(Consultation) == 1
    assert client.post("/facilitate/consultations/new", data={**form, "title": "Another"}).status_code == 302
    another = db.session.scalar(select(Consultation).where(Consultation.title == "Another"))
    response = client.post(f"/facilitate/consultations/{another.id}/edit",
                           data={**form, "slug": another.slug, "title": existing.title})
    assert response.status_code == 400 and "There is already a consultation called" in response.get_data(as_text=True)
    # Saving a consultation under its own title is not a duplicate of itself.
    assert client.post(f"/facilitate/consultations/{existing.id}/edit",
                       data={**form, "slug": existing.slug, "title": existing.title}).status_code == 302


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite takes its write lock for the whole request (BEGIN IMMEDIATE)")
def test_a_double_click_on_add_topic_makes_one_topic(app, make) -> None:
    # PostgreSQL: the second request waits for the first's lock on the phase, then finds its topic.
    phase = make.phase(topics=0)
    facilitator = make.user(role="facilitator")
    make.assign(facilitator, phase.consultation)
    outcome: dict[str, str] = {}

    def second() -> None:
        with Session(db.engine) as session:
            try:
                manage.create_topic(session, session.get(User, facilitator.id), session.get(Phase, phase.id),
                                    title="Home visits")
                session.commit()
                outcome["second"] = "created"
            except Invalid as exc:
                session.rollback()
                outcome["second"] = exc.field_errors["title"]

    with Session(db.engine) as first:
        manage.create_topic(first, first.get(User, facilitator.id), first.get(Phase, phase.id), title="Home visits")
        race(second, first.commit, timeout=10)  # the second waits for the first
    assert outcome["second"].startswith("This phase already has a topic called “Home visits”")
    assert _count(Topic) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite takes its write lock for the whole request (BEGIN IMMEDIATE)")
@pytest.mark.parametrize("slugs", [("", ""), ("community-rehab", "rehab-at-home")], ids=["slugs-made", "slugs-given"])
def test_a_double_click_on_add_consultation_makes_one_consultation(app, make, slugs) -> None:
    # PostgreSQL: consultations have no parent row; the second request waits for the first's lock on their titles,
    # then finds its consultation (and never trips over the slug the first took).
    facilitator = make.user(role="facilitator")
    outcome: dict[str, str] = {}

    def second() -> None:
        with Session(db.engine) as session:
            try:
                manage.create_consultation(session, session.get(User, facilitator.id), title="community  REHAB",
                                           slug=slugs[1], summary="Care closer to home")
                session.commit()
                outcome["second"] = "created"
            except Invalid as exc:
                session.rollback()
                outcome["second"] = exc.field_errors["title"]

    with Session(db.engine) as first:
        manage.create_consultation(first, first.get(User, facilitator.id), title="Community rehab", slug=slugs[0],
                                   summary="Care closer to home")
        race(second, first.commit, timeout=10)  # the second waits for the first
    assert outcome["second"].startswith("There is already a consultation called “Community rehab”")
    assert _count(Consultation) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite takes its write lock for the whole request (BEGIN IMMEDIATE)")
def test_a_double_click_on_add_phase_makes_one_phase(app, make) -> None:
    # PostgreSQL: the second request waits for the first's lock on the consultation, then finds its phase.
    consultation = make.phase(state="draft").consultation
    facilitator = make.user(role="facilitator")
    make.assign(facilitator, consultation)
    outcome: dict[str, str] = {}

    def add(session: Session) -> None:
        manage.create_phase(session, session.get(User, facilitator.id), session.get(Consultation, consultation.id),
                            title="Check and challenge", question="Did we hear you right?")

    def second() -> None:
        with Session(db.engine) as session:
            try:
                add(session)
                session.commit()
                outcome["second"] = "created"
            except Invalid as exc:
                session.rollback()
                outcome["second"] = exc.field_errors["title"]

    with Session(db.engine) as first:
        add(first)
        race(second, first.commit, timeout=10)  # the second waits for the first
    assert outcome["second"].startswith("This consultation already has a phase called “Check and challenge”")
    assert _count(Phase) == 2
