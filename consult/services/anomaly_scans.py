"""Looking for unusual activity in the background: the worker looks in each active consultation every few minutes
(and soon after a facilitator asks), records new flags and when it looked; the page only reads what was recorded.

Each consultation has one ``AnomalyScan`` row, shared by every app server and worker: when it was last looked at,
whether a look was asked for, whether one is under way, and a marker of what it held then, so a consultation
with nothing new is skipped with one cheap read. Workers write a heartbeat, so a page can tell "waiting for the
worker" from "no worker is running".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import AnomalyScan, Comment, Idea, Phase, User, VoteEvent, WorkerBeat, utcnow
from . import anomalies, audit

# A worker writes its heartbeat this often, and is taken to be gone when none has been written for ALIVE_WITHIN.
BEAT_EVERY = timedelta(seconds=60)
ALIVE_WITHIN = timedelta(minutes=3)
# A look under way for longer than this is taken to have died with its worker, and may be started again.
STUCK_AFTER = timedelta(minutes=15)
# Consultations whose last phase closed this recently are still looked at (late votes, late posts).
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class ScanStatus:
    """What the unusual-activity page says about looking: when, whether a look is waiting or under way."""

    looked_at: datetime | None
    raised: int  # new flags the last look raised
    requested_at: datetime | None
    started_at: datetime | None  # None unless a look is under way now
    worker: bool  # a background worker has been seen lately


def marker(session: Session, consultation_id: int) -> str:
    """What the consultation holds now, in one read: its newest vote, idea and comment (unchanged: nothing new)."""
    phases = select(Phase.id).where(Phase.consultation_id == consultation_id)
    ideas = select(Idea.id).where(Idea.phase_id.in_(phases))
    comments = select(Comment.id).where(Comment.phase_id.in_(phases))
    row = session.execute(select(
        select(func.max(VoteEvent.id)).where(VoteEvent.idea_id.in_(ideas)).scalar_subquery(),
        select(func.max(VoteEvent.id)).where(VoteEvent.comment_id.in_(comments)).scalar_subquery(),
        select(func.max(Idea.id)).where(Idea.phase_id.in_(phases)).scalar_subquery(),
        select(func.max(Comment.id)).where(Comment.phase_id.in_(phases)).scalar_subquery(),
    )).one()
    return ":".join(str(value or 0) for value in row)


def _row(session: Session, consultation_id: int) -> AnomalyScan:
    """The consultation's scan row, added when it has none yet."""
    row = session.get(AnomalyScan, consultation_id)
    if row is None:
        row = AnomalyScan(consultation_id=consultation_id, raised=0)
        session.add(row)
    return row


def status(session: Session, consultation_id: int, *, now: datetime | None = None) -> ScanStatus:
    """When the consultation was last looked at, and whether a look is waiting or under way (two reads)."""
    now = now or utcnow()
    row = session.get(AnomalyScan, consultation_id)
    started = row.started_at if row and row.started_at and row.started_at > now - STUCK_AFTER else None
    return ScanStatus(looked_at=row.looked_at if row else None, raised=row.raised if row else 0,
                      requested_at=row.requested_at if row else None, started_at=started,
                      worker=worker_seen(session, now=now))


def request_look(session: Session, actor: User, consultation_id: int, *, now: datetime | None = None) -> bool:
    """Ask the worker to look soon (audited); False when a look was already waiting, so a double click asks once."""
    row = session.get(AnomalyScan, consultation_id)
    if row is None:
        try:
            with session.begin_nested():
                row = AnomalyScan(consultation_id=consultation_id, raised=0)
                session.add(row)
        except IntegrityError:  # a colleague's click on another server added it a moment ago: theirs is waiting
            return False
    if row.requested_at is not None:
        return False
    row.requested_at = now or utcnow()
    audit.record(session, actor, "anomaly.look", "consultation", consultation_id)
    session.flush()
    return True


def requested(session: Session) -> list[int]:
    """Consultations a facilitator asked to be looked at (the worker's frequent, cheap read)."""
    return list(session.scalars(select(AnomalyScan.consultation_id).where(AnomalyScan.requested_at.is_not(None))
                                .order_by(AnomalyScan.requested_at)))


def due(session: Session, *, every: timedelta, now: datetime | None = None) -> list[int]:
    """Consultations worth a periodic look: an open phase, or a phase that closed lately, and not looked at by
    any worker within ``every`` (each web process runs its own worker: without this, every process swept)."""
    now = now or utcnow()
    looked = select(AnomalyScan.consultation_id).where(AnomalyScan.looked_at >= now - every)
    return list(session.scalars(
        select(Phase.consultation_id).where(or_(Phase.state == "open", Phase.closes_at >= now - RECENT),
                                            Phase.consultation_id.not_in(looked))
        .distinct().order_by(Phase.consultation_id)))


def unchanged(session: Session, consultation_id: int, current: str) -> bool:
    """True when the last look saw exactly this and none is asked for or under way: no need to look again."""
    row = session.get(AnomalyScan, consultation_id)
    return (row is not None and row.marker == current and row.requested_at is None and row.started_at is None
            and row.looked_at is not None)


def touch(session: Session, consultation_ids: list[int], *, now: datetime | None = None) -> None:
    """Record that these unchanged consultations were looked at (nothing new to read, so nothing new found)."""
    if consultation_ids:
        session.execute(update(AnomalyScan).where(AnomalyScan.consultation_id.in_(consultation_ids))
                        .values(looked_at=now or utcnow(), raised=0))


def claim(session: Session, consultation_id: int, *, now: datetime | None = None) -> bool:
    """Mark a look as under way; False when another worker is looking at this consultation already."""
    now = now or utcnow()
    if session.get(AnomalyScan, consultation_id) is None:
        try:
            with session.begin_nested():
                session.add(AnomalyScan(consultation_id=consultation_id, raised=0))
        except IntegrityError:
            pass  # another worker added it first; the update below decides who looks
    taken = session.execute(
        update(AnomalyScan).where(AnomalyScan.consultation_id == consultation_id,
                                  or_(AnomalyScan.started_at.is_(None), AnomalyScan.started_at < now - STUCK_AFTER))
        .values(started_at=now))
    return taken.rowcount == 1


def release(session: Session, consultation_id: int) -> None:
    """Give up a look that failed, so the next tick may try again."""
    session.execute(update(AnomalyScan).where(AnomalyScan.consultation_id == consultation_id)
                    .values(started_at=None))


def finish(session: Session, consultation_id: int, found: list[dict[str, Any]], *, started: datetime,
           current: str) -> int:
    """Raise the new flags a look found and record when it looked; how many flags were new.

    A request made before the look started is answered by it; one made while it ran waits for the next look.
    """
    raised = anomalies.record(session, consultation_id, found)
    row = _row(session, consultation_id)
    row.looked_at, row.started_at, row.marker, row.raised = utcnow(), None, current, raised
    if row.requested_at is not None and row.requested_at <= started:
        row.requested_at = None
    session.flush()
    return raised


def look(session: Session, consultation_id: int) -> int:
    """Look in one consultation now, in one session, and record it (tests, commands); how many flags were new."""
    started = utcnow()
    current = marker(session, consultation_id)
    return finish(session, consultation_id, anomalies.find(session, consultation_id), started=started,
                  current=current)


def beat(session: Session, owner: str, *, now: datetime | None = None) -> None:
    """Record that this worker is alive, and forget workers not seen for a day."""
    now = now or utcnow()
    row = session.get(WorkerBeat, owner[:120])
    if row is None:
        session.add(WorkerBeat(owner=owner[:120], seen_at=now))
    else:
        row.seen_at = now
    session.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now - timedelta(days=1)))
    session.flush()


def worker_seen(session: Session, *, now: datetime | None = None) -> bool:
    """True when a background worker has written its heartbeat lately."""
    now = now or utcnow()
    return session.scalar(select(func.count()).select_from(WorkerBeat)
                          .where(WorkerBeat.seen_at >= now - ALIVE_WITHIN)) > 0


def ago(then: datetime, now: datetime | None = None) -> str:
    """How long ago, in words: "just now", "4 minutes ago", "2 hours ago", "3 days ago"."""
    seconds = max(0, int(((now or utcnow()) - then).total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
