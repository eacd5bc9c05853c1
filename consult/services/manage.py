"""Running consultations: creating and editing consultations, phases and topics, and entering
contributions gathered offline. Every rule is checked here and every change leaves an audit record."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session

from .. import authz
from ..models import (
    CATEGORIES,
    CATEGORY_LABELS,
    CHANNELS,
    IDEA_BODY_MAX,
    PROFESSION_LABELS,
    TITLE_MAX,
    Consultation,
    ConsultationAssignment,
    Idea,
    Phase,
    PhaseAudience,
    Topic,
    User,
    utcnow,
)
from . import audit, workshops
from .contributions import DUPLICATE_WINDOW, OnBehalf, post_idea
from .errors import Conflict, Invalid, NotAllowed, NotFound
from .phases import scheduled_state
from .text import require_text, require_title
from .typed_time import TypedDateTime, to_utc

SLUG_MAX = 80
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
CONSULTATION_TITLE_MAX = 200
SUMMARY_MAX = 500
DESCRIPTION_MAX = 10_000
PHASE_TITLE_MAX = 200
QUESTION_MAX = 500
TOPIC_TITLE_MAX = 200
TOPIC_DESCRIPTION_MAX = 2_000
# Channels a facilitator may enter for someone else; "online" means the person posted it themselves.
OFFLINE_CHANNELS = tuple(c for c in CHANNELS if c != "online")
# The on-behalf form's answer for "we do not know which group they belong to".
CATEGORY_UNKNOWN = "unknown"
# PostgreSQL advisory lock taken while a consultation's title and slug are checked and saved (any fixed number).
CONSULTATION_TITLES_LOCK = 0x636F6E73


def _require_facilitator(actor: User, consultation_id: int | None = None, session: Session | None = None) -> None:
    """Raise NotAllowed unless the actor may run consultations, and NotFound unless they run this one."""
    if actor.role not in ("facilitator", "admin"):
        raise NotAllowed("Only facilitators can set up consultations")
    if consultation_id is not None and not authz.can(actor, consultation_id, "facilitate", session):
        # Someone else's consultation is as good as absent: nothing confirms that it exists.
        raise NotFound(authz.NOT_FOUND)


def _text(value: str | None, errors: dict[str, str], *, field: str, label: str, max_length: int,
          single_line: bool = True, required: bool = True) -> str:
    """Clean one text field, adding its problem (if any) to errors instead of stopping at the first."""
    if not required and not (value or "").strip():
        return ""
    try:
        return require_text(value, field=field, label=label, max_length=max_length, single_line=single_line)
    except Invalid as exc:
        errors.update(exc.field_errors)
        return ""


def _changes(item: Any, values: dict[str, Any]) -> list[str]:
    """Set the attributes that differ and return their names."""
    changed = [name for name, value in values.items() if getattr(item, name) != value]
    for name in changed:
        setattr(item, name, values[name])
    return changed


def title_key(title: str) -> str:
    """A title as compared for duplicates: case and spacing ignored."""
    return " ".join(title.split()).casefold()


def _refuse_duplicate(session: Session, model: Any, title: str, errors: dict[str, str], *, siblings: Any,
                      exclude_id: int | None, message: str, parent: Any = None) -> None:
    """Add a title error naming the sibling that already has this title (ignoring case and spacing)."""
    if not title or "title" in errors:
        return
    if parent is not None:
        # PostgreSQL: a double click's two requests would both find no duplicate; the parent's row lock (which
        # posting ideas does not wait for) makes the second look after the first has saved. SQLite's write
        # lock already covers the request.
        session.execute(parent.with_for_update(key_share=True))
    stmt = select(model.title).where(siblings)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    key = title_key(title)
    existing = next((t for t in session.scalars(stmt) if title_key(t) == key), None)
    if existing is not None:
        errors["title"] = message.format(existing=existing)


def _iso(value: datetime | None) -> str | None:
    """A UTC time for an audit record."""
    return None if value is None else value.isoformat(timespec="minutes") + "Z"


# ---------------------------------------------------------------------------------------------- slugs


def slugify(text: str) -> str:
    """A web-address-safe name from a title: lower-case ASCII words joined by hyphens, up to 80 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_MAX:
            break
        slug = candidate
    # A title with no Latin letters or digits (or one enormous word) still needs a usable address.
    return slug or (words[0][:SLUG_MAX] if words else "consultation")


def unique_slug(session: Session, base: str, exclude_id: int | None = None) -> str:
    """The base slug, or the base with the lowest free "-2", "-3"... suffix when it is taken."""
    stmt = select(Consultation.slug).where(or_(Consultation.slug == base,
                                               Consultation.slug.like(f"{base}-%")))
    if exclude_id is not None:
        stmt = stmt.where(Consultation.id != exclude_id)
    taken = set(session.scalars(stmt))
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


# ------------------------------------------------------------------------------------- consultations


def _clean_consultation(session: Session, *, title: str | None, slug: str | None, summary: str | None,
                        description: str | None, exclude_id: int | None) -> dict[str, Any]:
    """Check a consultation's fields; raise Invalid with every problem at once."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": _text(title, errors, field="title", label="a title", max_length=CONSULTATION_TITLE_MAX),
        "summary": _text(summary, errors, field="summary", label="a summary", max_length=SUMMARY_MAX),
        "description": _text(description, errors, field="description", label="a description",
                             max_length=DESCRIPTION_MAX, single_line=False, required=False),
    }
    if session.get_bind().dialect.name == "postgresql":
        # A double click's two requests would both find no duplicate title (or slug). Consultations have no parent
        # row to lock as phases and topics do, so a lock of their own, held to commit, makes the second look after
        # the first has saved. SQLite's write lock already covers the request.
        session.execute(select(func.pg_advisory_xact_lock(CONSULTATION_TITLES_LOCK)))
    _refuse_duplicate(session, Consultation, values["title"], errors, siblings=true(), exclude_id=exclude_id,
                      message="There is already a consultation called “{existing}”. Give this one a different "
                              "title, so that people can tell them apart.")
    wanted = (slug or "").strip().lower()
    if not wanted:
        values["slug"] = unique_slug(session, slugify(values["title"] or "consultation"), exclude_id)
    elif len(wanted) > SLUG_MAX or not SLUG_PATTERN.fullmatch(wanted):
        errors["slug"] = (f"The web address name must be {SLUG_MAX} characters or fewer, using only "
                          "lower-case letters, numbers and single hyphens, like ahp-strategy")
    elif unique_slug(session, wanted, exclude_id) != wanted:
        errors["slug"] = "Another consultation already uses this web address name. Choose a different one."
    else:
        values["slug"] = wanted
    if errors:
        raise Invalid("There is a problem", errors)
    return values


def create_consultation(session: Session, actor: User, *, title: str | None, slug: str | None = None,
                        summary: str | None, description: str | None = None,
                        is_published: bool = False) -> Consultation:
    """Create a consultation; a blank slug is made from the title (and made unique)."""
    _require_facilitator(actor)
    values = _clean_consultation(session, title=title, slug=slug, summary=summary, description=description,
                                 exclude_id=None)
    consultation = Consultation(is_published=is_published, created_at=utcnow(), **values)
    session.add(consultation)
    session.flush()
    # Whoever creates a consultation runs it, until an admin assigns others.
    session.add(ConsultationAssignment(consultation_id=consultation.id, user_id=actor.id, role="facilitator",
                                       assigned_by_id=actor.id, created_at=utcnow()))
    audit.record(session, actor, "consultation.create", "consultation", consultation.id,
                 slug=consultation.slug, published=is_published)
    return consultation


def update_consultation(session: Session, actor: User, consultation: Consultation, *, title: str | None,
                        slug: str | None, summary: str | None, description: str | None,
                        is_published: bool) -> list[str]:
    """Change a consultation's details; return the names of the fields that changed."""
    _require_facilitator(actor, consultation.id, session)
    values = _clean_consultation(session, title=title, slug=slug, summary=summary, description=description,
                                 exclude_id=consultation.id)
    values["is_published"] = is_published
    old_slug = consultation.slug
    changed = _changes(consultation, values)
    if changed:
        detail: dict[str, Any] = {"changed": changed}
        if "slug" in changed:
            detail["slug"] = {"from": old_slug, "to": consultation.slug}
        if "is_published" in changed:
            detail["published"] = is_published
        audit.record(session, actor, "consultation.update", "consultation", consultation.id, **detail)
    return changed


def _schedule_time(value: datetime | TypedDateTime | None, errors: dict[str, str], *, field: str,
                   label: str) -> datetime | None:
    """A planned time given either as naive UTC or as typed UK parts; problems go into errors."""
    if not isinstance(value, TypedDateTime):
        return value
    try:
        return to_utc(value, field=field, label=label)
    except Invalid as exc:
        errors.update(exc.field_errors)
        return None


# ---------------------------------------------------------------------------------------------- phases


def _clean_phase(session: Session, *, consultation_id: int, exclude_id: int | None, title: str | None,
                 question: str | None, description: str | None, audience: Iterable[str],
                 opens_at: datetime | TypedDateTime | None, closes_at: datetime | TypedDateTime | None,
                 state: str, now: datetime) -> dict[str, Any]:
    """Check a phase's fields against its current state; raise Invalid with every problem at once."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "title": _text(title, errors, field="title", label="a title", max_length=PHASE_TITLE_MAX),
        "question": _text(question, errors, field="question", label="the question", max_length=QUESTION_MAX),
        "description": _text(description, errors, field="description", label="a description",
                             max_length=DESCRIPTION_MAX, single_line=False, required=False),
    }
    _refuse_duplicate(session, Phase, values["title"], errors, siblings=Phase.consultation_id == consultation_id,
                      parent=select(Consultation.id).where(Consultation.id == consultation_id),
                      exclude_id=exclude_id, message="This consultation already has a phase called “{existing}”. "
                                                     "Give this phase a different title.")
    chosen = set(audience)
    if chosen - set(CATEGORIES):
        errors["audience"] = "Choose who can take part from the list"
    values["audience"] = [c for c in CATEGORIES if c in chosen]
    opens = _schedule_time(opens_at, errors, field="opens_at", label="opening")
    closes = _schedule_time(closes_at, errors, field="closes_at", label="closing")
    if opens and closes and closes <= opens and "closes_at" not in errors:
        errors["closes_at"] = "The closing time must be after the opening time"
    typed_ok = not errors.keys() & {"opens_at", "opens_at_time", "closes_at", "closes_at_time"}
    # The schedule only moves a phase forwards (not open yet -> open -> closed), so it cannot undo a state.
    if typed_ok and state == "open" and (opens is None or opens > now):
        errors["opens_at"] = ("This phase is already open, so it needs an opening time in the past. "
                              "To stop contributions, close it from the dashboard.")
    if typed_ok and state == "open" and closes is not None and closes <= now:
        # A mistyped year would close a live phase with no confirmation, mid-post for everyone taking part.
        errors["closes_at"] = ("This phase is open, so its closing time must be in the future. "
                               "To close it now, use Close now on the dashboard, which asks first.")
    if typed_ok and state == "draft" and closes is not None and closes <= now:
        # Otherwise the schedule would record a phase that ran and closed without anyone able to take part.
        errors["closes_at"] = "This phase has not opened yet, so its closing time must be in the future"
    if typed_ok and state == "closed" and (closes is None or closes > now):
        errors["closes_at"] = ("This phase is closed, so it needs a closing time in the past. "
                               "To take contributions again, reopen it from the dashboard.")
    if errors:
        raise Invalid("There is a problem", errors)
    values["opens_at"], values["closes_at"] = opens, closes
    return values


def create_phase(session: Session, actor: User, consultation: Consultation, *, title: str | None,
                 question: str | None, description: str | None = None, audience: Iterable[str] = (),
                 opens_at: datetime | TypedDateTime | None = None,
                 closes_at: datetime | TypedDateTime | None = None, now: datetime | None = None) -> Phase:
    """Add a phase (not open yet) after the consultation's last one; no audience means everyone."""
    _require_facilitator(actor, consultation.id, session)
    values = _clean_phase(session, consultation_id=consultation.id, exclude_id=None, title=title,
                          question=question, description=description, audience=audience, opens_at=opens_at,
                          closes_at=closes_at, state="draft", now=now or utcnow())
    categories = values.pop("audience")
    last = session.scalar(select(func.max(Phase.position)).where(Phase.consultation_id == consultation.id))
    phase = Phase(consultation_id=consultation.id, position=(last or 0) + 1, state="draft", **values)
    phase.audience = [PhaseAudience(category=c) for c in categories]
    session.add(phase)
    session.flush()
    audit.record(session, actor, "phase.create", "phase", phase.id, consultation_id=consultation.id,
                 audience=categories or "everyone", opens_at=_iso(phase.opens_at),
                 closes_at=_iso(phase.closes_at))
    return phase


def set_requires_verified_staff(session: Session, actor: User, phase: Phase, value: bool) -> bool:
    """Say whether staff must have a verified claim to take part in this phase; returns whether it changed."""
    _require_facilitator(actor)
    if phase.requires_verified_staff == value:
        return False
    phase.requires_verified_staff = value
    audit.record(session, actor, "phase.update", "phase", phase.id, changed=["requires_verified_staff"],
                 requires_verified_staff=value)
    return True


def update_phase(session: Session, actor: User, phase: Phase, *, title: str | None, question: str | None,
                 description: str | None, audience: Iterable[str],
                 opens_at: datetime | TypedDateTime | None, closes_at: datetime | TypedDateTime | None,
                 now: datetime | None = None) -> list[str]:
    """Change a phase's wording, audience or schedule; a planned time in the past applies at the next tick."""
    _require_facilitator(actor, phase.consultation_id, session)
    now = now or utcnow()
    values = _clean_phase(session, consultation_id=phase.consultation_id, exclude_id=phase.id, title=title,
                          question=question, description=description, audience=audience, opens_at=opens_at,
                          closes_at=closes_at, state=scheduled_state(phase, now), now=now)
    categories = values.pop("audience")
    old_schedule = {"opens_at": phase.opens_at, "closes_at": phase.closes_at}
    for name, old in old_schedule.items():
        # The form shows times to the minute: the same minute sent back is no change (a phase opened by hand
        # at 12:25:33 keeps its seconds, and the audit log no change that did not happen).
        if old is not None and values[name] == old.replace(second=0, microsecond=0):
            values[name] = old
    changed = _changes(phase, values)
    if categories != phase.audience_categories:
        kept = {a.category: a for a in phase.audience}
        phase.audience = [kept.get(c) or PhaseAudience(category=c) for c in categories]
        changed.append("audience")
    if changed:
        detail: dict[str, Any] = {"changed": changed}
        for name in ("opens_at", "closes_at"):
            if name in changed:
                detail[name] = {"from": _iso(old_schedule[name]), "to": _iso(values[name])}
        if "audience" in changed:
            detail["audience"] = categories or "everyone"
        audit.record(session, actor, "phase.update", "phase", phase.id, **detail)
    return changed


# ---------------------------------------------------------------------------------------------- topics


def _clean_topic(session: Session, phase_id: int, exclude_id: int | None, title: str | None,
                 description: str | None) -> dict[str, str]:
    """Check a topic's fields; raise Invalid with every problem at once."""
    errors: dict[str, str] = {}
    values = {
        "title": _text(title, errors, field="title", label="a title", max_length=TOPIC_TITLE_MAX),
        "description": _text(description, errors, field="description", label="a description",
                             max_length=TOPIC_DESCRIPTION_MAX, single_line=False, required=False),
    }
    _refuse_duplicate(session, Topic, values["title"], errors, siblings=Topic.phase_id == phase_id,
                      parent=select(Phase.id).where(Phase.id == phase_id),
                      exclude_id=exclude_id, message="This phase already has a topic called “{existing}”. "
                                                     "Give this topic a different title.")
    if errors:
        raise Invalid("There is a problem", errors)
    return values


def create_topic(session: Session, actor: User, phase: Phase, *, title: str | None,
                 description: str | None = None) -> Topic:
    """Add a topic at the end of a phase's topics."""
    _require_facilitator(actor, phase.consultation_id, session)
    values = _clean_topic(session, phase.id, None, title, description)
    last = session.scalar(select(func.max(Topic.position)).where(Topic.phase_id == phase.id))
    topic = Topic(phase_id=phase.id, position=(last or 0) + 1, **values)
    session.add(topic)
    session.flush()
    audit.record(session, actor, "topic.create", "topic", topic.id, phase_id=phase.id)
    return topic


def update_topic(session: Session, actor: User, topic: Topic, *, title: str | None,
                 description: str | None) -> list[str]:
    """Change a topic's title or description; return the names of the fields that changed."""
    _require_facilitator(actor, topic.phase.consultation_id, session)
    changed = _changes(topic, _clean_topic(session, topic.phase_id, topic.id, title, description))
    if changed:
        audit.record(session, actor, "topic.update", "topic", topic.id, changed=changed)
    return changed


def move_topic(session: Session, actor: User, topic: Topic, direction: str) -> bool:
    """Swap a topic with its neighbour ("up" or "down"); False when it is already first or last."""
    _require_facilitator(actor, topic.phase.consultation_id, session)
    if direction not in ("up", "down"):
        raise Invalid("Choose to move the topic up or down")
    position = Topic.position < topic.position if direction == "up" else Topic.position > topic.position
    order = Topic.position.desc() if direction == "up" else Topic.position
    neighbour = session.scalar(select(Topic).where(Topic.phase_id == topic.phase_id, position).order_by(order)
                               .limit(1))
    if neighbour is None:
        return False
    mine, theirs = topic.position, neighbour.position
    # Positions are unique within a phase, so park one topic outside the range while they swap.
    topic.position = -mine
    session.flush()
    neighbour.position = mine
    session.flush()
    topic.position = theirs
    session.flush()
    audit.record(session, actor, "topic.move", "topic", topic.id, direction=direction, position=theirs)
    return True


# ------------------------------------------------------------------------------------- offline entry


def enter_on_behalf(session: Session, actor: User, topic: Topic, *, title: str | None, body: str | None,
                    channel: str | None, category: str | None, profession: str | None = None,
                    event: workshops.EventChoice | None = None, now: datetime | None = None) -> tuple[Idea, bool]:
    """Enter an idea gathered at a workshop, on paper or by phone, optionally from a recorded event (which counts
    it with that group of people); returns (idea, created) like post_idea."""
    _require_facilitator(actor, topic.phase.consultation_id, session)
    now = now or utcnow()
    errors: dict[str, str] = {}
    if channel not in OFFLINE_CHANNELS:
        errors["channel"] = "Select how this contribution was gathered"
    if category != CATEGORY_UNKNOWN and category not in CATEGORIES:
        errors["category"] = "Select which group the person belongs to, or that you do not know"
    if profession and profession not in PROFESSION_LABELS:
        errors["profession"] = "Select a profession from the list"
    elif profession and category != "staff":
        errors["profession"] = f"Only choose a profession for {CATEGORY_LABELS['staff'].lower()}"
    try:
        clean_title = require_title(title, max_length=TITLE_MAX)
    except Invalid as exc:
        errors.update(exc.field_errors)
        clean_title = ""
    clean_body = _text(body, errors, field="body", label="the idea", max_length=IDEA_BODY_MAX,
                       single_line=False)
    chosen = workshops.check_event_choice(session, topic.phase, channel, event or workshops.EventChoice(), errors,
                                          now.date())
    if errors:
        raise Invalid("There is a problem", errors)
    ok, why = workshops.accepting(session, topic.phase, now)
    if not ok:
        raise Conflict(why)
    existing = session.scalar(
        select(Idea).where(Idea.entered_by_id == actor.id, Idea.topic_id == topic.id,
                           Idea.title == clean_title, Idea.body == clean_body,
                           Idea.created_at >= now - DUPLICATE_WINDOW)
    )
    if existing is not None:
        return existing, False
    on_behalf = OnBehalf(channel=channel or "", category=None if category == CATEGORY_UNKNOWN else category,
                         profession=profession or None)
    if chosen is None:
        return post_idea(session, actor, topic, clean_title, clean_body, on_behalf=on_behalf, now=now)
    recorded = workshops.entry_event(session, topic.phase, chosen)
    print_ = workshops.entry_fingerprint(topic, clean_title, clean_body, recorded)
    uploaded = workshops.already_entered(session, topic.phase, print_)
    if uploaded is not None:
        return uploaded, False
    idea, created = post_idea(session, actor, topic, clean_title, clean_body, on_behalf=on_behalf, now=now)
    workshops.link_entry(session, topic.phase, idea, recorded, print_)
    return idea, created
