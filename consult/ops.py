"""Running in production: structured logs to stdout, trusted reverse proxies and the /healthz probe."""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, g, jsonify, request
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from .authz import allow
from .extensions import db, is_transient, write_intent
from .services import ratelimit, ratelimit_redis

log = logging.getLogger("consult.request")
bp = Blueprint("ops", __name__)
# Attributes every LogRecord has; anything else passed with extra= is written as a field of its own.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a JSON line."""
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(app: Flask) -> None:
    """Send consult's logs to stdout, as JSON lines when LOG_FORMAT is json (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "_consult", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler._consult = True  # type: ignore[attr-defined]
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"].upper())


def init_app(app: Flask) -> None:
    """Logs, proxy headers, request ids and the health probe."""
    if not app.config.get("TESTING"):
        configure_logging(app)
    proxies = int(app.config["PROXIES"])
    if proxies > 0:
        # Trust exactly this many proxies' X-Forwarded-For/-Proto/-Host/-Port, so client addresses, https
        # links and secure cookies are right behind nginx or a load balancer, and cannot be forged past them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,  # type: ignore[method-assign]
                                x_port=proxies, x_prefix=proxies)
    log_requests = app.config.get("LOG_REQUESTS", app.config["ENV"] == "production")

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex[:16]

    @app.after_request
    def _log_request(response: Any) -> Any:
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        if log_requests and request.endpoint != "static":
            started = g.get("request_started")
            log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "request_id": g.get("request_id"), "method": request.method, "path": request.path,
                "status": response.status_code, "client": request.remote_addr,
                "ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
        return response

    app.register_blueprint(bp)


def check_database() -> dict[str, Any]:
    """Read and write the database for real: a read, then a no-op write in a transaction that is rolled back."""
    began = time.perf_counter()
    with write_intent(), db.new_session() as session:
        # BEGIN IMMEDIATE on SQLite: this proves the write lock can be taken now, not only that the file opens.
        revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        session.execute(text("UPDATE alembic_version SET version_num = version_num"))
        session.rollback()
    return {"revision": revision, "ms": round((time.perf_counter() - began) * 1000, 1)}


@bp.route("/healthz")
@allow("anyone")
def healthz() -> Any:
    """200 when the database can be read and written now; 503 (with the reason) when it cannot."""
    try:
        database = check_database()
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure as "unhealthy"
        logging.getLogger(__name__).warning("Health check failed: %s", exc)
        reason = "busy" if is_transient(exc) else "unavailable"
        response = jsonify(status="unhealthy", database=reason)
        response.headers["Retry-After"] = "5"
        response.headers["Cache-Control"] = "no-store"
        return response, 503
    url = ratelimit.redis_url()
    if url:
        try:
            ratelimit_redis.ping(url)
        except ratelimit_redis.CountersUnavailable as exc:
            # Without its counters the site refuses logins, posts and votes (503), so the server is not healthy.
            logging.getLogger(__name__).warning("Health check failed: Redis for rate limits: %s", exc.__cause__)
            response = jsonify(status="unhealthy", database="ok", ratelimit="unavailable")
            response.headers["Retry-After"] = "5"
            response.headers["Cache-Control"] = "no-store"
            return response, 503
    response = jsonify(status="ok", database="ok", revision=database["revision"], ms=database["ms"],
                       ratelimit=ratelimit.backend())
    response.headers["Cache-Control"] = "no-store"
    return response
