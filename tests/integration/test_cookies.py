"""The session cookie and CSRF tokens are verified once per worker: what it remembers never lets more through."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, session
from sqlalchemy import delete, func, select, update

from consult.extensions import db
from consult.models import Idea, LoginSession, User, Vote
from tests.conftest import login
from tests.support.publicids import pid


def _cookie(client) -> str:
    """The client's signed session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _open(app: Flask, cookie: str):
    """The session the app reads from this cookie."""
    with app.test_request_context(headers={"Cookie": f"session={cookie}"}) as context:
        return app.session_interface.open_session(app, context.request)


def test_a_remembered_cookie_with_a_changed_signature_logs_nobody_in(app, make) -> None:
    client = app.test_client()
    login(client, make.user())
    cookie = _cookie(client)
    assert _as(client).get("/account").status_code == 200  # the cookie is now remembered
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    thief = app.test_client()
    thief.set_cookie("session", forged)
    response = _as(thief).get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert dict(_open(app, forged)) == {}


def test_a_remembered_cookie_still_expires(app, make) -> None:
    client = app.test_client()
    login(client, make.user())
    cookie = _cookie(client)
    assert _open(app, cookie).get("sid")
    app.permanent_session_lifetime = timedelta(seconds=-1)  # as if the cookie had been signed long ago
    assert dict(_open(app, cookie)) == {}


def test_changing_one_requests_session_does_not_change_the_next(app) -> None:
    with app.test_request_context():
        session["_flashes"] = [("info", "first")]
        session["name"] = "kept"
        response = app.response_class()
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    first = _open(app, cookie)
    first["_flashes"].append(("info", "second"))
    first["name"] = "changed"
    second = _open(app, cookie)
    assert second["_flashes"] == [("info", "first")] and second["name"] == "kept"


def test_a_csrf_token_accepted_for_one_session_is_refused_for_another(app, make) -> None:
    idea = _idea(make)
    owner, other = app.test_client(), app.test_client()
    login(_as(owner), make.user())
    login(_as(other), make.user())
    token = _as(owner).csrf_token()
    for value in (1, -1):  # the second time, the token's signature has been remembered
        assert _vote(owner, idea, value, token).status_code == 200
    assert _vote(other, idea, 1, token).status_code == 400
    tampered = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    assert _vote(owner, idea, 1, tampered).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Vote)) == 1  # the owner's, changed once


def test_a_remembered_cookie_and_token_vote_nothing_once_the_account_or_session_has_ended(app, make) -> None:
    # The cookie and token are remembered by this worker; whether they log anybody in is read afresh each time.
    idea, user = _idea(make), make.user()
    client = app.test_client()
    login(_as(client), user)
    token = _as(client).csrf_token()
    assert _vote(client, idea, 1, token).status_code == 200
    db.session.execute(update(User).where(User.id == user.id).values(is_active=False))  # as another worker would
    db.session.commit()
    assert _vote(client, idea, -1, token).status_code in (302, 401)
    assert _as(client).get("/account").status_code == 302
    db.session.execute(update(User).where(User.id == user.id).values(is_active=True))
    db.session.commit()
    assert _vote(client, idea, -1, token).status_code == 200  # it was the flag that refused it
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))  # logged out elsewhere
    db.session.commit()
    assert _vote(client, idea, 1, token).status_code in (302, 401)
    assert db.session.scalars(select(Vote.value)).all() == [-1]


def _idea(make) -> Idea:
    """A published idea in an open phase."""
    phase = make.phase()
    idea = Idea(topic_id=phase.topics[0].id, phase_id=phase.id, author_id=make.user().id, channel="online",
                title="Evening appointments", body="Open clinics after 6pm.", author_category="public")
    db.session.add(idea)
    db.session.commit()
    return idea


def _as(client):
    """The client, about to make its next request as whoever its own cookie names (clients share flask.g)."""
    g.pop("_login_user", None)
    return client


def _vote(client, idea: Idea, value: int, token: str):
    """A vote sent with this CSRF token."""
    return _as(client).post("/vote", data={"kind": "idea", "id": pid("idea", idea.id), "value": value,
                                           "csrf_token": token}, headers={"Accept": "application/json"})
