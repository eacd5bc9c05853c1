"""The one authorisation point: who may use each route, and who may see each object. Deny by default.

Two layers, both here and nowhere else:

1. Routes. Every view declares who may call it with ``@allow(...)``; a view without a declaration answers 404
   to everyone (and a test fails), so a new route is closed until someone decides who it is for.
   ``"anyone"`` includes visitors; ``"participant"`` is any logged-in person; a staff role name admits people
   with that role, and admins are admitted everywhere.
2. Objects. Views load consultations, phases, topics, ideas and comments only through the loaders below,
   which answer 404 (never 403, so nothing confirms that a hidden thing exists) for what this person may not
   see: an unpublished consultation, a phase still in draft, an idea or comment that is held, hidden or
   withdrawn. Staff powers over a consultation come from an assignment to it (``ConsultationAssignment``);
   ``require_staff`` checks them and admins pass everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, request
from flask_login import current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.routing import BaseConverter, ValidationError

from . import publicids
from .extensions import db, login_manager
from .models import Comment, Consultation, ConsultationAssignment, Idea, Phase, Topic, User, utcnow
from .services.errors import NotFound
from .services.prepared import prepared

F = TypeVar("F", bound=Callable[..., Any])

# Who a route may be for. Staff roles are the User.role values; "anyone" and "participant" are not roles.
AUDIENCES = ("anyone", "participant", "moderator", "facilitator", "analyst", "admin")

# What an assignment to a consultation lets a person do there. Facilitators run and moderate their
# consultations; moderators only moderate; safeguarding leads see the restricted safeguarding queue.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "facilitate": ("facilitator",),
    "moderate": ("facilitator", "moderator"),
    "analyse": ("analyst",),
    "safeguard": ("safeguarding",),
    "see": ("facilitator", "moderator", "analyst", "safeguarding"),
}
NOT_FOUND = "This page does not exist, or you cannot see it."
# The largest stored id: id columns are INTEGER, which is 32-bit on PostgreSQL (a larger number there is an
# error, not a miss), so anything above is simply absent on both databases.
MAX_ID = 2**31 - 1


def allow(*audience: str) -> Callable[[F], F]:
    """Declare who may call this view: "anyone", "participant" (logged in) or staff roles (admins always)."""
    unknown = set(audience) - set(AUDIENCES)
    if not audience or unknown:
        raise ValueError(f"allow() needs audiences from {AUDIENCES}, not {sorted(unknown) or 'nothing'}")

    def decorator(view: F) -> F:
        view._consult_audience = frozenset(audience)  # type: ignore[attr-defined]
        return view

    return decorator


def audience_of(app: Flask, endpoint: str) -> frozenset[str] | None:
    """The declared audience of an endpoint, or None when it has none (and so is refused)."""
    view = app.view_functions.get(endpoint)
    return getattr(view, "_consult_audience", None)


def _user() -> User | None:
    """The logged-in user, or None for visitors."""
    # The object itself, not the proxy: each attribute read through current_user looks the user up again.
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    return user if user.is_authenticated else None


def route_allowed(audience: frozenset[str], user: User | None) -> bool:
    """Whether a person (None for a visitor) fits a route's declared audience."""
    if "anyone" in audience:
        return True
    if user is None:
        return False
    return "participant" in audience or user.role == "admin" or user.role in audience


def _check_route() -> Any:
    """Before every request: refuse routes with no declared audience, and people outside it."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    from flask import current_app

    audience = audience_of(current_app, endpoint)
    if audience is None:
        abort(404)
    user = _user() if "anyone" not in audience else None
    if request.method not in ("GET", "HEAD", "OPTIONS") and db.single_writer:
        # SQLite: end the read that loaded the user, so what this request writes begins in a transaction of its
        # own (reads_first views write with write_intent() straight after their reads). A page keeps reading in
        # the same transaction: one BEGIN and COMMIT fewer. PostgreSQL reads and writes in one transaction.
        db.session.commit()
    if route_allowed(audience, user):
        return None
    if user is None:
        return login_manager.unauthorized()
    abort(404)


class IdConverter(BaseConverter):
    """Ids in URLs: ASCII digits only and within 64 bits, so "²", "٣" or a 25-digit id is a plain 404."""

    regex = r"[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        """The id as an int, or no match (404) when it cannot be a stored id."""
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        """An id as it appears in a URL."""
        return str(int(value))


class PublicIdConverter(BaseConverter):
    """Ideas and comments in URLs: their public id (consult/publicids.py), decoded to the stored id.

    A malformed or tampered public id, and an old integer address, match no route: a plain 404, never a
    redirect (which would reveal the mapping).
    """

    kind = ""
    regex = r"[a-p][a-z2-7]{12}"

    def to_python(self, value: str) -> int:
        """The stored id, or no match (404) when the public id names none."""
        number = publicids.decode(self.kind, value, key=self.map.public_id_key)  # type: ignore[attr-defined]
        if number is None or number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        """A stored id as its public id."""
        return publicids.encode(self.kind, int(value), key=self.map.public_id_key)  # type: ignore[attr-defined]


class IdeaIdConverter(PublicIdConverter):
    """``<idea_pid:idea_id>``: an idea's public id in the URL, the stored id in the view."""

    kind = "idea"


class CommentIdConverter(PublicIdConverter):
    """``<comment_pid:comment_id>``: a comment's public id in the URL, the stored id in the view."""

    kind = "comment"


def parse_id(value: Any) -> int | None:
    """A form or query value as a stored id (ASCII digits, 1..2^63-1), or None."""
    text = str(value or "").strip()
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


# ---------------------------------------------------------------------------------------------- staff


def assignment_roles(session: Session, user: User, consultation_id: int) -> set[str]:
    """The roles this person has been assigned on one consultation."""
    return set(session.scalars(select(ConsultationAssignment.role).where(
        ConsultationAssignment.user_id == user.id, ConsultationAssignment.consultation_id == consultation_id)))


def can(user: User | None, consultation_id: int, capability: str, session: Session | None = None) -> bool:
    """Whether this person may do `capability` on the consultation (admins may do everything)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.role == "admin":
        return True
    if user.role == "participant":
        return False
    roles = assignment_roles(session or db.session, user, consultation_id)
    return bool(roles & set(CAPABILITIES[capability]))


def require_staff(consultation_id: int, capability: str, user: User | None = None) -> None:
    """Raise NotFound unless the current person may do `capability` on this consultation."""
    if not can(user if user is not None else _user(), consultation_id, capability):
        raise NotFound(NOT_FOUND)


def staff_consultation_ids(session: Session, user: User, capability: str) -> list[int] | None:
    """Ids of the consultations this person may do `capability` on; None means all of them (admins)."""
    if user.role == "admin":
        return None
    if user.role == "participant":
        return []
    return sorted(set(session.scalars(select(ConsultationAssignment.consultation_id).where(
        ConsultationAssignment.user_id == user.id,
        ConsultationAssignment.role.in_(CAPABILITIES[capability])))))


# -------------------------------------------------------------------------------------------- objects


def consultation_visible(consultation: Consultation, user: User | None = None) -> bool:
    """Published consultations are public; unpublished ones are for their assigned staff only."""
    return consultation.is_published or can(user if user is not None else _user(), consultation.id, "see")


def phase_visible(phase: Phase, user: User | None = None) -> bool:
    """A phase is public once it has opened (or its planned opening has passed) in a visible consultation."""
    user = user if user is not None else _user()
    if not consultation_visible(phase.consultation, user):
        return False
    return _schedule_visible(phase, phase.consultation_id, user)


def _schedule_visible(phase: Any, consultation_id: int, user: User | None) -> bool:
    """Whether the phase's schedule shows it (it has opened), or the person is the consultation's staff."""
    from .services.phases import scheduled_state

    return scheduled_state(phase, utcnow()) != "draft" or can(user, consultation_id, "see")


# The phases of a consultation with only what their visibility needs, built once (topic pages show "phase 2 of 3").
_SCHEDULES = (select(Phase.id, Phase.state, Phase.opens_at, Phase.closes_at)
              .where(Phase.consultation_id == bindparam("consultation_id")).order_by(Phase.position))


def visible_phase_ids(consultation: Consultation, user: User | None = None) -> list[int]:
    """Ids of the consultation's phases this person may see, in order, from one light query."""
    user = user if user is not None else _user()
    if not consultation_visible(consultation, user):
        return []
    # Run on the driver's cursor (services/prepared.py): topic and idea pages ask on every request.
    connection = db.session.connection()
    rows = prepared(_SCHEDULES, connection.dialect).records(connection, {"consultation_id": consultation.id})
    return [row.id for row in rows if _schedule_visible(row, consultation.id, user)]


def contribution_visible(item: Idea | Comment, consultation_id: int, user: User | None = None) -> bool:
    """Published contributions are public; others only to their author and the consultation's moderators."""
    if item.moderation_state == "published":
        return True
    user = user if user is not None else _user()
    if user is None:
        return False
    if item.author_id == user.id and item.moderation_state != "withdrawn":
        return True
    if _restricted(item):
        # A possible safeguarding disclosure is for the consultation's safeguarding leads only.
        return can(user, consultation_id, "safeguard")
    return can(user, consultation_id, "moderate")


def _restricted(item: Idea | Comment) -> bool:
    """Whether the contribution is held as a safeguarding case."""
    from .models import ModerationCase

    column = ModerationCase.idea_id if isinstance(item, Idea) else ModerationCase.comment_id
    return bool(db.session.scalar(select(ModerationCase.restricted).where(column == item.id)))


def get_consultation(*, slug: str | None = None, consultation_id: int | None = None) -> Consultation:
    """A consultation this person may see, by web address or id, or NotFound."""
    if slug is not None:
        item = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    else:
        item = db.session.get(Consultation, consultation_id) if consultation_id is not None else None
    if item is None or not consultation_visible(item):
        raise NotFound(NOT_FOUND)
    return item


def get_phase(phase_id: int | None) -> Phase:
    """A phase this person may see, or NotFound."""
    item = db.session.get(Phase, phase_id) if phase_id is not None else None
    if item is None or not phase_visible(item):
        raise NotFound(NOT_FOUND)
    return item


# Built once: pages load an idea or a topic with its phase, the phase's audience and its consultation in one
# query (a lazy load of each, or the audience's own "selectin" query, cost more than the whole join).
_PHASE_CHAIN = (joinedload(Phase.consultation), joinedload(Phase.audience))
_TOPIC = select(Topic).options(joinedload(Topic.phase).options(*_PHASE_CHAIN)).where(Topic.id == bindparam("id"))
_IDEA = (select(Idea).options(joinedload(Idea.topic).joinedload(Topic.phase).options(*_PHASE_CHAIN))
         .where(Idea.id == bindparam("id")))


def _load(statement: Any, item_id: int | None) -> Any:
    """The one row a built-once statement names, or None."""
    if item_id is None:
        return None
    return db.session.execute(statement, {"id": item_id}).unique().scalar_one_or_none()


def get_topic(topic_id: int | None) -> Topic:
    """A topic in a phase this person may see, or NotFound."""
    item = _load(_TOPIC, topic_id)
    if item is None or not phase_visible(item.phase):
        raise NotFound(NOT_FOUND)
    return item


def get_idea(idea_id: int | None) -> Idea:
    """An idea this person may see (published, their own, or one they moderate), or NotFound."""
    item = _load(_IDEA, idea_id)
    if item is None or not phase_visible(item.topic.phase):
        raise NotFound(NOT_FOUND)
    if not contribution_visible(item, item.topic.phase.consultation_id):
        raise NotFound(NOT_FOUND)
    return item


def get_comment(comment_id: int | None) -> Comment:
    """A comment this person may see, on an idea they may see, or NotFound."""
    item = db.session.get(Comment, comment_id) if comment_id is not None else None
    if item is None:
        raise NotFound(NOT_FOUND)
    idea = get_idea(item.idea_id)
    if not contribution_visible(item, idea.topic.phase.consultation_id):
        raise NotFound(NOT_FOUND)
    return item


def get_staff_object(model: type[Any], item_id: int | None, capability: str,
                     consultation_of: Callable[[Any], int]) -> Any:
    """A row a staff page works on, if this person has `capability` on its consultation; else NotFound."""
    item = db.session.get(model, item_id) if item_id is not None else None
    if item is None:
        raise NotFound(NOT_FOUND)
    require_staff(consultation_of(item), capability)
    return item


def init_app(app: Flask) -> None:
    """Install the route check (first of all before-request hooks), the safe id and the public id converters."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["id"] = IdConverter
    # The converters read the key from the map, so URLs build the same with or without an app context.
    app.url_map.public_id_key = str(app.config["PUBLIC_ID_KEY"])  # type: ignore[attr-defined]
    app.url_map.converters["idea_pid"] = IdeaIdConverter
    app.url_map.converters["comment_pid"] = CommentIdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, _check_route)
