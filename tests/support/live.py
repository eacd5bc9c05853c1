"""Start the real app under gunicorn on 127.0.0.1 and a free port, for browser, concurrency and load tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.publicids import LIVE_PUBLIC_ID_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """A running server: its base URL and database file."""

    url: str
    database: Path
    process: subprocess.Popen[bytes]


def flask_command(database: Path, *args: str, instance: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `flask --app wsgi ARGS` against the database file; raises on failure."""
    env = server_env(database, instance or database.parent)
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)


def server_env(database: Path, instance: Path, url: str | None = None) -> dict[str, str]:
    """Environment for a server or command on this database (a SQLite file, or the given URL)."""
    env = dict(os.environ)
    env.update({
        "CONSULT_DATABASE_URL": url or f"sqlite:///{database}",
        "CONSULT_INSTANCE_PATH": str(instance),
        "CONSULT_SECRET_KEY": "live-test-secret",
        # Tests name ideas and comments on live servers by their public ids under this key.
        "CONSULT_PUBLIC_ID_KEY": LIVE_PUBLIC_ID_KEY,
        "CONSULT_TICK_INTERVAL": "0.5",
        # Mail goes to files that tests read as an inbox (tests/support/mail.py).
        "CONSULT_MAIL_BACKEND": "file",
        "CONSULT_MAIL_FILE_PATH": str(instance / "mail"),
    })
    return env


@contextmanager
def live_server(database: Path, *, workers: int = 2, threads: int = 4, extra_env: dict[str, str] | None = None,
                app: str = "wsgi:app", timeout: float = 120.0, url: str | None = None,
                keepalive: int | None = None) -> Iterator[LiveServer]:
    """Serve the app with gunicorn until the block ends; the database must already be migrated.

    database is a SQLite file, or (with url, a PostgreSQL URL) a path whose folder holds the logs.
    keepalive is gunicorn's --keep-alive in seconds (its default, 2, when None).
    """
    port = free_port()
    env = server_env(database, database.parent, url)
    env.update(extra_env or {})
    log = open(database.parent / f"gunicorn-{port}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
         "--graceful-timeout", "5", *(["--keep-alive", str(keepalive)] if keepalive else []), app],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(url + "/about", timeout=15).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("server did not start:\n" + (database.parent / f"gunicorn-{port}.log").read_text())
            time.sleep(0.1)
        yield LiveServer(url=url, database=database, process=process)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def logged_in_session(base_url: str, email: str, password: str) -> requests.Session:
    """A requests session logged in through the real form, with CSRF tokens."""
    session = requests.Session()
    token = csrf_token(session, base_url + "/login")
    response = session.post(base_url + "/login", data={"email": email, "password": password, "csrf_token": token},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return session


def csrf_token(session: requests.Session, url: str) -> str:
    """The CSRF token from a form on the page at url."""
    page = session.get(url, timeout=10).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)
