"""The read-only open data API: published consultations, phases, topics, ideas and comments with their
vote counts. Nothing here identifies a person: no account ids, emails, declared groups or exact times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import selectinload

from .. import publicids
from ..authz import allow, parse_id
from ..extensions import db
from ..models import Comment, Consultation, Idea, Phase, Topic, utcnow
from ..services import queries
from ..services.errors import Invalid, NotFound
from ..services.phases import scheduled_state
from ..templating import UK

bp = Blueprint("api", __name__, url_prefix="/api/v1")

IDEA_ORDERS = {"newest": "newest first (the default)", "discussed": "most comments first",
               "supported": "most supported for the number of people shown it first"}
# Anonymous answers are the same for everyone, so browsers and proxies may keep them briefly.
CACHE_SECONDS = 30


@bp.after_request
def _cache_headers(response: Response) -> Response:
    """Let anonymous reads be cached for a short time; logged-in requests keep the site's no-store."""
    anonymous = not current_user.is_authenticated
    if anonymous and request.method in ("GET", "HEAD") and response.status_code == 200:
        response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


# --------------------------------------------------------------------------------------- parameters


def _whole_number(name: str, default: int) -> int:
    """A positive whole-number query parameter, or a clear 400 error."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    number = parse_id(raw)
    if number is None:
        raise Invalid(f"{name} must be a whole number of 1 or more")
    return number


def _paging() -> tuple[int, int]:
    """The page asked for, and its size capped at API_MAX_PAGE_SIZE."""
    page = _whole_number("page", 1)
    per_page = _whole_number("per_page", int(current_app.config["API_PAGE_SIZE"]))
    return page, min(per_page, int(current_app.config["API_MAX_PAGE_SIZE"]))


def _link(page: int) -> str:
    """This list's address at another page, keeping the other parameters."""
    args = request.args.to_dict()
    args["page"] = str(page)
    return url_for(request.endpoint or "api.index", **(request.view_args or {}), **args, _external=True)


def _envelope(page: queries.Page[Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """A page of a list with its position and links to the pages either side."""
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
        "next": _link(page.page + 1) if page.has_next else None,
        "prev": _link(page.page - 1) if page.has_prev else None,
    }


# ------------------------------------------------------------------------------------------ shapes


def _month(value: datetime | None) -> str | None:
    """The month in UK time ("2021-06"): exact times could single people out."""
    return None if value is None else value.replace(tzinfo=UTC).astimezone(UK).strftime("%Y-%m")


def _utc(value: datetime | None) -> str | None:
    """A planned time as ISO 8601 UTC."""
    return None if value is None else value.isoformat(timespec="minutes") + "Z"


def _topic(topic: Topic, counts: dict[int, int]) -> dict[str, Any]:
    """A topic with its number of published ideas."""
    return {"id": topic.id, "phase_id": topic.phase_id, "position": topic.position, "title": topic.title,
            "description": topic.description, "idea_count": counts.get(topic.id, 0),
            "ideas": url_for("api.topic_ideas", topic_id=topic.id, _external=True)}


def _phase(phase: Phase, slug: str, now: datetime, counts: dict[int, int] | None = None) -> dict[str, Any]:
    """A phase: its question, state, schedule and audience, and its topics when counts are given."""
    data: dict[str, Any] = {
        "id": phase.id, "consultation": slug, "position": phase.position, "title": phase.title,
        "question": phase.question, "description": phase.description, "state": scheduled_state(phase, now),
        "opens_at": _utc(phase.opens_at), "closes_at": _utc(phase.closes_at),
        # The groups a phase is for are its own setting, not anything about the people in it.
        "audience": phase.audience_categories,
        "url": url_for("api.phase", phase_id=phase.id, _external=True),
    }
    if counts is not None:
        data["topics"] = [_topic(t, counts) for t in phase.topics]
    return data


def _consultation(item: Consultation, now: datetime, counts: dict[int, int] | None = None) -> dict[str, Any]:
    """A consultation with its phases (and their topics when counts are given)."""
    data: dict[str, Any] = {
        "slug": item.slug, "title": item.title, "summary": item.summary,
        "url": url_for("api.consultation", slug=item.slug, _external=True),
        "phases": [_phase(p, item.slug, now, counts) for p in item.phases if _phase_public(p, now)],
    }
    if counts is not None:
        data["description"] = item.description
    return data


def _votes(item: Idea | Comment) -> dict[str, int]:
    """Support and against counts."""
    return {"up": item.up_count, "down": item.down_count}


def _idea(idea: Idea) -> dict[str, Any]:
    """An idea with its counts; never who posted it."""
    return {"id": publicids.encode("idea", idea.id), "topic_id": idea.topic_id, "phase_id": idea.phase_id,
            "title": idea.title, "body": idea.body, "created": _month(idea.created_at), "channel": idea.channel,
            "votes": _votes(idea), "comment_count": idea.comment_count,
            "url": url_for("api.idea", idea_id=idea.id, _external=True),
            "comments": url_for("api.idea_comments", idea_id=idea.id, _external=True)}


def _comment(comment: Comment, replies: list[Comment] | None = None) -> dict[str, Any]:
    """A comment with its counts, and its replies when it has a list of them; never who posted it."""
    data: dict[str, Any] = {"id": publicids.encode("comment", comment.id),
                            "idea_id": publicids.encode("idea", comment.idea_id), "body": comment.body,
                            "created": _month(comment.created_at), "channel": comment.channel,
                            "votes": _votes(comment)}
    if replies is not None:
        data["replies"] = [_comment(r) for r in replies]
    return data


# ------------------------------------------------------------------------------------------ lookups


def _phase_public(phase: Phase, now: datetime) -> bool:
    """A phase is public once it has opened (by hand or by its planned time); drafts do not exist here."""
    return scheduled_state(phase, now) != "draft"


def _phase_has_opened(now: datetime) -> Any:
    """SQL for _phase_public: not a draft whose planned opening is missing or still to come."""
    return not_(and_(Phase.state == "draft", or_(Phase.opens_at.is_(None), Phase.opens_at > now)))


def _published_topic(topic_id: int) -> Topic:
    """A topic of a published consultation, or 404."""
    topic = db.session.scalar(
        select(Topic).join(Phase, Topic.phase_id == Phase.id).join(Consultation)
        .where(Topic.id == topic_id, Consultation.is_published.is_(True), _phase_has_opened(utcnow()))
    )
    if topic is None:
        raise NotFound("There is no published topic with this id")
    return topic


def _published_idea(idea_id: int) -> Idea:
    """A published idea of a published consultation, or 404 (held and hidden ideas do not exist here)."""
    idea = db.session.scalar(
        select(Idea).join(Phase, Idea.phase_id == Phase.id).join(Consultation)
        .where(Idea.id == idea_id, Idea.moderation_state == "published", Consultation.is_published.is_(True),
               _phase_has_opened(utcnow()))
    )
    if idea is None:
        raise NotFound("There is no published idea with this id")
    return idea


# ----------------------------------------------------------------------------------------- endpoints


@bp.route("/")
@allow("anyone")
def index() -> Any:
    """What the API offers, how to page through it, and what it never contains."""
    default, largest = current_app.config["API_PAGE_SIZE"], current_app.config["API_MAX_PAGE_SIZE"]
    endpoints = [
        ("/api/v1/consultations", "Published consultations, newest first, with their phases. Paginated."),
        ("/api/v1/consultations/{slug}", "One consultation with its phases and their topics."),
        ("/api/v1/phases/{id}", "One phase: question, state, schedule, who it is for, and its topics."),
        ("/api/v1/topics/{id}/ideas",
         "A topic's ideas with vote and comment counts. Paginated. order: " + ", ".join(IDEA_ORDERS) + "."),
        ("/api/v1/ideas/{id}", "One idea with its vote and comment counts. Ideas and comments have public ids "
         "(13 letters and digits) that say nothing about when they were posted."),
        ("/api/v1/ideas/{id}/comments",
         "An idea's comments, oldest first, each with its replies nested and vote counts. Paginated."),
    ]
    return jsonify({
        "name": "consult open data API",
        "version": 1,
        "description": "Read-only, anonymous data from published consultations.",
        "privacy": ("Contributions are anonymous. Responses contain no names, email addresses, account ids, "
                    "or the groups contributors belong to, and dates are given to the month only. Held and "
                    "hidden contributions are left out."),
        "pagination": {
            "page": "Page number, from 1.",
            "per_page": f"Items per page, from 1 to {largest} (default {default}).",
            "links": "Each list has next and prev: the address of the page either side, or null.",
        },
        "orders": IDEA_ORDERS,
        "endpoints": [{"path": path, "description": text} for path, text in endpoints],
        "consultations": url_for("api.consultations", _external=True),
    })


@bp.route("/consultations")
@allow("anyone")
def consultations() -> Any:
    """Published consultations, newest first, with their phases."""
    page, per_page = _paging()
    stmt = (select(Consultation).options(selectinload(Consultation.phases))
            .where(Consultation.is_published.is_(True))
            .order_by(Consultation.created_at.desc(), Consultation.id.desc()))
    result = queries.paginate(db.session, stmt, page, per_page)
    now = utcnow()
    return jsonify(_envelope(result, [_consultation(c, now) for c in result.items]))


@bp.route("/consultations/<slug>")
@allow("anyone")
def consultation(slug: str) -> Any:
    """One published consultation with its phases and their topics."""
    item = db.session.scalar(
        select(Consultation).options(selectinload(Consultation.phases).selectinload(Phase.topics))
        .where(Consultation.slug == slug, Consultation.is_published.is_(True))
    )
    if item is None:
        raise NotFound("There is no published consultation with this name")
    counts = queries.topic_counts(db.session, [p.id for p in item.phases])
    return jsonify(_consultation(item, utcnow(), counts))


@bp.route("/phases/<int:phase_id>")
@allow("anyone")
def phase(phase_id: int) -> Any:
    """One phase of a published consultation, with its topics."""
    row = db.session.execute(
        select(Phase, Consultation.slug).join(Consultation).options(selectinload(Phase.topics))
        .where(Phase.id == phase_id, Consultation.is_published.is_(True), _phase_has_opened(utcnow()))
    ).first()
    if row is None:
        raise NotFound("There is no published phase with this id")
    item, slug = row
    return jsonify(_phase(item, slug, utcnow(), queries.topic_counts(db.session, [item.id])))


@bp.route("/topics/<int:topic_id>/ideas")
@allow("anyone")
def topic_ideas(topic_id: int) -> Any:
    """A topic's published ideas in the order asked for (newest first unless told otherwise)."""
    topic = _published_topic(topic_id)
    order = request.args.get("order") or "newest"
    if order not in IDEA_ORDERS:
        raise Invalid("order must be one of: " + ", ".join(IDEA_ORDERS))
    page, per_page = _paging()
    result = queries.topic_ideas(db.session, topic, order=order, seed=0, page=page, per_page=per_page)
    return jsonify(_envelope(result, [_idea(i) for i in result.items]))


@bp.route("/ideas/<idea_pid:idea_id>")
@allow("anyone")
def idea(idea_id: int) -> Any:
    """One published idea with its vote and comment counts."""
    return jsonify(_idea(_published_idea(idea_id)))


@bp.route("/ideas/<idea_pid:idea_id>/comments")
@allow("anyone")
def idea_comments(idea_id: int) -> Any:
    """A published idea's published comments, oldest first, each with its published replies."""
    item = _published_idea(idea_id)
    page, per_page = _paging()
    result, replies = queries.idea_comments(db.session, item, page=page, per_page=per_page)
    return jsonify(_envelope(result, [_comment(c, replies.get(c.id, [])) for c in result.items]))
