"""Two requests at the same moment: the second runs in a thread while the first holds its lock, then both finish."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def race(second: Callable[[], None], commit_first: Callable[[], None], *, read: threading.Event | None = None,
         timeout: float = 30) -> None:
    """Start `second` while the first transaction is open, let it reach the lock, commit the first, wait for it.

    With `read` (set by `second` once it has read, before it writes): wait for that read (SQLite makes the second
    wait at BEGIN, before reading, so the wait may time out), then a moment more. Without it: give the second a
    second to start and check that it is waiting for the first rather than done already.
    """
    racer = threading.Thread(target=second)
    racer.start()
    if read is not None:
        read.wait(timeout=2)
        time.sleep(0.3)
    else:
        racer.join(1.0)
        assert racer.is_alive(), "the second should be waiting for the first"
    commit_first()
    racer.join(timeout)
