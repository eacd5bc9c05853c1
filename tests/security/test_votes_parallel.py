"""2,000 vote submissions in parallel against the real server: one row per person per item, counts that match.

Five participants vote on two ideas and two comments, 2,000 requests from 48 connections at once through
gunicorn (2 processes x 4 threads), each support, against or withdraw at random. Afterwards every (person, item)
has at most one vote row, every item's up and down counts equal its rows, each person's last logged vote event
equals their row, and no request got a server error.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consult.extensions import make_engine
from consult.models import Comment, Consultation, Idea, ParticipantProfile, Phase, Topic, User, Vote, VoteEvent, utcnow
from consult.services.accounts import hash_password
from tests.security.world import LIVE_ENV
from tests.support.live import csrf_token, flask_command, live_server, logged_in_session
from tests.support.publicids import LIVE_PUBLIC_ID_KEY, idea_url, vote_form

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow, pytest.mark.xdist_group("live")]
PASSWORD = "parallel votes password"
VOTES = 2000
CONNECTIONS = 48
PEOPLE = 5


def _prepare(database: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """A migrated database with an open phase, two ideas, two comments and five voters."""
    flask_command(database, "init-db")
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        voters = []
        for n in range(PEOPLE):
            voter = User(email=f"voter{n}@example.org", password_hash=hash_password(PASSWORD),
                         email_confirmed_at=utcnow())
            voter.profile = ParticipantProfile(category="public")
            voters.append(voter)
        consultation = Consultation(slug="race", title="Race")
        phase = Phase(consultation=consultation, position=1, title="Open", question="Q?", state="open",
                      opens_at=utcnow())
        topic = Topic(phase=phase, position=1, title="T")
        session.add_all([*voters, consultation, phase, topic])
        session.flush()
        ideas = [Idea(topic=topic, phase_id=phase.id, title=f"Idea {n}", body="Body") for n in range(2)]
        session.add_all(ideas)
        session.flush()
        comments = [Comment(idea_id=ideas[0].id, phase_id=phase.id, body=f"Comment {n}") for n in range(2)]
        session.add_all(comments)
        session.commit()
        items = [("idea", i.id) for i in ideas] + [("comment", c.id) for c in comments]
        return [v.email for v in voters], items


def test_votes_2000_parallel_submissions_leave_no_duplicates(tmp_path: Path, promise) -> None:
    database = tmp_path / "votes.sqlite3"
    emails, items = _prepare(database)
    rng = random.Random(11)
    plan = [(rng.randrange(PEOPLE), rng.choice(items), rng.choice((1, -1, 0, 1))) for _ in range(VOTES)]
    with live_server(database, extra_env=LIVE_ENV) as server:
        people = []
        for email in emails:
            session = logged_in_session(server.url, email, PASSWORD)
            page = server.url + idea_url(items[0][1], key=LIVE_PUBLIC_ID_KEY)
            people.append((session.cookies, csrf_token(session, page)))

        def send(vote: tuple[int, tuple[str, int], int]) -> int:
            person, (kind, item_id), value = vote
            # A connection per request: an idle kept-alive one may be closed by the server under the client.
            with requests.Session() as session:
                session.cookies.update(people[person][0])
                response = session.post(
                    server.url + "/vote", timeout=60, headers={"Accept": "application/json", "Connection": "close"},
                    data=vote_form(kind, item_id, value, key=LIVE_PUBLIC_ID_KEY, csrf_token=people[person][1]))
                return response.status_code

        with ThreadPoolExecutor(max_workers=CONNECTIONS) as pool:
            statuses = list(pool.map(send, plan))
    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as db:
        rows = db.execute(select(Vote.voter_id, Vote.idea_id, Vote.comment_id, Vote.value)).all()
        duplicates = len(rows) - len({(r.voter_id, r.idea_id, r.comment_id) for r in rows})
        wrong_counts = 0
        for model, column in ((Idea, Vote.idea_id), (Comment, Vote.comment_id)):
            for item in db.scalars(select(model)):
                up = db.scalar(select(func.count()).where(column == item.id, Vote.value == 1))
                down = db.scalar(select(func.count()).where(column == item.id, Vote.value == -1))
                wrong_counts += (item.up_count, item.down_count) != (up, down)
        events = db.execute(select(VoteEvent.voter_id, VoteEvent.idea_id, VoteEvent.comment_id, VoteEvent.value)
                            .order_by(VoteEvent.id)).all()
        last = {(e.voter_id, e.idea_id, e.comment_id): e.value for e in events}
        current = {(r.voter_id, r.idea_id, r.comment_id): r.value for r in rows}
        wrong_events = sum(value != current.get(key, 0) for key, value in last.items())
    # 503 + Retry-After is the designed answer when SQLite stays locked past its busy timeout (nothing saved,
    # safe to retry); anything else from 500 up is a server error.
    busy = statuses.count(503)
    server_errors = sum(status >= 500 and status != 503 for status in statuses)
    promise(f"votes: {VOTES:,} parallel, {duplicates} duplicates")
    print(f"\n{VOTES} votes from {CONNECTIONS} connections: {busy} busy (503), {len(rows)} rows, "
          f"{len(events)} events, {wrong_counts} wrong counts, {wrong_events} event logs out of step")
    assert server_errors == 0, f"{server_errors} server errors"
    assert all(status in (200, 503) for status in statuses), sorted(set(statuses))
    assert duplicates == 0
    assert wrong_counts == 0
    assert wrong_events == 0
