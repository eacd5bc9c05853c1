"""Public ids for tests: the addresses and form values of ideas and comments as pages and the API show them."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from consult import publicids

# The key of the live servers' public ids (tests/support/live.py): pass key=LIVE_PUBLIC_ID_KEY for their pages.
LIVE_PUBLIC_ID_KEY = "live-test-public-id-key"


def _number(item: Any) -> int:
    """A stored id, from an id or a row with one."""
    return int(getattr(item, "id", item))


def pid(kind: str, item: Any, app: Flask | None = None, *, key: str | None = None) -> str:
    """The public id of an idea or comment (an id or a row) under the key, else the app's (or the current app's)."""
    return publicids.encode(kind, _number(item), key=key or str((app or current_app).config["PUBLIC_ID_KEY"]))


def idea_url(item: Any, app: Flask | None = None, *, key: str | None = None) -> str:
    """The public page of an idea: /ideas/<public id>."""
    return f"/ideas/{pid('idea', item, app, key=key)}"


def comment_anchor(item: Any, app: Flask | None = None, *, key: str | None = None) -> str:
    """The fragment of a comment on its idea's page: #comment-<public id>."""
    return f"#comment-{pid('comment', item, app, key=key)}"


def item_url(action: str, kind: str, item: Any, app: Flask | None = None, *, key: str | None = None) -> str:
    """A contribution's report, edit or withdraw page: /report/idea/<pid>, /my/comment/<pid>/edit, ..."""
    if action == "report":
        return f"/report/{kind}/{pid(kind, item, app, key=key)}"
    return f"/my/{kind}/{pid(kind, item, app, key=key)}/{action}"


def vote_form(kind: str, item: Any, value: int, app: Flask | None = None, *, key: str | None = None,
              **extra: Any) -> dict[str, Any]:
    """The vote form's fields for an idea or comment, as the vote buttons send them."""
    return {"kind": kind, "id": pid(kind, item, app, key=key), "value": str(value), **extra}
