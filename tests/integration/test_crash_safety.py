"""Crash safety: SIGKILL the whole gunicorn process group during a vote load, restart, and lose nothing.

Every vote the server acknowledged (HTTP 200) must be in the database after the restart, no vote may be
stored twice, the counters must agree with the rows and the database must pass its integrity check. Five
rounds on SQLite and five on PostgreSQL (a private throwaway cluster).
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from consult import migrate
from consult.extensions import make_engine
from consult.models import Consultation, Idea, ParticipantProfile, Phase, Topic, User, Vote, VoteEvent, utcnow
from consult.services.accounts import hash_password
from tests.support.live import csrf_token, live_server, logged_in_session
from tests.support.publicids import LIVE_PUBLIC_ID_KEY, vote_form

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live"), pytest.mark.own_databases]
PASSWORD = "crash safety password"
ROUNDS, VOTERS, IDEAS = 5, 8, 4000  # enough ideas that no voter runs out before the fifth kill
LOAD_SECONDS = 1.5
# Eight voters casting hundreds of votes in seconds would meet the per-person vote limit, which is not under test.
UNTHROTTLED = {"CONSULT_RATE_LIMIT_SCALE": "1000"}


@contextmanager
def _database(kind: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database URL of this kind."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        yield url
        return
    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster() as url:
        yield url


def _prepare(url: str) -> tuple[list[str], list[int]]:
    """Voters and open ideas."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    password = hash_password(PASSWORD)
    with Session(engine) as session:
        voters = []
        for i in range(VOTERS):
            user = User(email=f"voter{i}@example.org", password_hash=password, email_confirmed_at=utcnow())
            user.profile = ParticipantProfile(category="public")
            voters.append(user)
        consultation = Consultation(slug="crash", title="Crash")
        phase = Phase(consultation=consultation, position=1, title="Open", question="Q?", state="open",
                      opens_at=utcnow())
        topic = Topic(phase=phase, position=1, title="T")
        session.add_all([*voters, consultation, phase, topic])
        session.flush()
        ideas = [Idea(topic=topic, phase_id=phase.id, title=f"Idea {i}", body="Body") for i in range(IDEAS)]
        session.add_all(ideas)
        session.commit()
        result = [v.email for v in voters], [i.id for i in ideas]
    engine.dispose()
    return result


def _load_then_kill(server_url: str, pid: int, sessions: dict[str, requests.Session], tokens: dict[str, str],
                    todo: dict[str, list[int]], acknowledged: set[tuple[str, int]]) -> None:
    """Vote from every voter at once; SIGKILL the server's process group while votes are in flight."""
    voters = list(sessions)
    lock = threading.Lock()
    started = threading.Event()

    def voter(email: str) -> None:
        session = sessions[email]
        while todo[email]:
            idea_id = todo[email].pop()
            started.set()
            try:
                response = session.post(server_url + "/vote", timeout=10, headers={"Accept": "application/json"},
                                        data=vote_form("idea", idea_id, 1, key=LIVE_PUBLIC_ID_KEY,
                                                       csrf_token=tokens[email]))
            except requests.RequestException:
                return  # the server is gone: this vote was never acknowledged
            if response.status_code == 200:
                with lock:
                    acknowledged.add((email, idea_id))

    threads = [threading.Thread(target=voter, args=(email,)) for email in voters]
    for thread in threads:
        thread.start()
    started.wait(10)
    time.sleep(LOAD_SECONDS)
    os.killpg(pid, signal.SIGKILL)  # the whole group: the arbiter and every worker, mid-request
    for thread in threads:
        thread.join(30)


def _token(session: requests.Session, server_url: str) -> str:
    """A CSRF token from a page with vote forms (the consultation's topic page)."""
    link = re.search(r'href="(/topics/\d+)"', session.get(server_url + "/c/crash", timeout=10).text)
    assert link, "no topic link on the consultation page"
    return csrf_token(session, server_url + link.group(1))


def _check(url: str, acknowledged: set[tuple[str, int]]) -> tuple[int, int, str]:
    """(lost, duplicates, integrity verdict) after a restart."""
    engine = make_engine(url)
    with Session(engine) as session:
        stored = set(session.execute(select(User.email, Vote.idea_id).join(User, User.id == Vote.voter_id)).all())
        lost = len({pair for pair in acknowledged if pair not in stored})
        # Each (voter, idea) was voted on once: more than one event or row for a pair is a duplicate.
        events = session.execute(select(VoteEvent.voter_id, VoteEvent.idea_id, func.count())
                                 .group_by(VoteEvent.voter_id, VoteEvent.idea_id).having(func.count() > 1)).all()
        rows = session.execute(select(Vote.voter_id, Vote.idea_id, func.count())
                               .group_by(Vote.voter_id, Vote.idea_id).having(func.count() > 1)).all()
        duplicates = len(events) + len(rows)
        counts = select(Idea.id, Idea.up_count, func.count(Vote.id)).outerjoin(Vote, Vote.idea_id == Idea.id) \
            .group_by(Idea.id, Idea.up_count)
        mismatched = sum(1 for _id, up, n in session.execute(counts) if up != n)
        event_total = session.scalar(select(func.count()).select_from(VoteEvent))
        verdict = "ok"
        if url.startswith("sqlite"):
            verdict = session.execute(text("PRAGMA integrity_check")).scalar()
            if session.execute(text("PRAGMA foreign_key_check")).first() is not None:
                verdict = "foreign keys broken"
        else:
            # Every index agrees with its table (a torn write would make an index scan and a heap scan differ).
            session.execute(text("SET enable_seqscan = off"))
            by_index = session.scalar(select(func.count()).select_from(Vote).where(Vote.voter_id > 0))
            session.execute(text("SET enable_seqscan = on; SET enable_indexscan = off; SET enable_bitmapscan = off"))
            by_heap = session.scalar(select(func.count()).select_from(Vote).where(Vote.voter_id > 0))
            if by_index != by_heap:
                verdict = f"index has {by_index} votes, table {by_heap}"
        if mismatched:
            verdict = f"{mismatched} ideas' counts disagree with their votes"
        if event_total != len(stored):
            verdict = f"{event_total} vote events for {len(stored)} votes"
    engine.dispose()
    return lost, duplicates, verdict


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sigkill_during_votes_loses_no_acknowledged_vote(kind: str, tmp_path: Path, promise) -> None:
    with _database(kind, tmp_path) as url:
        voters, ideas = _prepare(url)
        todo = {email: [i for n, i in enumerate(ideas) if n % VOTERS == k] for k, email in enumerate(voters)}
        acknowledged: set[tuple[str, int]] = set()
        sessions: dict[str, requests.Session] = {}
        tokens: dict[str, str] = {}
        for round_number in range(ROUNDS):
            before = len(acknowledged)
            with live_server(tmp_path / "crash.sqlite3", url=url, workers=2, threads=4,
                             extra_env=UNTHROTTLED) as server:
                if not sessions:
                    # Log in once: signed session cookies stay valid across restarts (the same secret key).
                    sessions = {email: logged_in_session(server.url, email, PASSWORD) for email in voters}
                    tokens = {email: _token(s, server.url) for email, s in sessions.items()}
                for session in sessions.values():
                    session.close()  # drop keep-alive connections to the killed server
                _load_then_kill(server.url, server.process.pid, sessions, tokens, todo, acknowledged)
                server.process.wait(10)
            assert len(acknowledged) > before, f"round {round_number + 1} acknowledged no votes"
            lost, duplicates, verdict = _check(url, acknowledged)
            assert (lost, duplicates, verdict) == (0, 0, "ok"), f"round {round_number + 1}"
        # The restarted server serves again, with everything in place.
        with live_server(tmp_path / "crash.sqlite3", url=url) as server:
            assert requests.get(server.url + "/healthz", timeout=10).json()["status"] == "ok"
    line = (f"kill-9: {ROUNDS} rounds, {len(acknowledged)} acknowledged votes, {lost} lost, {duplicates} duplicates, "
            f"integrity {verdict} ({kind})")
    print("\n" + line)
    promise(line)
