"""Migrations that change existing data: run on a database holding rows, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, insert, select

from consult import migrate
from consult.extensions import make_engine
from consult.models import (
    Comment,
    Consultation,
    Idea,
    ParticipantProfile,
    Phase,
    Topic,
    User,
    Vote,
    VoteEvent,
    utcnow,
)
from tests.conftest import fresh_database_url


def _engine_at(tmp_path: Path, revision: str) -> Engine:
    """A fresh database taken to this revision (PostgreSQL's fresh databases start at head: taken down to it)."""
    engine = make_engine(fresh_database_url(tmp_path))
    migrate.upgrade(engine)
    migrate.downgrade(engine, revision)
    assert migrate.current_revision(engine) == revision
    return engine


def _people_and_posts(engine: Engine) -> None:
    """Four authors (verified staff, self-declared student, a member of the public, a deleted account) and
    an offline idea, each with an idea; a comment and a vote from each account, as rows written before 0012."""
    now = utcnow()
    with engine.begin() as connection:
        accounts = [(1, "staff", "physiotherapist", "facilitator"), (2, "student", None, None),
                    (3, "public", None, None)]
        for user_id, category, profession, via in accounts:
            connection.execute(insert(User).values(id=user_id, email=f"p{user_id}@example.org", password_hash="x"))
            connection.execute(insert(ParticipantProfile).values(user_id=user_id, category=category,
                                                                 profession=profession, claim_verified_via=via))
        connection.execute(insert(Consultation).values(id=1, slug="c", title="C"))
        connection.execute(insert(Phase).values(id=1, consultation_id=1, position=1, title="P", question="Q?",
                                                state="open", opens_at=now))
        connection.execute(insert(Topic).values(id=1, phase_id=1, position=1, title="T"))
        ideas = [(1, 1, "staff", "online"), (2, 2, "student", "online"), (3, 3, "public", "online"),
                 (4, None, "staff", "online"), (5, None, "staff", "workshop")]
        for idea_id, author, category, channel in ideas:
            connection.execute(insert(Idea).values(id=idea_id, topic_id=1, phase_id=1, author_id=author,
                                                   author_category=category, channel=channel, title=f"Idea {idea_id}",
                                                   body="Body"))
        for user_id, category, _profession, _via in accounts:
            connection.execute(insert(Comment).values(id=user_id, idea_id=5, phase_id=1, author_id=user_id,
                                                      author_category=category, body="A comment"))
            connection.execute(insert(Vote).values(voter_id=user_id, idea_id=3, value=1, voter_category=category))
            connection.execute(insert(VoteEvent).values(voter_id=user_id, idea_id=3, value=1, voter_category=category))


def test_claim_stamps_are_filled_in_from_profiles_and_the_rows_survive_a_round_trip(tmp_path: Path) -> None:
    engine = _engine_at(tmp_path, "0011")
    _people_and_posts(engine)
    migrate.upgrade(engine, "0012")
    with engine.connect() as connection:
        ideas = dict(connection.execute(select(Idea.id, Idea.author_claim_verified)).all())
        comments = dict(connection.execute(select(Comment.author_id, Comment.author_claim_verified)).all())
        votes = dict(connection.execute(select(Vote.voter_id, Vote.voter_claim_verified)).all())
        events = dict(connection.execute(select(VoteEvent.voter_id, VoteEvent.voter_claim_verified)).all())
    # The claim as the profile holds it now: verified staff, a self-declared student; nothing for other groups,
    # offline input or a post whose account has gone.
    assert ideas == {1: True, 2: False, 3: None, 4: None, 5: None}
    assert comments == votes == events == {1: True, 2: False, 3: None}
    # Going back drops the column and nothing else (SQLite rebuilds the table: no cascade may empty others).
    migrate.downgrade(engine, "0011")
    with engine.connect() as connection:
        counts = [connection.scalar(select(func.count()).select_from(model.__table__))
                  for model in (Idea, Comment, Vote, VoteEvent, ParticipantProfile)]
    assert counts == [5, 3, 3, 3, 3]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    engine.dispose()
