"""Configuration: safe defaults for a laptop, then CONSULT_* environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _secret_key(instance_path: Path) -> str:
    """Return a secret key kept in instance/ so sessions survive restarts without one being configured."""
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
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 256 * 1024,
        # Seconds SQLite waits for a lock before the request is answered with 503.
        "SQLITE_BUSY_TIMEOUT": 5.0,
        "PSEUDONYM_KEY": None,
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
        "ANALYSIS_WORKER": True,
    }
    for key, value in os.environ.items():
        if key.startswith("CONSULT_"):
            name = key.removeprefix("CONSULT_")
            default = config.get(name)
            config[name] = _coerce(value, default)
    if overrides:
        config.update(overrides)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _secret_key(instance_path)
    # One switch for production: the login cookie is sent over HTTPS only.
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if not config["PSEUDONYM_KEY"]:
        config["PSEUDONYM_KEY"] = config["SECRET_KEY"]
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


def _coerce(value: str, default: Any) -> Any:
    """Turn an environment string into the type of its default."""
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value
