"""Admin pages: finding people, changing their role (audited, ending their sessions), the audit log."""

from __future__ import annotations

import re

import pytest
from flask import g
from sqlalchemy import select

from consult.extensions import db
from consult.models import AuditEvent, User
from tests.conftest import Factory, session_cookie_for


def login(client, user: User) -> None:
    """Start a session for the user without the login form (a password check costs half a second)."""
    with client.session_transaction() as session:
        session.update(session_cookie_for(user))
    # Requests share the test's app context, so forget whoever the last request was made by.
    g.pop("_login_user", None)


def _as(client, user: User):
    """The client, about to make its next request as this user (several clients share one app context)."""
    g.pop("_login_user", None)
    return client


@pytest.mark.parametrize("role", ["participant", "facilitator", "analyst"])
def test_admin_pages_are_for_admins_only(client, make: Factory, role: str) -> None:
    person = make.user()
    login(client, make.user(role=role))
    for url in ("/admin/users", "/admin/audit", f"/admin/users/{person.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/admin/users/{person.id}", data={"role": "admin"}).status_code == 404
    assert db.session.get(User, person.id).role == "participant"


def test_admin_pages_send_visitors_to_log_in(client) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_user_list_pages_searches_by_email_and_shows_each_persons_group(client, make: Factory) -> None:
    login(client, make.user(role="admin", email="boss@example.org"))
    for n in range(24):
        make.user(email=f"person{n:02d}@example.org")
    make.user(category="carer", email="needle.carer@example.net")

    first = client.get("/admin/users").get_data(as_text=True)
    assert "26 people" in first and "Page 1 of 2" in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert "person23@example.org" in second and "person23@example.org" not in first

    found = client.get("/admin/users?q=NEEDLE").get_data(as_text=True)
    assert "1 person" in found and "needle.carer@example.net" in found and "A carer" in found
    assert "person01@example.org" not in found
    # Search text is matched literally, never as a pattern.
    assert "0 people" in client.get("/admin/users?q=%25").get_data(as_text=True)
    admins = client.get("/admin/users?role=admin").get_data(as_text=True)
    assert "boss@example.org" in admins and "needle.carer" not in admins


def test_role_change_is_audited_and_ends_the_persons_sessions(app, make: Factory) -> None:
    admin = make.user(role="admin")
    person = make.user(category="staff", profession="paramedic")
    theirs, mine = app.test_client(), app.test_client()
    login(theirs, person)
    assert theirs.get("/facilitate/").status_code == 404

    login(mine, admin)
    response = mine.post(f"/admin/users/{person.id}", data={"role": "facilitator"}, follow_redirects=True)
    assert "is now facilitator" in response.get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.set_role")).one()
    assert (event.actor_id, event.target_id, event.detail) == (
        admin.id, person.id, {"from_role": "participant", "to_role": "facilitator"})

    # Their old session no longer works: they must log in again, and then they have the new role.
    response = _as(theirs, person).get("/facilitate/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(theirs, db.session.get(User, person.id))
    assert theirs.get("/facilitate/").status_code == 200


def test_admin_cannot_take_away_their_own_admin_role(client, make: Factory) -> None:
    admin = make.user(role="admin")
    login(client, admin)
    response = client.post(f"/admin/users/{admin.id}", data={"role": "participant"})
    assert response.status_code == 400
    assert "You cannot remove your own admin role" in response.get_data(as_text=True)
    assert db.session.get(User, admin.id).role == "admin"
    assert db.session.scalars(select(AuditEvent)).all() == []


def test_audit_log_lists_privileged_actions_newest_first_and_filters_them(client, make: Factory) -> None:
    admin = make.user(role="admin", email="chief@example.org")
    person = make.user()
    phase = make.phase(state="draft")
    login(client, admin)
    client.post(f"/admin/users/{person.id}", data={"role": "analyst"})
    client.post(f"/facilitate/phases/{phase.id}/open", data={"confirmed": "yes"})

    page = client.get("/admin/audit").get_data(as_text=True)
    assert page.index("Opened a phase") < page.index("Changed someone&#39;s role")
    assert "chief@example.org" in page
    assert re.search(r"From role:</span>\s*participant", page)
    assert re.search(r"To role:</span>\s*analyst", page)
    only = client.get("/admin/audit?action=phase.open").get_data(as_text=True)
    assert "Opened a phase" in only and "Changed someone&#39;s role</td>" not in only


def test_audit_log_names_every_kind_of_record_in_words(client, make: Factory) -> None:
    from consult.extensions import db
    from consult.models import AuditEvent

    admin = make.user(role="admin")
    for kind, number in (("analysis_run", 7), ("codebook", 3), ("comment", 12)):
        db.session.add(AuditEvent(actor_id=admin.id, action="analysis.request", target_type=kind, target_id=number))
    db.session.commit()
    login(client, admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert 'href="/analyse/runs/7">Analysis 7</a>' in page and "Codebook 3" in page and "Comment 12" in page
    assert "Analysis_run" not in page


def test_audit_log_says_what_acted_when_no_account_did(client, make: Factory) -> None:
    from sqlalchemy import delete

    from consult.extensions import db
    from consult.models import AuditEvent, User

    admin = make.user(role="admin")
    gone = make.user(role="facilitator", email="leaver@example.org")
    db.session.add_all([
        AuditEvent(actor_id=None, action="moderation.auto_hold", target_type="idea", target_id=4,
                   detail={"reasons": ["phone"]}),
        AuditEvent(actor_id=None, action="user.create", target_type="user", target_id=gone.id,
                   detail={"role": "facilitator", "via": "command line"}),
        AuditEvent(actor_id=gone.id, action="phase.open", target_type="phase", target_id=1),
    ])
    db.session.commit()
    db.session.execute(delete(User).where(User.id == gone.id))  # the database sets the event's actor to NULL
    db.session.commit()
    login(client, admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    who = re.findall(r'aria-hidden="true">Who </span>([^<]*)</td>', page)
    assert who[:3] == ["A deleted account", "The command line (no account)", "Automatic screening (no account)"]


def test_audit_log_narrows_to_one_persons_actions_or_one_records_history(client, make: Factory) -> None:
    admin = make.user(role="admin", email="chief@example.org")
    leaver = make.user(role="facilitator", email="leaver@example.org")
    person = make.user()
    db.session.add_all([
        AuditEvent(actor_id=leaver.id, action="phase.open", target_type="phase", target_id=3),
        AuditEvent(actor_id=leaver.id, action="topic.create", target_type="topic", target_id=9),
        AuditEvent(actor_id=admin.id, action="phase.close", target_type="phase", target_id=3),
        AuditEvent(actor_id=admin.id, action="user.set_role", target_type="user", target_id=person.id),
    ])
    db.session.commit()
    login(client, admin)
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert f'href="/admin/audit?who={leaver.id}">Everything they did' in everything
    assert 'href="/admin/audit?record=phase:3">Its history' in everything

    theirs = client.get(f"/admin/audit?who={leaver.id}").get_data(as_text=True)
    assert "Showing only what leaver@example.org did." in theirs
    assert "Opened a phase</td>" in theirs and "Added a topic</td>" in theirs and "Closed a phase</td>" not in theirs
    phase = client.get("/admin/audit?record=phase:3").get_data(as_text=True)
    assert "Showing only changes to phase 3." in phase
    assert "Opened a phase</td>" in phase and "Closed a phase</td>" in phase and "Added a topic</td>" not in phase
    # The action filter keeps the narrowing, and a narrowing that matches nothing says so.
    both = client.get(f"/admin/audit?who={leaver.id}&record=phase:3&action=phase.close").get_data(as_text=True)
    assert f'name="who" value="{leaver.id}"' in both and "Nothing has been recorded that matches" in both
    assert client.get("/admin/audit?record=phase:x&who=abc").status_code == 200  # odd input: everything
    account = client.get(f"/admin/users/{person.id}").get_data(as_text=True)
    assert f'href="/admin/audit?record=user:{person.id}">Every change to this account' in account
    assert f'href="/admin/audit?who={person.id}">Everything' in account
