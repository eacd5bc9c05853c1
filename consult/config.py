"""Configuration: safe defaults for a laptop, then CONSULT_* environment variables.

In production (``CONSULT_ENV=production``) the secret and pseudonym keys must come from the environment:
every app server must share them (sessions signed on one server are read on another, and pseudonyms must
agree), so the per-machine development key file is refused there and the app does not start.
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
        # Connections per app process (PostgreSQL); gunicorn threads share them.
        "DB_POOL_SIZE": 5,
        "DB_MAX_OVERFLOW": 5,
        "PSEUDONYM_KEY": None,
        # The number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted (0: none).
        "PROXIES": 0,
        # "json" (one object a line, for log collectors) or "text".
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "INFO",
        # True: each web process watches for queued analyses (the laptop default). Production runs
        # `flask --app wsgi worker` instead and sets CONSULT_ANALYSIS_WORKER=false on the web servers.
        "ANALYSIS_WORKER": True,
        "WORKER_POLL_SECONDS": 2.0,
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
        from_environment.update(k for k in overrides if k in ("SECRET_KEY", "PSEUDONYM_KEY"))
    production = str(config["ENV"]).lower() == "production"
    config["ENV"] = "production" if production else "development"
    if production:
        check_production_keys(config, from_environment)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key(instance_path)
    if not config["PSEUDONYM_KEY"]:
        config["PSEUDONYM_KEY"] = config["SECRET_KEY"]
    if config["SESSION_COOKIE_SECURE"] is None:
        config["SESSION_COOKIE_SECURE"] = production
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    config["SQLALCHEMY_URL"] = config["DATABASE_URL"]
    return config


def check_production_keys(config: dict[str, Any], from_environment: set[str]) -> None:
    """Refuse a missing, short, example or development-file key in production, naming what to set."""
    problems = []
    for name in ("SECRET_KEY", "PSEUDONYM_KEY"):
        value = config.get(name)
        if not value or name not in from_environment:
            problems.append(f"CONSULT_{name} is not set")
        elif len(str(value)) < MIN_KEY_LENGTH or str(value).strip().lower() in DEVELOPMENT_KEYS:
            problems.append(f"CONSULT_{name} is a development value or shorter than {MIN_KEY_LENGTH} characters")
    if not problems and config["SECRET_KEY"] == config["PSEUDONYM_KEY"]:
        problems.append("CONSULT_PSEUDONYM_KEY must differ from CONSULT_SECRET_KEY")
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
