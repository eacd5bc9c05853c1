"""Posting ideas and comments, voting, and recording what each participant was shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..models import (
    CHANNELS,
    COMMENT_BODY_MAX,
    IDEA_BODY_MAX,
    TITLE_MAX,
    Comment,
    Consultation,
    Idea,
    Impression,
    Phase,
    PhaseAudience,
    Topic,
    User,
    Vote,
    VoteEvent,
    utcnow,
)
from . import audit, impressions, moderation, ratelimit
from .errors import Conflict, Invalid, NotAllowed, NotFound
from .phases import require_contribution_allowed, scheduled_state
from .prepared import Prepared
from .text import require_text, require_title

# A second identical post within this window is a double submit, not a new contribution.
DUPLICATE_WINDOW = timedelta(minutes=10)


def dialect_insert(session: Session, model: type) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    name = session.get_bind().dialect.name
    return postgresql.insert(model) if name == "postgresql" else sqlite.insert(model)


def _stamp(user: User | None) -> tuple[str | None, str | None, bool | None]:
    """The author's declared category and profession, and whether a staff or student claim is verified, now."""
    if user is None or user.profile is None:
        return None, None, None
    profile = user.profile
    verified = bool(profile.claim_verified_via) if profile.category in ("staff", "student") else None
    return profile.category, profile.profession, verified


@dataclass(frozen=True)
class OnBehalf:
    """A contribution a facilitator enters for someone else (workshop, paper or phone)."""

    channel: str
    category: str | None
    profession: str | None = None


def post_idea(session: Session, user: User, topic: Topic, title: str | None, body: str | None,
              *, on_behalf: OnBehalf | None = None, now: datetime | None = None) -> tuple[Idea, bool]:
    """Add an idea under a topic; returns (idea, created) so a double submit returns the first one."""
    now = now or utcnow()
    phase = topic.phase
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    try:
        clean["title"] = require_title(title, max_length=TITLE_MAX)
    except Invalid as exc:
        errors.update(exc.field_errors)
    try:
        clean["body"] = require_text(body, field="body", label="your idea", max_length=IDEA_BODY_MAX)
    except Invalid as exc:
        errors.update(exc.field_errors)
    if on_behalf is not None:
        _check_on_behalf(user, on_behalf)
        # Offline input is taken while the phase is open and, after it closes, up to the facilitator's deadline
        # for typing up what was gathered before it closed (the same rule as a CSV upload).
        from .workshops import accepting  # workshops screens through moderation, which imports this module

        ok, why = accepting(session, phase, now)
        if not ok:
            raise Conflict(why)
    else:
        require_contribution_allowed(phase, user, now)
    if errors:
        raise Invalid("There is a problem", errors)
    if on_behalf is None:
        ratelimit.throttle(session, ratelimit.IDEA_USER, f"user:{user.id}", "posted ideas", now=now)
        existing = session.scalar(
            select(Idea).where(Idea.author_id == user.id, Idea.topic_id == topic.id, Idea.title == clean["title"],
                               Idea.body == clean["body"], Idea.created_at >= now - DUPLICATE_WINDOW)
        )
        if existing is not None:
            return existing, False
        category, profession, verified = _stamp(user)
        idea = Idea(topic_id=topic.id, phase_id=phase.id, author_id=user.id, channel="online",
                    author_category=category, author_profession=profession, author_claim_verified=verified,
                    created_at=now, visible_from=now, **clean)
    else:
        idea = Idea(topic_id=topic.id, phase_id=phase.id, author_id=None, entered_by_id=user.id,
                    channel=on_behalf.channel, author_category=on_behalf.category,
                    author_profession=on_behalf.profession, created_at=now, visible_from=now, **clean)
    session.add(idea)
    session.flush()
    moderation.apply_screening(session, idea, phase=phase, now=now)
    if on_behalf is not None:
        audit.record(session, user, "idea.enter_on_behalf", "idea", idea.id, channel=on_behalf.channel)
    return idea, True


def _check_on_behalf(user: User, on_behalf: OnBehalf) -> None:
    """Only facilitators enter contributions for others, and only through an offline channel."""
    if user.role not in ("facilitator", "admin"):
        raise NotAllowed("Only facilitators can enter contributions on someone's behalf")
    if on_behalf.channel not in CHANNELS or on_behalf.channel == "online":
        raise Invalid("There is a problem", {"channel": "Select how this contribution was gathered"})


# The same comment from the same person within the window (a double submit), at the top level or in a thread.
# Built once: building the statement cost more than running it (as for the pages' statements, queries.py).
_SAME = select(Comment).where(Comment.author_id == bindparam("author_id"), Comment.idea_id == bindparam("idea_id"),
                              Comment.body == bindparam("body"), Comment.created_at >= bindparam("since"))
_SAME_COMMENT = {True: _SAME.where(Comment.parent_id.is_(None)),
                 False: _SAME.where(Comment.parent_id == bindparam("parent_id"))}


def post_comment(session: Session, user: User, idea: Idea, body: str | None, *, parent_id: int | None = None,
                 now: datetime | None = None) -> tuple[Comment, bool]:
    """Add a comment on an idea, or a reply to one of its top-level comments."""
    now = now or utcnow()
    phase = session.get(Phase, idea.phase_id)
    assert phase is not None
    text = require_text(body, field="body", label="a comment", max_length=COMMENT_BODY_MAX)
    require_contribution_allowed(phase, user, now)
    if idea.moderation_state != "published":
        raise NotFound("This idea is not available")
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.idea_id != idea.id or parent.moderation_state != "published":
            raise NotFound("The comment you replied to is not available")
        # Replies are one level deep: a reply to a reply joins the same thread.
        parent_id = parent.parent_id or parent.id
    existing = session.scalar(_SAME_COMMENT[parent_id is None], {
        "author_id": user.id, "idea_id": idea.id, "body": text, "parent_id": parent_id,
        "since": now - DUPLICATE_WINDOW})
    if existing is not None:
        return existing, False
    ratelimit.throttle(session, ratelimit.COMMENT_USER, f"user:{user.id}", "commented", now=now)
    category, profession, verified = _stamp(user)
    comment = Comment(idea_id=idea.id, parent_id=parent_id, phase_id=idea.phase_id, author_id=user.id,
                      channel="online", author_category=category, author_profession=profession,
                      author_claim_verified=verified, body=text, created_at=now, visible_from=now)
    session.add(comment)
    session.flush()
    moderation.apply_screening(session, comment, phase=phase, now=now)
    if comment.moderation_state == "published":
        session.execute(update(Idea).where(Idea.id == idea.id).values(comment_count=Idea.comment_count + 1))
    return comment, True


@dataclass(frozen=True)
class VoteResult:
    """The voter's vote after the change and the item's new totals."""

    value: int
    up: int
    down: int
    changed: bool


OFFLINE_NOT_VOTED = ("Ideas and comments gathered at workshops, on paper or by phone are not voted on: they are "
                     "left out of vote-based support, so every group's voice counts the same way.")


# The columns the vote's rules query returns, in order (a comment's adds its idea's and parent's states).
_RULE_COLUMNS = ("moderation_state", "channel", "phase_id", "title", "state", "opens_at", "closes_at",
                 "consultation_id", "is_published", "requires_verified_staff", "category")


@lru_cache(maxsize=16)
def _vote_sql(kind: str, dialect: Dialect) -> dict[str, Prepared]:
    """The vote path's statements for one kind, compiled once per database (every vote runs four or five)."""
    model: type[Idea] | type[Comment] = Idea if kind == "idea" else Comment
    column = "idea_id" if kind == "idea" else "comment_id"
    items, votes, events = model.__table__, Vote.__table__, VoteEvent.__table__
    item_id, voter_id = bindparam("item_id"), bindparam("voter_id")
    # One query for the item and its phase's rules: a row per audience category (none when open to all).
    rules = (select(items.c.moderation_state, items.c.channel, Phase.id, Phase.title, Phase.state, Phase.opens_at,
                    Phase.closes_at, Phase.consultation_id, Consultation.is_published, Phase.requires_verified_staff,
                    PhaseAudience.category)
             .join(Phase, Phase.id == items.c.phase_id).join(Consultation, Consultation.id == Phase.consultation_id)
             .outerjoin(PhaseAudience, PhaseAudience.phase_id == Phase.id)
             .where(items.c.id == item_id))
    if kind == "comment":
        # A comment is only as visible as its idea and, for a reply, the comment it replies to.
        parent = aliased(Comment)
        rules = (rules.add_columns(Idea.moderation_state.label("idea_state"),
                                   parent.moderation_state.label("parent_state"))
                 .join(Idea, Idea.id == items.c.idea_id).outerjoin(parent, parent.id == items.c.parent_id))
    mine = (votes.c.voter_id == voter_id) & (votes.c[column] == item_id)
    dialect_insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    fields = {"voter_id": voter_id, column: item_id, "value": bindparam("value"),
              "voter_category": bindparam("category"), "voter_profession": bindparam("profession"),
              "voter_claim_verified": bindparam("verified")}
    now = bindparam("now")
    statements = {
        "rules": rules,
        "withdraw": delete(votes).where(mine).returning(votes.c.value),
        "insert": dialect_insert(votes).values(**fields, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["voter_id", column]).returning(votes.c.id),
        "existing": select(votes.c.id, votes.c.value).where(mine).with_for_update(),
        "change": update(votes).where(votes.c.id == bindparam("vote_id")).values(
            value=bindparam("value"), updated_at=now, voter_category=bindparam("category"),
            voter_profession=bindparam("profession"), voter_claim_verified=bindparam("verified")),
        "event": insert(events).values(**fields, at=now).inline(),
        "count": update(items).where(items.c.id == item_id).values(
            up_count=items.c.up_count + bindparam("up_delta"), down_count=items.c.down_count + bindparam("down_delta"))
        .returning(items.c.up_count, items.c.down_count),
        "totals": select(items.c.up_count, items.c.down_count).where(items.c.id == item_id),
    }
    return {name: Prepared(statement, dialect) for name, statement in statements.items()}


def vote(session: Session, user: User, kind: str, item_id: int, value: int,
         now: datetime | None = None) -> VoteResult:
    """Set (+1/-1) or withdraw (0) the user's vote on an idea or comment; safe to repeat and to race."""
    now = now or utcnow()
    if value not in (-1, 0, 1):
        raise Invalid("Choose support or against")
    if kind not in ("idea", "comment"):
        raise NotFound("There is nothing to vote on here")
    connection = session.connection()
    sql = _vote_sql(kind, connection.dialect)
    rows = [dict(zip(_RULE_COLUMNS + ("idea_state", "parent_state"), found, strict=False))
            for found in sql["rules"].rows(connection, {"item_id": item_id})]
    row = rows[0] if rows else None
    if row is None or row["moderation_state"] != "published":
        raise NotFound(f"This {kind} is not available")
    if kind == "comment" and (row["idea_state"] != "published" or row["parent_state"] not in (None, "published")):
        raise NotFound(f"This {kind} is not available")
    if row["channel"] != "online" and value != 0:
        # Offline contributions are left out of vote-based support (issue 7); an old vote can still be withdrawn.
        raise Conflict(OFFLINE_NOT_VOTED)
    audience = [r["category"] for r in rows if r["category"] is not None]
    rules = PhaseRules(title=row["title"], state=row["state"], opens_at=row["opens_at"], closes_at=row["closes_at"],
                       audience_categories=sorted(audience), requires_verified_staff=row["requires_verified_staff"])
    if not row["is_published"] or scheduled_state(rules, now) == "draft":  # type: ignore[arg-type]
        from .. import authz

        # An unpublished consultation or a phase not open yet is invisible to all but its staff: 404, not 409.
        if not authz.can(user, row["consultation_id"], "see", session):
            raise NotFound(f"This {kind} is not available")
    require_contribution_allowed(rules, user, now)  # type: ignore[arg-type]
    ratelimit.throttle(session, ratelimit.VOTE_USER, f"user:{user.id}", "voted", now=now)

    category, profession, verified = _stamp(user)
    params = {"voter_id": user.id, "item_id": item_id, "value": value, "category": category,
              "profession": profession, "verified": verified, "now": now}
    old = 0
    if value == 0:
        withdrawn = sql["withdraw"].first(connection, params)
        old = withdrawn[0] if withdrawn else 0
    elif sql["insert"].first(connection, params) is None:
        # Someone (perhaps this same person in another tab) voted first: change that row instead.
        existing = sql["existing"].first(connection, params)
        assert existing is not None, "the row that conflicted is locked for this transaction"
        vote_id, old = existing
        if old != value:
            sql["change"].rows(connection, {**params, "vote_id": vote_id})
    changed = old != value
    if changed:
        sql["event"].rows(connection, params)
        totals = sql["count"].first(connection, {"item_id": item_id, "up_delta": (value == 1) - (old == 1),
                                                 "down_delta": (value == -1) - (old == -1)})
    else:
        totals = sql["totals"].first(connection, {"item_id": item_id})
    assert totals is not None, "the item was found above, in this transaction"
    up, down = totals
    if session.identity_map:
        _sync_loaded(session, kind, item_id, user.id, up, down)
    return VoteResult(value=value, up=up, down=down, changed=changed)


def _sync_loaded(session: Session, kind: str, item_id: int, voter_id: int, up: int, down: int) -> None:
    """Bring objects this session already holds up to date, as the ORM's own UPDATE would have."""
    model: type[Idea] | type[Comment] = Idea if kind == "idea" else Comment
    item = session.identity_map.get(identity_key(model, item_id))
    if item is not None:
        set_committed_value(item, "up_count", up)
        set_committed_value(item, "down_count", down)
    column = "idea_id" if kind == "idea" else "comment_id"
    for held in list(session.identity_map.values()):
        if isinstance(held, Vote) and held.voter_id == voter_id and getattr(held, column) == item_id:
            session.expunge(held)  # changed or deleted underneath: the next query loads it afresh


@dataclass(frozen=True)
class PhaseRules:
    """The fields of a phase that decide who may contribute, loaded without the ORM object."""

    title: str
    state: str
    opens_at: datetime | None
    closes_at: datetime | None
    audience_categories: list[str]
    requires_verified_staff: bool = False


def record_impressions(session: Session, viewer_id: int, *, idea_ids: list[int] = (),  # type: ignore[assignment]
                       comment_ids: list[int] = (), now: datetime | None = None) -> int:  # type: ignore[assignment]
    """Record first sight of each item by this viewer in the caller's transaction; returns how many were new."""
    now = now or utcnow()
    sights = {**{("idea", i, viewer_id): now for i in idea_ids},
              **{("comment", c, viewer_id): now for c in comment_ids}}
    return impressions.write(session, sights)


def recount(session: Session) -> None:
    """Rebuild every denormalised count from the rows (after bulk loads, or to repair)."""
    for model, column in ((Idea, Vote.idea_id), (Comment, Vote.comment_id)):
        up = select(func.count()).where(column == model.id, Vote.value == 1).scalar_subquery()
        down = select(func.count()).where(column == model.id, Vote.value == -1).scalar_subquery()
        seen_column = Impression.idea_id if model is Idea else Impression.comment_id
        seen = select(func.count()).where(seen_column == model.id).scalar_subquery()
        session.execute(update(model).values(up_count=up, down_count=down, impression_count=seen))
    comments = (select(func.count()).where(Comment.idea_id == Idea.id, Comment.moderation_state == "published")
                .scalar_subquery())
    session.execute(update(Idea).values(comment_count=comments))
