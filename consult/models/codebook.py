"""The analysts' codebook: versioned themes with stable identities, their members, and every change.

A codebook belongs to one consultation. Its themes are records of their own (adopted from an analysis run,
then renamed, merged, split and curated by analysts), so a re-run of the engine never renumbers them.
Members are contribution ids as the analysis uses them ("i12" for idea 12, "c7" for comment 7). Each change
bumps the codebook's version and stores what it did and what undoing it restores.

Check and challenge statements are ideas (so idea pages, votes and comments work unchanged) linked here to
the theme and codebook version they came from; "What we heard" pages are written per phase from the codebook.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import NEVER_REUSED_IDS, Base, sql_in, utcnow

THEME_STATES = ("active", "merged", "out_of_scope")
MEMBER_SOURCES = ("engine", "analyst", "proposal")
LABEL_MAX = 120
SUMMARY_MAX = 2000


class Codebook(Base):
    """A consultation's codebook; `version` counts the changes made to it."""

    __tablename__ = "codebook"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultation.id", ondelete="CASCADE"), unique=True)
    # The analysis run whose themes were adopted.
    source_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    themes: Mapped[list[CodebookTheme]] = relationship(
        back_populates="codebook", order_by="CodebookTheme.position", cascade="all, delete-orphan")


class CodebookTheme(Base):
    """One theme of a codebook: its own id for life, a label, a summary and a state."""

    __tablename__ = "codebook_theme"
    __table_args__ = (
        CheckConstraint(f"state IN ({sql_in(THEME_STATES)})", name="state"),
        Index("ix_codebook_theme_codebook", "codebook_id"),
        Index("ix_codebook_theme_merged_into", "merged_into_id"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    codebook_id: Mapped[int] = mapped_column(ForeignKey("codebook.id", ondelete="CASCADE"))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(LABEL_MAX))
    summary: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("codebook_theme.id", ondelete="SET NULL"))
    # Where it came from: the engine's theme id in the adopted run (None for themes made by splitting).
    origin_run_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_run.id", ondelete="SET NULL"))
    origin_theme: Mapped[int | None]
    # The engine's figures and terms at adoption, kept so the codebook reads without the run.
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    codebook: Mapped[Codebook] = relationship(back_populates="themes")
    members: Mapped[list[CodebookMember]] = relationship(
        back_populates="theme", cascade="all, delete-orphan", order_by="CodebookMember.id")


class CodebookMember(Base):
    """A contribution coded to a theme (a contribution may be in more than one)."""

    __tablename__ = "codebook_member"
    __table_args__ = (
        CheckConstraint(f"source IN ({sql_in(MEMBER_SOURCES)})", name="source"),
        UniqueConstraint("theme_id", "contribution"),
        Index("ix_codebook_member_contribution", "contribution"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("codebook_theme.id", ondelete="CASCADE"))
    contribution: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(10), default="engine")

    theme: Mapped[CodebookTheme] = relationship(back_populates="members")


class CodebookReviewed(Base):
    """A contribution an analyst looked at and found fits none of the themes (so it is not proposed again)."""

    __tablename__ = "codebook_reviewed"
    __table_args__ = (UniqueConstraint("codebook_id", "contribution"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    codebook_id: Mapped[int] = mapped_column(ForeignKey("codebook.id", ondelete="CASCADE"))
    contribution: Mapped[str] = mapped_column(String(24))


class CodebookChange(Base):
    """One numbered change to a codebook: who, when, what, and what undoing it restores."""

    __tablename__ = "codebook_change"
    __table_args__ = (UniqueConstraint("codebook_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    codebook_id: Mapped[int] = mapped_column(ForeignKey("codebook.id", ondelete="CASCADE"))
    version: Mapped[int]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The state of the themes this change touched, before it (None for changes that cannot be undone).
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    undone_by_version: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Statement(Base):
    """A codebook theme published into a later phase as an idea participants vote and comment on."""

    __tablename__ = "codebook_statement"
    __table_args__ = (Index("ix_codebook_statement_theme", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"), unique=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("codebook_theme.id", ondelete="CASCADE"))
    codebook_version: Mapped[int]
    # The theme's members when it was published: what the statement stands for.
    contributions: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HeardPage(Base):
    """A phase's public "What we heard" page, written by facilitators from the codebook."""

    __tablename__ = "heard_page"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"), unique=True)
    introduction: Mapped[str] = mapped_column(Text, default="")
    # "We did": what happened as a result, added later.
    outcome: Mapped[str] = mapped_column(Text, default="")
    is_published: Mapped[bool] = mapped_column(default=False)
    codebook_version: Mapped[int | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    themes: Mapped[list[HeardTheme]] = relationship(order_by="HeardTheme.position", cascade="all, delete-orphan")


class HeardTheme(Base):
    """A codebook theme shown on a "What we heard" page, with what was done about it."""

    __tablename__ = "heard_theme"
    __table_args__ = (UniqueConstraint("page_id", "theme_id"), Index("ix_heard_theme_theme", "theme_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("heard_page.id", ondelete="CASCADE"))
    theme_id: Mapped[int] = mapped_column(ForeignKey("codebook_theme.id", ondelete="CASCADE"))
    position: Mapped[int]
    action: Mapped[str] = mapped_column(Text, default="")

    theme: Mapped[CodebookTheme] = relationship()


class CodebookSample(Base):
    """One contribution of a second analyst's blind sample, and the theme they coded it to (None: none fits)."""

    __tablename__ = "codebook_sample"
    __table_args__ = (UniqueConstraint("codebook_id", "coder_id", "contribution"),
                      Index("ix_codebook_sample_coder", "coder_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    codebook_id: Mapped[int] = mapped_column(ForeignKey("codebook.id", ondelete="CASCADE"))
    coder_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    contribution: Mapped[str] = mapped_column(String(24))
    position: Mapped[int]
    coded: Mapped[bool] = mapped_column(default=False)
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("codebook_theme.id", ondelete="SET NULL"))
    coded_at: Mapped[datetime | None]
