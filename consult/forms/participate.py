"""Forms for taking part: posting an idea, commenting or replying, and voting."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from wtforms import StringField, TextAreaField

from .. import publicids
from . import Form, PublicIdField, stored_id


class IdeaForm(Form):
    """A new idea: a title and the idea itself."""

    title = StringField()
    body = TextAreaField()


class CommentForm(Form):
    """A comment on an idea, or a reply when parent_id names the comment replied to (by its public id)."""

    body = TextAreaField()
    parent_id = PublicIdField(kind="comment")


@dataclass(frozen=True)
class VoteInput:
    """A vote as sent: support (1), oppose (-1) or withdraw (0) on an idea or a comment, named by its public id.

    The one input read without a WTForms form: voting is the busiest route, and building a form cost more than
    the rest of reading it. It parses with the same helpers as the forms and is never an exception.
    """

    kind: str
    item_id: int | None  # the stored id, None when missing or not a public id of that kind
    value: int | None  # -1, 0 or 1, None when anything else
    next: str | None

    @classmethod
    def read(cls, data: Mapping[str, str]) -> VoteInput:
        """Parse the submitted fields (the first value of each)."""
        kind = data.get("kind") or ""
        raw = (data.get("id") or "").strip()
        item_id = stored_id(kind, raw) if raw and kind in publicids.KINDS else None
        value = {"1": 1, "-1": -1, "0": 0}.get((data.get("value") or "").strip())
        return cls(kind=kind, item_id=item_id, value=value, next=data.get("next"))
