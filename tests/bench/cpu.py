"""CPU seconds used by a process group (a gunicorn server and its workers), read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """User plus system CPU seconds of the live processes in this process group."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # Fields after the command name (which is in brackets and may hold spaces): state is field 3.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:  # field 5, pgrp
            total += int(fields[11]) + int(fields[12])  # fields 14 and 15, utime and stime
    return total / TICKS


def own_cpu() -> float:
    """User plus system CPU seconds of this process so far."""
    times = os.times()
    return times.user + times.system
