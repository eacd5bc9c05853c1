"""Ideas a facilitator types in one at a time, counted with the workshop, paper round or phone session they
came from, as an uploaded row is."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from consult.extensions import db
from consult.models import Idea, OfflineContribution, OfflineEvent, utcnow
from consult.services import workshops
from tests.integration.test_facilitate import _facilitator
from tests.integration.test_inclusion import upload


def _event(phase_id: int, **values) -> OfflineEvent:
    event = OfflineEvent(phase_id=phase_id, **{"channel": "workshop", "name": "Carers' café, Hull",
                                               "held_on": utcnow().date(), "people": 12,
                                               "profile": "unpaid carers", **values})
    db.session.add(event)
    db.session.commit()
    return event


def _form(**values) -> dict[str, str]:
    return {"channel": "workshop", "category": "carer", "profession": "", "title": "Respite for carers",
            "body": "Weekend respite would let me keep working.", **values}


def test_an_idea_entered_by_hand_is_counted_with_the_recorded_event_it_came_from(client, make) -> None:
    phase = make.phase(state="open")
    event = _event(phase.id)
    _facilitator(client, make)
    url = f"/facilitate/topics/{phase.topics[0].id}/on-behalf"
    assert "Carers&#39; café, Hull (" in client.get(url).get_data(as_text=True)

    response = client.post(url, data=_form(event=str(event.id)))
    assert response.status_code == 302
    assert f"event={event.id}" in response.headers["Location"]  # the next form starts on the same event
    done = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "from “Carers&#39; café, Hull”" in done or "from “Carers' café, Hull”" in done
    assert f'<option value="{event.id}" selected>' in done

    link = db.session.scalars(select(OfflineContribution)).one()
    assert link.event_id == event.id
    offline = client.get(f"/facilitate/phases/{phase.id}/workshops").get_data(as_text=True)
    assert "Entered one at a time" not in offline  # it is in the event's row, with the group it came from
    # The inclusion page's offline table reads the same rows: one event, its 12 people, one contribution.
    rows = workshops.event_rows(db.session, [phase.id])
    assert [(r["name"], r["people"], r["profile"], r["contributions"]) for r in rows] == [
        ("Carers' café, Hull", 12, "unpaid carers", 1)]


def test_a_new_event_can_be_recorded_while_entering_an_idea_by_hand(client, make) -> None:
    phase = make.phase(state="open")
    _facilitator(client, make)
    url = f"/facilitate/topics/{phase.topics[0].id}/on-behalf"
    today = utcnow().date()
    response = client.post(url, data=_form(channel="paper", event="new", event_name="Paper forms, Leeds library",
                                           event_day=str(today.day), event_month=str(today.month),
                                           event_year=str(today.year), event_people="9",
                                           event_profile="older adults"))
    assert response.status_code == 302
    event = db.session.scalars(select(OfflineEvent)).one()
    assert (event.channel, event.name, event.held_on, event.people, event.profile) == (
        "paper", "Paper forms, Leeds library", today, 9, "older adults")
    assert f"event={event.id}" in response.headers["Location"]
    # The same idea again from the same event is not added twice, even after the double-submit window.
    db.session.execute(Idea.__table__.update().values(created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    again = client.post(url, data=_form(channel="paper", event=str(event.id)), follow_redirects=True)
    assert "it was not added twice" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 1


def test_the_event_part_of_the_hand_entry_form_says_what_is_wrong_and_keeps_what_was_typed(client, make) -> None:
    phase = make.phase(state="open")
    other = make.phase(state="open")
    phone = _event(phase.id, channel="phone", name="Phone line")
    elsewhere = _event(other.id, name="Another consultation's workshop")
    _facilitator(client, make)
    url = f"/facilitate/topics/{phase.topics[0].id}/on-behalf"

    wrong_channel = client.post(url, data=_form(event=str(phone.id)))
    assert wrong_channel.status_code == 400
    assert "“Phone line” was recorded as gathered by phone" in wrong_channel.get_data(as_text=True)

    not_here = client.post(url, data=_form(event=str(elsewhere.id)))
    assert not_here.status_code == 400 and "Select an event from the list" in not_here.get_data(as_text=True)

    future = date.today() + timedelta(days=3)
    bad = client.post(url, data=_form(event="new", event_name="", event_day=str(future.day),
                                      event_month=str(future.month), event_year=str(future.year),
                                      event_people="about ten", event_profile="x" * 301))
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Enter the event" in page and "must be today or in the past" in page
    assert "as a whole number" in page and "300 characters or fewer" in page
    assert "Weekend respite would let me keep working." in page and 'value="about ten"' in page
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 0
    assert db.session.scalar(select(func.count()).select_from(OfflineEvent)) == 2


def test_the_offline_page_states_the_file_size_limit_the_upload_applies(client, make) -> None:
    phase = make.phase(state="open")
    _facilitator(client, make)
    url = f"/facilitate/phases/{phase.id}/workshops"
    page = client.get(url).get_data(as_text=True)
    assert "Up to 2,000 rows and 200 KB a file." in page
    assert f"<a href=\"/facilitate/phases/{phase.id}/topics\">phase's topics</a>" in page  # typing in by hand
    # Under the request limit (256 KB), over the file limit the page states: refused with the same figure.
    big = "topic,title,idea,channel,event,date\n" + "x" * (220 * 1024)
    response = client.post(url, data=upload(big), content_type="multipart/form-data")
    assert response.status_code == 400 and "larger than 200 KB" in response.get_data(as_text=True)
