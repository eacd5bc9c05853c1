"""Pages anyone can read: consultations, phases, topics and ideas."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, render_template, request, session
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import authz
from ..authz import allow
from ..extensions import db, reads_only
from ..models import Consultation, Phase, User, utcnow
from ..services import challenge, impressions, queries
from ..services.phases import eligibility, scheduled_state
from .helpers import page_arg, user_or_none

bp = Blueprint("public", __name__)


def order_seed() -> int:
    """This visitor's shuffle seed, kept in their session so paging through a random order is stable."""
    if "order_seed" not in session:
        session["order_seed"] = secrets.randbelow(2**31)
    return int(session["order_seed"])


@bp.route("/")
@allow("anyone")
@reads_only
def home() -> Any:
    """The published consultations (and unpublished ones this person works on) and the state of their phases."""
    user = user_or_none()
    # Staff see the unpublished consultations they are assigned to (admins: all of them) while they are set up.
    mine = authz.staff_consultation_ids(db.session, user, "see") if user is not None else []
    page = queries.published_consultations(db.session, include_unpublished=mine is None,
                                           unpublished_ids=mine, page=page_arg(), per_page=_per_page())
    return render_template("home.html", page=page)


@bp.route("/about")
@allow("anyone")
def about() -> Any:
    """How anonymity works, in plain English."""
    return render_template("about.html")


@bp.route("/c/<slug>")
@allow("anyone")
@reads_only
def consultation(slug: str) -> Any:
    """A consultation: its phase timeline and the open phase's question and topics."""
    item = db.session.scalar(
        select(Consultation).options(selectinload(Consultation.phases).selectinload(Phase.topics))
        .where(Consultation.slug == slug)
    )
    if item is None or not authz.consultation_visible(item):
        abort(404)
    now = utcnow()
    current = next((p for p in item.phases if scheduled_state(p, now) == "open"), None)
    counts = queries.topic_counts(db.session, [p.id for p in item.phases])
    heard = {phase.id for _, phase in challenge.published_pages(db.session, item.id)}
    return render_template("consultation.html", consultation=item, current=current, counts=counts, heard=heard,
                           phases=[p for p in item.phases if authz.phase_visible(p)],
                           can=eligibility(current, user_or_none(), now) if current else None)


@bp.route("/phases/<int:phase_id>")
@allow("anyone")
@reads_only
def phase(phase_id: int) -> Any:
    """One phase: its question, description, audience, schedule and topics."""
    item = authz.get_phase(phase_id)
    counts = queries.topic_counts(db.session, [item.id])
    return render_template("phase.html", phase=item, counts=counts, can=eligibility(item, user_or_none()))


@bp.route("/topics/<int:topic_id>")
@allow("anyone")
@reads_only
def topic(topic_id: int) -> Any:
    """A topic's ideas, in random (default), newest, most discussed or most supported order."""
    item = authz.get_topic(topic_id)
    order = request.args.get("order", "random")
    if order not in queries.IDEA_ORDERS:
        order = "random"
    page = queries.topic_ideas(db.session, item, order=order, seed=order_seed(), page=page_arg(),
                               per_page=_per_page())
    user = user_or_none()
    ids = [i.id for i in page.items]
    votes = queries.my_votes(db.session, user, idea_ids=ids)
    # The page first, in the same read as its lists; then what it showed, in a short write of its own.
    html = render_template("topic.html", topic=item, phase=item.phase, page=page, order=order,
                           orders=queries.IDEA_ORDERS, votes=votes, can=eligibility(item.phase, user),
                           statements=queries.topic_statements(db.session, item.id))
    _finish_page(user, idea_ids=ids)
    return html


@bp.route("/ideas/<idea_pid:idea_id>")
@allow("anyone")
@reads_only
def idea(idea_id: int) -> Any:
    """An idea with its comments and replies and the votes on each."""
    item = authz.get_idea(idea_id)
    user = user_or_none()
    topic = item.topic
    comments, replies = queries.idea_comments(db.session, item, page=page_arg(), per_page=_per_page(), in_place=True)
    comment_ids = [c.id for c in comments.items] + [r.id for rs in replies.values() for r in rs]
    votes = queries.my_votes(db.session, user, idea_ids=[item.id], comment_ids=comment_ids)
    # The page first, in the same read as its lists; then what it showed, in a short write of its own.
    html = render_template("idea.html", idea=item, topic=topic, phase=topic.phase, comments=comments,
                           replies=replies, votes=votes, can=eligibility(topic.phase, user), errors={}, form={},
                           statement=queries.statement_size(db.session, item.id))
    _finish_page(user, idea_ids=[item.id], comment_ids=comment_ids)
    return html


def _finish_page(user: User | None, *, idea_ids: list[int], comment_ids: list[int] = ()) -> None:  # type: ignore[assignment]
    """End the page's read and note what it showed a participant (written off the request path)."""
    # The read ends with COMMIT, not the ROLLBACK of the request's end (it wrote nothing, so they are the same):
    # on PostgreSQL a ROLLBACK makes psycopg drop every statement it had prepared on the connection.
    db.session.commit()
    if user is not None:
        impressions.note(user.id, idea_ids=idea_ids, comment_ids=comment_ids)


def _per_page() -> int:
    """Items per page from configuration."""
    from flask import current_app

    return int(current_app.config["PAGE_SIZE"])
