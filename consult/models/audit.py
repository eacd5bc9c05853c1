"""The append-only audit log of privileged actions, and stored analysis runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, sql_in, utcnow

RUN_STATES = ("queued", "running", "done", "failed")


class AuditEvent(Base):
    """One privileged action: who did what to which record, and when. Rows are never updated."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_at", "at"),
        # The log narrowed to one person's actions, or to one record's history (an account's page shows both).
        Index("ix_audit_event_actor_at", "actor_id", "at"),
        Index("ix_audit_event_target_at", "target_type", "target_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalysisRun(Base):
    """An analysis of a consultation or one phase: queued, running with progress, done or failed."""

    __tablename__ = "analysis_run"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_in(RUN_STATES)})", name="state"),
        Index("ix_analysis_run_consultation", "consultation_id", "created_at"),
        # The workers' poll: "is anything queued, or is a lease out of date?" reads only this index.
        Index("ix_analysis_run_state", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(String(200), default="Waiting to start")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Refreshed while running; a stale heartbeat means the worker died and the run can be retried.
    heartbeat_at: Mapped[datetime | None]
    # The lease: which worker ("host:pid:random") holds the run, until when unless it renews, and how many
    # times it has been started (a run that keeps killing its process fails instead of retrying forever).
    worker: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
