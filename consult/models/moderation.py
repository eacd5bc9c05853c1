"""Moderation: reports, the moderation queue's cases, kept originals, network keys, anomaly flags and when the
worker last looked for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import NEVER_REUSED_IDS, Base, sql_in, utcnow

# Why a participant reports something (keys are stored; labels live in services/moderation.py).
REPORT_REASONS = ("personal", "abusive", "spam", "off_topic", "safeguarding", "other")
# Why a case is in the queue: a report reason, an automatic hold or pre-moderation.
CASE_REASONS = REPORT_REASONS + ("email", "phone", "nhs_number", "postcode", "named_person", "abuse",
                                 "self_harm", "abuse_disclosure", "patient_safety", "premoderation")
CASE_STATUSES = ("open", "closed")
ANOMALY_KINDS = ("vote_burst", "post_burst", "duplicate_text")
ANOMALY_STATUSES = ("open", "excluded", "dismissed")

_ONE_TARGET = "(idea_id IS NULL AND comment_id IS NOT NULL) OR (idea_id IS NOT NULL AND comment_id IS NULL)"


class Report(Base):
    """One participant's report of one idea or comment (one per person per item)."""

    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint(f"reason IN ({sql_in(REPORT_REASONS)})", name="reason"),
        CheckConstraint(_ONE_TARGET, name="one_target"),
        UniqueConstraint("reporter_id", "idea_id"),
        UniqueConstraint("reporter_id", "comment_id"),
        Index("ix_report_idea", "idea_id"),
        Index("ix_report_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModerationCase(Base):
    """A contribution waiting for (or given) a moderator's decision; one per contribution."""

    __tablename__ = "moderation_case"
    __table_args__ = (
        CheckConstraint(f"reason IN ({sql_in(CASE_REASONS)})", name="reason"),
        CheckConstraint(f"status IN ({sql_in(CASE_STATUSES)})", name="status"),
        CheckConstraint(_ONE_TARGET, name="one_target"),
        UniqueConstraint("idea_id"),
        UniqueConstraint("comment_id"),
        Index("ix_moderation_case_queue", "consultation_id", "restricted", "status", "updated_at"),
        Index("ix_moderation_case_phase", "phase_id"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    # The first reason it came to the queue, and every reason since (automatic checks and reports).
    reason: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    report_count: Mapped[int] = mapped_column(default=0)
    # Safeguarding cases are seen only by the consultation's safeguarding leads (and admins).
    restricted: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decision: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContributionRevision(Base):
    """The text of a contribution before a moderator edited personal details out (admins only, never public)."""

    __tablename__ = "contribution_revision"
    __table_args__ = (
        CheckConstraint(_ONE_TARGET, name="one_target"),
        Index("ix_contribution_revision_idea", "idea_id"),
        Index("ix_contribution_revision_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # "redact" (a moderator) or "author" (the author's own edit of a published post).
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str | None] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NetworkSighting(Base):
    """A coarse, non-identifying network key (an HMAC of the /24 or /48) an account posted or voted from."""

    __tablename__ = "network_sighting"
    __table_args__ = (
        UniqueConstraint("user_id", "network_key"),
        Index("ix_network_sighting_key", "network_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    network_key: Mapped[str] = mapped_column(String(32))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


class AnomalyFlag(Base):
    """A pattern flagged to facilitators: a burst of votes or posts, or near-identical texts from many accounts."""

    __tablename__ = "anomaly_flag"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(ANOMALY_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({sql_in(ANOMALY_STATUSES)})", name="status"),
        UniqueConstraint("consultation_id", "signature"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    phase_id: Mapped[int | None] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    # What was found, so a second scan does not flag it twice.
    signature: Mapped[str] = mapped_column(String(64))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    # Counts for the page, and the account and item ids involved (internal, never shown).
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="open")
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoteExclusion(Base):
    """One voter's vote on one item left out of the analysis, because a facilitator excluded a flagged burst."""

    __tablename__ = "vote_exclusion"
    __table_args__ = (
        CheckConstraint(_ONE_TARGET, name="one_target"),
        UniqueConstraint("voter_id", "idea_id"),
        UniqueConstraint("voter_id", "comment_id"),
        Index("ix_vote_exclusion_flag", "flag_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("anomaly_flag.id", ondelete="CASCADE"))
    voter_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnomalyScan(Base):
    """When the worker last looked for unusual activity in a consultation, and whether a facilitator asked it to
    look again (one row per consultation, shared by every app server and worker)."""

    __tablename__ = "anomaly_scan"

    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"),
                                                 primary_key=True)
    # When the last look finished (a look that found nothing new to read counts: it did look).
    looked_at: Mapped[datetime | None]
    # A facilitator asked for a look; cleared by the first look that starts after it.
    requested_at: Mapped[datetime | None]
    # A worker is looking now (a look stuck for long is taken to have died with its worker).
    started_at: Mapped[datetime | None]
    # What the consultation held at the last look (its newest vote, idea and comment), so an unchanged one is skipped.
    marker: Mapped[str | None] = mapped_column(String(100))
    # How many new flags the last look raised.
    raised: Mapped[int] = mapped_column(default=0)


class WorkerBeat(Base):
    """A background worker saying it is alive, so pages can tell waiting from no worker at all."""

    __tablename__ = "worker_beat"

    owner: Mapped[str] = mapped_column(String(120), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
