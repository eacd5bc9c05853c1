"""Rate-limit counters in Redis (CONSULT_RATE_LIMIT_URL=redis://...), for sites that keep them off the database.

The same fixed windows and keys as the database counters: one Lua script adds one to every window's counter
and sets each new counter to expire when its window ends, atomically, so every worker and app server sees one
count. Reads are one MGET. If Redis cannot be reached the request is refused with 503, never let through
unlimited and never a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from .errors import ServiceError

# Keys are "consult:rl:<limit>:<window>:<hashed subject>", so one Redis can serve other things too.
PREFIX = "consult:rl:"
# INCR every key; a key that has just been made expires at the end of its window (plus ARGV's grace).
INCREMENT = """
local counts = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIREAT', key, ARGV[i]) end
  counts[i] = count
end
return counts
"""
# Seconds a counter outlives its window, so a clock a little behind Redis's still finds it.
GRACE_SECONDS = 5
UNAVAILABLE = ("The service cannot check its limits at the moment, so nothing was done. "
               "Please try again in a minute.")

_clients: dict[str, object] = {}
_lock = threading.Lock()


class CountersUnavailable(ServiceError):
    """The rate-limit store cannot be reached: answer 503 and ask for a retry, letting nothing through."""

    status = 503

    def __init__(self, message: str = UNAVAILABLE, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def client(url: str):  # noqa: ANN201 (redis.Redis, imported only when configured)
    """One connection pool per process and URL (short timeouts: a dead Redis must not hang a request)."""
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                try:
                    import redis
                except ImportError as exc:  # pragma: no cover - a deployment without the extra
                    raise RuntimeError("CONSULT_RATE_LIMIT_URL names Redis: install consult[redis]") from exc
                found = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                             health_check_interval=30)
                _clients[url] = found
    return found


def _redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean Redis is down, unreachable or refusing (not a bug of ours)."""
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, redis.exceptions.BusyLoadingError,
            redis.exceptions.ReadOnlyError, redis.exceptions.ResponseError)


def increment(url: str, keys: Sequence[str], ends: Sequence[datetime]) -> list[int]:
    """Add one to each counter, making it expire when its window ends; returns the new counts."""
    if not keys:
        return []
    # Window ends are naive UTC, as every timestamp here is.
    expiry = [int(end.replace(tzinfo=UTC).timestamp()) + GRACE_SECONDS for end in ends]
    try:
        counts = client(url).eval(INCREMENT, len(keys), *[PREFIX + k for k in keys], *expiry)
    except _redis_errors() as exc:
        raise CountersUnavailable() from exc
    return [int(c) for c in counts]


def counts(url: str, keys: Sequence[str]) -> list[int]:
    """The current count of each counter (0 for one not started), in one read."""
    if not keys:
        return []
    try:
        values = client(url).mget([PREFIX + k for k in keys])
    except _redis_errors() as exc:
        raise CountersUnavailable() from exc
    return [int(v) if v is not None else 0 for v in values]


def ping(url: str) -> None:
    """Raise CountersUnavailable unless Redis answers now (the health check)."""
    try:
        client(url).ping()
    except _redis_errors() as exc:
        raise CountersUnavailable() from exc
