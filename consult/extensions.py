"""Extensions, created unbound and attached to an app in create_app()."""

from __future__ import annotations

import contextvars
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from flask_login import LoginManager
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from .cookies import RememberingCSRFProtect

# Set for requests that write, so SQLite takes its write lock at BEGIN and never has to
# upgrade a read lock mid-transaction (the upgrade fails at once instead of waiting).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


def set_write_intent(value: bool) -> contextvars.Token:
    """Mark the current context as one whose transactions will write."""
    return _write_intent.set(value)


@contextmanager
def write_intent(value: bool = True) -> Iterator[None]:
    """Within this block, transactions begin as writers (BEGIN IMMEDIATE on SQLite), or as readers if False."""
    token = _write_intent.set(value)
    try:
        yield
    finally:
        _write_intent.reset(token)


def reads_first(view: Any) -> Any:
    """Mark a POST view that reads (and runs slow work such as password hashing) before it writes.

    Its transactions begin as readers, so no write lock is held while it works; it opens its own short
    write with ``with write_intent(): ...`` when it has something to save.
    """
    view._consult_reads_first = True
    return view


def reads_only(view: Any) -> Any:
    """Mark a page whose request session only reads: on PostgreSQL its statements then run without BEGIN and COMMIT.

    Under PostgreSQL's READ COMMITTED each statement sees what was committed when it began, in a transaction or
    not, so wrapping a page's reads in one bought nothing but two round trips to the server per page. Writes the
    page causes go through sessions of their own (db.new_session), which keep their transactions.
    """
    view._consult_reads_only = True
    return view


# PostgreSQL error codes that mean "try again shortly": serialisation failure, deadlock, lock not available,
# statement or lock timeout (query cancelled), too many connections, and the server shutting down or starting.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014", "53300", "57P01", "57P03"})
TRANSIENT_MESSAGES = ("database is locked", "database table is locked", "database is busy", "could not obtain lock",
                      "deadlock detected", "could not serialize access", "canceling statement due to",
                      "too many clients", "the database system is starting up", "the database system is shutting down")


def is_transient(exc: BaseException) -> bool:
    """True for lock, serialisation, timeout and capacity failures on SQLite or PostgreSQL (answer 503, retry)."""
    if isinstance(exc, SATimeoutError):
        return True  # every pooled connection is busy
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return True
    return is_transient_message(str(orig))


def is_transient_message(text: str) -> bool:
    """True for a database error message that means busy or locked (try again shortly)."""
    text = text.lower()
    return any(message in text for message in TRANSIENT_MESSAGES)


def make_engine(url: str, *, busy_timeout: float = 5.0, statement_timeout_ms: int = 0, lock_timeout_ms: int = 0,
                **kwargs: Any) -> Engine:
    """Create an engine: SQLite settings that keep concurrent writers safe, or PostgreSQL with timeouts."""
    if not url.startswith("sqlite"):
        options = []
        if statement_timeout_ms:
            options.append(f"-c statement_timeout={int(statement_timeout_ms)}")
        if lock_timeout_ms:
            options.append(f"-c lock_timeout={int(lock_timeout_ms)}")
        connect_args = {"options": " ".join(options)} if options else {}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    engine = create_engine(url, connect_args={"timeout": busy_timeout, "check_same_thread": False}, **kwargs)
    gate = WriteGate(busy_timeout)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        if ":memory:" not in url and url != "sqlite://":
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process; only power loss can drop the last commits.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _write_intent.get():
            gate.begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


class WriteGate:
    """Takes SQLite's write lock (BEGIN IMMEDIATE) for one thread of this process at a time, promptly.

    SQLite's own busy handler sleeps 1, 2, 5, 10 ... up to 100 ms between tries, so under load a writer slept
    through the moments the lock was free, every waiting thread polled on its own, and requests queued for
    seconds. Here the threads of a process queue on a lock, and the one at the front tries every half
    millisecond. Writers in other processes (other workers, commands) still take turns through SQLite's lock;
    after busy_timeout seconds the wait ends with SQLite's own "database is locked" error, answered with 503.
    """

    POLL_SECONDS = 0.0005

    def __init__(self, busy_timeout: float) -> None:
        self.timeout = busy_timeout
        self._lock = threading.Lock()

    def begin_immediate(self, connection: Any) -> None:
        """Begin a write transaction on this SQLAlchemy connection, waiting at most the busy timeout."""
        deadline = time.monotonic() + self.timeout
        raw = connection.connection.dbapi_connection
        queued = self._lock.acquire(timeout=self.timeout)
        try:
            raw.execute("PRAGMA busy_timeout=0")  # fail at once when busy: this loop does the waiting
            try:
                while time.monotonic() < deadline:
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        return
                    except sqlite3.OperationalError as exc:
                        if not is_transient_message(str(exc)):
                            raise OperationalError("BEGIN IMMEDIATE", {}, exc) from exc
                    time.sleep(self.POLL_SECONDS)
                # Out of time: one last try through SQLAlchemy, which raises its own error when still locked.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            finally:
                raw.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        finally:
            if queued:
                self._lock.release()


class Database:
    """The engine and a request-scoped session, bound to one app."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None
        self._scoped: scoped_session[Session] | None = None

    def init_app(self, app: Flask) -> None:
        """Create the engine from the app's DATABASE_URL and remove the session after each request."""
        url = app.config["DATABASE_URL"]
        pool = {} if url.startswith("sqlite") else {
            "pool_size": app.config["DB_POOL_SIZE"], "max_overflow": app.config["DB_MAX_OVERFLOW"], "pool_timeout": 10}
        self.engine = make_engine(url, busy_timeout=app.config["SQLITE_BUSY_TIMEOUT"],
                                  statement_timeout_ms=app.config["PG_STATEMENT_TIMEOUT_MS"],
                                  lock_timeout_ms=app.config["PG_LOCK_TIMEOUT_MS"], **pool)
        self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._scoped = scoped_session(self._factory)
        app.extensions["consult_db"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            if self._scoped is not None:
                self._scoped.remove()

    @property
    def single_writer(self) -> bool:
        """True on SQLite, where a request ends its reads before it writes (see authz._check_route).

        SQLite takes one writer at a time and cannot turn a read into a write while another writer commits, so
        a writing request reads in one short transaction and writes in another. PostgreSQL has neither limit,
        and there a second transaction costs a pooled connection's checkout (with its ping), a BEGIN and a
        COMMIT: its requests read and write in one.
        """
        return self.engine is not None and self.engine.dialect.name == "sqlite"

    def read_without_transaction(self) -> None:
        """On PostgreSQL, let the request session's reads run without BEGIN and COMMIT (see reads_only)."""
        session = self.session
        if not self.single_writer and not session.in_transaction():
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

    @property
    def session(self) -> Session:
        """The session of the current request or command."""
        assert self._scoped is not None, "Database.init_app() has not been called"
        return self._scoped()

    @contextmanager
    def new_session(self) -> Iterator[Session]:
        """A session outside the request scope (background workers, scripts)."""
        assert self._factory is not None
        session = self._factory()
        try:
            yield session
        finally:
            session.close()

    def remove(self) -> None:
        """End the current scoped session (as the end of a request does)."""
        if self._scoped is not None:
            self._scoped.remove()

    def dispose(self) -> None:
        """Close every pooled connection (tests, forked workers)."""
        if self._scoped is not None:
            self._scoped.remove()
        if self.engine is not None:
            self.engine.dispose()


db = Database()
csrf = RememberingCSRFProtect()
login_manager = LoginManager()
