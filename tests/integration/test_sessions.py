"""Sessions on the server, one per device: logging out ends only this one; security changes end the others."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import g
from sqlalchemy import func, select, update

from consult.extensions import db
from consult.models import LoginSession, User, utcnow
from consult.services import accounts, mail
from tests.conftest import PASSWORD, login, make_app

NEW_PASSWORD = "violet lantern meadow"


def _as(client):
    """The client, about to make its next request as whoever its own cookie names (clients share flask.g)."""
    g.pop("_login_user", None)
    return client


def _two_devices(app, user: User):
    """A laptop and a phone, both logged in as the same person."""
    laptop, phone = app.test_client(), app.test_client()
    login(_as(laptop), user)
    login(_as(phone), user)
    return laptop, phone


def _rows(user: User) -> int:
    """How many session rows the account has."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id))


def test_logging_out_on_one_device_leaves_the_other_logged_in(app, make) -> None:
    user = make.user()
    laptop, phone = _two_devices(app, user)
    assert _rows(user) == 2
    with phone.session_transaction() as stored:
        copied = dict(stored)
    assert _as(phone).post("/logout").status_code == 302
    assert _as(phone).get("/account").status_code == 302
    assert _as(laptop).get("/account").status_code == 200  # the laptop is still logged in
    assert _rows(user) == 1
    # Someone who copied the phone's cookie before the logout cannot use it after.
    thief = app.test_client()
    with thief.session_transaction() as stored:
        stored.update(copied)
    response = _as(thief).get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_password_change_keeps_this_device_and_ends_the_others(app, make) -> None:
    user = make.user()
    laptop, phone = _two_devices(app, user)
    changed = _as(laptop).post("/account/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 302
    assert _as(laptop).get("/account").status_code == 200
    assert _as(phone).get("/account").status_code == 302
    assert _rows(user) == 1


def test_a_password_reset_ends_every_session(app, make) -> None:
    user = make.user(email="forgetful@example.org")
    laptop, phone = _two_devices(app, user)
    app.test_client().post("/forgot-password", data={"email": user.email})
    link = next(line for line in mail.outbox()[-1].body.split() if "/reset-password/" in line)
    elsewhere = app.test_client()
    assert _as(elsewhere).post(link.split("localhost", 1)[-1], data={"password": NEW_PASSWORD}).status_code == 302
    assert _as(laptop).get("/account").status_code == 302
    assert _as(phone).get("/account").status_code == 302
    assert _as(elsewhere).get("/account").status_code == 200  # the browser that reset it is logged in afresh
    assert _rows(user) == 1


def test_a_change_of_email_role_or_deletion_ends_sessions(app, make) -> None:
    user = make.user(email="old@example.org")
    laptop, phone = _two_devices(app, user)
    _as(laptop).post("/account/email", data={"email": "new@example.org", "password": PASSWORD})
    link = next(line for line in mail.outbox()[-2].body.split() if "/account/email/confirm/" in line)
    assert _as(laptop).post(link.split("localhost", 1)[-1]).status_code == 302
    assert _as(laptop).get("/account").status_code == 200
    assert _as(phone).get("/account").status_code == 302

    login(_as(phone), db.session.get(User, user.id))
    accounts.set_role(db.session, make.user(role="admin"), db.session.get(User, user.id), "moderator")
    db.session.commit()
    assert _rows(user) == 0
    assert _as(laptop).get("/account").status_code == 302 and _as(phone).get("/account").status_code == 302

    login(_as(laptop), db.session.get(User, user.id))
    login(_as(phone), db.session.get(User, user.id))
    deleted = _as(laptop).post("/me/delete", data={"password": PASSWORD, "contributions": "delete"})
    assert deleted.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert _as(laptop).get("/account").status_code == 302 and _as(phone).get("/account").status_code == 302


def test_idle_and_absolute_timeouts_are_kept_on_the_server(app, make) -> None:
    user = make.user()
    laptop, phone = _two_devices(app, user)
    laptop_row, phone_row = db.session.scalars(select(LoginSession.id).order_by(LoginSession.id)).all()
    now = utcnow()
    # The laptop has been idle for 2 hours and a minute; the phone was used just now but logged in 25 hours ago.
    db.session.execute(update(LoginSession).where(LoginSession.id == laptop_row)
                       .values(last_seen_at=now - timedelta(minutes=121)))
    db.session.execute(update(LoginSession).where(LoginSession.id == phone_row)
                       .values(created_at=now - timedelta(hours=25)))
    db.session.commit()
    for device, says in ((laptop, "had not used the service for a while"), (phone, "more than 24 hours ago")):
        response = _as(device).get("/account")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        page = _as(device).get(response.headers["Location"]).get_data(as_text=True)
        assert says in page


def test_the_idle_clock_moves_at_most_once_a_minute(app, make) -> None:
    user = make.user()
    client = app.test_client()
    login(_as(client), user)
    started = db.session.scalar(select(LoginSession.last_seen_at))
    assert _as(client).get("/account").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(LoginSession.last_seen_at)) == started  # no write within the minute
    earlier = utcnow() - timedelta(minutes=100)
    db.session.execute(update(LoginSession).values(last_seen_at=earlier))
    db.session.commit()
    assert _as(client).get("/account").status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(LoginSession.last_seen_at)) > earlier + timedelta(minutes=99)


def test_sign_out_everywhere_else_from_the_account_page(app, make) -> None:
    user = make.user()
    laptop, phone = _two_devices(app, user)
    page = _as(laptop).get("/account").get_data(as_text=True)
    assert "Signed in on 2 devices" in page and "Sign out everywhere else" in page
    assert _as(laptop).post("/account/sign-out-others", data={}, csrf=False).status_code == 400
    assert _as(phone).get("/account").status_code == 200  # a forged request ended nothing
    done = _as(laptop).post("/account/sign-out-others", follow_redirects=True)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "signed out on 1 other device" in text
    assert "Signed in on this device only" in text
    assert "Sign out everywhere else" not in text
    assert _as(phone).get("/account").status_code == 302
    assert _as(laptop).get("/account").status_code == 200


def test_production_cookies_are_secure_http_only_and_same_site(tmp_path: Path) -> None:
    app = make_app(tmp_path, ENV="production", SECRET_KEY="s" * 40, PSEUDONYM_KEY="p" * 40,
                   PUBLIC_ID_KEY="i" * 40)
    try:
        assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
        with app.app_context():
            user = User(email="someone@example.org", password_hash=accounts.hash_password(PASSWORD),
                        email_confirmed_at=utcnow())
            db.session.add(user)
            db.session.commit()
            response = app.test_client().post("/login", data={"email": user.email, "password": PASSWORD},
                                              base_url="https://localhost",
                                              headers={"Referer": "https://localhost/login"})
        assert response.status_code == 302
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert {"Secure", "HttpOnly", "SameSite=Lax"} <= {part.strip() for part in cookie.split(";")}
    finally:
        db.dispose()
