"""A facilitator corrects an offline event after recording it (its ideas follow), and deletes one only when
nothing came from it; both are audited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from consult.extensions import db
from consult.models import AuditEvent, Idea, OfflineEvent, utcnow
from consult.services import workshops
from tests.conftest import login
from tests.integration.test_facilitate import _facilitator
from tests.integration.test_offline_entry import _event, _form


def _details(when, **values) -> dict[str, str]:
    return {"channel": "workshop", "event_name": "Carers' café, Hull", "event_day": str(when.day),
            "event_month": str(when.month), "event_year": str(when.year), "event_people": "12",
            "event_profile": "unpaid carers", **values}


def _with_idea(client, phase, event) -> Idea:
    response = client.post(f"/facilitate/topics/{phase.topics[0].id}/on-behalf", data=_form(event=str(event.id)))
    assert response.status_code == 302
    return db.session.scalars(select(Idea)).one()


def test_a_facilitator_corrects_an_event_and_its_ideas_follow(client, make) -> None:
    phase = make.phase(state="open")
    event = _event(phase.id)
    _facilitator(client, make)
    idea = _with_idea(client, phase, event)
    offline = client.get(f"/facilitate/phases/{phase.id}/workshops").get_data(as_text=True)
    url = f"/facilitate/offline-events/{event.id}/edit"
    assert f'href="{url}"' in offline
    form = client.get(url).get_data(as_text=True)
    assert 'value="Carers&#39; café, Hull"' in form and 'value="12"' in form and 'value="unpaid carers"' in form
    assert "It cannot be deleted because 1 idea was entered under it" in form

    yesterday = utcnow().date() - timedelta(days=1)
    response = client.post(url, data=_details(yesterday, channel="paper", event_name="Carers' café, Hull (paper)",
                                              event_people="14", event_profile="unpaid carers, mostly parents"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/phases/{phase.id}/workshops")
    db.session.expire_all()
    event = db.session.get(OfflineEvent, event.id)
    assert (event.channel, event.name, event.held_on, event.people, event.profile) == (
        "paper", "Carers' café, Hull (paper)", yesterday, 14, "unpaid carers, mostly parents")
    assert db.session.get(Idea, idea.id).channel == "paper"  # its idea was gathered the way the event was
    assert workshops.event_of(db.session, idea.id).id == event.id
    rows = workshops.event_rows(db.session, [phase.id])
    assert [(r["name"], r["people"], r["contributions"]) for r in rows] == [("Carers' café, Hull (paper)", 14, 1)]
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "offline.event_edit")).one()
    assert audit.target_id == event.id and set(audit.detail["changed"]) == {
        "channel", "name", "held_on", "people", "profile"}
    assert audit.detail["before"]["name"] == "Carers' café, Hull"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "has been updated" in page and "Carers&#39; café, Hull (paper)" in page

    # Saving it unchanged records nothing.
    client.post(url, data=_details(yesterday, channel="paper", event_name="Carers' café, Hull (paper)",
                                   event_people="14", event_profile="unpaid carers, mostly parents"))
    assert len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "offline.event_edit")).all()) == 1


def test_a_correction_is_checked_as_a_new_event_is_and_keeps_what_was_typed(client, make) -> None:
    phase = make.phase(state="open")
    event = _event(phase.id)
    _event(phase.id, name="Phone line", channel="phone")
    _facilitator(client, make)
    url = f"/facilitate/offline-events/{event.id}/edit"
    tomorrow = utcnow().date() + timedelta(days=1)
    response = client.post(url, data=_details(tomorrow, channel="fax", event_name="  ", event_people="lots"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "<title>Error: Change the event" in page
    for message in ("Select how the event", "Enter the event", "today or in the past", "as a whole number"):
        assert message in page, message
    assert 'value="lots"' in page and 'value="unpaid carers"' in page
    # The same channel, name and day as another event of the phase: said plainly, not a database error.
    today = utcnow().date()
    clash = client.post(url, data=_details(today, channel="phone", event_name="Phone line"))
    assert clash.status_code == 400 and "is called “Phone line” on that day" in clash.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OfflineEvent, event.id).name == "Carers' café, Hull"


def test_an_event_nothing_came_from_is_deleted_after_confirming_and_one_with_ideas_stays(client, make) -> None:
    phase = make.phase(state="open")
    empty = _event(phase.id, name="Cancelled forum")
    used = _event(phase.id)
    _facilitator(client, make)
    _with_idea(client, phase, used)

    confirm = client.get(f"/facilitate/offline-events/{empty.id}/delete").get_data(as_text=True)
    assert "Delete the event “Cancelled forum”?" in confirm and "Yes, delete it" in confirm
    done = client.post(f"/facilitate/offline-events/{empty.id}/delete")
    assert done.status_code == 302
    assert db.session.get(OfflineEvent, empty.id) is None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "offline.event_delete")).one()
    assert audit.detail["name"] == "Cancelled forum"

    why = client.get(f"/facilitate/offline-events/{used.id}/delete").get_data(as_text=True)
    assert "You cannot delete the event" in why and "1 idea was entered under it" in why
    assert "Yes, delete it" not in why
    refused = client.post(f"/facilitate/offline-events/{used.id}/delete")
    assert refused.status_code == 409 and "Nothing was deleted." in refused.get_data(as_text=True)
    assert db.session.get(OfflineEvent, used.id) is not None


def test_facilitators_of_another_consultation_cannot_change_or_delete_an_event(app, make) -> None:
    phase = make.phase(state="open")
    event = _event(phase.id)
    other = make.phase(state="open")
    outsider = make.user(role="facilitator")
    make.assign(outsider, other.consultation_id)
    client = app.test_client()
    login(client, outsider)
    for path in ("edit", "delete"):
        assert client.get(f"/facilitate/offline-events/{event.id}/{path}").status_code == 404
    assert client.post(f"/facilitate/offline-events/{event.id}/edit",
                       data=_details(utcnow().date(), event_name="Hijacked")).status_code == 404
    assert client.post(f"/facilitate/offline-events/{event.id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(OfflineEvent, event.id).name == "Carers' café, Hull"
