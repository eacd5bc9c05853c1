"""Parallel duplicate votes against the real server (gunicorn, 2 processes x 4 threads) leave one row."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consult.extensions import make_engine
from consult.models import Consultation, Idea, ParticipantProfile, Phase, Topic, User, Vote, VoteEvent, utcnow
from consult.services.accounts import hash_password
from tests.support.live import csrf_token, flask_command, live_server, logged_in_session
from tests.support.publicids import LIVE_PUBLIC_ID_KEY, idea_url, vote_form

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live"), pytest.mark.sqlite_only]
PASSWORD = "parallel votes password"
PARALLEL = 48


# These tests race one person's votes as fast as possible; the per-person vote throttle has its own tests.
UNTHROTTLED = {"CONSULT_RATE_LIMIT_SCALE": "1000"}


def _prepare(database: Path) -> tuple[int, str]:
    """A migrated database with one open phase, one idea and one voter; returns (idea id, voter email)."""
    flask_command(database, "init-db")
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        voter = User(email="voter@example.org", password_hash=hash_password(PASSWORD), email_confirmed_at=utcnow())
        voter.profile = ParticipantProfile(category="public")
        consultation = Consultation(slug="race", title="Race")
        phase = Phase(consultation=consultation, position=1, title="Open", question="Q?", state="open",
                      opens_at=utcnow())
        topic = Topic(phase=phase, position=1, title="T")
        idea = Idea(topic=topic, phase_id=0, title="Idea", body="Body")
        session.add_all([voter, consultation, phase, topic])
        session.flush()
        idea.phase_id = phase.id
        session.add(idea)
        session.commit()
        return idea.id, voter.email


def _fire(server_url: str, cookies: requests.cookies.RequestsCookieJar, token: str, idea_id: int,
          values: list[int]) -> list[int]:
    """Send the votes at once from separate connections; return the status codes."""

    def send(value: int) -> int:
        with requests.Session() as session:
            session.cookies.update(cookies)
            response = session.post(server_url + "/vote", timeout=30, headers={"Accept": "application/json"},
                                    data=vote_form("idea", idea_id, value, key=LIVE_PUBLIC_ID_KEY, csrf_token=token))
            return response.status_code

    with ThreadPoolExecutor(max_workers=len(values)) as pool:
        return list(pool.map(send, values))


def test_parallel_duplicate_votes_make_one_row(tmp_path: Path) -> None:
    database = tmp_path / "race.sqlite3"
    idea_id, email = _prepare(database)
    with live_server(database, extra_env=UNTHROTTLED) as server:
        session = logged_in_session(server.url, email, PASSWORD)
        token = csrf_token(session, server.url + idea_url(idea_id, key=LIVE_PUBLIC_ID_KEY))
        statuses = _fire(server.url, session.cookies, token, idea_id, [1] * PARALLEL)
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as db:
        rows = db.scalar(select(func.count()).select_from(Vote).where(Vote.idea_id == idea_id))
        events = db.scalar(select(func.count()).select_from(VoteEvent))
        up = db.scalar(select(Idea.up_count).where(Idea.id == idea_id))
    errors = sum(status != 200 for status in statuses)
    print(f"\n{PARALLEL} concurrent identical votes: {rows - 1} duplicate rows, {errors} errors")
    assert errors == 0, statuses
    assert (rows, events, up) == (1, 1, 1)


def test_parallel_conflicting_votes_leave_counts_that_match_the_row(tmp_path: Path) -> None:
    database = tmp_path / "race.sqlite3"
    idea_id, email = _prepare(database)
    with live_server(database, extra_env=UNTHROTTLED) as server:
        session = logged_in_session(server.url, email, PASSWORD)
        token = csrf_token(session, server.url + idea_url(idea_id, key=LIVE_PUBLIC_ID_KEY))
        statuses = _fire(server.url, session.cookies, token, idea_id, [1, -1, 0] * (PARALLEL // 3))
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as db:
        votes = db.scalars(select(Vote.value).where(Vote.idea_id == idea_id)).all()
        up, down = db.execute(select(Idea.up_count, Idea.down_count).where(Idea.id == idea_id)).one()
        last_event = db.scalar(select(VoteEvent.value).order_by(VoteEvent.id.desc()).limit(1))
    assert all(status == 200 for status in statuses), statuses
    assert len(votes) <= 1
    assert (up, down) == (votes.count(1), votes.count(-1))
    assert last_event == (votes[0] if votes else 0)
