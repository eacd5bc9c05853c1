"""A private, throwaway PostgreSQL cluster for tests: initdb + pg_ctl on a temporary directory and a free port."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.live import free_port


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster (never the system service) and yield its SQLAlchemy URL; it is deleted afterwards."""
    bindir = postgres_bindir()
    assert bindir is not None, "PostgreSQL is not installed: `make test` installs it (apt-get install postgresql)"
    root = Path(tempfile.mkdtemp(prefix="consult-pg-"))
    prefix: list[str] = []
    if os.getuid() == 0:
        # initdb refuses to run as root: run the cluster as the unprivileged postgres account.
        account = pwd.getpwnam("postgres")
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run(prefix + [str(a) for a in args], check=True, capture_output=True, cwd=root)

    run(bindir / "initdb", "-D", data, "-A", "trust", "-U", "consult", "-E", "UTF8", "--no-sync")
    run(bindir / "pg_ctl", "-D", data, "-l", root / "log", "-w", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield f"postgresql+psycopg://consult@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, cwd=root)
        shutil.rmtree(root, ignore_errors=True)


def database_url(cluster_url: str, name: str) -> str:
    """The URL of another database in the same cluster."""
    return cluster_url.rsplit("/", 1)[0] + "/" + name


def admin(cluster_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE) on the cluster's maintenance database."""
    import psycopg

    with psycopg.connect(cluster_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


class TestDatabases:
    """One private cluster per test process; a migrated template database copied afresh for each test.

    Copies are made ahead in a background thread (CREATE DATABASE takes most of a second), so a test
    normally finds its fresh database waiting.
    """

    TEMPLATE = "consult_template"
    AHEAD = 2

    def __init__(self) -> None:
        import queue
        import threading

        self._cluster = throwaway_cluster()
        self.url = self._cluster.__enter__()
        self.created: list[str] = []
        from consult import migrate
        from consult.extensions import make_engine

        admin(self.url, f"CREATE DATABASE {self.TEMPLATE}")
        engine = make_engine(database_url(self.url, self.TEMPLATE))
        migrate.upgrade(engine)
        engine.dispose()
        self._ready: queue.Queue[str] = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._maker = threading.Thread(target=self._make_ahead, daemon=True, name="pg-test-databases")
        self._maker.start()

    def _make_ahead(self) -> None:
        """Keep AHEAD fresh copies of the template waiting."""
        counter = 0
        while not self._stop.is_set():
            counter += 1
            name = f"test_{os.getpid()}_{counter}"
            try:
                admin(self.url, f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}")
            except Exception:  # noqa: BLE001 - the cluster is going away
                return
            self._ready.put(name)

    def fresh(self) -> str:
        """The URL of a new, migrated, empty database."""
        name = self._ready.get(timeout=120)
        self.created.append(name)
        return database_url(self.url, name)

    def mark(self) -> int:
        """A bookmark: databases handed out after it are dropped by drop_since()."""
        return len(self.created)

    def drop_since(self, bookmark: int) -> None:
        """Drop the databases handed out since the bookmark (their connections are ended first)."""
        names, self.created = self.created[bookmark:], self.created[:bookmark]
        if names:
            admin(self.url, *(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" for name in names))

    def close(self) -> None:
        """Stop and delete the cluster."""
        self._stop.set()
        self._cluster.__exit__(None, None, None)
