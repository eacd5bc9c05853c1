"""Phase state: the schedule, manual opening and closing, and who may contribute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from ..models import CATEGORY_PLURALS, Phase, PhaseTransition, User, utcnow
from . import audit
from .errors import Conflict, Invalid, NotAllowed, NotFound

CONFIRM_FIRST = ("Confirm your email address before you add ideas, comment or vote: follow the link we emailed "
                 "to you. You can send a new link from your account page.")
VERIFIED_STAFF_ONLY = ("This phase is for verified health and care staff. Confirm a work email address on your "
                       "account page, or ask a facilitator to verify you. You can still read it.")


def scheduled_state(phase: Phase, now: datetime) -> str:
    """The state the schedule says the phase should be in now, given its current state."""
    if phase.state == "draft" and phase.opens_at is not None and phase.opens_at <= now:
        if phase.closes_at is None or phase.closes_at > now:
            return "open"
        return "closed"
    if phase.state == "open" and phase.closes_at is not None and phase.closes_at <= now:
        return "closed"
    return phase.state


def _transition(session: Session, phase: Phase, to_state: str, actor: User | None, reason: str,
                at: datetime) -> PhaseTransition:
    """Change the state and record who, when, from and to."""
    transition = PhaseTransition(phase_id=phase.id, from_state=phase.state, to_state=to_state,
                                 actor_id=actor.id if actor else None, reason=reason, at=at)
    session.add(transition)
    phase.state = to_state
    return transition


def _due(now: datetime) -> ColumnElement[bool]:
    """Phases whose planned opening or closing time has passed."""
    return or_((Phase.state == "draft") & (Phase.opens_at <= now), (Phase.state == "open") & (Phase.closes_at <= now))


def due_phase_ids(session: Session, now: datetime | None = None) -> list[int]:
    """Ids of phases with a scheduled change due (a cheap read before taking the write lock)."""
    return list(session.scalars(select(Phase.id).where(_due(now or utcnow()))).all())


def tick(session: Session, now: datetime | None = None) -> list[PhaseTransition]:
    """Apply every scheduled change that is due; return the transitions made (caller commits)."""
    now = now or utcnow()
    due = session.scalars(select(Phase).where(_due(now)).with_for_update()).all()
    made = []
    for phase in due:
        target = scheduled_state(phase, now)
        if target != phase.state:
            # A draft whose whole window has passed is recorded as opening then closing, so history is complete.
            if phase.state == "draft" and target == "closed":
                made.append(_transition(session, phase, "open", None, "schedule", phase.opens_at or now))
            made.append(_transition(session, phase, target, None, "schedule", now))
    return made


KEEP = object()  # open_phase(closes_at=KEEP): leave the planned closing time as it is


def open_phase(session: Session, phase: Phase, actor: User, now: datetime | None = None, *,
               closes_at: datetime | None | object = KEEP) -> None:
    """Open a draft or closed phase now, by hand, optionally with a new planned closing time (None: by hand)."""
    now = now or utcnow()
    _require_facilitator(session, actor, phase)
    if phase.state == "open":
        raise Conflict(f"“{phase.title}” is already open")
    if closes_at is not KEEP:
        if isinstance(closes_at, datetime) and closes_at <= now:
            raise Invalid("There is a problem", {"closes_at": "The closing time must be in the future"})
        phase.closes_at = closes_at  # type: ignore[assignment]
    if phase.closes_at is not None and phase.closes_at <= now:
        # Reopening by hand overrides a planned closing time that has passed.
        phase.closes_at = None
    if phase.opens_at is None or phase.opens_at > now:
        phase.opens_at = now
    _transition(session, phase, "open", actor, "manual", now)
    audit.record(session, actor, "phase.open", "phase", phase.id)


def close_phase(session: Session, phase: Phase, actor: User, now: datetime | None = None) -> None:
    """Close an open phase now, by hand."""
    now = now or utcnow()
    _require_facilitator(session, actor, phase)
    if phase.state != "open":
        raise Conflict(f"“{phase.title}” is not open, so it cannot be closed")
    phase.closes_at = now
    _transition(session, phase, "closed", actor, "manual", now)
    audit.record(session, actor, "phase.close", "phase", phase.id)


def _require_facilitator(session: Session, actor: User, phase: Phase) -> None:
    """Raise NotAllowed unless the actor may run consultations, and NotFound unless they run this one."""
    from .. import authz

    if actor.role not in ("facilitator", "admin"):
        raise NotAllowed("Only facilitators can open and close phases")
    if not authz.can(actor, phase.consultation_id, "facilitate", session):
        raise NotFound(authz.NOT_FOUND)


@dataclass(frozen=True)
class Eligibility:
    """Whether someone may contribute to a phase now, and if not, why in plain words."""

    allowed: bool
    reason: str = ""
    # The phase is open, but not to the group this person said they are in (they can change it).
    other_group: bool = False


def eligibility(phase: Phase, user: User | None, now: datetime | None = None) -> Eligibility:
    """Decide whether this user may add ideas, comments or votes to the phase."""
    state = scheduled_state(phase, now or utcnow())
    if state == "draft":
        return Eligibility(False, "This phase has not opened yet.")
    if state == "closed":
        return Eligibility(False, "This phase is closed. You can still read everything that was said.")
    if user is None:
        return Eligibility(False, "Log in or create an account to take part.")
    if getattr(user, "email_confirmed_at", True) is None:
        return Eligibility(False, CONFIRM_FIRST)
    audience = phase.audience_categories
    if audience and user.role == "participant":
        category = user.profile.category if user.profile else None
        if category not in audience:
            names = " and ".join(CATEGORY_PLURALS[c] for c in audience)
            return Eligibility(False, f"This phase is for {names}. You can read it, but not add to it.",
                               other_group=True)
    if getattr(phase, "requires_verified_staff", False) and user.role == "participant":
        # Only a staff claim needs checking; other groups in the audience take part as usual.
        profile = user.profile
        if profile is not None and profile.category == "staff" and not profile.claim_verified_via:
            return Eligibility(False, VERIFIED_STAFF_ONLY)
    return Eligibility(True)


def require_contribution_allowed(phase: Phase, user: User | None, now: datetime | None = None) -> None:
    """Raise the right error when the user may not contribute to this phase now."""
    result = eligibility(phase, user, now)
    if result.allowed:
        return
    state = scheduled_state(phase, now or utcnow())
    if state != "open":
        raise Conflict(result.reason)
    raise NotAllowed(result.reason)


def validate_schedule(opens_at: datetime | None, closes_at: datetime | None) -> None:
    """Raise Invalid when the closing time is not after the opening time."""
    if opens_at and closes_at and closes_at <= opens_at:
        raise Invalid("There is a problem", {"closes_at": "The closing time must be after the opening time"})
