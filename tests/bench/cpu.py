"""CPU seconds used by a process group (a gunicorn server and its workers), read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, int, int, float, float]]:
    """(pid, parent pid, process group, CPU seconds, CPU seconds of its ended children) of every live process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        # Fields after the command name (which is in brackets and may hold spaces): state is field 3.
        fields = stat[stat.rindex(")") + 2:].split()
        # Fields 4 and 5 (parent, process group), 14 and 15 (user and system time in ticks), 16 and 17 (the same
        # for children that ended and were waited for).
        found.append((int(entry.name), int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / TICKS,
                      (int(fields[13]) + int(fields[14])) / TICKS))
    return found


def group_cpu(pgid: int) -> float:
    """User plus system CPU seconds of the live processes in this process group."""
    return sum(cpu for _, _, group, cpu, _ in _processes() if group == pgid)


def postgres_cpu(port: int) -> float:
    """CPU seconds of the PostgreSQL server listening on this port: its postmaster and every backend, live or ended."""
    processes = _processes()
    masters = set()
    for pid, _, _, _, _ in processes:
        try:
            command = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command and command[0].endswith(b"postgres") and f"-p {port}".encode() in b" ".join(command):
            masters.add(pid)
    # A backend that ended (a connection closed) counts in its postmaster's children's time.
    return sum(cpu + (ended if pid in masters else 0.0) for pid, parent, _, cpu, ended in processes
               if pid in masters or parent in masters)


def own_cpu() -> float:
    """User plus system CPU seconds of this process so far."""
    times = os.times()
    return times.user + times.system
