"""Configuration: safe defaults for a laptop, then CONSULT_* environment variables.

In production (``CONSULT_ENV=production``) the secret, pseudonym and public id keys must come from the
environment: every app server must share them (sessions signed on one server are read on another, and
pseudonyms and public ids must agree), so the per-machine development key file is refused there and the app
does not start.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Keys shorter than this are guessable or typed by hand; production refuses them.
MIN_KEY_LENGTH = 32
# Values that appear in documentation, examples and tests, refused in production whatever their length.
# The keys every server must share, from the environment in production.
KEY_NAMES = ("SECRET_KEY", "PSEUDONYM_KEY", "PUBLIC_ID_KEY")
DEVELOPMENT_KEYS = frozenset({"dev", "development", "changeme", "change-me", "secret", "test-secret",
                              "live-test-secret"})


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says which variable to set and how."""


def _secret_key(instance_path: Path) -> str:
    """Return a development key kept in instance/ so sessions survive restarts without one being configured."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_config(instance_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the configuration mapping: defaults, then environment, then explicit overrides (tests)."""
    config: dict[str, Any] = {
        # "production" turns on the start-up checks below and secure cookies.
        "ENV": "development",
        "DATABASE_URL": f"sqlite:///{instance_path / 'consult.sqlite3'}",
        "SECRET_KEY": None,
        # Pages of lists: small enough for a phone, large enough to scan.
        "PAGE_SIZE": 20,
        "API_PAGE_SIZE": 50,
        "API_MAX_PAGE_SIZE": 200,
        # How often (seconds) a request may look for scheduled phase changes.
        "TICK_INTERVAL": 5.0,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": None,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 256 * 1024,
        # Seconds SQLite waits for a lock before the request is answered with 503.
        "SQLITE_BUSY_TIMEOUT": 5.0,
        # PostgreSQL: the longest a statement may run and the longest it may wait for a row lock (ms),
        # so a stuck request answers 503 instead of holding a connection; 0 means no limit.
        "PG_STATEMENT_TIMEOUT_MS": 15000,
        "PG_LOCK_TIMEOUT_MS": 5000,
        # Connections per app process (PostgreSQL), kept open: at least gunicorn's threads, or under load the pool
        # closes connections and opens new ones (a new PostgreSQL process each, its prepared statements lost).
        # The overflow serves the short extra sessions (noting a session's use, phase ticks, the worker).
        "DB_POOL_SIZE": 10,
        "DB_MAX_OVERFLOW": 5,
        "PSEUDONYM_KEY": None,
        # Key of the public ids of ideas and comments (consult/publicids.py); the same on every server, and
        # never changed once a consultation is public (every link to a contribution would break).
        "PUBLIC_ID_KEY": None,
        # The site's public host name (CONSULT_SERVER_NAME, e.g. consult.example.nhs.uk): every generated absolute
        # link uses it, never the Host header a request happened to send.
        "SERVER_NAME": None,
        # Host names requests may be addressed to (CONSULT_TRUSTED_HOSTS, comma-separated); others answer 400.
        # Unset: the server name if there is one, else only this machine's own names.
        "TRUSTED_HOSTS": None,
        # Logged-in sessions end after this long without a request, and this long after logging in at most.
        "SESSION_IDLE_MINUTES": 120,
        "SESSION_ABSOLUTE_HOURS": 24,
        # The site's public address for links in emails (https://consult.example.nhs.uk); else the request's host.
        "PUBLIC_URL": None,
        # Email domains whose confirmed addresses verify a staff or student claim, comma-separated ("nhs.net").
        "VERIFIED_STAFF_DOMAINS": "",
        "VERIFIED_STUDENT_DOMAINS": "",
        # Mail (Flask-Mailman): "console" prints messages; "smtp" sends through MAIL_SERVER; "file" writes
        # them to MAIL_FILE_PATH; "locmem" keeps them for tests.
        "MAIL_BACKEND": "console",
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_TIMEOUT": 10,
        "MAIL_DEFAULT_SENDER": "consult <no-reply@localhost>",
        "MAIL_FILE_PATH": None,
        "MAIL_SEND_IN_BACKGROUND": True,
        # Multiplies every rate limit (consult/services/ratelimit.py); load and throughput tests raise it.
        "RATE_LIMIT_SCALE": 1.0,
        # Where the rate-limit and login back-off counters are kept: empty for the database (shared by every
        # worker and app server already), or a Redis URL (redis://host:6379/0, rediss:// for TLS) with consult[redis].
        "RATE_LIMIT_URL": "",
        # The number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
        "PROXIES": 0,
        # "json" (one object a line, for log collectors) or "text".
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "INFO",
        # True: each web process watches for queued analyses (the laptop default). Production runs
        # `flask --app wsgi worker` instead and sets CONSULT_ANALYSIS_WORKER=false on the web servers.
        "ANALYSIS_WORKER": True,
        "WORKER_POLL_SECONDS": 2.0,
        # The worker looks for unusual activity in each active consultation this often (seconds; a facilitator can
        # ask for a look sooner). 0: only when asked.
        "ANOMALY_SCAN_SECONDS": 300.0,
        # Pages note which ideas and comments they showed each participant; each process writes those first
        # sights this often, in one transaction (consult/services/impressions.py). 0: in the request itself.
        "IMPRESSION_FLUSH_SECONDS": 1.0,
        # How long a worker's claim on a run lasts without a heartbeat, and how often a run may be tried.
        "WORKER_LEASE_SECONDS": 120.0,
        "WORKER_MAX_ATTEMPTS": 3,
        # Memory cap (MB) of each analysis child process; 0 means no cap.
        "WORKER_MEMORY_MB": 0,
    }
    from_environment = set()
    for key, value in os.environ.items():
        if key.startswith("CONSULT_"):
            name = key.removeprefix("CONSULT_")
            default = config.get(name)
            config[name] = _coerce(value, default)
            from_environment.add(name)
    if overrides:
        config.update(overrides)
        from_environment.update(k for k in overrides if k in KEY_NAMES)
    production = str(config["ENV"]).lower() == "production"
    config["ENV"] = "production" if production else "development"
    if production:
        check_production_keys(config, from_environment)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key(instance_path)
    if not config["PSEUDONYM_KEY"]:
        config["PSEUDONYM_KEY"] = config["SECRET_KEY"]
    if not config["PUBLIC_ID_KEY"]:
        # Development: the secret key (publicids.py derives its own key from it, apart from its other uses).
        config["PUBLIC_ID_KEY"] = config["SECRET_KEY"]
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = production
    # One switch for production: the login cookie is sent over HTTPS only, like the session cookie.
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["SQLALCHEMY_URL"] = config["DATABASE_URL"]
    config["TRUSTED_HOSTS"] = trusted_hosts(config["TRUSTED_HOSTS"], config["SERVER_NAME"])
    return config


LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1", "[::1]"]


def trusted_hosts(configured: str | list[str] | None, server_name: str | None) -> list[str]:
    """The host names requests may use: as configured, else the server name, else only local names."""
    if isinstance(configured, str):
        configured = [name.strip() for name in configured.split(",") if name.strip()]
    if configured:
        hosts = list(configured)
    elif server_name:
        hosts = []
    else:
        return list(LOCAL_HOSTS)
    if server_name:
        # The port is not part of the check (werkzeug compares host names only).
        hosts.append(server_name.rsplit(":", 1)[0] if not server_name.endswith("]") else server_name)
    return hosts
def check_production_keys(config: dict[str, Any], from_environment: set[str]) -> None:
    """Refuse a missing, short, example or development-file key in production, naming what to set."""
    problems = []
    for name in KEY_NAMES:
        value = config.get(name)
        if not value or name not in from_environment:
            problems.append(f"CONSULT_{name} is not set")
        elif len(str(value)) < MIN_KEY_LENGTH or str(value).strip().lower() in DEVELOPMENT_KEYS:
            problems.append(f"CONSULT_{name} is a development value or shorter than {MIN_KEY_LENGTH} characters")
    if not problems and config["SECRET_KEY"] == config["PSEUDONYM_KEY"]:
        problems.append("CONSULT_PSEUDONYM_KEY must differ from CONSULT_SECRET_KEY")
    if not problems and config["PUBLIC_ID_KEY"] in (config["SECRET_KEY"], config["PSEUDONYM_KEY"]):
        problems.append("CONSULT_PUBLIC_ID_KEY must differ from CONSULT_SECRET_KEY and CONSULT_PSEUDONYM_KEY")
    if problems:
        raise ConfigError(
            "consult will not start in production: " + "; ".join(problems) + ". Give every app server and the "
            "worker the same random values, for example from "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`.")


def _coerce(value: str, default: Any) -> Any:
    """Turn an environment string into the type of its default."""
    if isinstance(default, bool) or default is None and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value
