"""Consultations, their ordered phases (with audience, schedule and state history) and topics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import CATEGORIES
from .base import NEVER_REUSED_IDS, Base, sql_in, utcnow

PHASE_STATES = ("draft", "open", "closed")
# What a person may be assigned to do on one consultation (consult/authz.py reads these).
ASSIGNMENT_ROLES = ("facilitator", "moderator", "analyst", "safeguarding")
TRANSITION_REASONS = ("manual", "schedule")


class Consultation(Base):
    """A public body's consultation: a sequence of phased conversations."""

    __tablename__ = "consultation"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Unpublished consultations are seen only by staff while they are set up.
    is_published: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    phases: Mapped[list[Phase]] = relationship(
        back_populates="consultation", order_by="Phase.position", cascade="all, delete-orphan"
    )


class Phase(Base):
    """One conversation of a consultation: a question, an audience, a schedule and a state."""

    __tablename__ = "phase"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_in(PHASE_STATES)})", name="state"),
        UniqueConstraint("consultation_id", "position"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="draft")
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    # Pre-moderated phases hold every new post until a moderator approves it.
    premoderated: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Staff-only phases can insist the staff claim was verified (work email or a facilitator), not just declared.
    requires_verified_staff: Mapped[bool] = mapped_column(default=False, server_default=false())

    consultation: Mapped[Consultation] = relationship(back_populates="phases")
    topics: Mapped[list[Topic]] = relationship(
        back_populates="phase", order_by="Topic.position", cascade="all, delete-orphan"
    )
    audience: Mapped[list[PhaseAudience]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    transitions: Mapped[list[PhaseTransition]] = relationship(
        order_by="PhaseTransition.at", cascade="all, delete-orphan"
    )

    @property
    def audience_categories(self) -> list[str]:
        """The participant categories who may contribute; empty means everyone."""
        return sorted(a.category for a in self.audience)


class PhaseAudience(Base):
    """A participant category allowed to contribute to a phase (no rows: everyone may)."""

    __tablename__ = "phase_audience"
    __table_args__ = (
        CheckConstraint(f"category IN ({sql_in(CATEGORIES)})", name="category"),
        UniqueConstraint("phase_id", "category"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(20))


class PhaseTransition(Base):
    """A recorded change of a phase's state: who (or the schedule), when, from and to."""

    __tablename__ = "phase_transition"
    __table_args__ = (
        CheckConstraint(f"from_state IN ({sql_in(PHASE_STATES)})", name="from_state"),
        CheckConstraint(f"to_state IN ({sql_in(PHASE_STATES)})", name="to_state"),
        CheckConstraint(f"reason IN ({sql_in(TRANSITION_REASONS)})", name="reason"),
        Index("ix_phase_transition_phase_at", "phase_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    from_state: Mapped[str] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    # Null when the schedule made the change.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Topic(Base):
    """A question or workshop theme within a phase, under which ideas are posted."""

    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("phase_id", "position"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")

    phase: Mapped[Phase] = relationship(back_populates="topics")


class ConsultationAssignment(Base):
    """A staff member's assignment to one consultation: facilitator, moderator, analyst or safeguarding lead."""

    __tablename__ = "consultation_assignment"
    __table_args__ = (
        CheckConstraint(f"role IN ({sql_in(ASSIGNMENT_ROLES)})", name="role"),
        UniqueConstraint("consultation_id", "user_id", "role"),
        Index("ix_consultation_assignment_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))
    # Who assigned them (an admin, or the facilitator who created the consultation).
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
