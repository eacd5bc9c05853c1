"""Forms for taking part: posting an idea, commenting or replying, and voting."""

from __future__ import annotations

from wtforms import HiddenField, StringField, TextAreaField

from . import Form, PublicIdField


class IdeaForm(Form):
    """A new idea: a title and the idea itself."""

    title = StringField()
    body = TextAreaField()


class CommentForm(Form):
    """A comment on an idea, or a reply when parent_id names the comment replied to (by its public id)."""

    body = TextAreaField()
    parent_id = PublicIdField(kind="comment")


class VoteForm(Form):
    """Support (1), oppose (-1) or withdraw (0) a vote on an idea or a comment."""

    kind = HiddenField()
    id = PublicIdField()  # of the kind the kind field names
    value = HiddenField()
    next = HiddenField()

    def vote_value(self) -> int | None:
        """The vote as -1, 0 or 1, or None when it is anything else."""
        return {"1": 1, "-1": -1, "0": 0}.get((self.value.data or "").strip())
