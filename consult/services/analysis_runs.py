"""Analyses of a consultation: export to plain records, a queue in the database, and the job that runs it.

The heavy work runs in a separate process (consult.analysis_job), so web requests never wait on it and a
restart loses nothing: a queued run is picked up by the next worker, and a running run whose heartbeat
stops is queued again.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select, union_all, update
from sqlalchemy.orm import Session

from analysis.records import Contribution as RecordContribution
from analysis.records import Dataset
from analysis.records import Impression as RecordImpression
from analysis.records import Vote as RecordVote

from ..models import (
    AnalysisRun,
    Comment,
    Consultation,
    Idea,
    Impression,
    Phase,
    Topic,
    User,
    VoteEvent,
    utcnow,
)
from . import anomalies, audit
from .errors import Conflict, Invalid, NotAllowed, NotFound
from .phase_names import engine_key

# A running analysis that has not reported for this long is taken to have died with its worker.
STALE_AFTER = timedelta(minutes=2)
# How many times a run may be started before it is failed with the reason.
MAX_ATTEMPTS = 3
# Rows fetched at a time when reading a consultation's votes and impressions.
STREAM_BATCH = 5000
K_MIN, K_MAX = 2, 40


def pseudonym(key: str, consultation_id: int, user_id: int) -> str:
    """A stable pseudonym for a person within one consultation only (HMAC), never reversible to the account."""
    digest = hmac.new(key.encode(), f"{consultation_id}:{user_id}".encode(), hashlib.sha256).hexdigest()
    return "p" + digest[:16]


def _aware(moment: datetime) -> datetime:
    """Stored naive UTC as an aware datetime for the analysis records."""
    return moment.replace(tzinfo=UTC)


def build_dataset(session: Session, consultation: Consultation, phase: Phase | None, key: str) -> Dataset:
    """Published ideas and comments, vote events and impressions of a consultation (or one phase), pseudonymised."""
    phases = {p.id: p for p in consultation.phases if phase is None or p.id == phase.id}
    topics = {t.id: t.title for t in session.scalars(select(Topic).where(Topic.phase_id.in_(list(phases))))}

    def who(user_id: int | None, fallback: str) -> str:
        return pseudonym(key, consultation.id, user_id) if user_id is not None else fallback

    contributions: list[RecordContribution] = []
    idea_rows = session.execute(
        select(Idea.id, Idea.title, Idea.body, Idea.phase_id, Idea.topic_id, Idea.visible_from, Idea.created_at,
               Idea.author_id, Idea.author_category, Idea.author_profession, Idea.author_claim_verified, Idea.channel)
        .where(Idea.phase_id.in_(list(phases)), Idea.moderation_state == "published")
    )
    idea_topic: dict[int, int] = {}
    for row in idea_rows:
        idea_topic[row.id] = row.topic_id
        p = phases[row.phase_id]
        contributions.append(RecordContribution(
            id=f"i{row.id}", kind="idea", parent=None, text=f"{row.title}\n{row.body}",
            phase=engine_key(p), topic=topics.get(row.topic_id, ""), question=p.question,
            visible_from=_aware(row.visible_from or row.created_at),
            author=who(row.author_id, f"{row.channel}-i{row.id}"), author_role=row.author_category or "unknown",
            groups=_groups(row.author_category, row.author_profession, row.channel, row.author_claim_verified),
        ))
    comment_rows = session.execute(
        select(Comment.id, Comment.idea_id, Comment.body, Comment.phase_id, Comment.visible_from, Comment.created_at,
               Comment.author_id, Comment.author_category, Comment.author_profession, Comment.author_claim_verified,
               Comment.channel)
        .where(Comment.phase_id.in_(list(phases)), Comment.moderation_state == "published")
    )
    for row in comment_rows:
        if row.idea_id not in idea_topic:
            continue  # the idea itself is not published
        p = phases[row.phase_id]
        contributions.append(RecordContribution(
            id=f"c{row.id}", kind="comment", parent=f"i{row.idea_id}", text=row.body,
            phase=engine_key(p), topic=topics.get(idea_topic[row.idea_id], ""), question=p.question,
            visible_from=_aware(row.visible_from or row.created_at),
            author=who(row.author_id, f"{row.channel}-c{row.id}"), author_role=row.author_category or "unknown",
            groups=_groups(row.author_category, row.author_profession, row.channel, row.author_claim_verified),
        ))
    known = {c.id for c in contributions}
    # Votes a facilitator excluded after an anomaly flag are left out, and counted in meta.
    excluded = anomalies.excluded_votes(session)
    dropped: set[tuple[int, str]] = set()
    votes: list[RecordVote] = []
    voters: dict[str, dict[str, str]] = {}
    vote_columns = (VoteEvent.id, VoteEvent.voter_id, VoteEvent.idea_id, VoteEvent.comment_id, VoteEvent.value,
                    VoteEvent.at, VoteEvent.voter_category, VoteEvent.voter_profession, VoteEvent.voter_claim_verified)
    for row in _stream(session, _scoped(select(*vote_columns), VoteEvent, list(phases))):
        item = f"i{row.idea_id}" if row.idea_id is not None else f"c{row.comment_id}"
        if item not in known or row.voter_id is None:
            continue
        if (row.voter_id, item) in excluded:
            dropped.add((row.voter_id, item))
            continue
        voter = who(row.voter_id, "")
        votes.append(RecordVote(item=item, voter=voter, value=row.value, at=_aware(row.at)))
        voters[voter] = _groups(row.voter_category, row.voter_profession, None, row.voter_claim_verified)
    impression_columns = (Impression.id, Impression.viewer_id, Impression.idea_id, Impression.comment_id,
                          Impression.first_seen)
    impressions = [
        RecordImpression(item=f"i{row.idea_id}" if row.idea_id is not None else f"c{row.comment_id}",
                         viewer=who(row.viewer_id, ""), first_seen=_aware(row.first_seen))
        for row in _stream(session, _scoped(select(*impression_columns), Impression, list(phases)))
        if (f"i{row.idea_id}" if row.idea_id is not None else f"c{row.comment_id}") in known
    ]
    name = consultation.title + (f" – phase {phase.position}: {phase.title}" if phase else "")
    return Dataset(contributions=contributions, votes=votes, impressions=impressions,
                   meta={"name": name, "voters": voters, "excluded_votes": len(dropped)})


def _scoped(query: Select[Any], table: Any, phase_ids: list[int]) -> Select[Any]:
    """Rows of a vote-event or impression table about this scope's published ideas and comments only.

    Two indexed lookups (through the idea or comment's phase) joined by UNION ALL, so the database reads
    only this consultation's rows instead of every event it holds.
    """
    on_ideas = query.join(Idea, table.idea_id == Idea.id).where(Idea.phase_id.in_(phase_ids),
                                                                Idea.moderation_state == "published")
    on_comments = query.join(Comment, table.comment_id == Comment.id).where(Comment.phase_id.in_(phase_ids),
                                                                            Comment.moderation_state == "published")
    both = union_all(on_ideas, on_comments).subquery()
    return select(*both.c).order_by(both.c.id)  # in the order they happened


def _stream(session: Session, query: Select[Any]) -> Any:
    """Iterate over a large result in batches (a server-side cursor on PostgreSQL) instead of loading it all."""
    return session.execute(query.execution_options(yield_per=STREAM_BATCH))


def _groups(category: str | None, profession: str | None, channel: str | None,
            verified: bool | None = None) -> dict[str, str]:
    """Declared group values of a contribution or vote, without empty ones."""
    groups = {"category": category or "unknown"}
    if category in ("staff", "student") and verified is not None:
        # Staff and student claims checked by a work address or a facilitator, apart from self-declared ones:
        # as stamped when posted or voted, so a claim changed since does not rewrite what was said under it.
        groups["claim"] = "verified" if verified else "self-declared"
    if profession:
        groups["profession"] = profession
    if channel:
        groups["channel"] = channel
    return groups


def busy_run(session: Session, consultation: Consultation, phase: Phase | None) -> int | None:
    """The run of this consultation (or phase) already waiting or running, if any."""
    same_scope = AnalysisRun.phase_id.is_(None) if phase is None else AnalysisRun.phase_id == phase.id
    return session.scalar(select(AnalysisRun.id).where(AnalysisRun.consultation_id == consultation.id, same_scope,
                                                       AnalysisRun.state.in_(("queued", "running"))))


def request_run(session: Session, actor: User, consultation: Consultation, phase: Phase | None,
                k: int | None = None) -> AnalysisRun:
    """Queue an analysis; refuses a second one of the same scope while one is waiting or running."""
    if actor.role not in ("analyst", "admin"):
        raise NotAllowed("Only analysts can run analyses")
    from .. import authz

    if not authz.can(actor, consultation.id, "analyse", session):
        raise NotFound(authz.NOT_FOUND)
    if k is not None and not K_MIN <= k <= K_MAX:
        message = f"Number of themes must be between {K_MIN} and {K_MAX}, or left blank"
        raise Invalid("There is a problem", {"k": message})
    if busy_run(session, consultation, phase) is not None:
        raise Conflict("An analysis of this is already waiting or running; its page shows its progress.")
    run = AnalysisRun(consultation_id=consultation.id, phase_id=phase.id if phase else None, requested_by_id=actor.id,
                      params={"k": k}, state="queued", progress=0.0, message="Waiting to start")
    session.add(run)
    session.flush()
    audit.record(session, actor, "analysis.request", "analysis_run", run.id, consultation_id=consultation.id,
                 phase_id=run.phase_id, k=k)
    return run


def _lease_lapsed(now: datetime) -> Any:
    """Running runs whose worker stopped renewing its lease (or, for old rows, stopped its heartbeat)."""
    return and_(AnalysisRun.state == "running", or_(
        AnalysisRun.lease_expires_at < now,
        and_(AnalysisRun.lease_expires_at.is_(None), AnalysisRun.heartbeat_at < now - STALE_AFTER)))


def has_work(session: Session, now: datetime | None = None) -> bool:
    """A cheap read (no write lock): is a run queued, or has a running run's lease lapsed?"""
    now = now or utcnow()
    found = session.scalar(select(AnalysisRun.id).where(or_(AnalysisRun.state == "queued", _lease_lapsed(now)))
                           .limit(1))
    session.rollback()
    return found is not None


def claim_next(session: Session, now: datetime | None = None, *, owner: str = "worker",
               lease: timedelta = STALE_AFTER, max_attempts: int = MAX_ATTEMPTS) -> int | None:
    """Take the oldest queued run for this worker under a lease; None when there is none.

    Runs whose lease lapsed (their worker died) are queued again, or failed with the reason once they have
    been started max_attempts times, so a run that kills its process every time does not loop forever.
    """
    now = now or utcnow()
    session.execute(
        update(AnalysisRun).where(_lease_lapsed(now), AnalysisRun.attempts >= max_attempts)
        .values(state="failed", finished_at=now, worker=None, lease_expires_at=None, message="Failed",
                error=gave_up_reason(max_attempts, "its worker stopped while it was running")),
    )
    session.execute(
        update(AnalysisRun).where(_lease_lapsed(now))
        .values(state="queued", worker=None, lease_expires_at=None, message="Restarting after an interruption")
    )
    candidate = session.scalar(select(AnalysisRun.id).where(AnalysisRun.state == "queued")
                               .order_by(AnalysisRun.created_at, AnalysisRun.id).limit(1))
    if candidate is None:
        session.commit()
        return None
    claimed = session.execute(
        update(AnalysisRun).where(AnalysisRun.id == candidate, AnalysisRun.state == "queued")
        .values(state="running", started_at=now, heartbeat_at=now, progress=0.0, message="Starting",
                worker=owner[:120], lease_expires_at=now + lease, attempts=AnalysisRun.attempts + 1)
    ).rowcount
    session.commit()
    return candidate if claimed == 1 else None


def gave_up_reason(attempts: int, what: str) -> str:
    """The failure message of a run that was interrupted on every attempt."""
    return (f"The analysis was started {attempts} times and {what} each time, so it was stopped. This usually "
            "means it needs more memory than the worker allows; ask an administrator, or analyse one phase.")


def renew_lease(session: Session, run_id: int, owner: str, lease: timedelta = STALE_AFTER) -> bool:
    """Extend this worker's lease on a running run; False when the run is no longer this worker's."""
    now = utcnow()
    renewed = session.execute(
        update(AnalysisRun).where(AnalysisRun.id == run_id, AnalysisRun.state == "running",
                                  AnalysisRun.worker == owner)
        .values(lease_expires_at=now + lease, heartbeat_at=now)
    ).rowcount
    session.commit()
    return renewed == 1


def interrupted(session: Session, run_id: int, owner: str, reason: str, *, retry: bool,
                max_attempts: int = MAX_ATTEMPTS, refund: bool = False) -> str | None:
    """A run's process ended without recording a result: queue it again or fail it; the new state, or None.

    refund: the interruption was ours (a worker shutting down), so the attempt does not count.
    """
    run = session.scalar(select(AnalysisRun).where(AnalysisRun.id == run_id, AnalysisRun.state == "running",
                                                   AnalysisRun.worker == owner))
    if run is None:
        session.rollback()
        return None  # finished after all, or another worker holds it now
    if refund:
        run.attempts = max(0, run.attempts - 1)
    if retry and run.attempts < max_attempts:
        run.state, run.message = "queued", f"Restarting after an interruption ({reason})"[:200]
    else:
        run.state, run.message, run.finished_at = "failed", "Failed", utcnow()
        run.error = gave_up_reason(run.attempts, reason) if retry else reason[:2000]
    run.worker, run.lease_expires_at = None, None
    session.commit()
    return run.state


def progress_reporter(session_factory: Callable[[], Any], run_id: int, *, every: float = 0.5
                      ) -> Callable[[float, str], None]:
    """A progress callback that writes the run's progress, at most every `every` seconds."""
    last = {"at": 0.0}

    def report(fraction: float, message: str) -> None:
        import time

        now = time.monotonic()
        if now - last["at"] < every and fraction < 1.0:
            return
        last["at"] = now
        with session_factory() as session:
            session.execute(update(AnalysisRun).where(AnalysisRun.id == run_id).values(
                progress=max(0.0, min(1.0, fraction)), message=message[:200], heartbeat_at=utcnow()))
            session.commit()

    return report


def finish(session: Session, run_id: int, result: dict[str, Any] | None, error: str | None = None,
           owner: str | None = None) -> None:
    """Store the result (or the error) and mark the run done (or failed); only the lease holder may, if given."""
    mine = [AnalysisRun.worker == owner] if owner else []
    session.execute(update(AnalysisRun).where(AnalysisRun.id == run_id, *mine).values(
        state="failed" if error else "done", result=result, error=error[:2000] if error else None,
        progress=1.0 if not error else AnalysisRun.progress,
        message="Failed" if error else "Finished", finished_at=utcnow(), heartbeat_at=utcnow(),
        worker=None, lease_expires_at=None))
    session.commit()
