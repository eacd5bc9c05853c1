"""Shared fixtures: an app on a throwaway SQLite database, a client, and factories."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult import create_app, migrate
from consult.extensions import db
from consult.models import Consultation, ParticipantProfile, Phase, PhaseAudience, Topic, User, utcnow
from consult.services.accounts import hash_password

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)


def make_app(tmp_path: Path, **overrides: Any) -> Flask:
    """An app on a fresh migrated SQLite file in tmp_path."""
    config = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "TICK_INTERVAL": 0.0,
        "SECRET_KEY": "test-secret",
        "ANALYSIS_WORKER": False,
    }
    config.update(overrides)
    app = create_app(config)
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
             email: str | None = None) -> User:
        """A committed user whose password is PASSWORD."""
        self.counter += 1
        user = User(email=email or f"person{self.counter}@example.org", password_hash=_HASH, role=role)
        user.profile = ParticipantProfile(category=category, profession=profession)
        db.session.add(user)
        db.session.commit()
        return user

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


def login(client: FlaskClient, user: User) -> None:
    """Log the client in as this user through the real form."""
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
