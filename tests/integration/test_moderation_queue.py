"""Working the moderation queue in bulk: a decision that cannot be applied keeps the boxes ticked, the choice
and the reason typed, and a moderator working a filtered list stays in it."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from consult.extensions import db
from consult.models import ConsultationAssignment, Idea, ModerationCase
from consult.services import contributions, moderation
from tests.conftest import login


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app) -> None:
    """Tests share one app context, so forget the last request's user before each request."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def test_a_bulk_decision_that_cannot_be_applied_keeps_what_was_chosen_and_typed(app, make) -> None:
    phase = make.phase()
    phase.premoderated = True
    author = make.user()
    ideas = [contributions.post_idea(db.session, author, phase.topics[0], f"Idea number {n}",
                                     "Ordinary text about services")[0] for n in range(2)]
    moderator = make.user(role="moderator")
    db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=moderator.id,
                                          role="moderator"))
    db.session.commit()
    staff = app.test_client()
    login(staff, moderator)
    cases = [str(c) for c in db.session.scalars(select(ModerationCase.id).order_by(ModerationCase.id))]
    url = f"/moderation/{phase.consultation_id}"
    queue = staff.get(f"{url}?phase={phase.id}").get_data(as_text=True)
    assert f'action="/moderation/{phase.consultation_id}/decide?phase={phase.id}"' in queue

    # No decision chosen: the page says so, with both boxes still ticked and the reason still typed.
    forgot = staff.post(f"{url}/decide?phase={phase.id}",
                        data={"case_id": cases, "reason": "It repeats another post word for word"})
    page = forgot.get_data(as_text=True)
    assert forgot.status_code == 400 and "Choose what to do" in page
    assert all(f'value="{c}" checked' in page for c in cases)
    assert 'value="It repeats another post word for word"' in page and "<title>Error: Moderation queue" in page
    # One element per id: the filter's reason list is not the box the error summary and the label point to.
    assert page.count('id="reason"') == 1 and 'id="filter-reason"' in page and 'for="filter-reason"' in page

    # One withdrawn by its author meanwhile: nothing is applied, the page says why and keeps the choices.
    moderation.withdraw(db.session, author, ideas[1])
    db.session.commit()
    clash = staff.post(f"{url}/decide?phase={phase.id}",
                       data={"case_id": cases, "action": "hide", "reason": "It repeats another post"})
    page = clash.get_data(as_text=True)
    assert clash.status_code == 400 and "withdrawn" in page and "Nothing was changed." in page
    assert 'value="hide" checked' in page and f'value="{cases[0]}" checked' in page
    db.session.expire_all()
    assert db.session.get(Idea, ideas[0].id).moderation_state == "held"

    # Applied: back to the same filtered list.
    done = staff.post(f"{url}/decide?phase={phase.id}", data={"case_id": cases[:1], "action": "publish"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{url}?phase={phase.id}")
