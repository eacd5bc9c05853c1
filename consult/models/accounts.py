"""Accounts (identity) and participant profiles (declared role), kept in separate tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import NEVER_REUSED_IDS, Base, sql_in, utcnow

# Privilege levels. Everyone is a participant; staff roles add powers.
STAFF_ROLES = ("participant", "moderator", "facilitator", "analyst", "admin")

# What a registrant says they are; phases may be limited to some of these.
CATEGORIES = ("service_user", "carer", "public", "staff", "student")
CATEGORY_LABELS = {
    "service_user": "A person who uses health or care services",
    "carer": "A carer",
    "public": "A member of the public",
    "staff": "Health or care staff",
    "student": "A student",
}

# The same groups as a phase's audience is described: "This phase is for carers and students."
CATEGORY_PLURALS = {
    "service_user": "people who use health or care services",
    "carer": "carers",
    "public": "members of the public",
    "staff": "health and care staff",
    "student": "students",
}

# The 14 allied health professions (NHS England), then other staff groups.
AHP_PROFESSIONS = (
    ("art_therapist", "Art therapist"),
    ("drama_therapist", "Drama therapist"),
    ("music_therapist", "Music therapist"),
    ("podiatrist", "Chiropodist or podiatrist"),
    ("dietitian", "Dietitian"),
    ("occupational_therapist", "Occupational therapist"),
    ("operating_department_practitioner", "Operating department practitioner"),
    ("orthoptist", "Orthoptist"),
    ("osteopath", "Osteopath"),
    ("paramedic", "Paramedic"),
    ("physiotherapist", "Physiotherapist"),
    ("prosthetist_orthotist", "Prosthetist or orthotist"),
    ("radiographer", "Radiographer (diagnostic or therapeutic)"),
    ("speech_language_therapist", "Speech and language therapist"),
)
OTHER_PROFESSIONS = (
    ("ahp_support_worker", "AHP support worker or assistant"),
    ("nurse", "Nurse or midwife"),
    ("doctor", "Doctor"),
    ("pharmacist", "Pharmacist"),
    ("healthcare_scientist", "Healthcare scientist"),
    ("social_care", "Social care worker"),
    ("manager", "Manager, administrator or commissioner"),
    ("other_staff", "Other health or care role"),
)
PROFESSIONS = AHP_PROFESSIONS + OTHER_PROFESSIONS
PROFESSION_LABELS = dict(PROFESSIONS)

# How a staff or student claim was verified.
VERIFIED_VIA = ("email_domain", "facilitator")
# What an emailed link is for.
TOKEN_PURPOSES = ("confirm", "reset", "change_email")


class User(Base):
    """A login: email, password hash and staff role. Never shown beside a contribution."""

    __tablename__ = "user"
    __table_args__ = (CheckConstraint(f"role IN ({sql_in(STAFF_ROLES)})", name="role"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="participant")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Superseded by login_session rows (one per logged-in device, migration 0010); no longer read.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Set when the person follows the link emailed to them; nobody contributes before it.
    email_confirmed_at: Mapped[datetime | None]

    profile: Mapped[ParticipantProfile | None] = relationship(back_populates="user", uselist=False)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        """Every loaded user is authenticated."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """A loaded user is never anonymous."""
        return False

    def get_id(self) -> str:
        """The user id Flask-Login keeps in the cookie; the login_session row it must match is named beside it."""
        return str(self.id)

    @property
    def is_staff(self) -> bool:
        """True for facilitators, analysts and admins."""
        return self.role != "participant"


class ParticipantProfile(Base):
    """What a registrant declared about themselves: category and, for staff, profession."""

    __tablename__ = "participant_profile"
    __table_args__ = (
        CheckConstraint(f"category IN ({sql_in(CATEGORIES)})", name="category"),
        CheckConstraint(f"claim_verified_via IN ({sql_in(VERIFIED_VIA)})", name="claim_verified_via"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    profession: Mapped[str | None] = mapped_column(String(40))
    # A staff or student claim someone checked: by a confirmed email at a known domain, or by a facilitator.
    claim_verified_via: Mapped[str | None] = mapped_column(String(20))
    claim_verified_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="profile")


class AccountToken(Base):
    """A single-use, expiring emailed link; only a hash of its secret is stored."""

    __tablename__ = "account_token"
    __table_args__ = (CheckConstraint(f"purpose IN ({sql_in(TOKEN_PURPOSES)})", name="purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # For a change of email: the new address, which becomes the login once its link is followed.
    new_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RateCounter(Base):
    """One counter per (limit, subject, time window), shared by every worker and app server."""

    __tablename__ = "rate_counter"
    __table_args__ = (Index("ix_rate_counter_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]


class LoginSession(Base):
    """One logged-in device: the cookie names it, and deleting the row logs that device out everywhere at once."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A hash of the secret the signed cookie carries, so a copy of the database logs nobody in.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Moved on at most once a minute, for the idle timeout and the account page's "last used".
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
