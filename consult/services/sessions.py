"""Logged-in sessions kept on the server: one row per device, so each can be ended on its own or all at once.

The signed cookie carries a random secret; the database keeps only its hash, the account, when the session
began and when it was last used. Every worker and app server reads the same rows, so logging out on one ends
the session on all of them. Idle and absolute timeouts are read from the row, not from the cookie.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from ..models import LoginSession, User, utcnow

# The idle clock moves at most this often, so a busy reader writes once a minute, not on every page.
TOUCH_SECONDS = 60


@dataclass(frozen=True)
class Timeouts:
    """How long a session lasts without use, and at most after logging in."""

    idle: timedelta
    absolute: timedelta


def key_hash(secret: str) -> str:
    """The stored form of a cookie's session secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def start(session: Session, user: User, *, timeouts: Timeouts, now: datetime | None = None) -> str:
    """Open a session for this account on one device; returns the secret for its cookie."""
    now = now or utcnow()
    # Dead sessions go as their account logs in again, and about one login in a hundred clears everyone's,
    # so the table stays the size of the live sessions.
    stale = delete(LoginSession).where(_dead(timeouts, now))
    if random.random() >= 0.01:
        stale = stale.where(LoginSession.user_id == user.id)
    session.execute(stale)
    secret = secrets.token_urlsafe(32)
    session.add(LoginSession(key_hash=key_hash(secret), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return secret


def _dead(timeouts: Timeouts, now: datetime) -> ColumnElement[bool]:
    """The condition for a session past its idle or absolute timeout."""
    return (LoginSession.last_seen_at < now - timeouts.idle) | (LoginSession.created_at < now - timeouts.absolute)


@dataclass(frozen=True)
class Found:
    """A session row's id and clocks, and its account (with the profile loaded) in the caller's ORM session."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    user: User


# Built once: every request of a logged-in person runs it, and building it cost more than running it. The
# session row's own columns are read as plain values: loading it as a third ORM object cost more than the query.
_FIND = (select(LoginSession.id, LoginSession.created_at, LoginSession.last_seen_at, User)
         .join(User, User.id == LoginSession.user_id).options(joinedload(User.profile))
         .where(LoginSession.key_hash == bindparam("key_hash")))


def find(session: Session, secret: str) -> Found | None:
    """The session row for a cookie's secret, with its account and profile loaded (a read only)."""
    if not secret:
        return None
    row = session.execute(_FIND, {"key_hash": key_hash(secret)}).first()
    return None if row is None else Found(id=row[0], created_at=row[1], last_seen_at=row[2], user=row[3])


def expired(record: Found, *, timeouts: Timeouts, now: datetime | None = None) -> str | None:
    """Why the session has ended by itself ("absolute": it began too long ago; "idle": unused too long), or None."""
    now = now or utcnow()
    if record.created_at < now - timeouts.absolute:
        return "absolute"
    return "idle" if record.last_seen_at < now - timeouts.idle else None


def due_touch(record: Found, *, now: datetime | None = None) -> bool:
    """Whether the idle clock should move on (at most once a minute)."""
    return ((now or utcnow()) - record.last_seen_at).total_seconds() >= TOUCH_SECONDS


def touch(session: Session, record_id: int, *, now: datetime | None = None) -> None:
    """Note that the session was used now (one short statement; a no-op if another request just did)."""
    now = now or utcnow()
    session.execute(update(LoginSession).where(
        LoginSession.id == record_id, LoginSession.last_seen_at < now - timedelta(seconds=TOUCH_SECONDS),
    ).values(last_seen_at=now))


def end(session: Session, secret: str) -> None:
    """End one session (logging out on this device): its cookie stops working on every server."""
    if secret:
        session.execute(delete(LoginSession).where(LoginSession.key_hash == key_hash(secret)))


def end_all(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session of the account, except the one whose secret is `keep`; returns how many ended."""
    stmt = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep:
        stmt = stmt.where(LoginSession.key_hash != key_hash(keep))
    return int(session.execute(stmt).rowcount or 0)


def count(session: Session, user_id: int, *, timeouts: Timeouts, now: datetime | None = None) -> int:
    """How many live sessions (devices) the account has."""
    now = now or utcnow()
    return int(session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == user_id, ~_dead(timeouts, now))) or 0)
