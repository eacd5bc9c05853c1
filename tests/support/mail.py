"""Read the mail a live server wrote with the file backend (CONSULT_MAIL_BACKEND=file), as a person's inbox."""

from __future__ import annotations

import re
import time
from pathlib import Path


def mail_dir(database: Path) -> Path:
    """Where a live server on this database writes its mail (tests/support/live.py sets it)."""
    return database.parent / "mail"


def messages(folder: Path) -> list[str]:
    """Every message written so far, oldest first."""
    found: list[str] = []
    for path in sorted(folder.glob("*"), key=lambda p: p.stat().st_mtime):
        found.extend(part for part in path.read_text(errors="replace").split("-" * 79) if part.strip())
    return found


def wait_for_link(folder: Path, to: str, path_prefix: str, timeout: float = 15.0) -> str:
    """The path of the newest link starting with path_prefix in mail to this address (sent in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(messages(folder) if folder.exists() else []):
            if re.search(rf"^To: {re.escape(to)}$", message, flags=re.MULTILINE):
                match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", message)
                if match:
                    return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {to} with a {path_prefix} link in {folder}")
        time.sleep(0.1)
