"""Read models for pages and the API: paginated lists with no N+1 queries."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import BigInteger, BindParameter, Float, Select, and_, bindparam, case, func, literal, or_, select
from sqlalchemy.orm import Session, selectinload

from analysis.support import Prior, fit_beta_prior

from ..models import Comment, Consultation, Idea, Impression, Phase, Statement, Topic, User, Vote, utcnow
from .prepared import prepared

T = TypeVar("T")

IDEA_ORDERS = {
    "random": "Random",
    "newest": "Newest",
    "discussed": "Most discussed",
    "supported": "Most supported",
}
# The "most supported" order refits its prior this often, per process (a phase's rate moves slowly).
PRIOR_SECONDS = 60.0
_PRIORS: dict[tuple[str, int], tuple[float, Prior]] = {}
# Comment states shown in a thread: published ones, and hidden ones as "hidden by a moderator: <reason>".
IN_PLACE_STATES = ("published", "hidden")


@dataclass
class Page(Generic[T]):
    """One page of a list, with what a pager needs."""

    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        """True when a later page exists."""
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        """True when an earlier page exists."""
        return self.page > 1


def paginate(session: Session, stmt: Select[Any], page: int, per_page: int, *, scalars: bool = True) -> Page[Any]:
    """Run a count and one page of the statement; pages past the end show the last page."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    paged = stmt.limit(per_page).offset((page - 1) * per_page)
    rows = session.scalars(paged).all() if scalars else session.execute(paged).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def published_consultations(session: Session, *, include_unpublished: bool = False, page: int = 1,
                            per_page: int = 20, unpublished_ids: list[int] | None = None) -> Page[Consultation]:
    """A page of consultations with their phases (and audiences) loaded, newest first.

    Published ones always; unpublished ones too when include_unpublished, or only those in unpublished_ids.
    """
    stmt = (select(Consultation)
            .options(selectinload(Consultation.phases).selectinload(Phase.audience))
            .order_by(Consultation.created_at.desc(), Consultation.id.desc()))
    if unpublished_ids is not None:
        stmt = stmt.where(or_(Consultation.is_published.is_(True), Consultation.id.in_(unpublished_ids)))
    elif not include_unpublished:
        stmt = stmt.where(Consultation.is_published.is_(True))
    return paginate(session, stmt, page, per_page)


def random_order_key(seed: Any) -> Any:
    """A per-viewer shuffle that is stable while the seed is (a multiplicative hash, portable SQL)."""
    seed = seed if isinstance(seed, BindParameter) else literal(seed)
    return (Idea.id * literal(2654435761) + seed) % literal(4294967291)


def support_order_key(prior_a: Any, prior_ab: Any) -> Any:
    """Time-adjusted support per impression (ANALYSIS.md section 1) under a Beta prior (a, a + b)."""
    # An item voted on more than it was "seen" (imported data) still counts every vote.
    exposure = case((Idea.impression_count > Idea.up_count + Idea.down_count, Idea.impression_count),
                    else_=Idea.up_count + Idea.down_count)
    return (Idea.up_count + prior_a) / (exposure + prior_ab)


def _phase_prior(session: Session, phase_id: int) -> Prior:
    """The phase's fitted prior, refitted at most once a minute (one small query of two counts per idea)."""
    # Keyed by database as well: one process may serve (or test) several databases with the same phase ids.
    key = (str(session.get_bind().url), phase_id)
    cached = _PRIORS.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PRIOR_SECONDS:
        return cached[1]
    rows = session.execute(
        select(Idea.up_count, Idea.impression_count, Idea.down_count)
        .where(Idea.phase_id == phase_id, Idea.moderation_state == "published", Idea.channel == "online")
    ).all()
    up = np.array([r[0] for r in rows], dtype=np.float64)
    seen = np.array([max(r[1], r[0] + r[2]) for r in rows], dtype=np.float64)
    prior = fit_beta_prior(up, seen)
    _PRIORS[key] = (now, prior)
    return prior


@dataclass(frozen=True)
class Listing:
    """A list's count and page statements, built once with bound parameters (limit and offset for the page).

    Pages run these on every request: building a statement (and its cache key) cost more than running it. The
    page statement carries the count as its last column, so a page in range is one query, not two.
    """

    count: Select[Any]
    page: Select[Any]
    entity: bool = True
    # Run the page on the driver's cursor (services/prepared.py): rows only, and no expanding (IN list) parameters.
    driver: bool = False


def listing(stmt: Select[Any], *, entity: bool = True, driver: bool = False) -> Listing:
    """The count and paged forms of an ordered statement whose values are bound parameters.

    A page's items are the statement's first column (an ORM entity), or with entity=False its rows as they are
    (columns read by name, the count as an extra last column).
    """
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    # An uncorrelated scalar subquery: both databases count once per query, and the page keeps its own plan.
    return Listing(count=count, page=stmt.add_columns(count.scalar_subquery().label("listing_total"))
                   .limit(bindparam("limit")).offset(bindparam("offset")), entity=entity, driver=driver)


def paginate_listing(session: Session, built: Listing, params: dict[str, Any], page: int, per_page: int
                     ) -> Page[Any]:
    """One page of a built listing (as paginate(): pages past the end show the last page)."""
    page = max(1, page)
    rows = _listing_rows(session, built, params, page, per_page)
    if rows:
        total = rows[0][-1]
    elif page == 1:
        total = 0
    else:
        # Past the end: count, then show the last page.
        total = session.scalar(built.count, params) or 0
        page = max(1, -(-total // per_page))
        rows = _listing_rows(session, built, params, page, per_page) if total else []
    return Page(items=[row[0] for row in rows] if built.entity else rows, page=page, per_page=per_page, total=total)


def _listing_rows(session: Session, built: Listing, params: dict[str, Any], page: int, per_page: int
                  ) -> list[Any]:
    """One page's rows of a built listing: (item, total)."""
    values = {**params, "limit": per_page, "offset": (page - 1) * per_page}
    if built.driver:
        connection = session.connection()
        return prepared(built.page, connection.dialect).records(connection, values)
    return list(session.execute(built.page, values))


# A topic's ideas are read as rows of the columns their cards (and the API's list) show, not as ORM objects:
# loading 20 Idea objects into the session, and reading their attributes through it, was a tenth of a topic
# page's work. They are published ideas only; nothing on the page changes them.
IDEA_CARD = (Idea.id, Idea.topic_id, Idea.phase_id, Idea.title, Idea.body, Idea.author_id, Idea.channel,
             Idea.created_at, Idea.comment_count, Idea.up_count, Idea.down_count)
_TOPIC_IDEAS = select(*IDEA_CARD).where(Idea.topic_id == bindparam("topic_id"), Idea.moderation_state == "published")
_SUPPORT = support_order_key(bindparam("prior_a", type_=Float), bindparam("prior_ab", type_=Float))
TOPIC_IDEAS = {
    "newest": listing(_TOPIC_IDEAS.order_by(Idea.created_at.desc(), Idea.id.desc()), entity=False, driver=True),
    "discussed": listing(_TOPIC_IDEAS.order_by(Idea.comment_count.desc(), Idea.id.desc()), entity=False, driver=True),
    # Ideas gathered offline are left out of vote-based support, so they come after every online idea.
    "supported": listing(_TOPIC_IDEAS.order_by(case((Idea.channel == "online", 0), else_=1), _SUPPORT.desc(),
                                               Idea.id.desc()), entity=False, driver=True),
    "random": listing(_TOPIC_IDEAS.order_by(random_order_key(bindparam("seed", type_=BigInteger)), Idea.id),
                      entity=False, driver=True),
}


def topic_ideas(session: Session, topic: Topic, *, order: str, seed: int, page: int, per_page: int) -> Page[Any]:
    """Published ideas under a topic in the chosen order, one page (rows of IDEA_CARD's columns)."""
    order = order if order in TOPIC_IDEAS else "random"
    params: dict[str, Any] = {"topic_id": topic.id}
    if order == "supported":
        prior = _phase_prior(session, topic.phase_id)
        params.update(prior_a=prior.a, prior_ab=prior.a + prior.b)
    elif order == "random":
        params["seed"] = seed
    return paginate_listing(session, TOPIC_IDEAS[order], params, page, per_page)


# Check and challenge: themes the team published as ideas, with how many contributions each was drawn from.
_TOPIC_STATEMENTS = (select(Idea.id, Idea.title, Statement.contributions).join(Statement, Statement.idea_id == Idea.id)
                     .where(Idea.topic_id == bindparam("topic_id"), Idea.moderation_state == "published")
                     .order_by(Statement.id))


def topic_statements(session: Session, topic_id: int) -> dict[int, tuple[str, int]]:
    """The emerging themes published under a topic: idea id -> (title, contributions drawn from), oldest first."""
    connection = session.connection()
    return {row.id: (row.title, len(row.contributions or ())) for row in prepared(
        _TOPIC_STATEMENTS, connection.dialect).records(connection, {"topic_id": topic_id})}


_STATEMENT_SIZE = select(Statement.contributions).where(Statement.idea_id == bindparam("idea_id"))


def statement_size(session: Session, idea_id: int) -> int | None:
    """How many contributions the theme an idea states was drawn from; None for an idea a participant wrote."""
    connection = session.connection()
    row = prepared(_STATEMENT_SIZE, connection.dialect).first(connection, {"idea_id": idea_id})
    return None if row is None or row[0] is None else len(row[0])


# Comments and replies are read as rows of the columns the idea page (and the API) show, not as ORM objects
# (as a topic's ideas, IDEA_CARD): an idea page lists up to 20 comments and their replies, and reads them only.
COMMENT_ROW = (Comment.id, Comment.idea_id, Comment.parent_id, Comment.body, Comment.author_id, Comment.channel,
               Comment.created_at, Comment.moderation_state, Comment.moderation_reason, Comment.up_count,
               Comment.down_count)


def in_params(column: Any, name: str, size: int) -> Any:
    """`column IN (:name0, .. :name{size-1})`: a list of fixed length, so the statement can be run on the driver's
    cursor (an expanding IN list is written out anew on every run); fill it with fill_in."""
    return column.in_([bindparam(f"{name}{i}", type_=column.type) for i in range(size)])


def fill_in(name: str, size: int, values: list[Any]) -> dict[str, Any]:
    """Parameters for in_params(.., name, size): the values, the last one repeated to fill the list."""
    return {f"{name}{i}": values[min(i, len(values) - 1)] for i in range(size)}


def in_size(count: int) -> int:
    """The list length a statement is built for: a power of two, so a handful of statements serve every page."""
    return 1 << max(0, count - 1).bit_length()


def _states(in_place: bool) -> Any:
    """Comments shown: published ones, and with in_place hidden ones too (fixed values, not an expanding list)."""
    return Comment.moderation_state.in_([bindparam(f"state{i}", s) for i, s in enumerate(
        IN_PLACE_STATES if in_place else ("published",))])


_TOP_COMMENTS = {in_place: listing(
    select(*COMMENT_ROW).where(Comment.idea_id == bindparam("idea_id"), Comment.parent_id.is_(None),
                               _states(in_place)).order_by(Comment.created_at, Comment.id),
    entity=False, driver=True) for in_place in (False, True)}


@lru_cache(maxsize=64)
def _replies(in_place: bool, size: int) -> Select[Any]:
    """The replies to up to `size` comments, built once per list length."""
    return (select(*COMMENT_ROW).where(in_params(Comment.parent_id, "parent", size), _states(in_place))
            .order_by(Comment.created_at, Comment.id))


def idea_comments(
    session: Session, idea: Idea, *, page: int, per_page: int, in_place: bool = False
) -> tuple[Page[Any], dict[int, list[Any]]]:
    """A page of top-level comments (oldest first, as a conversation reads) and their replies (COMMENT_ROW rows).

    ``in_place`` adds hidden comments, for the idea page to show the moderator's reason where they were.
    """
    result = paginate_listing(session, _TOP_COMMENTS[in_place], {"idea_id": idea.id}, page, per_page)
    replies: dict[int, list[Any]] = {c.id: [] for c in result.items}
    if replies:
        size = in_size(len(replies))
        connection = session.connection()
        for reply in prepared(_replies(in_place, size), connection.dialect).records(
                connection, fill_in("parent", size, list(replies))):
            replies[reply.parent_id].append(reply)
    return result, replies


# The top-level comments shown before one (oldest first, as the idea page lists them); built once.
_CREATED = bindparam("created_at")
_COMMENTS_BEFORE = select(func.count()).where(
    Comment.idea_id == bindparam("idea_id"), Comment.parent_id.is_(None), Comment.moderation_state.in_(IN_PLACE_STATES),
    or_(Comment.created_at < _CREATED, and_(Comment.created_at == _CREATED, Comment.id < bindparam("id"))))


def comment_page(session: Session, comment: Comment, *, per_page: int) -> int:
    """The page of its idea's comments that shows this comment (a reply shows on its parent's page)."""
    top_id = comment.parent_id or comment.id
    top = session.get(Comment, top_id)
    assert top is not None
    before = session.scalar(_COMMENTS_BEFORE, {"idea_id": top.idea_id, "created_at": top.created_at,
                                               "id": top.id}) or 0
    return before // per_page + 1


@lru_cache(maxsize=64)
def _my_votes(ideas: int, comments: int) -> Select[Any]:
    """A voter's votes on up to `ideas` ideas and `comments` comments, built once per pair of list lengths."""
    lists = ([in_params(Vote.idea_id, "idea", ideas)] if ideas else []) + (
        [in_params(Vote.comment_id, "comment", comments)] if comments else [])
    return select(Vote.idea_id, Vote.comment_id, Vote.value).where(Vote.voter_id == bindparam("voter_id"),
                                                                    or_(*lists))


def my_votes(session: Session, user: User | None, *, idea_ids: list[int] = (),  # type: ignore[assignment]
             comment_ids: list[int] = ()) -> dict[tuple[str, int], int]:  # type: ignore[assignment]
    """The user's current votes on these items, keyed by ("idea"|"comment", id), in one built-once query."""
    if user is None or (not idea_ids and not comment_ids):
        return {}
    ideas, comments = (in_size(len(idea_ids)) if idea_ids else 0), (in_size(len(comment_ids)) if comment_ids else 0)
    values = {"voter_id": user.id, **fill_in("idea", ideas, list(idea_ids)),
              **fill_in("comment", comments, list(comment_ids))}
    connection = session.connection()
    rows = prepared(_my_votes(ideas, comments), connection.dialect).rows(connection, values)
    return {("idea", idea_id) if idea_id is not None else ("comment", comment_id): value
            for idea_id, comment_id, value in rows}


def topic_counts(session: Session, phase_ids: list[int]) -> dict[int, int]:
    """Published ideas per topic for these phases, in one query."""
    if not phase_ids:
        return {}
    rows = session.execute(
        select(Idea.topic_id, func.count()).where(Idea.phase_id.in_(phase_ids), Idea.moderation_state == "published")
        .group_by(Idea.topic_id)
    )
    return {topic_id: n for topic_id, n in rows}


@dataclass
class PhaseStats:
    """Participation figures for one phase (facilitator dashboard)."""

    contributors: int = 0
    ideas: int = 0
    comments: int = 0
    votes: int = 0
    voters: int = 0
    viewers: int = 0


def phase_stats(session: Session, phase_ids: list[int]) -> dict[int, PhaseStats]:
    """Ideas, comments, votes, and distinct contributors, voters and viewers per phase: a few grouped queries."""
    stats = {pid: PhaseStats() for pid in phase_ids}
    if not phase_ids:
        return stats
    for pid, n in session.execute(select(Idea.phase_id, func.count()).where(
            Idea.phase_id.in_(phase_ids), Idea.moderation_state == "published").group_by(Idea.phase_id)):
        stats[pid].ideas = n
    for pid, n in session.execute(select(Comment.phase_id, func.count()).where(
            Comment.phase_id.in_(phase_ids), Comment.moderation_state == "published").group_by(Comment.phase_id)):
        stats[pid].comments = n
    idea_votes = (select(Idea.phase_id.label("phase_id"), Vote.voter_id.label("voter_id"))
                  .join(Idea, Vote.idea_id == Idea.id).where(Idea.phase_id.in_(phase_ids)))
    comment_votes = (select(Comment.phase_id.label("phase_id"), Vote.voter_id.label("voter_id"))
                     .join(Comment, Vote.comment_id == Comment.id).where(Comment.phase_id.in_(phase_ids)))
    votes = idea_votes.union_all(comment_votes).subquery()
    for pid, n, voters in session.execute(
        select(votes.c.phase_id, func.count(), func.count(votes.c.voter_id.distinct())).group_by(votes.c.phase_id)
    ):
        stats[pid].votes = n
        stats[pid].voters = voters
    authors = (select(Idea.phase_id.label("phase_id"), Idea.author_id.label("author_id"))
               .where(Idea.phase_id.in_(phase_ids), Idea.author_id.is_not(None))
               .union(select(Comment.phase_id, Comment.author_id)
                      .where(Comment.phase_id.in_(phase_ids), Comment.author_id.is_not(None)))).subquery()
    for pid, n in session.execute(select(authors.c.phase_id, func.count()).group_by(authors.c.phase_id)):
        stats[pid].contributors = n
    for pid, n in session.execute(
        select(Idea.phase_id, func.count(Impression.viewer_id.distinct()))
        .join(Idea, and_(Impression.idea_id == Idea.id)).where(Idea.phase_id.in_(phase_ids)).group_by(Idea.phase_id)
    ):
        stats[pid].viewers = n
    return stats


def my_contributions(session: Session, user: User, *, kind: str, page: int, per_page: int) -> Page[Any]:
    """The user's own ideas or comments, newest first, with where they were posted (only where they may look;
    a withdrawn post is gone for its author too)."""
    if kind == "comments":
        stmt = (select(Comment).options(selectinload(Comment.idea))
                .where(Comment.author_id == user.id).order_by(Comment.created_at.desc(), Comment.id.desc()))
        phase_id, state = Comment.phase_id, Comment.moderation_state
    else:
        stmt = (select(Idea).options(selectinload(Idea.topic))
                .where(Idea.author_id == user.id).order_by(Idea.created_at.desc(), Idea.id.desc()))
        phase_id, state = Idea.phase_id, Idea.moderation_state
    stmt = stmt.where(phase_id.in_(_visible_phase_ids(session, user)), state != "withdrawn")
    return paginate(session, stmt, page, per_page)


def _visible_phase_ids(session: Session, user: User) -> Select[Any]:
    """Phases whose pages this person may open (authz.phase_visible in SQL): a post in a draft phase or an
    unpublished consultation is not listed, or the list would name what those pages answer 404 to."""
    from .. import authz

    now = utcnow()
    public = and_(Consultation.is_published, or_(Phase.state != "draft", Phase.opens_at <= now))
    see = authz.staff_consultation_ids(session, user, "see")
    # Admins see every phase; assigned staff see their consultations' drafts too.
    condition = literal(True) if see is None else or_(public, Phase.consultation_id.in_(see))
    return select(Phase.id).join(Consultation, Consultation.id == Phase.consultation_id).where(condition)
