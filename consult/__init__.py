"""consult: phased, anonymous online consultations and their analysis."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user

from .config import ROOT, load_config
from .cookies import RememberingSessionInterface
from .extensions import csrf, db, login_manager, set_write_intent, write_intent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, database, security, blueprints, commands."""
    instance_path = Path(os.environ.get("CONSULT_INSTANCE_PATH", ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(instance_path, overrides))
    app.session_interface = RememberingSessionInterface()
    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)

    from . import authz, cli, ops, security, templating
    from .services import impressions, mail
    from .views import register_blueprints

    ops.init_app(app)
    authz.init_app(app)
    mail.init_app(app)
    impressions.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    register_blueprints(app)
    cli.init_app(app)
    _schedule_ticks(app)
    _read_pages_without_transactions(app)
    if app.config["ANALYSIS_WORKER"] and not app.config.get("TESTING"):
        _start_worker_on_first_request(app)
    return app


def _start_worker_on_first_request(app: Flask) -> None:
    """Start the analysis worker in serving processes only (not in flask commands), once per process."""
    from . import worker

    lock = threading.Lock()

    @app.before_request
    def _ensure_worker() -> None:
        if "consult_worker_stop" in app.extensions:
            return
        with lock:
            if "consult_worker_stop" not in app.extensions:
                worker.start(app)


def _read_pages_without_transactions(app: Flask) -> None:
    """Before anything reads, let pages marked reads_only read without BEGIN and COMMIT (PostgreSQL only)."""
    # First of all before-request hooks: the route check and the login load read through this session.
    app.before_request_funcs.setdefault(None, []).insert(0, _reads_only)


def _reads_only() -> None:
    """Read this request's page without a transaction when its view is marked reads_only (see extensions)."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method in ("GET", "HEAD") and getattr(view, "_consult_reads_only", False):
        db.read_without_transaction()


def _schedule_ticks(app: Flask) -> None:
    """Apply due phase changes on the next request, at most once per TICK_INTERVAL, without cron."""
    from .services.phases import due_phase_ids, tick

    state = {"last": 0.0}

    @app.teardown_request
    def _clear_write_intent(_exc: BaseException | None) -> None:
        set_write_intent(False)

    @app.before_request
    def _tick_then_mark_writes() -> None:
        set_write_intent(False)
        now = time.monotonic()
        if request.endpoint != "static" and now - state["last"] >= app.config["TICK_INTERVAL"]:
            state["last"] = now
            # End the read that loaded the user, so this request's reads see any change the tick makes.
            db.session.commit()
            _apply_due_changes()
            _reads_only()  # the commit above gave back the connection that was reading without a transaction
        view = app.view_functions.get(request.endpoint or "")
        if request.method not in ("GET", "HEAD", "OPTIONS") and not getattr(view, "_consult_reads_first", False):
            # Load the logged-in user in a short read first, so the write lock below is held only for
            # the work itself; then (SQLite) writers take the lock at BEGIN and queue instead of failing.
            current_user._get_current_object()
            if db.single_writer:
                db.session.commit()
            set_write_intent(True)

    def _apply_due_changes() -> None:
        with db.new_session() as session:
            due = due_phase_ids(session)
            # End the read with COMMIT: at a ROLLBACK psycopg drops the connection's prepared statements.
            session.commit()
            if not due:
                return
        with write_intent(), db.new_session() as session:
            if tick(session):
                session.commit()
