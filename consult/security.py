"""Logins, role checks, security headers and error pages."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from werkzeug.exceptions import HTTPException, SecurityError

from .extensions import db, is_transient, login_manager, set_write_intent, write_intent
from .models import User
from .services import sessions
from .services.errors import ServiceError

log = logging.getLogger(__name__)
# The key in the signed cookie that holds this device's session secret (consult/services/sessions.py).
SESSION_KEY = "sid"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
# Sent with every response unless the view set its own: (name, lower-case name, value).
SECURITY_HEADERS = tuple((name, name.lower(), value) for name, value in (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
))
ERROR_TITLES = {
    400: "There is a problem with the request",
    401: "You are not logged in",
    403: "You cannot do this",
    404: "Page not found",
    405: "You cannot do this",
    409: "This cannot be done now",
    413: "What you sent is too large",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
    503: "The service is busy",
}


def session_timeouts() -> sessions.Timeouts:
    """The configured idle and absolute timeouts of a logged-in session."""
    config = current_app.config
    return sessions.Timeouts(idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
                             absolute=timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]))


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """Load the user whose live session row the cookie names; a deleted or timed-out row logs nobody in."""
    # Requests in one app context (tests) share g: what an earlier request found is not this one's.
    g.consult_login = None
    g.consult_login_expired = False
    record = sessions.find(db.session, session.get(SESSION_KEY) or "") if user_id.isdigit() else None
    if record is None or record.user.id != int(user_id) or not record.user.is_active:
        return None
    reason = sessions.expired(record, timeouts=session_timeouts())
    if reason:
        g.consult_login_expired = reason
        return None
    g.consult_login = record
    return record.user


def _end_or_note_use() -> Any:
    """Send a person whose session timed out to log in again, and move a live session's idle clock on."""
    if request.endpoint == "static":
        return None
    if not current_user.is_authenticated:
        reason = g.pop("consult_login_expired", False)
        if reason:
            logout_user()
            session.pop(SESSION_KEY, None)
            hours = current_app.config["SESSION_ABSOLUTE_HOURS"]
            flash(f"You were logged out because you logged in more than {hours} hours ago. Log in again."
                  if reason == "absolute" else
                  "You were logged out because you had not used the service for a while. Log in again.", "info")
            here = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("auth.login", next=here))
        return None
    record = g.get("consult_login")
    if record is not None and sessions.due_touch(record):
        _touch(record.id)
    return None


def _touch(record_id: int) -> None:
    """Move the idle clock in a short write of its own, outside the request's work; a busy database skips it."""
    try:
        with write_intent(), db.new_session() as own:
            sessions.touch(own, record_id)
            own.commit()
    except DBAPIError as exc:
        if not is_transient(exc):
            raise
        # The next request tries again; the idle timeout is counted in hours, not minutes.
        log.info("Skipped noting a session's use: the database is busy")


def safe_next(target: str | None, default: str) -> str:
    """Return target only if it is a path on this site (never an open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def wants_json() -> bool:
    """True for API calls and for scripts that asked for JSON."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str, **extra: Any) -> tuple[Any, int]:
    """A JSON error for scripts, an NHS-styled page for people."""
    if wants_json():
        return jsonify(error=message, status=status, **extra), status
    return render_template("error.html", status=status, title=ERROR_TITLES.get(status, "There is a problem"),
                           message=message, **extra), status


# What a person may have typed into a form that could not be taken (logged out, or the form expired).
KEPT_FIELDS = ("title", "body")


def _sent_from() -> str | None:
    """The page on this site a form was sent from (its Referer), as a path, or None."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return None
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return safe_next(path, "") or None


def refused_post(status: int, message: str) -> tuple[Any, int]:
    """The answer to a form that could not be taken: the typed text shown back to copy, and a way back."""
    kept = {name: request.form[name] for name in KEPT_FIELDS if request.form.get(name, "").strip()}
    return error_response(status, message, kept=kept, back=_sent_from())


def _unauthorized() -> Any:
    """Not logged in (or logged out meanwhile): scripts get JSON; a form's text is shown back, not lost."""
    if wants_json():
        return error_response(401, "You have been logged out. Log in again, then try again.")
    if request.method == "POST":
        # Logging in and returning to a POST address would answer 405; return to the form's page instead.
        return refused_post(401, "You were logged out before this was sent, so it was not saved. "
                                 "Log in and send it again.")
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for(login_manager.login_view, next=request.full_path.rstrip("?")))


def _abandon_transaction() -> None:
    """Roll back, and let the error page's own reads begin as readers (never waiting on a write lock)."""
    db.session.rollback()
    set_write_intent(False)


def init_app(app: Flask) -> None:
    """Configure the login manager, headers and error handlers."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.unauthorized_handler(_unauthorized)
    # Before the route check (authz inserts itself first): a timed-out session is told why it must log in again.
    app.before_request_funcs.setdefault(None, []).insert(0, _end_or_note_use)

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        if "request_started" in g:
            # Server time of the request, for benchmarks and browser dev tools.
            headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.request_started) * 1000:.2f}"
        # Each header is added unless the view set its own (one look at the names, not one per header).
        present = {name.lower() for name, _ in headers.items()}
        for name, lower, value in SECURITY_HEADERS:
            if lower not in present:
                headers.add(name, value)
        # An error (a forged Host header, a missing page) is never worth keeping in a shared cache, nor a page
        # for a logged-in person (in shared caches or the back button of a shared device).
        if "cache-control" not in present and (
                response.status_code >= 400 or getattr(current_user, "is_authenticated", False)):
            headers.add("Cache-Control", "no-store")
        return response

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError) -> Any:
        _abandon_transaction()
        response = app.make_response(error_response(exc.status, exc.message))
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            # A limit or an unavailable counter store: say when trying again will work.
            response.headers["Retry-After"] = str(int(retry_after))
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(_exc: CSRFError) -> tuple[Any, int]:
        return refused_post(400, "The form had expired or was sent from another site. "
                                 "Go back, reload the page and try again.")

    @app.errorhandler(DBAPIError)
    @app.errorhandler(SATimeoutError)
    def _database_error(exc: Exception) -> tuple[Any, int]:
        _abandon_transaction()
        if is_transient(exc):
            # Lock, serialisation, timeout or capacity failure (SQLite or PostgreSQL): nothing was saved,
            # and the same request shortly will work.
            log.warning("Database busy, answered 503: %s", getattr(exc, "orig", exc))
            body, status = error_response(
                503, "The service is busy. Nothing was saved. Please try again in a few seconds.")
            response = app.make_response((body, status))
            response.headers["Retry-After"] = "2"
            return response, 503
        log.exception("Database error")
        return error_response(500, "Something went wrong on our side. Nothing was saved. Please try again later.")

    @app.errorhandler(SecurityError)
    def _untrusted_host(_exc: SecurityError) -> Response:
        # The Host header is not one of ours: answer plainly, without links (no page is built from that host).
        log.warning("Refused a request for an untrusted host")
        response = app.response_class("This site is not served at that address.\n", status=400,
                                      mimetype="text/plain")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Any, int]:
        status = exc.code or 500
        messages = {
            404: "If you typed the web address, check it is correct. If you pasted it, check you copied all of it.",
            405: "That action is not available at this address.",
            413: f"What you sent is larger than the {current_app.config['MAX_CONTENT_LENGTH'] // 1024:,} KB the "
                 "service accepts at once. Shorten it, or split a file into smaller ones, and try again.",
        }
        return error_response(status, messages.get(status, exc.description or ""))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Any, int]:
        _abandon_transaction()
        log.exception("Unhandled error", exc_info=exc)
        return error_response(500, "Something went wrong on our side. Nothing was saved. Please try again later.")
