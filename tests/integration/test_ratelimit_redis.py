"""Rate-limit counters in Redis: the same limits as the database's, expiring windows, and a clear 503 without it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import RateCounter, utcnow
from consult.services import ratelimit
from tests.conftest import PASSWORD, login, make_app
from tests.support.live import free_port
from tests.support.publicids import vote_form
from tests.support.redis import redis_installed, throwaway_redis

pytestmark = pytest.mark.skipif(not redis_installed(), reason="redis-server is not installed (`make redis`)")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A private redis-server for this module's tests."""
    with throwaway_redis() as url:
        yield url


@pytest.fixture()
def redis_app(tmp_path: Path, redis_url: str) -> Iterator[Flask]:
    """An app whose counters are in Redis (emptied first, so each test starts with no counts)."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    application = make_app(tmp_path, RATE_LIMIT_URL=redis_url)
    with application.app_context():
        yield application
    db.dispose()


def test_redis_counts_windows_like_the_database(redis_app, redis_url) -> None:
    import redis

    checks = [(ratelimit.LOGIN_ACCOUNT, "someone@example.org")]
    now = utcnow()
    assert ratelimit.backend() == "redis"
    waits = [ratelimit.hit(db.session, ratelimit.LOGIN_ACCOUNT, "someone@example.org", now=now) for _ in range(6)]
    assert waits[:5] == [0] * 5 and waits[5] > 0
    assert ratelimit.blocked(db.session, checks, now=now) > 0
    # The window ends by itself: no permanent lock-out.
    assert ratelimit.blocked(db.session, checks, now=now + timedelta(minutes=6)) == 0
    assert db.session.scalar(select(func.count()).select_from(RateCounter)) == 0  # nothing in the database
    # Every counter expires when its window ends (the hour's within an hour), so Redis holds live windows only.
    store = redis.Redis.from_url(redis_url)
    ttls = [store.ttl(key) for key in store.keys("consult:rl:*")]
    assert len(ttls) == 2 and all(0 < ttl <= 3600 + 5 for ttl in ttls)
    # No email address is kept: keys hold the limit, the window and a keyed hash of the subject.
    assert not any(b"someone" in key for key in store.keys("*"))


def test_login_back_off_with_redis_is_the_same(redis_app, make) -> None:
    user = make.user(email="target@example.org")
    client = redis_app.test_client()
    statuses = [client.post("/login", data={"email": user.email, "password": f"guess {i}"}).status_code
                for i in range(7)]
    assert statuses == [400] * 5 + [429] * 2
    refused = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()


def test_unreachable_redis_answers_503_with_retry_after(tmp_path: Path, make) -> None:
    # Nothing listens on this port: Redis is configured but down.
    app = make_app(tmp_path, RATE_LIMIT_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        with app.app_context():
            user = make.user()
            client = app.test_client()
            response = client.post("/login", data={"email": user.email, "password": PASSWORD})
            assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
            assert "try again" in response.get_data(as_text=True)
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json["ratelimit"] == "unavailable"
            assert health.headers["Retry-After"]
            # Pages that count nothing still work.
            assert client.get("/about").status_code == 200
    finally:
        db.dispose()


def test_unreachable_redis_refuses_a_vote_cleanly(tmp_path: Path, make, redis_url) -> None:
    app = make_app(tmp_path, RATE_LIMIT_URL=f"redis://127.0.0.1:{free_port()}/0")
    try:
        with app.app_context():
            phase = make.phase()
            user = make.user()
            client = app.test_client()
            # Logged in while the counters were up (the login form itself needs them).
            app.config["RATE_LIMIT_URL"] = redis_url
            login(client, user)
            app.config["RATE_LIMIT_URL"] = f"redis://127.0.0.1:{free_port()}/0"
            from consult.models import Idea

            idea = Idea(topic_id=phase.topics[0].id, phase_id=phase.id, title="An idea", body="Body")
            db.session.add(idea)
            db.session.commit()
            response = client.post("/vote", data=vote_form("idea", idea, 1, app),
                                   headers={"Accept": "application/json"})
            assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
            assert "try again" in response.json["error"]
    finally:
        db.dispose()
