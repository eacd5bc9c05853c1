"""Equality monitoring answers, inclusion settings, and contributions gathered offline.

Equality answers live in their own table keyed by ``respondent_key``, an HMAC of the account id under a
server-side key: there is no foreign key to the account and no column shared with ideas, comments or votes,
so no query can join an answer to a contribution without the key, and only consult/services/equality.py
computes it (to count aggregates and to let a person see, change or delete their own answers).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow

if TYPE_CHECKING:
    from .consultations import Phase

PREFER_NOT = "prefer_not_to_say"


class EqualityResponse(Base):
    """One person's equality monitoring answers; every column optional, "prefer_not_to_say" allowed."""

    __tablename__ = "equality_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Explicit consent to hold special-category answers (ethnicity, disability, sexual orientation, religion).
    consent_special: Mapped[bool] = mapped_column(Boolean, default=False)
    age_band: Mapped[str | None] = mapped_column(String(24))
    sex: Mapped[str | None] = mapped_column(String(24))
    gender_same: Mapped[str | None] = mapped_column(String(24))
    ethnic_group: Mapped[str | None] = mapped_column(String(32))
    disability: Mapped[str | None] = mapped_column(String(24))
    sexual_orientation: Mapped[str | None] = mapped_column(String(24))
    religion: Mapped[str | None] = mapped_column(String(24))
    unpaid_carer: Mapped[str | None] = mapped_column(String(24))
    postcode_district: Mapped[str | None] = mapped_column(String(24))
    region: Mapped[str | None] = mapped_column(String(32))
    profession: Mapped[str | None] = mapped_column(String(40))
    pay_band: Mapped[str | None] = mapped_column(String(24))
    # A date, not a time: a timestamp could be matched with an account's creation time.
    updated_on: Mapped[date] = mapped_column(Date, default=lambda: utcnow().date())


class EqualityQuestionOff(Base):
    """A question a facilitator has switched off for one consultation."""

    __tablename__ = "equality_question_off"
    __table_args__ = (UniqueConstraint("consultation_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(32))


class ReferenceShare(Base):
    """A facilitator's replacement reference population for one dimension of one consultation."""

    __tablename__ = "reference_share"
    __table_args__ = (
        UniqueConstraint("consultation_id", "dimension", "category"),
        Index("ix_reference_share_consultation", "consultation_id", "dimension"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    dimension: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(300))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class OfflineSettings(Base):
    """How long after a phase closes facilitators may still enter what was gathered offline."""

    __tablename__ = "offline_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"), unique=True)
    deadline: Mapped[datetime | None]


class OfflineEvent(Base):
    """A workshop, paper round or phone session, with the group's aggregate profile (never individuals)."""

    __tablename__ = "offline_event"
    __table_args__ = (UniqueConstraint("phase_id", "channel", "name", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(150))
    held_on: Mapped[date] = mapped_column(Date)
    people: Mapped[int | None] = mapped_column(Integer)
    profile: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    phase: Mapped[Phase] = relationship()


class OfflineContribution(Base):
    """Links an idea to the offline event it came from; the fingerprint stops a re-upload adding it twice."""

    __tablename__ = "offline_contribution"
    __table_args__ = (UniqueConstraint("phase_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("offline_event.id", ondelete="CASCADE"), index=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
