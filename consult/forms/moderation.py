"""Forms for reporting, editing and withdrawing contributions, and for moderators' decisions."""

from __future__ import annotations

from typing import Any

from wtforms import Field, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..authz import parse_id
from ..models import REPORT_REASONS
from ..services.moderation import ACTIONS, REASON_MAX, REPORT_LABELS
from . import Form


class IdListField(Field):
    """Several ids from checkboxes of one name; any that cannot be an id makes the form invalid."""

    data: list[int]

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse every submitted id with the one id parser."""
        self.data = []
        for value in valuelist:
            number = parse_id(value)
            if number is None:
                raise ValueError("That was not understood. Go back and try again.")
            self.data.append(number)

    def _value(self) -> str:
        """Not rendered as a single input."""
        return ""


class ReportForm(Form):
    """Why a participant reports an idea or comment."""

    reason = RadioField("Why are you reporting this?", choices=[(r, REPORT_LABELS[r]) for r in REPORT_REASONS],
                        validators=[InputRequired("Select why you are reporting this")])
    note = TextAreaField("Anything else the moderators should know (optional)",
                         validators=[Optional(), Length(max=500, message="Details must be 500 characters or fewer")])


class EditForm(Form):
    """An author's (or a moderator's) new text; lengths are checked by the service with the posting rules."""

    title = StringField("Title")
    body = TextAreaField("Text")


class DecisionForm(Form):
    """A moderator's decision on one or several cases."""

    case_id = IdListField()
    action = RadioField("What do you want to do?", choices=[(a, a) for a in ACTIONS],
                        validators=[InputRequired("Choose what to do")])
    reason = StringField("Reason shown in place of it (for hiding)", validators=[
        Optional(), Length(max=REASON_MAX, message=f"The reason must be {REASON_MAX} characters or fewer")])


class PremoderationForm(Form):
    """Turn pre-moderation of a phase on or off."""

    premoderated = RadioField("Pre-moderation", choices=[("on", "On"), ("off", "Off")],
                              validators=[InputRequired("Choose on or off")])


class AnomalyForm(Form):
    """A facilitator's decision on a flagged pattern (exclude, dismiss or reopen), with the reason recorded; the
    service checks both fields and says what is wrong."""

    action = StringField("Decision")
    reason = StringField("Reason")
    page = StringField()  # the page of flags the form was on, to show it again after a problem


class SuspendAuthorForm(Form):
    """Suspend the account that wrote a case's contribution; the reason goes to the audit log."""

    reason = StringField()
