"""The facilitator's journeys through the web client: set up, open, close, schedule, enter ideas offline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import g
from sqlalchemy import event, func, select

from consult.extensions import db
from consult.models import AuditEvent, Consultation, Idea, Phase, PhaseTransition, Topic, User, utcnow
from consult.services import contributions, manage, typed_time
from consult.services.errors import Invalid
from tests.conftest import Factory, make_app, session_cookie_for


def login(client, user: User) -> None:
    """Start a session for the user without the login form (a password check costs half a second)."""
    with client.session_transaction() as session:
        session.update(session_cookie_for(user))
    # Requests share the test's app context, so forget whoever the last request was made by.
    g.pop("_login_user", None)


def _facilitator(client, make: Factory, role: str = "facilitator") -> User:
    """A logged-in facilitator assigned to run every consultation that exists so far."""
    user = make.user(role=role, category="staff", profession="physiotherapist")
    for consultation_id in db.session.scalars(select(Consultation.id)).all():
        make.assign(user, consultation_id)
    login(client, user)
    return user


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _transitions(phase_id: int) -> list[tuple[str, str, int | None, str]]:
    t = PhaseTransition
    rows = db.session.execute(select(t.from_state, t.to_state, t.actor_id, t.reason)
                              .where(t.phase_id == phase_id).order_by(t.id))
    return [tuple(row) for row in rows]


def _fresh(model, item_id: int):
    db.session.expire_all()
    return db.session.get(model, item_id)


@contextmanager
def _count_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def _record(_conn, _cursor, statement, *_args) -> None:
        # Transaction control depends on what the test did before; only reads and writes count.
        if not statement.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", _record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", _record)


def _schedule(prefix: str, day: int, month: int, year: int, time: str) -> dict[str, str]:
    return {f"{prefix}_day": str(day), f"{prefix}_month": str(month), f"{prefix}_year": str(year),
            f"{prefix}_time": time}


def _phase_form(**changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {"title": "People and communities", "description": "", "audience": [],
                                        "question": "What matters most to you?"}
    form.update(changes)
    return form


# ------------------------------------------------------------------------------------------- access


@pytest.mark.parametrize(("role", "status"), [("participant", 404), ("analyst", 404), ("facilitator", 200),
                                              ("admin", 200)])
def test_dashboard_is_for_facilitators_and_admins(client, make, role: str, status: int) -> None:
    login(client, make.user(role=role))
    assert client.get("/facilitate/").status_code == status


def test_dashboard_sends_visitors_to_log_in(client) -> None:
    response = client.get("/facilitate/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_participant_cannot_open_close_or_edit_phases(client, make) -> None:
    phase = make.phase(state="draft")
    login(client, make.user())
    assert client.post(f"/facilitate/phases/{phase.id}/open").status_code == 404
    assert client.post(f"/facilitate/phases/{phase.id}/edit", data=_phase_form()).status_code == 404
    move = client.post(f"/facilitate/topics/{phase.topics[0].id}/move", data={"direction": "down"})
    assert move.status_code == 404
    assert _transitions(phase.id) == []
    assert _fresh(Phase, phase.id).state == "draft"


# ---------------------------------------------------------------------------------------- dashboard


def test_dashboard_shows_every_consultation_with_phase_figures_and_registrants(client, make) -> None:
    hidden = make.phase(state="draft")
    hidden.consultation.is_published = False
    phase = make.phase(state="open", audience=("staff",))
    make.user(category="carer")
    make.user(category="carer")
    staff = make.user(category="staff", profession="dietitian")
    idea, _ = contributions.post_idea(db.session, staff, phase.topics[0], "Evening clinics", "After 6pm")
    contributions.vote(db.session, staff, "idea", idea.id, 1)
    db.session.commit()
    _facilitator(client, make)

    page = client.get("/facilitate/").get_data(as_text=True)
    assert hidden.consultation.title in page and "Not published: only staff can see it" in page
    assert phase.title in page and "For health and care staff." in page
    assert re.search(r"Ideas </span>1<", page) and re.search(r"Voters </span>1<", page)
    # Participants are counted by declared group; staff accounts are not registrants.
    assert re.search(r"A carer</th>\s*<td[^>]*>2</td>", page)
    assert re.search(r"Total</th>\s*<td[^>]*><strong>3</strong>", page)
    assert f'action="/facilitate/phases/{phase.id}/close"' in page
    assert f'action="/facilitate/phases/{hidden.id}/open"' in page


def test_dashboard_query_count_does_not_grow_with_consultations(client, make) -> None:
    facilitator = _facilitator(client, make)
    make.assign(facilitator, make.phase().consultation)
    client.get("/facilitate/")
    with _count_queries() as few:
        assert client.get("/facilitate/").status_code == 200
    for _ in range(4):
        consultation = make.phase(topics=2).consultation
        make.phase(consultation=consultation, state="draft")
        make.assign(facilitator, consultation)
    with _count_queries() as many:
        assert client.get("/facilitate/").status_code == 200
    assert len(many) == len(few)


# ----------------------------------------------------------------------------------- setting things up


def test_facilitator_creates_consultation_phases_and_topics(client, make) -> None:
    facilitator = _facilitator(client, make)
    response = client.post("/facilitate/consultations/new", data={
        "title": "Allied health professions strategy", "slug": "", "summary": "Help shape the strategy.",
        "description": "Three conversations.", "is_published": "yes"})
    consultation = db.session.scalars(select(Consultation)).one()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/facilitate/consultations/{consultation.id}/phases/new")
    assert (consultation.slug, consultation.is_published) == ("allied-health-professions-strategy", True)

    # 1 July 2031 is in British Summer Time: 9:00am in the UK is 8:00 UTC.
    response = client.post(f"/facilitate/consultations/{consultation.id}/phases/new", data=_phase_form(
        audience=["staff", "student"], **_schedule("opens_at", 1, 7, 2031, "9:00am"),
        **_schedule("closes_at", 31, 7, 2031, "17:30")))
    assert response.status_code == 302
    client.post(f"/facilitate/consultations/{consultation.id}/phases/new",
                data=_phase_form(title="Check and challenge"))
    first, second = db.session.scalars(select(Phase).order_by(Phase.position)).all()
    assert (first.position, second.position) == (1, 2)
    assert (first.state, first.opens_at, first.closes_at) == ("draft", datetime(2031, 7, 1, 8, 0),
                                                              datetime(2031, 7, 31, 16, 30))
    assert first.audience_categories == ["staff", "student"] and second.audience_categories == []

    for title in ("Getting support at home", "Working together"):
        assert client.post(f"/facilitate/phases/{first.id}/topics/new",
                           data={"title": title, "description": ""}).status_code == 302
    topics = db.session.scalars(select(Topic).where(Topic.phase_id == first.id).order_by(Topic.position))
    assert [(t.position, t.title) for t in topics] == [
        (1, "Getting support at home"), (2, "Working together")]

    public = client.get("/c/allied-health-professions-strategy").get_data(as_text=True)
    assert "People and communities" in public and "Check and challenge" in public
    edit = client.get(f"/facilitate/phases/{first.id}/edit").get_data(as_text=True)
    assert 'value="9:00am"' in edit and 'value="5:30pm"' in edit
    assert _actions() == ["consultation.create", "phase.create", "phase.create", "topic.create",
                          "topic.create"]
    assert set(db.session.scalars(select(AuditEvent.actor_id))) == {facilitator.id}


def test_new_consultation_slug_is_made_unique_and_a_chosen_one_must_be_free(client, make) -> None:
    _facilitator(client, make)
    form = {"title": "Café services in Wales", "slug": "", "summary": "A summary", "is_published": "no"}
    client.post("/facilitate/consultations/new", data=form)
    # A different title (the same one is refused) whose web address name would be the same.
    client.post("/facilitate/consultations/new", data={**form, "title": "Cafe services in Wales"})
    slugs = db.session.scalars(select(Consultation.slug).order_by(Consultation.id)).all()
    assert slugs == ["cafe-services-in-wales", "cafe-services-in-wales-2"]

    response = client.post("/facilitate/consultations/new", data={**form, "slug": "cafe-services-in-wales"})
    assert response.status_code == 400
    assert "Another consultation already uses this web address name" in response.get_data(as_text=True)
    response = client.post("/facilitate/consultations/new",
                           data={**form, "slug": "Not A Slug!", "title": " "})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Enter a title" in page and "only lower-case letters" in page
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 2


def test_editing_a_consultation_saves_changes_and_audits_them(client, make) -> None:
    consultation = make.phase().consultation
    _facilitator(client, make)
    response = client.post(f"/facilitate/consultations/{consultation.id}/edit", data={
        "title": "Renamed", "slug": consultation.slug, "summary": "New summary", "description": "",
        "is_published": "no"})
    assert response.status_code == 302
    saved = _fresh(Consultation, consultation.id)
    assert (saved.title, saved.summary, saved.is_published) == ("Renamed", "New summary", False)
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "consultation.update"))
    assert set(detail["changed"]) == {"title", "summary", "is_published"} and detail["published"] is False


def test_phase_form_reports_every_problem_at_once(client, make) -> None:
    consultation = make.phase().consultation
    _facilitator(client, make)
    response = client.post(f"/facilitate/consultations/{consultation.id}/phases/new", data=_phase_form(
        title="", **_schedule("opens_at", 10, 6, 2031, "9am"), **_schedule("closes_at", 9, 6, 2031, "9am")))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter a title" in page and "The closing time must be after the opening time" in page
    response = client.post(f"/facilitate/consultations/{consultation.id}/phases/new", data=_phase_form(
        opens_at_day="31", opens_at_month="", opens_at_year="2031",
        **_schedule("closes_at", 30, 2, 2031, "25:00")))
    page = response.get_data(as_text=True)
    assert "The opening date must include a month" in page and "The closing date must be a real date" in page
    assert 'value="31"' in page, "what was typed is kept"
    assert db.session.scalar(select(func.count()).select_from(Phase)) == 1


def test_open_phase_cannot_be_given_a_future_opening_time(client, make) -> None:
    phase = make.phase(state="open")
    _facilitator(client, make)
    tomorrow = utcnow() + timedelta(days=2)
    response = client.post(f"/facilitate/phases/{phase.id}/edit", data=_phase_form(
        **_schedule("opens_at", tomorrow.day, tomorrow.month, tomorrow.year, "10:00")))
    assert response.status_code == 400
    assert "already open, so it needs an opening time in the past" in response.get_data(as_text=True)


def test_a_phase_not_open_yet_cannot_be_given_a_closing_time_in_the_past(client, make) -> None:
    # Otherwise the schedule would close it at the next tick and record a phase that ran with nobody in it.
    phase = make.phase(state="draft")
    _facilitator(client, make)
    for opening in ({}, _schedule("opens_at", 1, 1, 2026, "9am")):
        response = client.post(f"/facilitate/phases/{phase.id}/edit", data=_phase_form(
            **opening, **_schedule("closes_at", 2, 1, 2026, "9am")))
        assert response.status_code == 400
        assert "has not opened yet, so its closing time must be in the future" in response.get_data(as_text=True)
    assert _fresh(Phase, phase.id).closes_at is None


def test_saving_a_phase_unchanged_changes_and_logs_nothing(client, make) -> None:
    # An open phase's opening time has seconds; the form shows and sends back minutes.
    phase = make.phase(state="open")
    _facilitator(client, make)
    shown = typed_time.TypedDateTime.from_utc(phase.opens_at)
    response = client.post(f"/facilitate/phases/{phase.id}/edit", data=_phase_form(
        title=phase.title, question=phase.question,
        **_schedule("opens_at", int(shown.day), int(shown.month), int(shown.year), shown.time)),
        follow_redirects=True)
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert _actions() == []


def test_topics_move_up_and_down_and_stay_in_order(client, make) -> None:
    phase = make.phase(topics=3)
    first, second, third = (t.id for t in phase.topics)
    _facilitator(client, make)
    assert client.post(f"/facilitate/topics/{third}/move", data={"direction": "up"}).status_code == 302
    order = db.session.scalars(select(Topic.id).where(Topic.phase_id == phase.id).order_by(Topic.position))
    assert list(order) == [first, third, second]
    response = client.post(f"/facilitate/topics/{first}/move", data={"direction": "up"},
                           follow_redirects=True)
    assert "is already first" in response.get_data(as_text=True)
    assert _actions() == ["topic.move"]
    response = client.post(f"/facilitate/topics/{first}/edit", data={"title": "Renamed topic"})
    assert response.status_code == 302 and _fresh(Topic, first).title == "Renamed topic"


# ---------------------------------------------------------------------------------- opening, closing


def test_open_then_close_records_who_when_from_and_to(client, make) -> None:
    phase = make.phase(state="draft")
    facilitator = _facilitator(client, make)
    before = utcnow()
    # The dashboard's button asks first: opening cannot be taken back.
    asked = client.post(f"/facilitate/phases/{phase.id}/open", data={"next": "/facilitate/?page=1"})
    assert asked.status_code == 200 and "but not undo the opening" in asked.get_data(as_text=True)
    assert _transitions(phase.id) == []
    response = client.post(f"/facilitate/phases/{phase.id}/open",
                           data={"next": "/facilitate/?page=1", "confirmed": "yes"}, follow_redirects=True)
    assert "is now open" in response.get_data(as_text=True)
    response = client.post(f"/facilitate/phases/{phase.id}/close", data={"confirmed": "yes"},
                           follow_redirects=True)
    assert "is now closed" in response.get_data(as_text=True)

    assert _transitions(phase.id) == [("draft", "open", facilitator.id, "manual"),
                                      ("open", "closed", facilitator.id, "manual")]
    times = db.session.scalars(select(PhaseTransition.at).where(PhaseTransition.phase_id == phase.id)).all()
    assert all(before - timedelta(seconds=1) <= t <= utcnow() for t in times)
    assert _actions() == ["phase.open", "phase.close"]
    history = client.get(f"/facilitate/phases/{phase.id}/history").get_data(as_text=True)
    assert history.count(facilitator.email) == 2 and "Not open yet" in history and "Closed" in history


def test_closing_twice_says_it_is_already_closed_and_changes_nothing(client, make) -> None:
    phase = make.phase(state="open")
    _facilitator(client, make)
    client.post(f"/facilitate/phases/{phase.id}/close", data={"confirmed": "yes"})
    response = client.post(f"/facilitate/phases/{phase.id}/close", data={"confirmed": "yes"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"“{phase.title}” is not open, so it cannot be closed" in page
    assert [t[1] for t in _transitions(phase.id)] == ["closed"]


def test_scheduled_opening_happens_on_the_next_request(client, make) -> None:
    phase = make.phase(state="draft")
    phase.opens_at, phase.closes_at = utcnow() - timedelta(minutes=1), utcnow() + timedelta(days=7)
    db.session.commit()
    _facilitator(client, make)
    history = client.get(f"/facilitate/phases/{phase.id}/history").get_data(as_text=True)
    assert _fresh(Phase, phase.id).state == "open"
    assert _transitions(phase.id) == [("draft", "open", None, "schedule")]
    assert "The schedule" in history


def test_an_open_phase_is_not_closed_by_a_closing_time_typed_in_the_past(client, make) -> None:
    phase = make.phase(state="open")
    _facilitator(client, make)
    # Opened yesterday; a closing day typed as today's date an hour ago (say "7" for "17") is after the opening.
    opened = typed_time.TypedDateTime.from_utc(phase.opens_at)
    typo = typed_time.TypedDateTime.from_utc(utcnow() - timedelta(hours=1))
    response = client.post(f"/facilitate/phases/{phase.id}/edit", data=_phase_form(
        **_schedule("opens_at", opened.day, opened.month, opened.year, opened.time),
        **_schedule("closes_at", typo.day, typo.month, typo.year, typo.time)))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "To close it now, use Close now on the dashboard" in page
    assert _fresh(Phase, phase.id).state == "open" and _transitions(phase.id) == []


def test_tick_command_applies_due_changes(app, make) -> None:
    phase = make.phase(state="open")
    phase.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    assert "1 scheduled change(s) applied" in result.output
    assert _fresh(Phase, phase.id).state == "closed"
    assert _transitions(phase.id) == [("open", "closed", None, "schedule")]


def test_planned_time_set_in_the_past_takes_effect_at_the_next_tick(client, make) -> None:
    phase = make.phase(state="draft")
    _facilitator(client, make)
    yesterday = utcnow() - timedelta(days=1)
    response = client.post(f"/facilitate/phases/{phase.id}/edit", data=_phase_form(
        **_schedule("opens_at", yesterday.day, yesterday.month, yesterday.year, "12:00")),
        follow_redirects=True)
    assert "so it is now open" in response.get_data(as_text=True)
    assert _transitions(phase.id) == [("draft", "open", None, "schedule")]
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "phase.update"))
    assert detail["opens_at"]["from"] is None
    assert detail["opens_at"]["to"].startswith(yesterday.strftime("%Y-%m"))


# ---------------------------------------------------------------------------------- offline entry


def test_idea_entered_on_someones_behalf_is_anonymous_and_marked_with_its_channel(client, make) -> None:
    phase = make.phase(state="open")
    topic_id = phase.topics[0].id
    facilitator = _facilitator(client, make)
    form = {"channel": "paper", "category": "carer", "profession": "", "title": "Respite for carers",
            "body": "Weekend respite would let me keep working."}
    response = client.post(f"/facilitate/topics/{topic_id}/on-behalf", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/on-behalf?channel=paper&category=carer")
    again = client.post(f"/facilitate/topics/{topic_id}/on-behalf", data=form, follow_redirects=True)
    assert "it was not added twice" in again.get_data(as_text=True)

    idea = db.session.scalars(select(Idea)).one()
    assert (idea.author_id, idea.entered_by_id, idea.channel, idea.author_category) == (
        None, facilitator.id, "paper", "carer")
    assert _actions() == ["idea.enter_on_behalf"]
    page = client.get(f"/topics/{topic_id}").get_data(as_text=True)
    assert "Respite for carers" in page and facilitator.email not in page


def test_on_behalf_form_checks_every_field(client, make) -> None:
    phase = make.phase(state="open")
    _facilitator(client, make)
    response = client.post(f"/facilitate/topics/{phase.topics[0].id}/on-behalf",
                           data={"channel": "online", "category": "carer", "profession": "dietitian",
                                 "title": "", "body": "Some text"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Select how this contribution was gathered" in page
    assert "Only choose a profession for health or care staff" in page and "Enter a title" in page
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 0


def test_nothing_can_be_entered_on_behalf_into_a_closed_phase(client, make) -> None:
    phase = make.phase(state="closed")
    _facilitator(client, make)
    url = f"/facilitate/topics/{phase.topics[0].id}/on-behalf"
    assert "This phase is closed" in client.get(url).get_data(as_text=True)
    response = client.post(url, data={"channel": "workshop", "category": "unknown", "title": "Late idea",
                                      "body": "Typed after the phase closed"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This phase is closed" in page and "Typed after the phase closed" in page
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 0


def test_ideas_entered_one_at_a_time_follow_the_offline_deadline_and_screening(client, make) -> None:
    # The single-entry form takes what the CSV upload takes: after closing, up to the facilitator's deadline;
    # and what it takes is screened like a participant's post, and counted on the inclusion page.
    phase = make.phase(state="closed")
    _facilitator(client, make)
    url = f"/facilitate/topics/{phase.topics[0].id}/on-behalf"
    later = utcnow() + timedelta(days=10)
    assert client.post(f"/facilitate/phases/{phase.id}/workshops/deadline",
                       data={"day": later.day, "month": later.month, "year": later.year}).status_code == 302
    assert "Enter an idea on someone" in client.get(f"/facilitate/phases/{phase.id}/topics").get_data(as_text=True)
    done = client.post(url, data={"channel": "workshop", "category": "unknown", "title": "Late idea",
                                  "body": "Gathered before the phase closed"}, follow_redirects=True)
    assert "has been added as gathered at a workshop" in done.get_data(as_text=True)
    held = client.post(url, data={"channel": "phone", "category": "carer", "title": "Call back",
                                  "body": "Call Mrs Brown on 07700 900456 about this"}, follow_redirects=True)
    page = held.get_data(as_text=True)
    assert "participants will not see it until a moderator publishes it" in page and "has been added" not in page
    states = dict(db.session.execute(select(Idea.title, Idea.moderation_state)).all())
    assert states == {"Late idea": "published", "Call back": "held"}
    offline = client.get(f"/facilitate/phases/{phase.id}/workshops").get_data(as_text=True)
    assert offline.count("Entered one at a time") == 2  # one row per channel


# ------------------------------------------------------------------------------------------ CSRF


def test_every_facilitator_form_carries_a_csrf_token_and_posts_without_one_fail(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    try:
        with app.app_context():
            make = Factory()
            phase = make.phase(state="draft")
            open_topic = make.phase(state="open").topics[0]
            user = make.user(role="admin")
            client = app.test_client()
            login(client, user)
            pages = [f"/admin/users/{make.user().id}", f"/facilitate/topics/{open_topic.id}/on-behalf",
                     "/facilitate/", "/facilitate/consultations/new",
                     f"/facilitate/consultations/{phase.consultation_id}/edit",
                     f"/facilitate/consultations/{phase.consultation_id}/phases/new",
                     f"/facilitate/phases/{phase.id}/edit", f"/facilitate/phases/{phase.id}/topics",
                     f"/facilitate/phases/{phase.id}/topics/new",
                     f"/facilitate/topics/{phase.topics[0].id}/edit"]
            forms = 0
            for url in pages:
                page = client.get(url).get_data(as_text=True)
                for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", page, re.S):
                    forms += 1
                    assert 'name="csrf_token"' in form, f"a form on {url} has no CSRF token"
            assert forms >= 14

            assert client.post(f"/facilitate/phases/{phase.id}/open", csrf=False).status_code == 400
            assert _transitions(phase.id) == []
            dashboard = client.get("/facilitate/").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', dashboard)
            assert client.post(f"/facilitate/phases/{phase.id}/open", data={"csrf_token": token.group(1),
                                                                            "confirmed": "yes"}).status_code == 302
            assert [t[1] for t in _transitions(phase.id)] == ["open"]
    finally:
        db.dispose()


# --------------------------------------------------------------------------------- typed schedule


@pytest.mark.parametrize(("typed", "expected"), [
    ("9:30am", (9, 30)), ("9am", (9, 0)), ("9.30 p.m.", (21, 30)), ("12am", (0, 0)), ("12pm", (12, 0)),
    ("17:30", (17, 30)), ("0:05", (0, 5)), ("Midday", (12, 0)), ("midnight", (0, 0)), (" 14.00 ", (14, 0)),
    ("25:00", None), ("13pm", None), ("9:60", None), ("9m", None), ("soon", None), ("", None),
])
def test_parse_time_reads_the_usual_ways_of_writing_a_time(typed: str,
                                                           expected: tuple[int, int] | None) -> None:
    assert typed_time.parse_time(typed) == expected


@pytest.mark.parametrize(("parts", "expected"), [
    (("1", "7", "2031", "9:00am"), datetime(2031, 7, 1, 8, 0)),  # British Summer Time
    (("1", "12", "2031", "9:00am"), datetime(2031, 12, 1, 9, 0)),  # Greenwich Mean Time
    (("", "", "", ""), None),
])
def test_typed_uk_times_are_stored_in_utc_and_shown_back_as_typed(parts: tuple[str, ...],
                                                                  expected: datetime | None) -> None:
    typed = typed_time.TypedDateTime(*parts)
    assert typed_time.to_utc(typed, field="opens_at", label="opening") == expected
    if expected is not None:
        assert typed_time.TypedDateTime.from_utc(expected) == typed


@pytest.mark.parametrize(("parts", "message"), [
    (("31", "", "2031", "9am"), "The opening date must include a month"),
    (("30", "2", "2031", "9am"), "The opening date must be a real date, like 3 6 2021"),
    (("1", "1", "0001", "9am"), "The opening date must be in a year from 2000 to 2099"),
    (("1", "1", "31", "9am"), "The opening date must be a real date, like 3 6 2021"),
    (("1", "1", "2031", ""), "Enter the opening time, like 9:00am or 17:30"),
])
def test_typed_dates_that_are_not_real_are_explained(parts: tuple[str, ...], message: str) -> None:
    with pytest.raises(Invalid) as refused:
        typed_time.to_utc(typed_time.TypedDateTime(*parts), field="opens_at", label="opening")
    assert list(refused.value.field_errors.values()) == [message]


@pytest.mark.parametrize(("title", "slug"), [
    ("Allied health professions strategy", "allied-health-professions-strategy"),
    ("Gwasanaethau iechyd: Cymru 2021!", "gwasanaethau-iechyd-cymru-2021"),
    ("Zoë’s café", "zoes-cafe"),
    ("🙏🙏", "consultation"),
    ("word " * 40, "-".join(["word"] * 16)),
])
def test_slugify_makes_short_plain_web_addresses(title: str, slug: str) -> None:
    assert manage.slugify(title) == slug


def test_opening_a_phase_asks_when_it_should_close_and_keeps_a_planned_time(client, make) -> None:
    phase, other = make.phase(state="draft"), make.phase(state="draft")
    _facilitator(client, make)
    asked = client.get(f"/facilitate/phases/{phase.id}/open").get_data(as_text=True)
    assert "When should it close?" in asked and 'name="closes_at_day"' in asked
    past = client.post(f"/facilitate/phases/{phase.id}/open", data={
        "confirmed": "yes", "closes_at_day": "1", "closes_at_month": "1", "closes_at_year": "2001",
        "closes_at_time": "9am"})
    assert past.status_code == 400 and "must be in the future" in past.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Phase, phase.id).state == "draft"
    later = utcnow() + timedelta(days=21)
    opened = client.post(f"/facilitate/phases/{phase.id}/open", data={
        "confirmed": "yes", "closes_at_day": str(later.day), "closes_at_month": str(later.month),
        "closes_at_year": str(later.year), "closes_at_time": "5pm"})
    assert opened.status_code == 302
    db.session.expire_all()
    now_open = db.session.get(Phase, phase.id)
    assert now_open.state == "open" and now_open.closes_at is not None
    assert now_open.closes_at.date() == later.date()

    # A planned closing time is shown to keep, and a form without the boxes keeps it too.
    other.closes_at = utcnow() + timedelta(days=5)
    db.session.commit()
    planned = other.closes_at
    asked = client.get(f"/facilitate/phases/{other.id}/open").get_data(as_text=True)
    assert f'name="closes_at_day" type="text" inputmode="numeric" value="{planned.day}"' in asked
    assert client.post(f"/facilitate/phases/{other.id}/open", data={"confirmed": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Phase, other.id).closes_at == planned
