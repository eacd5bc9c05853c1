"""The same schema and rules on PostgreSQL, the production database: migrations, upserts, orders, figures."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from consult import migrate
from consult.extensions import make_engine
from consult.models import (
    Base,
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
from consult.services import contributions, queries
from tests.support.postgres import throwaway_cluster

# On the PostgreSQL pass every test already runs there; this module (its own cluster) runs in the SQLite pass.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres"), pytest.mark.own_databases]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with throwaway_cluster() as url:
        pg = make_engine(url)
        migrate.upgrade(pg)
        yield pg
        pg.dispose()


def test_migrations_on_postgres_equal_the_models_and_repeat_as_a_no_op(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       Base.metadata)
    assert differences == []
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def _setup(session: Session) -> tuple[list[User], Topic]:
    users = []
    for i in range(6):
        user = User(email=f"pg{i}@example.org", password_hash="x", email_confirmed_at=utcnow())
        user.profile = ParticipantProfile(category="carer")
        users.append(user)
    consultation = Consultation(slug="pg", title="PG")
    phase = Phase(consultation=consultation, position=1, title="Open", question="Q?", state="open",
                  opens_at=utcnow())
    topic = Topic(phase=phase, position=1, title="T")
    session.add_all([*users, consultation])
    session.commit()
    return users, topic


def test_votes_posts_and_orders_work_on_postgres(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        users, topic = _setup(session)
        ideas = [contributions.post_idea(session, users[0], topic, f"Idea {i}", f"Body {i}")[0] for i in range(5)]
        session.commit()
        idea_id = ideas[0].id

    def vote_in_own_session(value: int) -> int:
        with Session(engine) as own:
            voter = own.get(User, users[1].id)
            result = contributions.vote(own, voter, "idea", idea_id, value)
            own.commit()
            return result.up

    # Parallel duplicate votes from separate connections: ON CONFLICT leaves one row and one event.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(vote_in_own_session, [1] * 16))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Vote).where(Vote.idea_id == idea_id)) == 1
        assert session.scalar(select(func.count()).select_from(VoteEvent)) == 1
        assert session.scalar(select(Idea.up_count).where(Idea.id == idea_id)) == 1
        contributions.record_impressions(session, users[2].id, idea_ids=[i.id for i in ideas])
        contributions.record_impressions(session, users[2].id, idea_ids=[i.id for i in ideas])
        session.commit()
        assert session.scalar(select(Idea.impression_count).where(Idea.id == idea_id)) == 1
        topic_row = session.get(Topic, topic.id)
        for order in queries.IDEA_ORDERS:
            page = queries.topic_ideas(session, topic_row, order=order, seed=123456789, page=1, per_page=3)
            assert page.total == 5 and len(page.items) == 3
        stats = queries.phase_stats(session, [topic_row.phase_id])[topic_row.phase_id]
        assert (stats.ideas, stats.votes, stats.voters, stats.viewers) == (5, 1, 1, 1)
        contributions.recount(session)
        session.commit()
        assert session.scalar(select(Idea.up_count).where(Idea.id == idea_id)) == 1
