"""First sights of ideas and comments: noted by pages, written in batches off the request path.

Support is counted per impression (ANALYSIS.md section 1), so every page records which ideas and comments it
showed a participant for the first time. Written inside the request, that was a read of what was already seen
and then a write transaction on most page views: about a quarter of a page's CPU, and under load most of the
waits for SQLite's write lock. Pages now note what they showed in their process's buffer and return; a thread
writes the buffer every IMPRESSION_FLUSH_SECONDS in one short transaction (one INSERT .. ON CONFLICT DO NOTHING
for all the rows, then the counts of what was really new). With IMPRESSION_FLUSH_SECONDS = 0 (as the tests set it)
the page writes its own sights straight away, through the same code.

What a crash can lose: a process killed outright (SIGKILL, power loss) loses at most its last interval of first
sights, which are a denominator of support, never a vote or a contribution; a graceful stop writes them first.
A database that stays busy or down keeps the sights for later, up to a bound, then drops new ones with a warning.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask import Flask, current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..extensions import db, is_transient, write_intent
from ..models import Comment, Idea, Impression, User, utcnow

log = logging.getLogger(__name__)

KINDS = ("idea", "comment")
# Sights kept while the database cannot take them (about 100 bytes each): beyond this, new ones are dropped.
MAX_PENDING = 200_000

# One first sight: (kind, item id, viewer id) -> when it was shown.
Key = tuple[str, int, int]


@lru_cache(maxsize=4)
def _statements(kind: str, dialect: str) -> tuple[Any, Any]:
    """The INSERT that records first sights of one kind and the UPDATE that counts them, built once."""
    table, items = Impression.__table__, (Idea if kind == "idea" else Comment).__table__
    column = table.c[f"{kind}_id"]
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    record = (dialect_insert(table).values(viewer_id=bindparam("viewer_id"), **{column.name: bindparam("item_id")},
                                           first_seen=bindparam("now"))
              .on_conflict_do_nothing(index_elements=["viewer_id", column.name]).returning(column))
    count = (update(items).where(items.c.id.in_(bindparam("ids", expanding=True)))
             .values(impression_count=items.c.impression_count + bindparam("n")))
    return record, count


def write(session: Session, sights: dict[Key, datetime]) -> int:
    """Record these first sights (a repeat of one already recorded is skipped) and count the new ones."""
    dialect = session.get_bind().dialect.name
    connection = session.connection()
    new = 0
    for kind in KINDS:
        # In one order everywhere, so two processes writing overlapping rows queue instead of deadlocking.
        rows = [{"item_id": item, "viewer_id": viewer, "now": when}
                for (k, item, viewer), when in sorted(sights.items()) if k == kind]
        if not rows:
            continue
        record, count = _statements(kind, dialect)
        # One INSERT for all the rows (SQLAlchemy batches an executemany with RETURNING into one statement).
        inserted = Counter(connection.execute(record, rows).scalars().all())
        if not inserted:
            continue
        # Every counted row once, locked in one statement; then the rows first seen by several viewers in this
        # batch again, which this transaction already holds, so it never waits for another writer halfway.
        connection.execute(count, {"ids": sorted(inserted), "n": 1})
        more: dict[int, list[int]] = {}
        for item, times in sorted(inserted.items()):
            if times > 1:
                more.setdefault(times - 1, []).append(item)
        for extra, ids in sorted(more.items()):
            connection.execute(count, {"ids": ids, "n": extra})
        new += sum(inserted.values())
    return new


def _still_there(session: Session, sights: dict[Key, datetime]) -> dict[Key, datetime]:
    """The sights whose item and viewer still exist (one may have been erased since the page was shown)."""
    viewers = set(session.scalars(select(User.id).where(User.id.in_({v for _, _, v in sights}))))
    items = {kind: set(session.scalars(select(model.id).where(model.id.in_({i for k, i, _ in sights if k == kind}))))
             for kind, model in (("idea", Idea), ("comment", Comment))}
    return {key: when for key, when in sights.items() if key[2] in viewers and key[1] in items[key[0]]}


class ImpressionBuffer:
    """This process's first sights waiting to be written, and the thread that writes them."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._pending: dict[Key, datetime] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._dropped = 0

    def note(self, viewer_id: int, *, idea_ids: Iterable[int] = (), comment_ids: Iterable[int] = (),
             now: datetime | None = None) -> None:
        """Keep what a page showed this viewer; written within the interval (at once when it is 0)."""
        now = now or utcnow()
        with self._lock:
            if self._pid != os.getpid():
                self._after_fork()
            for kind, ids in (("idea", idea_ids), ("comment", comment_ids)):
                for item in ids:
                    key = (kind, item, viewer_id)
                    if key in self._pending:
                        continue  # the earlier sight stands
                    if len(self._pending) >= MAX_PENDING:
                        self._dropped += 1
                        continue
                    self._pending[key] = now
            if self.interval > 0 and self._thread is None:
                self._start()
        if self.interval <= 0:
            self.flush()

    def flush(self) -> int:
        """Write what is waiting in one transaction; how many first sights were new."""
        with self._lock:
            sights, self._pending = self._pending, {}
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.warning("Dropped %d first sights: the database has not taken any for a while", dropped)
        if not sights:
            return 0
        try:
            return self._write(sights)
        except DBAPIError as exc:
            if not is_transient(exc):
                raise
            # Busy or briefly gone: keep them for the next try (newer sights of the same rows give way).
            log.warning("First sights not written yet: the database is busy (%d waiting)", len(sights))
            with self._lock:
                self._pending = {**sights, **self._pending}
            return 0

    def stop(self) -> None:
        """Stop the thread and write what is left (a graceful stop loses nothing)."""
        self._stop.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(timeout=max(5.0, 2 * self.interval))
        self._thread = None
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - at exit the database may already be gone; say so, do not crash
            log.exception("First sights could not be written at shutdown")

    def _write(self, sights: dict[Key, datetime]) -> int:
        """One transaction of first sights, leaving out any whose item or viewer was erased meanwhile."""
        with write_intent(), db.new_session() as session:
            try:
                new = write(session, sights)
            except IntegrityError:
                session.rollback()
                new = write(session, _still_there(session, sights))
            session.commit()
            return new

    def _start(self) -> None:
        """Start the writing thread (in the serving process, not before gunicorn forks it)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="consult-impressions", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def _run(self) -> None:
        """Write the buffer every interval until stopped."""
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the thread must outlive any one bad batch
                log.exception("First sights could not be written; they are dropped")

    def _after_fork(self) -> None:
        """A forked child starts empty: the parent's sights and thread are the parent's to write."""
        self._pid = os.getpid()
        self._pending = {}
        self._thread = None


def init_app(app: Flask) -> None:
    """Give the app its buffer of first sights."""
    app.extensions["consult_impressions"] = ImpressionBuffer(float(app.config["IMPRESSION_FLUSH_SECONDS"]))


def note(viewer_id: int, *, idea_ids: Iterable[int] = (), comment_ids: Iterable[int] = ()) -> None:
    """Note what the current request's page showed this viewer (see ImpressionBuffer.note)."""
    buffer: ImpressionBuffer = current_app.extensions["consult_impressions"]
    try:
        buffer.note(viewer_id, idea_ids=idea_ids, comment_ids=comment_ids)
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        log.warning("Impressions not recorded: database busy")


def flush(app: Flask) -> int:
    """Write the app's waiting first sights now (tests, shutdown)."""
    return app.extensions["consult_impressions"].flush()
