"""Deleting a topic, phase or consultation made by mistake: only while nothing depends on it, and audited.

Everything people said is kept, so a thing with any contribution (in any state, online or entered from a
workshop), or one that participants could have seen, is never deleted: the facilitator is told why and what
to do instead. What does go with it (empty topics, audience and staff settings) is listed before they confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import authz
from ..models import (
    AnalysisRun,
    AnomalyFlag,
    AuditEvent,
    Codebook,
    Comment,
    Consultation,
    ConsultationAssignment,
    EqualityQuestionOff,
    HeardPage,
    Idea,
    ModerationCase,
    OfflineEvent,
    Phase,
    PhaseTransition,
    ReferenceShare,
    Topic,
    User,
    utcnow,
)
from . import audit
from .errors import Conflict, NotAllowed
from .phases import scheduled_state
from .text import plural


@dataclass(frozen=True)
class Plan:
    """What deleting a thing would remove, or why it cannot be deleted and what to do instead."""

    kind: str
    title: str
    blockers: list[str] = field(default_factory=list)
    advice: str = ""
    removes: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        """True when nothing stops the deletion."""
        return not self.blockers


def _count(session: Session, model: Any, *where: Any) -> int:
    """How many rows of a model match."""
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _contribution_blockers(session: Session, *, ideas: Any, comments: Any | None) -> list[str]:
    """Ideas and comments in any state (withdrawn, hidden, held, entered on someone's behalf), in words."""
    blockers = []
    n_ideas = _count(session, Idea, ideas)
    if n_ideas:
        blockers.append(f"It has {plural(n_ideas, 'idea')}, counting any that were withdrawn, hidden, waiting for "
                        "a moderator or entered from a workshop, on paper or by phone.")
    n_comments = _count(session, Comment, comments) if comments is not None else 0
    if n_comments:
        blockers.append(f"It has {plural(n_comments, 'comment')}.")
    return blockers


def _record_blockers(session: Session, *, phase_ids: list[int], consultation_id: int | None) -> list[str]:
    """Work recorded against the phases (and consultation): offline sessions, analyses, pages, flags, cases."""
    blockers = []
    checks: list[tuple[Any, Any, str, str]] = [
        (OfflineEvent, OfflineEvent.phase_id.in_(phase_ids), "workshop or offline session", "is recorded"),
        (HeardPage, HeardPage.phase_id.in_(phase_ids), "“What we heard” page", "has been written"),
    ]
    runs = AnalysisRun.phase_id.in_(phase_ids)
    flags = AnomalyFlag.phase_id.in_(phase_ids)
    cases = ModerationCase.phase_id.in_(phase_ids)
    if consultation_id is not None:
        runs = runs | (AnalysisRun.consultation_id == consultation_id)
        flags = flags | (AnomalyFlag.consultation_id == consultation_id)
        cases = cases | (ModerationCase.consultation_id == consultation_id)
        checks.append((Codebook, Codebook.consultation_id == consultation_id, "codebook", "has been started"))
    checks += [(AnalysisRun, runs, "analysis", "has been run"),
               (AnomalyFlag, flags, "unusual activity flag", "is kept"),
               (ModerationCase, cases, "moderation case", "is kept")]
    for model, where, noun, verb in checks:
        count = _count(session, model, where)
        if count:
            many = "analyses" if noun == "analysis" else None
            verb = verb if count == 1 else verb.replace("is ", "are ").replace("has ", "have ")
            blockers.append(f"{plural(count, noun, many)} {verb} for it.")
    return blockers


def _opened(session: Session, phase: Phase, now: datetime) -> str:
    """Why this phase counts as opened, or "" when it never has been."""
    state = scheduled_state(phase, now)
    if state == "open":
        return f"Phase {phase.position}, “{phase.title}”, is open."
    if state == "closed" or _count(session, PhaseTransition, PhaseTransition.phase_id == phase.id):
        return f"Phase {phase.position}, “{phase.title}”, has been open."
    return ""


def topic_plan(session: Session, topic: Topic) -> Plan:
    """Whether a topic can be deleted: only while it has no ideas at all."""
    blockers = _contribution_blockers(session, ideas=Idea.topic_id == topic.id, comments=None)
    return Plan("topic", topic.title, blockers,
                advice="Ideas are never deleted with their topic. You can rename the topic instead, or close "
                       "the phase to stop new ideas." if blockers else "")


def phase_plan(session: Session, phase: Phase, now: datetime | None = None) -> Plan:
    """Whether a phase can be deleted: never opened, nothing posted or recorded in it; its empty topics go too."""
    now = now or utcnow()
    blockers = [why for why in [_opened(session, phase, now)] if why]
    blockers += _contribution_blockers(session, ideas=Idea.phase_id == phase.id, comments=Comment.phase_id == phase.id)
    blockers += _record_blockers(session, phase_ids=[phase.id], consultation_id=None)
    n_topics = _count(session, Topic, Topic.phase_id == phase.id)
    removes = [f"its {plural(n_topics, 'topic')}, which have no ideas"] if n_topics else []
    removes.append("its question, audience and planned times")
    advice = ""
    if blockers:
        advice = ("A phase that has been open, or that holds anything people said, is kept so that what was "
                  "said can still be read and analysed. Close it from the dashboard to stop contributions, or "
                  "rename it.")
    return Plan("phase", phase.title, blockers, advice, removes)


def _ever_published(session: Session, consultation: Consultation) -> bool:
    """Whether the consultation is published now or ever was (the audit log keeps every change)."""
    if consultation.is_published:
        return True
    details = session.scalars(select(AuditEvent.detail).where(
        AuditEvent.target_type == "consultation", AuditEvent.target_id == consultation.id,
        AuditEvent.action.in_(("consultation.create", "consultation.update"))))
    return any(isinstance(d, dict) and d.get("published") is True for d in details)


def consultation_plan(session: Session, consultation: Consultation, now: datetime | None = None) -> Plan:
    """Whether a consultation can be deleted: never published, no phase ever opened, nothing said or recorded."""
    now = now or utcnow()
    phases = list(session.scalars(select(Phase).where(Phase.consultation_id == consultation.id)
                                  .order_by(Phase.position)))
    phase_ids = [p.id for p in phases]
    blockers = []
    if consultation.is_published:
        blockers.append("It is published, so participants can see it.")
    elif _ever_published(session, consultation):
        blockers.append("It has been published, so participants may have seen it or linked to it.")
    blockers += [why for why in (_opened(session, p, now) for p in phases) if why]
    blockers += _contribution_blockers(session, ideas=Idea.phase_id.in_(phase_ids),
                                       comments=Comment.phase_id.in_(phase_ids))
    blockers += _record_blockers(session, phase_ids=phase_ids, consultation_id=consultation.id)
    removes = []
    if phases:
        n_topics = _count(session, Topic, Topic.phase_id.in_(phase_ids))
        removes.append(f"its {plural(len(phases), 'phase')} and {plural(n_topics, 'topic')}, none of which has been "
                       "open or has any ideas")
    staff = _count(session, ConsultationAssignment, ConsultationAssignment.consultation_id == consultation.id)
    if staff:
        removes.append(f"who is assigned to work on it ({plural(staff, 'assignment')})")
    if _count(session, ReferenceShare, ReferenceShare.consultation_id == consultation.id):
        removes.append("the reference population uploaded for its inclusion page")
    if _count(session, EqualityQuestionOff, EqualityQuestionOff.consultation_id == consultation.id):
        removes.append("which questions about people it switched off")
    advice = ""
    if blockers:
        advice = ("A consultation that participants could see, or that holds anything people said, is kept. "
                  "To take it out of view, unpublish it from its details page: then only its staff can see it. "
                  "To stop contributions, close its open phases from the dashboard.")
    return Plan("consultation", consultation.title, blockers, advice, removes)


# ------------------------------------------------------------------------------------------- deleting


def _require(actor: User, consultation_id: int, session: Session) -> None:
    """Only a facilitator assigned to the consultation, or an admin (the same rule as editing)."""
    if actor.role not in ("facilitator", "admin") or not authz.can(actor, consultation_id, "facilitate", session):
        raise NotAllowed("Only the consultation's facilitators can delete its parts")


def _lock(session: Session, model: Any, *where: Any) -> list[Any]:
    """Lock the rows (PostgreSQL) and re-read them, so a post or an opening in between cannot slip past."""
    # SQLite holds the database's write lock for the whole request already (BEGIN IMMEDIATE).
    return list(session.scalars(select(model).where(*where).order_by(model.id).with_for_update()
                                .execution_options(populate_existing=True)))


def _refuse(plan: Plan) -> None:
    """Raise Conflict with the reasons, unless the plan allows deleting."""
    if not plan.allowed:
        raise Conflict(f"“{plan.title}” cannot be deleted. " + " ".join(plan.blockers))


def _close_gap(session: Session, model: Any, parent: Any, parent_id: int, position: int) -> None:
    """Move the later siblings up one place, in order, so positions stay 1, 2, 3 (phases are shown by number)."""
    later = session.scalars(select(model).where(parent == parent_id, model.position > position)
                            .order_by(model.position)).all()
    for item in later:
        item.position -= 1
        session.flush()


def delete_topic(session: Session, actor: User, topic: Topic) -> None:
    """Delete a topic that has no ideas (raises Conflict with the reason otherwise)."""
    consultation_id = topic.phase.consultation_id
    _require(actor, consultation_id, session)
    _lock(session, Topic, Topic.id == topic.id)
    _refuse(topic_plan(session, topic))
    phase_id, position, title = topic.phase_id, topic.position, topic.title
    session.delete(topic)
    session.flush()
    # A phase's topics may have been loaded before this topic was added (the same session): read them afresh.
    session.expire(topic.phase, ["topics"])
    _close_gap(session, Topic, Topic.phase_id, phase_id, position)
    audit.record(session, actor, "topic.delete", "topic", topic.id, title=title, phase_id=phase_id,
                 consultation_id=consultation_id)


def delete_phase(session: Session, actor: User, phase: Phase, now: datetime | None = None) -> int:
    """Delete a phase that never opened and holds nothing, with its empty topics; returns how many topics went."""
    _require(actor, phase.consultation_id, session)
    _lock(session, Phase, Phase.id == phase.id)
    topics = len(_lock(session, Topic, Topic.phase_id == phase.id))
    _refuse(phase_plan(session, phase, now))
    consultation = phase.consultation
    detail = {"title": phase.title, "consultation_id": phase.consultation_id, "position": phase.position,
              "topics_deleted": topics}
    session.delete(phase)
    session.flush()
    session.expire(consultation, ["phases"])
    _close_gap(session, Phase, Phase.consultation_id, consultation.id, detail["position"])
    audit.record(session, actor, "phase.delete", "phase", phase.id, **detail)
    return topics


def delete_consultation(session: Session, actor: User, consultation: Consultation,
                        now: datetime | None = None) -> None:
    """Delete a consultation that was never published and holds nothing, with its empty phases and topics."""
    _require(actor, consultation.id, session)
    _lock(session, Consultation, Consultation.id == consultation.id)
    phases = _lock(session, Phase, Phase.consultation_id == consultation.id)
    _refuse(consultation_plan(session, consultation, now))
    detail = {"title": consultation.title, "slug": consultation.slug, "phases_deleted": len(phases),
              "topics_deleted": _count(session, Topic, Topic.phase_id.in_([p.id for p in phases]))}
    session.delete(consultation)
    session.flush()
    audit.record(session, actor, "consultation.delete", "consultation", consultation.id, **detail)


def already_deleted(session: Session, actor: User, kind: str, item_id: int) -> dict[str, Any] | None:
    """The audit detail of this person's (or a colleague's) deletion of this thing, if it was deleted.

    Lets a second click, or an old link, say "already deleted" instead of a bare "page not found"; only to
    someone who runs the consultation it belonged to, so nobody else learns that it existed.
    """
    row = session.execute(select(AuditEvent.detail, AuditEvent.actor_id).where(
        AuditEvent.action == f"{kind}.delete", AuditEvent.target_type == kind, AuditEvent.target_id == item_id)
        .order_by(AuditEvent.id.desc()).limit(1)).first()
    if row is None or not isinstance(row.detail, dict):
        return None
    if kind == "consultation":
        # Its staff assignments went with it: only the person who deleted it (or an admin) is told.
        return row.detail if actor.role == "admin" or row.actor_id == actor.id else None
    consultation_id = row.detail.get("consultation_id")
    if not isinstance(consultation_id, int) or not authz.can(actor, consultation_id, "facilitate", session):
        return None
    return row.detail

