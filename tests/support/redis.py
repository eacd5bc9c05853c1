"""A private, throwaway Redis for tests: redis-server on a temporary directory and a free port, never a system one."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.live import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def redis_installed() -> bool:
    """Whether redis-server is here (`make test` installs Debian's redis-server when it is missing)."""
    return Path(REDIS_SERVER).exists()


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """Start redis-server on 127.0.0.1 and a free port, without saving to disk; yield its URL, stop it after."""
    assert redis_installed(), "redis-server is not installed: `make test` installs it (apt-get install redis-server)"
    root = Path(tempfile.mkdtemp(prefix="consult-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(root), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes", "--logfile", str(root / "log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        connection = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            try:
                connection.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(f"redis-server did not start: {(root / 'log').read_text()[-500:]}") from None
                time.sleep(0.05)
        connection.close()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
