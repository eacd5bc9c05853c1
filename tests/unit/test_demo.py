"""The demo dataset: volumes, schedule, audiences, consistency, determinism and refusal to overwrite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from consult.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoDataError, seed_demo
from consult.extensions import make_engine
from consult.migrate import upgrade
from consult.models import (
    CATEGORIES,
    AuditEvent,
    Comment,
    Consultation,
    Idea,
    Impression,
    OfflineContribution,
    OfflineEvent,
    ParticipantProfile,
    Phase,
    User,
    Vote,
    VoteEvent,
)

NOW = datetime(2021, 6, 15, 12, 30)


def fresh_engine(path: Path) -> Engine:
    """An engine on a new, migrated SQLite file."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, int]]]:
    """One database seeded at scale 1.0, shared by the read-only tests in this module."""
    engine = fresh_engine(tmp_path_factory.mktemp("demo") / "demo.sqlite3")
    with Session(engine) as session:
        counts = seed_demo(session, now=NOW)
    yield engine, counts
    engine.dispose()


@pytest.fixture()
def session(seeded: tuple[Engine, dict[str, int]]) -> Iterator[Session]:
    """A session on the seeded database."""
    with Session(seeded[0]) as session:
        yield session


def rows(session: Session, sql: str) -> list[tuple]:
    """Run raw SQL and return the rows as tuples."""
    return [tuple(row) for row in session.execute(text(sql))]


def test_seed_demo_meets_the_promised_volumes(seeded: tuple[Engine, dict[str, int]],
                                              session: Session) -> None:
    counts = seeded[1]
    assert counts["ideas"] >= 300
    assert counts["comments"] >= 1_000
    assert counts["votes"] >= 10_000
    assert counts["users"] >= 600
    for model, key in ((Idea, "ideas"), (Comment, "comments"), (Vote, "votes"), (VoteEvent, "vote_events"),
                       (Impression, "impressions"), (User, "users"), (OfflineEvent, "offline_events"),
                       (OfflineContribution, "offline_ideas"), (AuditEvent, "audit_events")):
        assert session.scalar(select(func.count()).select_from(model)) == counts[key]


def test_seed_demo_phases_have_the_right_states_audiences_and_history(session: Session) -> None:
    consultation = session.scalar(select(Consultation).where(Consultation.slug == "ahp-strategy"))
    assert consultation is not None and consultation.is_published
    phases = consultation.phases
    assert [p.title for p in phases] == ["People and communities", "The AHP community", "Check and challenge"]
    assert [p.state for p in phases] == ["closed", "closed", "open"]
    assert [p.audience_categories for p in phases] == [[], ["staff", "student"], []]
    assert phases[0].closes_at < phases[1].opens_at and phases[1].closes_at < phases[2].opens_at
    assert phases[2].opens_at < NOW < phases[2].closes_at
    for phase in phases:
        assert 3 <= len(phase.topics) <= 5
        history = [(t.from_state, t.to_state) for t in phase.transitions]
        expected = [("draft", "open"), ("open", "closed")] if phase.state == "closed" else [("draft", "open")]
        assert history == expected
        assert phase.transitions[0].at == phase.opens_at
        if phase.state == "closed":
            assert phase.transitions[-1].at == phase.closes_at
        for transition in phase.transitions:
            assert (transition.reason == "manual") == (transition.actor_id is not None)
    draft = session.scalar(select(Consultation).where(Consultation.slug != "ahp-strategy"))
    assert draft is not None and not draft.is_published
    assert draft.phases and all(p.state == "draft" for p in draft.phases)


def test_seed_demo_registers_every_category_and_the_printed_logins(session: Session) -> None:
    categories = set(session.scalars(select(ParticipantProfile.category)))
    assert categories == set(CATEGORIES)
    staff_professions = set(session.scalars(select(ParticipantProfile.profession)
                                            .where(ParticipantProfile.category == "staff")))
    assert {"physiotherapist", "occupational_therapist", "radiographer", "paramedic"} <= staff_professions
    assert rows(session, "SELECT count(*) FROM user u LEFT JOIN participant_profile p ON p.user_id = u.id "
                         "WHERE p.id IS NULL") == [(0,)]
    assert all(email.endswith("@demo.consult.test") for email in session.scalars(select(User.email)))
    logins = {email: role for email, role, _ in DEMO_LOGINS}
    assert {"admin", "facilitator", "analyst", "participant"} <= set(logins.values())
    stored = dict(session.execute(select(User.email, User.role).where(User.email.in_(logins))).all())
    assert stored == logins
    login_categories = set(session.scalars(select(ParticipantProfile.category).join(User)
                                           .where(User.email.in_(logins), User.role == "participant")))
    assert login_categories == set(CATEGORIES)
    admin_hash = session.scalar(select(User.password_hash).where(User.email == "admin@demo.consult.test"))
    assert PasswordHasher().verify(admin_hash, DEMO_PASSWORD)


def test_seed_demo_counts_match_the_rows(session: Session) -> None:
    mismatched_ideas = rows(session, """
        SELECT i.id FROM idea i
        WHERE i.up_count != (SELECT count(*) FROM vote v WHERE v.idea_id = i.id AND v.value = 1)
           OR i.down_count != (SELECT count(*) FROM vote v WHERE v.idea_id = i.id AND v.value = -1)
           OR i.impression_count != (SELECT count(*) FROM impression m WHERE m.idea_id = i.id)
           OR i.comment_count != (SELECT count(*) FROM comment c
                                  WHERE c.idea_id = i.id AND c.moderation_state = 'published')""")
    mismatched_comments = rows(session, """
        SELECT c.id FROM comment c
        WHERE c.up_count != (SELECT count(*) FROM vote v WHERE v.comment_id = c.id AND v.value = 1)
           OR c.down_count != (SELECT count(*) FROM vote v WHERE v.comment_id = c.id AND v.value = -1)
           OR c.impression_count != (SELECT count(*) FROM impression m WHERE m.comment_id = c.id)""")
    assert mismatched_ideas == [] and mismatched_comments == []
    assert rows(session, "SELECT count(*) FROM comment WHERE parent_id IS NOT NULL")[0][0] > 100


def test_seed_demo_has_one_vote_and_one_impression_per_person_and_item(session: Session) -> None:
    for table, column in (("vote", "voter_id"), ("impression", "viewer_id")):
        for item in ("idea_id", "comment_id"):
            duplicates = rows(session, f"SELECT {column}, {item} FROM {table} WHERE {item} IS NOT NULL "
                                       f"GROUP BY {column}, {item} HAVING count(*) > 1")
            assert duplicates == [], (table, item)
    # Every vote was cast by someone who had been shown the item, no earlier than they saw it.
    assert rows(session, """
        SELECT count(*) FROM vote v LEFT JOIN impression m ON m.viewer_id = v.voter_id
           AND (m.idea_id = v.idea_id OR m.comment_id = v.comment_id)
        WHERE m.id IS NULL OR m.first_seen > v.created_at""") == [(0,)]
    impressions, votes = (session.scalar(select(func.count()).select_from(m)) for m in (Impression, Vote))
    assert impressions > votes


def test_seed_demo_vote_log_ends_at_each_current_vote(session: Session) -> None:
    latest = rows(session, """
        SELECT v.id, v.value, v.updated_at,
               (SELECT e.value FROM vote_event e WHERE e.voter_id = v.voter_id
                  AND (e.idea_id = v.idea_id OR e.comment_id = v.comment_id)
                ORDER BY e.at DESC, e.id DESC LIMIT 1),
               (SELECT max(e.at) FROM vote_event e WHERE e.voter_id = v.voter_id
                  AND (e.idea_id = v.idea_id OR e.comment_id = v.comment_id))
        FROM vote v""")
    assert all(value == last and str(updated) == str(at) for _, value, updated, last, at in latest)
    changed = rows(session, "SELECT count(*) FROM vote WHERE updated_at > created_at")[0][0]
    events, votes = (session.scalar(select(func.count()).select_from(m)) for m in (VoteEvent, Vote))
    assert changed > 0 and events == votes + changed


def test_seed_demo_contributions_respect_audience_and_schedule(session: Session) -> None:
    phase_two = session.scalar(select(Phase).where(Phase.title == "The AHP community"))
    assert phase_two is not None
    outside = rows(session, f"""
        SELECT 'idea', author_category FROM idea WHERE phase_id = {phase_two.id} AND channel = 'online'
        UNION ALL SELECT 'comment', author_category FROM comment WHERE phase_id = {phase_two.id}
        UNION ALL SELECT 'vote', voter_category FROM vote v JOIN idea i ON i.id = v.idea_id
                  WHERE i.phase_id = {phase_two.id}""")
    assert outside and {category for _, category in outside} <= {"staff", "student"}
    late_or_early = rows(session, f"""
        SELECT i.id FROM idea i JOIN phase p ON p.id = i.phase_id
        WHERE i.created_at < p.opens_at OR i.created_at >= min(p.closes_at, '{NOW.isoformat(" ")}')""")
    assert late_or_early == []
    bad_votes = rows(session, f"""
        SELECT v.id FROM vote v JOIN idea i ON i.id = v.idea_id JOIN phase p ON p.id = i.phase_id
        WHERE v.created_at < i.created_at OR v.updated_at >= min(p.closes_at, '{NOW.isoformat(" ")}')
        UNION ALL
        SELECT v.id FROM vote v JOIN comment c ON c.id = v.comment_id JOIN phase p ON p.id = c.phase_id
        WHERE v.created_at < c.created_at OR v.updated_at >= min(p.closes_at, '{NOW.isoformat(" ")}')""")
    assert bad_votes == []
    bad_replies = rows(session, """
        SELECT r.id FROM comment r JOIN comment p ON p.id = r.parent_id
        WHERE p.parent_id IS NOT NULL OR p.idea_id != r.idea_id OR r.created_at < p.created_at""")
    assert bad_replies == []
    # Stamps are the declared role at the time, and nothing has changed role since.
    wrong_stamps = rows(session, """
        SELECT i.id FROM idea i JOIN participant_profile p ON p.user_id = i.author_id
        WHERE i.author_category != p.category
           OR coalesce(i.author_profession, '') != coalesce(p.profession, '')
        UNION ALL
        SELECT v.id FROM vote v JOIN participant_profile p ON p.user_id = v.voter_id
        WHERE v.voter_category != p.category
           OR coalesce(v.voter_profession, '') != coalesce(p.profession, '')""")
    assert wrong_stamps == []


def test_seed_demo_includes_offline_and_moderated_ideas(session: Session) -> None:
    facilitator = session.scalar(select(User.id).where(User.role == "facilitator"))
    offline = session.scalars(select(Idea).where(Idea.channel != "online")).all()
    assert offline and {i.channel for i in offline} <= {"workshop", "paper", "phone"}
    assert all(i.author_id is None and i.entered_by_id == facilitator and i.author_category for i in offline)
    # Each came from a recorded event of its phase and channel, entered once it had been held, and says only
    # what was said: where it was gathered is on the event, not pasted into the text.
    links = dict(session.execute(select(OfflineContribution.idea_id, OfflineContribution.event_id)).all())
    events = {event.id: event for event in session.scalars(select(OfflineEvent))}
    assert set(links) == {i.id for i in offline} and len(events) >= 7
    for idea in offline:
        event = events[links[idea.id]]
        assert (event.phase_id, event.channel) == (idea.phase_id, idea.channel)
        assert event.held_on <= idea.created_at.date() and event.people and event.profile
        assert event.name.split(",")[0].lower() not in idea.body.lower()
    assert not any(word in i.body for i in offline for word in ("response form", "Written down", "Gathered at"))
    held = session.scalars(select(Idea).where(Idea.moderation_state == "held")).all()
    hidden = session.scalars(select(Idea).where(Idea.moderation_state == "hidden")).all()
    assert held and hidden
    assert all(i.moderation_reason for i in held + hidden)
    assert all(i.visible_from is None and i.up_count + i.down_count + i.impression_count == 0 for i in held)


def test_seed_demo_shows_clear_preferences(session: Session) -> None:
    shares = [up / (up + down) for up, down in session.execute(
        select(Idea.up_count, Idea.down_count).where(Idea.up_count + Idea.down_count >= 20))]
    assert len(shares) > 50
    assert max(shares) >= 0.85 and min(shares) <= 0.5


def test_seed_demo_text_is_real_plain_and_keeps_unicode(session: Session) -> None:
    bodies = list(session.scalars(select(Idea.body))) + list(session.scalars(select(Comment.body)))
    titles = list(session.scalars(select(Idea.title)))
    joined = "\n".join(bodies + titles)
    assert "lorem" not in joined.lower() and "@demo.consult.test" not in joined
    assert all(0 < len(t) <= 150 for t in titles) and all(b.strip() for b in bodies)
    assert "Diolch" in joined and "Zoë" in joined and "café" in joined and "👍" in joined
    assert len(set(titles)) >= 250


def test_seed_demo_is_deterministic_for_a_seed_and_time(tmp_path: Path) -> None:
    def titles(name: str, seed: int) -> tuple[list[str], dict[str, int]]:
        engine = fresh_engine(tmp_path / name)
        with Session(engine) as session:
            counts = seed_demo(session, scale=0.25, seed=seed, now=NOW)
            result = list(session.scalars(select(Idea.title).order_by(Idea.id)))
        engine.dispose()
        return result, counts

    first, second, other = titles("a.sqlite3", 7), titles("b.sqlite3", 7), titles("c.sqlite3", 8)
    assert first == second
    assert other[0] != first[0]



def test_seed_demo_is_the_same_at_any_hour_and_moves_by_whole_days(tmp_path: Path) -> None:
    """A demo seeded at 03:10 and at 22:40, or five days later, has the same rows (timed days later)."""

    def contributions(name: str, now: datetime) -> list[tuple]:
        engine = fresh_engine(tmp_path / name)
        with Session(engine) as session:
            seed_demo(session, scale=0.2, now=now)
            found = [tuple(row) for row in session.execute(
                select(Idea.title, Idea.body, Idea.created_at, Idea.up_count, Idea.down_count).order_by(Idea.id))]
            found += [tuple(row) for row in session.execute(
                select(Comment.body, Comment.created_at, Comment.up_count).order_by(Comment.id))]
        engine.dispose()
        return found

    def moved(rows: list[tuple], days: int) -> list[tuple]:
        return [tuple(v + timedelta(days=days) if isinstance(v, datetime) else v for v in row) for row in rows]

    early = contributions("early.sqlite3", datetime(2026, 12, 7, 3, 10))
    assert contributions("late.sqlite3", datetime(2026, 12, 7, 22, 40)) == early
    assert contributions("saturday.sqlite3", datetime(2026, 12, 12, 9, 0)) == moved(early, 5)
    # Its activity runs up to the start of the UK day it was seeded on, never past the moment of seeding.
    assert max(row[1] if len(row) == 3 else row[2] for row in early) < datetime(2026, 12, 7, 0, 0)


def test_seed_demo_refuses_a_database_with_a_consultation(tmp_path: Path) -> None:
    engine = fresh_engine(tmp_path / "full.sqlite3")
    with Session(engine) as session:
        counts = seed_demo(session, scale=0.1, now=NOW)
        with pytest.raises(DemoDataError, match="empty database"):
            seed_demo(session, scale=0.1, now=NOW)
        assert session.scalar(select(func.count()).select_from(Idea)) == counts["ideas"]
    engine.dispose()


def test_no_topic_repeats_an_idea_title_and_no_stock_sentence_is_pasted_onto_ideas(seeded) -> None:
    from collections import Counter

    from consult.demo import load_corpus

    engine, _ = seeded
    with Session(engine) as session:
        rows = session.execute(select(Idea.topic_id, Idea.title, Idea.body)).all()
    repeats = [key for key, n in Counter((topic_id, title) for topic_id, title, _ in rows).items() if n > 1]
    assert repeats == []
    corpus = load_corpus()
    stock = [*corpus["text"]["closers"]] + [d for theme in corpus["themes"].values() for d in theme.get("details", [])]
    assert len(stock) > 50  # the stock lines really were found in the corpus
    pasted = {line: sum(line in body for _, _, body in rows) for line in stock}
    assert {line: n for line, n in pasted.items() if n} == {}


def test_comments_written_for_an_idea_are_posted_under_it_and_most_comments_differ(seeded) -> None:
    from consult.demo import load_corpus

    engine, _ = seeded
    written = {text.value: title for theme in load_corpus()["theme_objects"].values()
               for title, texts in theme.on_idea.items() for text in texts}
    assert len(written) > 900
    with Session(engine) as session:
        rows = session.execute(select(Idea.title, Comment.body).join(Comment, Comment.idea_id == Idea.id)).all()
    # A comment may carry an opener the demo adds ("Physiotherapist here."), so it is matched by its ending.
    placed = [(title, written[text]) for title, body in rows for text in written if body.endswith(text)]
    assert len(placed) > 200
    assert [(title, own) for title, own in placed if title != own] == []
    commented = {title for title, _ in rows}
    assert len({title for title, _ in placed}) >= 0.75 * len(commented)
    # Short reactions ("Hear, hear.") repeat, as they do in real conversations; most comments say their own thing.
    assert len({body for _, body in rows}) >= 0.55 * len(rows)


def test_demo_has_no_duplicate_titles_that_the_facilitator_forms_would_refuse(session: Session) -> None:
    from consult.services.manage import title_key

    keys = [title_key(t) for t in session.scalars(select(Consultation.title))]
    keys += [f"{c}/{title_key(t)}" for c, t in session.execute(select(Phase.consultation_id, Phase.title))]
    keys += [f"{p}//{title_key(t)}" for p, t in session.execute(text("SELECT phase_id, title FROM topic"))]
    assert len(keys) == len(set(keys)) and len(keys) > 10
