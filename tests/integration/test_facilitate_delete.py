"""Deleting a topic, phase or consultation made by mistake: only while nothing depends on it, asked first,
audited, for the consultation's facilitators only, and never a 500 on a second click."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from consult.extensions import db
from consult.models import (
    AnalysisRun,
    AuditEvent,
    Base,
    Consultation,
    ConsultationAssignment,
    Idea,
    OfflineEvent,
    Phase,
    PhaseAudience,
    Topic,
    User,
    utcnow,
)
from consult.services import deletion, phases
from consult.services.errors import Conflict
from tests.conftest import ON_POSTGRES, Factory
from tests.integration.test_facilitate import _facilitator, _fresh, login
from tests.support.race import race


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _idea(topic: Topic, **columns) -> Idea:
    idea = Idea(topic_id=topic.id, phase_id=topic.phase_id, title="An idea", body="Its text", **columns)
    db.session.add(idea)
    db.session.commit()
    return idea


def _draft_consultation(make: Factory, phases_: int = 2, topics: int = 2) -> Consultation:
    first = make.phase(state="draft", topics=topics)
    consultation = first.consultation
    consultation.is_published = False
    db.session.commit()
    for _ in range(phases_ - 1):
        db.session.expire(consultation)  # the factory numbers a new phase from the consultation's phases
        make.phase(state="draft", topics=topics, consultation=consultation)
    db.session.commit()
    db.session.expire(consultation)
    return consultation


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# ---------------------------------------------------------------------------------------------- topics


def test_an_empty_topic_is_deleted_after_a_confirmation_page_and_audited(client, make) -> None:
    phase = make.phase(state="open", topics=3)
    first, middle, last = phase.topics
    facilitator = _facilitator(client, make)
    assert f'href="/facilitate/topics/{middle.id}/delete"' in client.get(
        f"/facilitate/topics/{middle.id}/edit").get_data(as_text=True)

    page = client.get(f"/facilitate/topics/{middle.id}/delete").get_data(as_text=True)
    assert "Delete the topic “Topic 2”?" in page and "Yes, delete it" in page and 'name="csrf_token"' in page
    assert _count(Topic) == 3  # asking deletes nothing

    response = client.post(f"/facilitate/topics/{middle.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/facilitate/phases/{phase.id}/topics")
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The topic “Topic 2” has been deleted." in listing
    positions = db.session.execute(select(Topic.id, Topic.position).where(Topic.phase_id == phase.id)
                                   .order_by(Topic.position)).all()
    assert [tuple(p) for p in positions] == [(first.id, 1), (last.id, 2)]
    (event,) = _audit("topic.delete")
    assert (event.actor_id, event.target_id) == (facilitator.id, middle.id)
    assert event.detail == {"title": "Topic 2", "phase_id": phase.id, "consultation_id": phase.consultation_id}


@pytest.mark.parametrize("columns", [
    {"moderation_state": "withdrawn"}, {"moderation_state": "hidden"}, {"moderation_state": "held"},
    {"moderation_state": "published", "channel": "workshop", "author_id": None},
], ids=["withdrawn", "hidden", "held", "workshop"])
def test_a_topic_with_any_idea_is_refused_with_the_reason_and_what_to_do(client, make, columns) -> None:
    phase = make.phase(state="open")
    topic = phase.topics[0]
    facilitator = _facilitator(client, make)
    if "author_id" in columns:
        columns = {**columns, "entered_by_id": facilitator.id}
    _idea(topic, **columns)
    page = client.get(f"/facilitate/topics/{topic.id}/delete").get_data(as_text=True)
    assert "You cannot delete the topic “Topic 1”" in page and "It has 1 idea," in page
    assert "Ideas are never deleted with their topic" in page and "Yes, delete it" not in page
    response = client.post(f"/facilitate/topics/{topic.id}/delete")
    assert response.status_code == 409 and "Nothing was deleted" in response.get_data(as_text=True)
    assert _count(Topic) == 1 and _count(Idea) == 1 and _audit("topic.delete") == []


def test_an_idea_posted_after_the_page_was_shown_stops_the_deletion(client, make) -> None:
    phase = make.phase(state="open")
    topic = phase.topics[0]
    _facilitator(client, make)
    assert "Yes, delete it" in client.get(f"/facilitate/topics/{topic.id}/delete").get_data(as_text=True)
    _idea(topic)  # someone posts while the facilitator reads the page
    response = client.post(f"/facilitate/topics/{topic.id}/delete")
    assert response.status_code == 409 and "It has 1 idea" in response.get_data(as_text=True)
    assert _count(Topic) == 1 and _count(Idea) == 1


def test_a_second_click_says_it_was_already_deleted_and_an_unknown_id_is_a_404(client, make) -> None:
    phase = make.phase(state="open")
    topic_id = phase.topics[0].id
    _facilitator(client, make)
    assert client.post(f"/facilitate/topics/{topic_id}/delete").status_code == 302
    again = client.post(f"/facilitate/topics/{topic_id}/delete")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/facilitate/phases/{phase.id}/topics")
    assert "“Topic 1” has already been deleted." in client.get(again.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/facilitate/topics/{topic_id}/delete", follow_redirects=True).status_code == 200
    assert client.post("/facilitate/topics/999999/delete").status_code == 404
    assert client.get("/facilitate/topics/99999999999/delete").status_code == 404
    assert len(_audit("topic.delete")) == 1


def test_a_confirmation_for_a_topic_renamed_or_replaced_since_deletes_nothing(client, make) -> None:
    """SQLite may give a deleted topic's id to the next one: the page confirmed "Topic 1", not what is there now."""
    phase = make.phase(state="open")
    topic = phase.topics[0]
    _facilitator(client, make)
    page = client.get(f"/facilitate/topics/{topic.id}/delete").get_data(as_text=True)
    assert '<input type="hidden" name="title" value="Topic 1">' in page
    topic.title = "Parking and transport"
    db.session.commit()
    refused = client.post(f"/facilitate/topics/{topic.id}/delete", data={"title": "Topic 1"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and _count(Topic) == 1 and _audit("topic.delete") == []
    assert "it is now called “Parking and transport”, not “Topic 1”" in text
    assert client.post(f"/facilitate/topics/{topic.id}/delete",
                       data={"title": "Parking and transport"}).status_code == 302
    assert _count(Topic) == 0


def test_a_deleted_topics_address_never_opens_a_topic_made_after_it(client, make) -> None:
    """SQLite gave the newest topic's freed id to the next one, so old links and bookmarks opened that instead."""
    phase = make.phase(state="open", topics=2)
    newest = max(phase.topics, key=lambda t: t.id)
    newest_id = newest.id
    _facilitator(client, make)
    assert "Topic 2" in client.get(f"/topics/{newest_id}").get_data(as_text=True)
    assert client.post(f"/facilitate/topics/{newest_id}/delete").status_code == 302
    added = client.post(f"/facilitate/phases/{phase.id}/topics/new", data={"title": "Parking and transport"})
    assert added.status_code == 302
    topic = db.session.scalar(select(Topic).where(Topic.title == "Parking and transport"))
    assert topic.id > newest_id
    assert client.get(f"/topics/{newest_id}").status_code == 404
    assert client.get(f"/facilitate/topics/{newest_id}/edit").status_code == 404
    assert "Parking and transport" in client.get(f"/topics/{topic.id}").get_data(as_text=True)
    # A second click on the old confirmation still finds nothing to delete, and deletes nothing.
    assert client.post(f"/facilitate/topics/{newest_id}/delete").status_code == 302
    assert _count(Topic, Topic.id == topic.id) == 1


# ---------------------------------------------------------------------------------------------- phases


def test_a_phase_never_opened_is_deleted_with_its_empty_topics_and_later_phases_move_up(client, make) -> None:
    consultation = _draft_consultation(make, phases_=3, topics=2)
    first, second, third = sorted(consultation.phases, key=lambda p: p.position)
    second.audience = [PhaseAudience(category="carer")]
    db.session.commit()
    facilitator = _facilitator(client, make)
    page = client.get(f"/facilitate/phases/{second.id}/delete").get_data(as_text=True)
    assert f"Delete phase 2, “{second.title}”?" in page and "its 2 topics, which have no ideas" in page
    response = client.post(f"/facilitate/phases/{second.id}/delete")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/facilitate/#consultation-{consultation.id}")
    assert "has been deleted. Later phases have moved up a number." in client.get("/facilitate/").get_data(
        as_text=True)
    assert _fresh(Phase, second.id) is None and _count(Topic, Topic.phase_id == second.id) == 0
    assert _count(PhaseAudience, PhaseAudience.phase_id == second.id) == 0
    assert [(p.id, p.position) for p in _fresh(Consultation, consultation.id).phases] == [(first.id, 1), (third.id, 2)]
    (event,) = _audit("phase.delete")
    assert event.actor_id == facilitator.id
    assert event.detail == {"title": second.title, "consultation_id": consultation.id, "position": 2,
                            "topics_deleted": 2}


def test_a_phase_that_has_been_open_is_kept_with_advice_to_close_it(client, make) -> None:
    open_phase = make.phase(state="open")
    consultation = open_phase.consultation

    def another(state: str) -> Phase:
        db.session.expire(consultation)
        return make.phase(state=state, consultation=consultation)

    closed, due, reverted = another("closed"), another("draft"), another("draft")
    due.opens_at = utcnow() - timedelta(minutes=5)  # the schedule has opened it; the tick has not run yet
    db.session.commit()
    facilitator = _facilitator(client, make)
    phases.open_phase(db.session, reverted, facilitator)
    reverted.state, reverted.opens_at = "draft", None  # its history says it was open, whatever it says now
    db.session.commit()
    for phase, why in ((open_phase, "is open."), (closed, "has been open."), (due, "is open."),
                       (reverted, "has been open.")):
        page = client.get(f"/facilitate/phases/{phase.id}/delete").get_data(as_text=True)
        assert f"“{phase.title}”, {why}" in page and "Close it from the dashboard" in page
        assert client.post(f"/facilitate/phases/{phase.id}/delete").status_code == 409
    assert _count(Phase) == 4 and _audit("phase.delete") == []


def test_a_draft_phase_with_a_workshop_recorded_or_an_idea_is_kept(client, make) -> None:
    phase = make.phase(state="draft")
    db.session.expire(phase.consultation)
    other = make.phase(state="draft", consultation=phase.consultation)
    db.session.add(OfflineEvent(phase_id=phase.id, channel="workshop", name="Leeds", held_on=date(2031, 5, 1)))
    _idea(other.topics[0], moderation_state="withdrawn")
    _facilitator(client, make)
    assert "1 workshop or offline session is recorded for it." in client.get(
        f"/facilitate/phases/{phase.id}/delete").get_data(as_text=True)
    assert "It has 1 idea" in client.get(f"/facilitate/phases/{other.id}/delete").get_data(as_text=True)
    for p in (phase, other):
        assert client.post(f"/facilitate/phases/{p.id}/delete").status_code == 409
    assert _count(Phase) == 2 and _count(OfflineEvent) == 1 and _count(Topic) == 2


# --------------------------------------------------------------------------------------- consultations


def test_a_consultation_never_published_is_deleted_with_its_phases_topics_and_staff(client, make) -> None:
    consultation = _draft_consultation(make, phases_=2, topics=2)
    facilitator = _facilitator(client, make)
    page = client.get(f"/facilitate/consultations/{consultation.id}/delete").get_data(as_text=True)
    assert f"Delete the consultation “{consultation.title}”?" in page
    assert "its 2 phases and 4 topics" in page and "(1 assignment)" in page
    assert f'href="/facilitate/consultations/{consultation.id}/delete"' in client.get(
        f"/facilitate/consultations/{consultation.id}/edit").get_data(as_text=True)
    response = client.post(f"/facilitate/consultations/{consultation.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/facilitate/")
    assert "has been deleted." in client.get("/facilitate/").get_data(as_text=True)
    for model in (Consultation, Phase, Topic, ConsultationAssignment, PhaseAudience):
        assert _count(model) == 0, model
    (event,) = _audit("consultation.delete")
    assert event.actor_id == facilitator.id and event.target_id == consultation.id
    assert event.detail == {"title": consultation.title, "slug": consultation.slug, "phases_deleted": 2,
                            "topics_deleted": 4}
    # A second click, by the same person: said plainly, not a bare "page not found".
    again = client.post(f"/facilitate/consultations/{consultation.id}/delete", follow_redirects=True)
    assert again.status_code == 200 and "has already been deleted" in again.get_data(as_text=True)


def test_a_published_or_once_published_consultation_is_kept_with_advice_to_unpublish(client, make) -> None:
    published = make.phase(state="draft").consultation
    once = _draft_consultation(make, phases_=1)
    _facilitator(client, make)
    form = {"title": once.title, "slug": once.slug, "summary": "A test consultation", "description": ""}
    client.post(f"/facilitate/consultations/{once.id}/edit", data={**form, "is_published": "yes"})
    client.post(f"/facilitate/consultations/{once.id}/edit", data={**form, "is_published": "no"})
    assert _fresh(Consultation, once.id).is_published is False
    for consultation, why in ((published, "It is published"), (once, "It has been published")):
        page = client.get(f"/facilitate/consultations/{consultation.id}/delete").get_data(as_text=True)
        assert why in page and "unpublish it from its details page" in page and "Yes, delete it" not in page
        assert client.post(f"/facilitate/consultations/{consultation.id}/delete").status_code == 409
    assert _count(Consultation) == 2 and _audit("consultation.delete") == []


def test_an_unpublished_consultation_with_an_opened_phase_is_kept(client, make) -> None:
    phase = make.phase(state="closed")
    phase.consultation.is_published = False
    db.session.commit()
    _facilitator(client, make)
    page = client.get(f"/facilitate/consultations/{phase.consultation_id}/delete").get_data(as_text=True)
    assert f"Phase 1, “{phase.title}”, has been open." in page
    assert client.post(f"/facilitate/consultations/{phase.consultation_id}/delete").status_code == 409


# ------------------------------------------------------------------------------------------------ who


@pytest.mark.parametrize("who", ["participant", "moderator", "analyst", "unassigned facilitator"])
def test_only_the_consultations_facilitators_and_admins_can_delete(client, make, who) -> None:
    consultation = _draft_consultation(make, phases_=1, topics=1)
    phase = consultation.phases[0]
    role = "facilitator" if who == "unassigned facilitator" else who
    person = make.user(role=role)
    if who in ("moderator", "analyst"):
        make.assign(person, consultation, role=who)
    login(client, person)
    for url in (f"/facilitate/topics/{phase.topics[0].id}/delete", f"/facilitate/phases/{phase.id}/delete",
                f"/facilitate/consultations/{consultation.id}/delete"):
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert (_count(Consultation), _count(Phase), _count(Topic)) == (1, 1, 1)


def test_an_admin_can_delete_and_others_learn_nothing_of_what_was_deleted(app, client, make) -> None:
    consultation = _draft_consultation(make, phases_=1, topics=1)
    topic_id = consultation.phases[0].topics[0].id
    admin = make.user(role="admin")
    login(client, admin)
    assert client.post(f"/facilitate/topics/{topic_id}/delete").status_code == 302
    outsider, other_browser = make.user(role="facilitator"), app.test_client()
    login(other_browser, outsider)
    response = other_browser.post(f"/facilitate/topics/{topic_id}/delete")
    assert response.status_code == 404 and "Topic 1" not in response.get_data(as_text=True)


def test_every_foreign_key_to_consultations_phases_and_topics_is_accounted_for() -> None:
    # Each is either checked before deleting (what people said and work recorded: deleting is refused) or is a
    # setting that goes with it (listed on the confirmation page). A new table must be added to one of these.
    refused = {("idea", "topic_id"), ("idea", "phase_id"), ("comment", "phase_id"), ("offline_event", "phase_id"),
               ("offline_contribution", "phase_id"), ("heard_page", "phase_id"), ("analysis_run", "phase_id"),
               ("analysis_run", "consultation_id"), ("anomaly_flag", "phase_id"),
               ("anomaly_flag", "consultation_id"), ("moderation_case", "phase_id"),
               ("moderation_case", "consultation_id"), ("codebook", "consultation_id"),
               ("phase_transition", "phase_id")}
    goes_with_it = {("phase", "consultation_id"), ("topic", "phase_id"), ("phase_audience", "phase_id"),
                    ("offline_settings", "phase_id"), ("consultation_assignment", "consultation_id"),
                    ("equality_question_off", "consultation_id"), ("reference_share", "consultation_id"),
                    # When the worker last looked for unusual activity: bookkeeping, no flags (those refuse).
                    ("anomaly_scan", "consultation_id")}
    found = {(table.name, fk.parent.name) for table in Base.metadata.tables.values()
             for fk in table.foreign_keys if fk.column.table.name in ("consultation", "phase", "topic")}
    assert found == refused | goes_with_it


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite takes its write lock for the whole request (BEGIN IMMEDIATE)")
def test_an_idea_posted_while_its_topic_is_being_deleted_is_kept(app, make) -> None:
    # PostgreSQL: the poster's insert holds a key-share lock on the topic; the deletion waits for it, then sees
    # the idea and refuses. Without the row lock it counted no ideas, waited, and the cascade took the idea.
    phase = make.phase(state="open")
    topic_id = phase.topics[0].id
    facilitator = make.user(role="facilitator")
    make.assign(facilitator, phase.consultation)
    outcome: dict[str, str] = {}

    def delete() -> None:
        with Session(db.engine) as session:
            try:
                deletion.delete_topic(session, session.get(User, facilitator.id), session.get(Topic, topic_id))
                session.commit()
                outcome["deleted"] = "yes"
            except Conflict as exc:
                session.rollback()
                outcome["refused"] = exc.message

    with db.engine.connect() as poster:
        posting = poster.begin()
        poster.execute(insert(Idea).values(topic_id=topic_id, phase_id=phase.id, title="Typed meanwhile", body="x"))
        race(delete, posting.commit, timeout=10)  # the second waits for the first
    assert "It has 1 idea" in outcome.get("refused", "")
    assert _count(Idea) == 1 and _count(Topic) == 1


def test_analyses_run_on_an_empty_draft_are_kept_and_so_is_what_they_ran_on(client, make) -> None:
    consultation = _draft_consultation(make, phases_=1, topics=1)
    phase = consultation.phases[0]
    db.session.add_all([AnalysisRun(consultation_id=consultation.id, phase_id=phase.id),
                        AnalysisRun(consultation_id=consultation.id)])
    db.session.commit()
    _facilitator(client, make)
    assert "1 analysis has been run for it." in client.get(f"/facilitate/phases/{phase.id}/delete").get_data(
        as_text=True)
    assert "2 analyses have been run for it." in client.get(
        f"/facilitate/consultations/{consultation.id}/delete").get_data(as_text=True)
    assert client.post(f"/facilitate/consultations/{consultation.id}/delete").status_code == 409
    assert _count(AnalysisRun) == 2 and _count(Consultation) == 1


def test_the_audit_log_reads_the_deletion_in_words_and_links_no_deleted_record(app, client, make) -> None:
    phase = make.phase(state="open", topics=0)
    _facilitator(client, make)
    client.post(f"/facilitate/phases/{phase.id}/topics/new", data={"title": "Typo topic"})
    topic_id = db.session.scalar(select(Topic.id))
    response = client.post(f"/facilitate/topics/{topic_id}/delete")
    assert response.status_code == 302, response.get_data(as_text=True)
    admin = app.test_client()
    login(admin, make.user(role="admin"))
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "Deleted a topic" in page and "Title:</span> Typo topic" in page
    assert page.count(f"Topic {topic_id} (deleted)") == 2  # the deletion, and the creation before it
    assert f"/facilitate/topics/{topic_id}/edit" not in page
