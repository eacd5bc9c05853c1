"""Suspending accounts: a moderator stops a case's author without learning who they are; an admin suspends and
reinstates by name; a suspended person is logged out everywhere and told why when they try to log in."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from consult.extensions import db
from consult.models import AuditEvent, ConsultationAssignment, Idea, LoginSession, User
from consult.services import contributions, moderation
from tests.conftest import PASSWORD, login


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app) -> None:
    """Tests share one app context, so forget the last request's user before each request (several clients)."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def _reported(make) -> tuple:
    """A participant's idea with an open moderation case, and a moderator of its consultation."""
    phase = make.phase()
    author = make.user(email="writer.of.abuse@example.org")
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Everyone on that ward",
                                      "They are all useless and should be sacked today.")
    case = moderation.open_case(db.session, idea, ["abusive"])
    moderator = make.user(role="moderator")
    db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=moderator.id,
                                          role="moderator"))
    db.session.commit()
    return phase, author, idea, case, moderator


def _client(app, user: User):
    client = app.test_client()
    login(client, user)
    return client


def test_a_moderator_suspends_a_cases_author_without_learning_who_it_is(app, make) -> None:
    phase, author, idea, case, moderator = _reported(make)
    writer = _client(app, author)
    assert writer.get("/account").status_code == 200
    staff = _client(app, moderator)
    page = staff.get(f"/moderation/cases/{case.id}").get_data(as_text=True)
    assert "Stop the author taking part" in page and "writer.of.abuse" not in page

    refused = staff.post(f"/moderation/cases/{case.id}/suspend-author", data={"reason": "  "})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Say why the account is suspended" in text
    assert 'href="#suspend_reason"' in text
    assert db.session.get(User, author.id).is_active

    done = staff.post(f"/moderation/cases/{case.id}/suspend-author",
                      data={"reason": "Third abusive post this week"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "The author's account is suspended" in text
    assert "writer.of.abuse" not in text and "The author's account is suspended: they cannot log in" in text
    db.session.expire_all()
    assert not db.session.get(User, author.id).is_active
    assert not db.session.scalars(select(LoginSession).where(LoginSession.user_id == author.id)).all()
    # Logged out on the spot, and the idea stays as it was until a moderator decides on it.
    assert writer.get("/account").status_code == 302
    assert db.session.get(Idea, idea.id).moderation_state == "published"
    # The audit row names the case, never the account.
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "case.suspend_author"))
    assert (event.target_type, event.target_id) == ("case", case.id)
    assert event.detail["reason"] == "Third abusive post this week" and author.email not in str(event.detail)
    assert set(event.detail) == {"reason", "sessions_ended"}

    again = staff.post(f"/moderation/cases/{case.id}/suspend-author", data={"reason": "Again"},
                       follow_redirects=True)
    assert "was already suspended. Nothing was changed." in again.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "case.suspend_author")
                             .order_by(AuditEvent.id.desc())) == event.id


def test_a_suspended_person_is_told_so_only_with_the_right_password(app, make) -> None:
    person = make.user(email="held.back@example.org")
    person.is_active = False
    db.session.commit()
    client = app.test_client()
    wrong = client.post("/login", data={"email": person.email, "password": "not the password"})
    assert wrong.status_code == 400 and "This account is suspended" not in wrong.get_data(as_text=True)
    right = client.post("/login", data={"email": person.email, "password": PASSWORD})
    text = right.get_data(as_text=True)
    assert right.status_code == 403 and "This account is suspended" in text and "contact the team" in text
    assert client.get("/account").status_code == 302  # not logged in


def test_staff_authors_and_offline_contributions_are_not_suspended_from_a_case(app, make) -> None:
    phase, author, idea, case, moderator = _reported(make)
    author.role = "facilitator"
    db.session.commit()
    staff = _client(app, moderator)
    refused = staff.post(f"/moderation/cases/{case.id}/suspend-author", data={"reason": "Abusive"})
    assert refused.status_code == 400 and "ask an admin" in refused.get_data(as_text=True)
    assert db.session.get(User, author.id).is_active
    idea.author_id = None
    db.session.commit()
    page = staff.get(f"/moderation/cases/{case.id}").get_data(as_text=True)
    assert "Stop the author taking part" not in page
    refused = staff.post(f"/moderation/cases/{case.id}/suspend-author", data={"reason": "Abusive"})
    assert refused.status_code == 400 and "no account to suspend" in refused.get_data(as_text=True)


def test_moderators_of_other_consultations_and_participants_cannot_suspend(app, make) -> None:
    phase, author, idea, case, moderator = _reported(make)
    other = make.user(role="moderator")
    for user in (other, make.user()):
        response = _client(app, user).post(f"/moderation/cases/{case.id}/suspend-author", data={"reason": "x y"})
        assert response.status_code == 404
    assert db.session.get(User, author.id).is_active


def test_an_admin_suspends_and_reinstates_a_named_account(app, make) -> None:
    admin = make.user(role="admin")
    person = make.user(email="named@example.org")
    theirs = _client(app, person)
    client = _client(app, admin)
    refused = client.post(f"/admin/users/{person.id}/suspension", data={"action": "suspend", "reason": ""})
    assert refused.status_code == 400 and "Say why the account is suspended" in refused.get_data(as_text=True)
    done = client.post(f"/admin/users/{person.id}/suspension",
                       data={"action": "suspend", "reason": "Posted abuse under three names"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "named@example.org is suspended" in text and "Suspended: cannot log in" in text
    assert "Let them log in again" in text and "Suspended an account" in text
    assert theirs.get("/account").status_code == 302
    assert "Suspended" in client.get("/admin/users?q=named").get_data(as_text=True)
    only = client.get("/admin/users?account=suspended").get_data(as_text=True)
    assert "1 person, suspended" in only and "named@example.org" in only and admin.email not in only

    back = client.post(f"/admin/users/{person.id}/suspension", data={"action": "reinstate"}, follow_redirects=True)
    assert "named@example.org can log in again" in back.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, person.id).is_active
    assert app.test_client().post("/login", data={"email": person.email, "password": PASSWORD}).status_code == 302
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "user",
                                                                 AuditEvent.target_id == person.id)).all()
    assert sorted(actions) == ["user.reinstate", "user.suspend"]
    own = client.post(f"/admin/users/{admin.id}/suspension", data={"action": "suspend", "reason": "Testing"})
    assert own.status_code == 400 and db.session.get(User, admin.id).is_active


def test_only_admins_suspend_by_name(app, make) -> None:
    person = make.user()
    for role in ("facilitator", "moderator", "participant"):
        response = _client(app, make.user(role=role)).post(f"/admin/users/{person.id}/suspension",
                                                           data={"action": "suspend", "reason": "No"})
        assert response.status_code == 404
    assert db.session.get(User, person.id).is_active


def test_an_admin_deletes_an_account_at_the_persons_request(app, make) -> None:
    phase, author, idea, case, moderator = _reported(make)
    admin = make.user(role="admin")
    client = _client(app, admin)
    page = client.get(f"/admin/users/{author.id}").get_data(as_text=True)
    assert "Delete the account at their request" in page and "They posted 1 idea and 0 comments or replies." in page
    wrong = client.post(f"/admin/users/{author.id}/erase",
                        data={"contributions": "keep", "typed_email": "someone.else@example.org"})
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "Type the account&#39;s email address exactly" in text
    assert 'value="someone.else@example.org"' in text and 'value="keep" checked' in text
    assert db.session.get(User, author.id) is not None
    unchosen = client.post(f"/admin/users/{author.id}/erase", data={"typed_email": author.email})
    assert unchosen.status_code == 400 and "Choose what should happen" in unchosen.get_data(as_text=True)

    done = client.post(f"/admin/users/{author.id}/erase",
                       data={"contributions": "keep", "typed_email": " WRITER.of.abuse@example.org "},
                       follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "The account writer.of.abuse@example.org has been deleted" in text
    assert "What it posted (1 idea, 0 comments) was kept without a name." in text
    db.session.expire_all()
    assert db.session.get(User, author.id) is None
    kept = db.session.get(Idea, idea.id)
    assert kept is not None and kept.author_id is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.erase"))
    assert (event.target_id, event.actor_id) == (author.id, admin.id) and "writer.of.abuse" not in str(event.detail)
    assert client.post(f"/admin/users/{admin.id}/erase",
                       data={"contributions": "keep", "typed_email": admin.email}).status_code == 400
    for role in ("facilitator", "participant"):
        other = make.user()
        response = _client(app, make.user(role=role)).post(
            f"/admin/users/{other.id}/erase", data={"contributions": "delete", "typed_email": other.email})
        assert response.status_code == 404 and db.session.get(User, other.id) is not None
