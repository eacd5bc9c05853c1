"""Migrations that change existing data: run on a database holding rows, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
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
        if connection.dialect.name == "postgresql":
            # Rows given their ids by hand: each sequence carries on from them, as if it had numbered them.
            for model in (User, ParticipantProfile, Consultation, Phase, Topic, Idea, Comment, Vote, VoteEvent):
                table = model.__tablename__
                connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                           f"(SELECT MAX(id) FROM \"{table}\"))")


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


def _tables_sql(engine: Engine) -> dict[str, str]:
    """SQLite's CREATE statements by name (tables and indexes); empty on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return {}
    with engine.connect() as connection:
        return dict(connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").all())


def test_ids_freed_before_or_after_the_migration_are_never_given_out_again(tmp_path: Path) -> None:
    from consult.models import AuditEvent

    engine = _engine_at(tmp_path, "0012")
    _people_and_posts(engine)
    with engine.begin() as connection:
        made = [connection.execute(insert(Topic).values(phase_id=1, position=n, title=f"T{n}").returning(Topic.id))
                .scalar_one() for n in (2, 3)]
        assert made == [2, 3]
        # Topic 3, the newest, was deleted before the upgrade: only the audit log remembers its id.
        connection.exec_driver_sql("DELETE FROM topic WHERE id = 3")
        connection.execute(insert(AuditEvent).values(action="topic.delete", target_type="topic", target_id=3,
                                                     detail={}))
    before = _tables_sql(engine)
    migrate.upgrade(engine, "0013")
    after = _tables_sql(engine)
    rebuilt = ("consultation", "phase", "topic", "idea", "comment", "user", "codebook_theme", "moderation_case",
               "anomaly_flag")
    if engine.dialect.name == "sqlite":
        assert all("AUTOINCREMENT" in after[table] for table in rebuilt)
        # Every index and every other table is as it was; the rebuilt tables keep their constraints.
        kept = set(before) - {*rebuilt, "sqlite_sequence"}
        assert {k: after.get(k) for k in kept} == {k: before[k] for k in kept}
        assert set(after) - kept == {*rebuilt, "sqlite_sequence"}
        for table in rebuilt:
            names = [set(re.findall(r"CONSTRAINT (\w+) (?:CHECK|UNIQUE|FOREIGN)", sql[table]))
                     for sql in (before, after)]
            assert names[0] == names[1] and names[0], table

    def add_topic(title: str) -> int:
        with engine.begin() as connection:
            position = connection.scalar(select(func.max(Topic.position))) + 1
            return connection.execute(insert(Topic).values(phase_id=1, position=position, title=title)
                                      .returning(Topic.id)).scalar_one()

    assert add_topic("After the upgrade") == 4
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM topic WHERE id = 4")
    assert add_topic("After a deletion") == 5
    # Nothing was lost on the way, nor on the way back down and up again.
    for step in (None, "0012", "head"):
        if step == "0012":
            migrate.downgrade(engine, "0012")
            assert not any("AUTOINCREMENT" in sql for sql in _tables_sql(engine).values())
        elif step == "head":
            migrate.upgrade(engine)
        with engine.connect() as connection:
            counts = [connection.scalar(select(func.count()).select_from(model.__table__))
                      for model in (Consultation, Topic, Idea, Comment, Vote, VoteEvent, ParticipantProfile)]
        assert counts == [1, 3, 5, 3, 3, 3, 3], step
    assert add_topic("After the round trip") == 6
    engine.dispose()


def test_the_empty_rows_that_once_held_sqlites_ids_are_removed_and_real_posts_kept(tmp_path: Path) -> None:
    # Before 0013, deleting an account with its posts wrote an empty withdrawn row at the old highest id; it
    # counted as an idea, so its topic could never be deleted ("It has 1 idea").
    engine = _engine_at(tmp_path, "0014")
    _people_and_posts(engine)
    with engine.begin() as connection:
        connection.execute(insert(Topic).values(id=2, phase_id=1, position=2, title="Emptied by a deletion"))
        empty = {"author_id": None, "channel": "online", "moderation_state": "withdrawn", "body": ""}
        connection.execute(insert(Idea).values(id=10, topic_id=2, phase_id=1, title="", **empty))
        connection.execute(insert(Comment).values(id=10, idea_id=1, phase_id=1, **empty))
        # Kept: a withdrawn post whose author deleted their account keeps its text; and an empty row that
        # something still refers to is not this migration's to judge.
        connection.execute(insert(Idea).values(id=11, topic_id=1, phase_id=1, author_id=None, channel="online",
                                               moderation_state="withdrawn", title="Kept", body="Its text"))
        connection.execute(insert(Idea).values(id=12, topic_id=1, phase_id=1, title="", **empty))
        connection.execute(insert(Vote).values(voter_id=1, idea_id=12, value=1, voter_category="staff"))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        ideas = set(connection.scalars(select(Idea.id)))
        comments = set(connection.scalars(select(Comment.id)))
        assert 10 not in ideas and 10 not in comments
        assert {1, 2, 3, 4, 5, 11, 12} <= ideas and {1, 2, 3} <= comments
        assert connection.scalar(select(func.count()).select_from(Idea).where(Idea.topic_id == 2)) == 0
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
