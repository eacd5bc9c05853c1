"""Rate limits and login back-off, counted in one shared place so every worker and app server agrees.

Each limit is a count per fixed time window. By default the counters are a database table, and a check is
one short statement: an INSERT ... ON CONFLICT DO UPDATE ... RETURNING that adds one to the window's counter
and returns the new count (SQLite 3.35+ and PostgreSQL). With CONSULT_RATE_LIMIT_URL=redis://... they are
Redis keys instead (ratelimit_redis.py), with the same keys, windows and limits. Subjects (email addresses,
network addresses, user ids) are stored only as keyed hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app, has_app_context
from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from ..models import RateCounter, utcnow
from . import ratelimit_redis
from .errors import ServiceError
from .prepared import Prepared

EPOCH = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `seconds`, for one subject."""

    name: str
    count: int
    seconds: int


# Login back-off: failures per account (the email typed, known or not, so the answer is the same either way)
# and per network address. Windows end by themselves: there is no permanent lock-out, and an address can
# make at most 100 failed attempts an hour, an account at most 20.
LOGIN_ACCOUNT = (Limit("login-account-5m", 5, 300), Limit("login-account-1h", 20, 3600))
LOGIN_ADDRESS = (Limit("login-address-5m", 30, 300), Limit("login-address-1h", 100, 3600))
# A workshop room, a library or a ward shares one address: 10 an hour stopped the eleventh person in the room.
REGISTER_ADDRESS = (Limit("register-address-1h", 60, 3600),)
RESET_ADDRESS = (Limit("reset-address-1h", 10, 3600),)
RESET_ACCOUNT = (Limit("reset-account-1h", 3, 3600),)
RESEND_ACCOUNT = (Limit("resend-account-1h", 5, 3600),)
IDEA_USER = (Limit("idea-user-10m", 10, 600), Limit("idea-user-1d", 50, 86400))
COMMENT_USER = (Limit("comment-user-10m", 30, 600), Limit("comment-user-1d", 300, 86400))
VOTE_USER = (Limit("vote-user-1m", 120, 60), Limit("vote-user-1h", 1000, 3600))


class TooManyRequests(ServiceError):
    """A rate limit was reached; retry_after says how many seconds until the window ends."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _digest(subject: str) -> str:
    """A keyed hash of the subject, so the table holds no email or network address."""
    secret = current_app.config["SECRET_KEY"] if has_app_context() else ""
    return _keyed_hash(str(secret), subject)


@lru_cache(maxsize=4096)
def _keyed_hash(secret: str, subject: str) -> str:
    """HMAC-SHA256 of the subject, shortened (remembered: the same person's votes hash the same subject)."""
    return hmac.new(secret.encode(), subject.encode(), hashlib.sha256).hexdigest()[:40]


def _allowed(limit: Limit) -> float:
    """The limit's count, scaled by CONSULT_RATE_LIMIT_SCALE (an operator's knob; load tests raise it)."""
    scale = float(current_app.config.get("RATE_LIMIT_SCALE", 1.0)) if has_app_context() else 1.0
    return limit.count * scale


def _window(limit: Limit, now: datetime) -> tuple[str, datetime]:
    """The counter key for this limit and subject's current window, and when the window ends."""
    index = math.floor((now - EPOCH).total_seconds() / limit.seconds)
    ends = EPOCH + timedelta(seconds=(index + 1) * limit.seconds)
    return f"{limit.name}:{index}", ends


def _key(limit: Limit, subject: str, now: datetime) -> tuple[str, datetime]:
    """The full counter key (limit, window, hashed subject) and when it expires."""
    window, ends = _window(limit, now)
    return f"{window}:{_digest(subject)}", ends


@lru_cache(maxsize=16)
def _upsert_sql(dialect: Dialect, rows: int) -> Prepared:
    """The upsert of this many counters for one database, compiled once: every vote and post runs it."""
    table = RateCounter.__table__
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values([{"key": bindparam(f"key{i}"), "count": 1, "expires_at": bindparam(f"ends{i}")}
                                 for i in range(rows)])
    return Prepared(stmt.on_conflict_do_update(index_elements=["key"], set_={"count": table.c.count + 1})
                    .returning(table.c.key, table.c.count), dialect)


def _upsert(session: Session, keys: list[str], expires: list[datetime]) -> list[int]:
    """Add one to each counter and return their new values, in one statement for all of them."""
    connection = session.connection()
    values = {}
    for i, (key, ends) in enumerate(zip(keys, expires, strict=True)):
        values[f"key{i}"], values[f"ends{i}"] = key, ends
    counts = {key: int(count) for key, count in _upsert_sql(connection.dialect, len(keys)).rows(connection, values)}
    return [counts[key] for key in keys]


def _retry_after(ends: datetime, now: datetime) -> int:
    """Whole seconds until a window ends (at least one)."""
    return max(1, math.ceil((ends - now).total_seconds()))


def redis_url() -> str | None:
    """The Redis URL the counters live at, or None for the database (the default)."""
    url = current_app.config.get("RATE_LIMIT_URL") if has_app_context() else None
    return str(url) if url else None


def backend() -> str:
    """Where the counters are kept, in a word: "database" or "redis"."""
    return "redis" if redis_url() else "database"


def hit(session: Session, limits: Iterable[Limit], subject: str, *, now: datetime | None = None) -> int:
    """Count one event for the subject under each limit; return seconds to wait if any limit is now exceeded."""
    now = now or utcnow()
    wanted = [(limit, *_key(limit, subject, now)) for limit in limits]
    url = redis_url()
    if url:
        counts = ratelimit_redis.increment(url, [key for _, key, _ in wanted], [ends for _, _, ends in wanted])
    else:
        counts = _upsert(session, [key for _, key, _ in wanted], [ends for _, _, ends in wanted])
    wait = 0
    for (limit, _, ends), count in zip(wanted, counts, strict=True):
        if count > _allowed(limit):
            wait = max(wait, _retry_after(ends, now))
    if not url and random.random() < 0.01:
        # Expired counters are dead weight; sweeping now and then keeps the table to the live windows.
        session.execute(delete(RateCounter).where(RateCounter.expires_at < now))
    return wait


def blocked(session: Session, checks: Iterable[tuple[Iterable[Limit], str]], *,
            now: datetime | None = None) -> int:
    """Seconds to wait if any (limits, subject) pair has used up its window, else 0 (a read only)."""
    now = now or utcnow()
    wanted: dict[str, tuple[Limit, datetime]] = {}
    for limits, subject in checks:
        for limit in limits:
            key, ends = _key(limit, subject, now)
            wanted[key] = (limit, ends)
    if not wanted:
        return 0
    url = redis_url()
    if url:
        rows = list(zip(wanted, ratelimit_redis.counts(url, list(wanted)), strict=True))
    else:
        rows = session.execute(select(RateCounter.key, RateCounter.count).where(RateCounter.key.in_(wanted))).all()
    wait = 0
    for key, count in rows:
        limit, ends = wanted[key]
        if count >= _allowed(limit):
            wait = max(wait, _retry_after(ends, now))
    return wait


def minutes(seconds: int) -> str:
    """A wait in plain words: "1 minute", "12 minutes"."""
    count = max(1, math.ceil(seconds / 60))
    return "1 minute" if count == 1 else f"{count} minutes"


def throttle(session: Session, limits: Iterable[Limit], subject: str, what: str, *,
             now: datetime | None = None) -> None:
    """Count one event and raise TooManyRequests, saying what and how long to wait, once a limit is passed."""
    wait = hit(session, limits, subject, now=now)
    if wait:
        raise TooManyRequests(f"You have {what} too many times in a short while. "
                              f"Wait {minutes(wait)} and try again.", wait)
