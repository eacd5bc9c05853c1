"""Ideas, comments, votes, the vote event log and impressions.

Every contribution and vote is stamped with the contributor's declared category and profession, and whether a
staff or student claim was verified, as they were at the time, so later analysis does not depend on profiles
that have since changed.
Author columns exist only for "you" marks, moderation and pseudonymous export; no public code path
reads them into a page or API response.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import NEVER_REUSED_IDS, Base, sql_in, utcnow

MODERATION_STATES = ("published", "held", "hidden", "withdrawn")
CHANNELS = ("online", "workshop", "paper", "phone")
# How an offline contribution was gathered, in words: "Gathered at a workshop", "(gathered on paper)".
GATHERED = {"workshop": "at a workshop", "paper": "on paper", "phone": "by phone"}
TITLE_MAX = 150
IDEA_BODY_MAX = 5000
COMMENT_BODY_MAX = 2000


class _Contribution:
    """Columns shared by ideas and comments: authorship stamps, channel, moderation and counts."""

    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    # The facilitator who typed it in for someone else (workshop, paper, phone); null when self-posted.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10), default="online")
    author_category: Mapped[str | None] = mapped_column(String(20))
    author_profession: Mapped[str | None] = mapped_column(String(40))
    # Whether a staff or student claim was verified when posted; null for other groups and offline input.
    author_claim_verified: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it became visible to others (after any moderation hold): the start of its exposure.
    visible_from: Mapped[datetime | None] = mapped_column(default=utcnow)
    moderation_state: Mapped[str] = mapped_column(String(10), default="published")
    moderation_reason: Mapped[str | None] = mapped_column(String(500))
    up_count: Mapped[int] = mapped_column(default=0)
    down_count: Mapped[int] = mapped_column(default=0)
    # Distinct participants shown it: the denominator of time-adjusted support.
    impression_count: Mapped[int] = mapped_column(default=0)


class Idea(_Contribution, Base):
    """An idea posted under a topic."""

    __tablename__ = "idea"
    __table_args__ = (
        CheckConstraint(f"moderation_state IN ({sql_in(MODERATION_STATES)})", name="moderation_state"),
        CheckConstraint(f"channel IN ({sql_in(CHANNELS)})", name="channel"),
        Index("ix_idea_topic_state_created", "topic_id", "moderation_state", "created_at"),
        Index("ix_idea_phase_state", "phase_id", "moderation_state"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(ForeignKey("topic.id", ondelete="CASCADE"))
    # Denormalised from the topic: phase rules and per-phase counts need it on every write.
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    comment_count: Mapped[int] = mapped_column(default=0)

    topic = relationship("Topic")


class Comment(_Contribution, Base):
    """A comment on an idea, or a reply (one level deep) to a comment."""

    __tablename__ = "comment"
    __table_args__ = (
        CheckConstraint(f"moderation_state IN ({sql_in(MODERATION_STATES)})", name="moderation_state"),
        CheckConstraint(f"channel IN ({sql_in(CHANNELS)})", name="channel"),
        Index("ix_comment_idea_created", "idea_id", "created_at"),
        # An idea page's top-level comments (and their count): without it SQLite walked every top-level comment
        # of the site through ix_comment_parent_id (parent_id IS NULL), 1.1 ms a count at 11,500 comments.
        Index("ix_comment_idea_parent_created", "idea_id", "parent_id", "created_at"),
        Index("ix_comment_phase_state", "phase_id", "moderation_state"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"), index=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phase.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)

    idea: Mapped[Idea] = relationship()


class Vote(Base):
    """A participant's current vote on one idea or one comment: +1 support, -1 against."""

    __tablename__ = "vote"
    __table_args__ = (
        CheckConstraint("value IN (-1, 1)", name="value"),
        CheckConstraint(
            "(idea_id IS NULL AND comment_id IS NOT NULL) OR (idea_id IS NOT NULL AND comment_id IS NULL)",
            name="one_target",
        ),
        # One vote per participant per item, whatever the browser sends and however often.
        UniqueConstraint("voter_id", "idea_id"),
        UniqueConstraint("voter_id", "comment_id"),
        Index("ix_vote_idea", "idea_id"),
        Index("ix_vote_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    value: Mapped[int]
    voter_category: Mapped[str | None] = mapped_column(String(20))
    voter_profession: Mapped[str | None] = mapped_column(String(40))
    voter_claim_verified: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VoteEvent(Base):
    """Append-only log of every vote change (value 0 = withdrawn), for time-aware analysis."""

    __tablename__ = "vote_event"
    __table_args__ = (
        CheckConstraint("value IN (-1, 0, 1)", name="value"),
        Index("ix_vote_event_idea", "idea_id"),
        Index("ix_vote_event_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    value: Mapped[int]
    voter_category: Mapped[str | None] = mapped_column(String(20))
    voter_profession: Mapped[str | None] = mapped_column(String(40))
    voter_claim_verified: Mapped[bool | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Impression(Base):
    """The first time a participant was shown an idea or comment (in a list or on its page)."""

    __tablename__ = "impression"
    __table_args__ = (
        UniqueConstraint("viewer_id", "idea_id"),
        UniqueConstraint("viewer_id", "comment_id"),
        Index("ix_impression_idea", "idea_id"),
        Index("ix_impression_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    viewer_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("idea.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comment.id", ondelete="CASCADE"))
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)


