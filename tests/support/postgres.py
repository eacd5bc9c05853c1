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
