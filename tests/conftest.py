"""Shared fixtures: an app on a throwaway database, a client, and factories.

The database is a fresh SQLite file per test, or with CONSULT_TEST_DATABASE=postgresql a fresh database in a
private throwaway PostgreSQL cluster (one per test process); `make test` runs tests/integration both ways.
Tests that only make sense on SQLite (they open the file or take its locks) are marked ``sqlite_only``.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict

from consult import create_app, migrate
from consult.extensions import db
from consult.models import (
    Consultation,
    ConsultationAssignment,
    ParticipantProfile,
    Phase,
    PhaseAudience,
    Topic,
    User,
    utcnow,
)
from consult.services.accounts import hash_password

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


class CsrfClient(FlaskClient):
    """A test client that sends this session's CSRF token with every form it posts, as a browser's form would.

    CSRF protection stays on in every test. Pass ``csrf_token`` yourself (even "") to test forgeries.
    """

    def csrf_token(self) -> str:
        """A valid token for this client's session (made the way a rendered form makes it)."""
        with self.application.test_request_context():
            from flask import session

            # The token is cached on g, which tests share across clients while they hold an app context.
            g.pop("csrf_token", None)
            with self.session_transaction() as stored:
                session.update(stored)
                token = generate_csrf()
                stored.update(session)
            g.pop("csrf_token", None)
        return token

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Add the token to form posts that have none (``csrf=False`` sends none, as a forger would)."""
        method = str(kwargs.get("method", "GET")).upper()
        if has_app_context():
            g.pop("csrf_token", None)  # each client's pages carry its own session's token
        if kwargs.pop("csrf", True) and method in ("POST", "PUT", "PATCH", "DELETE"):
            if kwargs.get("json") is not None:
                headers = dict(kwargs.get("headers") or {})
                headers.setdefault("X-CSRFToken", self.csrf_token())
                kwargs["headers"] = headers
            elif kwargs.get("data") is None or isinstance(kwargs["data"], dict | MultiDict):
                data = MultiDict(kwargs.get("data") or {})
                if "csrf_token" not in data:
                    data["csrf_token"] = self.csrf_token()
                kwargs["data"] = data
        return super().open(*args, **kwargs)


ON_POSTGRES = os.environ.get("CONSULT_TEST_DATABASE", "sqlite").lower().startswith("postgres")
_pg: Any = None


def _postgres_databases() -> Any:
    """This test process's private PostgreSQL cluster, started on first use and deleted at exit."""
    global _pg
    if _pg is None:
        from tests.support.postgres import TestDatabases

        _pg = TestDatabases()
        atexit.register(_pg.close)
    return _pg


def fresh_database_url(tmp_path: Path) -> str:
    """A fresh, empty database for one test: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if ON_POSTGRES:
        return _postgres_databases().fresh()
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run, skip the tests that exercise SQLite itself."""
    if not ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="SQLite-only (opens the SQLite file or takes its locks); PostgreSQL run")
    once = pytest.mark.skip(reason="starts its own SQLite and PostgreSQL databases; ran in the SQLite pass")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)
        elif "own_databases" in item.keywords:
            item.add_marker(once)


@pytest.fixture(autouse=True)
def _drop_postgres_databases() -> Iterator[None]:
    """After each test on PostgreSQL, drop the databases it made (disk stays small); module fixtures' stay."""
    bookmark = _pg.mark() if ON_POSTGRES and _pg is not None else 0
    yield
    if ON_POSTGRES and _pg is not None:
        _pg.drop_since(bookmark)


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app on a fresh migrated database (SQLite file or PostgreSQL), with CSRF protection on as in production."""
    config = {
        "DATABASE_URL": overrides.get("DATABASE_URL") or fresh_database_url(tmp_path),
        "TESTING": True,
        "TICK_INTERVAL": 0.0,
        "SECRET_KEY": "test-secret",
        "ANALYSIS_WORKER": False,
        # Sent mail is kept in memory (consult.services.mail.outbox()) for tests to read.
        "MAIL_BACKEND": "locmem",
        "MAIL_SEND_IN_BACKGROUND": False,
        # Pages write what they showed within the request, so a test reads the counts straight after.
        "IMPRESSION_FLUSH_SECONDS": 0.0,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = CsrfClient
    assert db.engine is not None
    migrate.upgrade(db.engine)
    return app


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[Flask]:
    """An app with an empty, migrated database."""
    application = make_app(tmp_path)
    with application.app_context():
        yield application
    db.dispose()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


class Factory:
    """Creates users, consultations, phases and topics with sensible defaults."""

    def __init__(self) -> None:
        self.counter = 0

    def user(self, role: str = "participant", category: str = "public", profession: str | None = None,
             email: str | None = None, confirmed: bool = True) -> User:
        """A committed user whose password is PASSWORD (email confirmed unless confirmed=False)."""
        self.counter += 1
        user = User(email=email or f"person{self.counter}@example.org", password_hash=_HASH, role=role,
                    email_confirmed_at=utcnow() if confirmed else None)
        user.profile = ParticipantProfile(category=category, profession=profession)
        db.session.add(user)
        db.session.commit()
        return user

    def assign(self, user: User, consultation: Consultation | int, role: str = "facilitator") -> None:
        """Assign a staff member to a consultation (as facilitator unless told otherwise), committed."""
        consultation_id = consultation if isinstance(consultation, int) else consultation.id
        db.session.add(ConsultationAssignment(consultation_id=consultation_id, user_id=user.id, role=role))
        db.session.commit()

    def phase(self, state: str = "open", audience: tuple[str, ...] = (), topics: int = 1,
              consultation: Consultation | None = None) -> Phase:
        """A committed phase (in a new consultation unless one is given) with topics."""
        self.counter += 1
        if consultation is None:
            consultation = Consultation(slug=f"consultation-{self.counter}", title=f"Consultation {self.counter}",
                                        summary="A test consultation")
            db.session.add(consultation)
            db.session.flush()
        now = utcnow()
        phase = Phase(consultation_id=consultation.id, position=len(consultation.phases) + 1,
                      title=f"Phase {self.counter}", question="How do you want care to be?", state=state,
                      opens_at=now - timedelta(days=1) if state != "draft" else None,
                      closes_at=now - timedelta(hours=1) if state == "closed" else None)
        phase.audience = [PhaseAudience(category=c) for c in audience]
        phase.topics = [Topic(position=i + 1, title=f"Topic {i + 1}") for i in range(topics)]
        db.session.add(phase)
        db.session.commit()
        return phase


@pytest.fixture()
def make() -> Factory:
    """Factories for test data."""
    return Factory()


def session_cookie_for(user: User) -> dict[str, str]:
    """What a login puts in the signed cookie, with the server-side session row it names (committed).

    For tests that log in without the form (a password check costs half a second).
    """
    from consult.services import sessions

    secret = sessions.start(db.session, user, timeouts=sessions.Timeouts(timedelta(hours=2), timedelta(hours=24)))
    db.session.commit()
    return {"_user_id": user.get_id(), "sid": secret}


def login(client: FlaskClient, user: User) -> None:
    """Log the client in as this user through the real form."""
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


# ------------------------------------------------------------------------------------------ promises
# Tests of the promises in SECURITY.md print one line each at the end of the run ("xss: 600 payloads x 74
# fields, 0 executed"), so `make test` shows the figure behind every promise. Lines travel in the test
# report's user_properties, so they reach the terminal from pytest-xdist workers too.

_PROMISES: list[str] = []


@pytest.fixture()
def promise(request: pytest.FixtureRequest) -> Any:
    """Record a promise's figure to print at the end of the run: promise("csrf: 40 routes x 5, 0 accepted")."""

    def record(line: str) -> None:
        request.node.user_properties.append(("promise", line))

    return record


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect promise lines from finished tests (on the controller, whichever worker ran them)."""
    if report.when == "call":
        _PROMISES.extend(value for key, value in report.user_properties if key == "promise")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print every promise line, one per line, sorted so runs compare line by line."""
    if _PROMISES:
        terminalreporter.section("promises")
        for line in sorted(set(_PROMISES)):
            terminalreporter.write_line(line)
