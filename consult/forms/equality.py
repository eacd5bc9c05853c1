"""Forms for equality monitoring and participants' rights (field shapes only; the rules are in services)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, PasswordField, SelectMultipleField, StringField

from ..services.equality import QUESTION_KEYS
from . import Form


class AnswersForm(Form):
    """The equality questions: every answer optional; validated against the choices by the service."""

    consent_special = BooleanField()
    next = HiddenField()


for _key in QUESTION_KEYS:
    setattr(AnswersForm, _key, StringField())


class ConfirmForm(Form):
    """A plain confirmation button (its CSRF token is the point)."""


class DeleteAccountForm(Form):
    """Delete my account: what to do with my contributions, and my password to confirm."""

    contributions = StringField()
    password = PasswordField()


class CsvUploadForm(Form):
    """A CSV file upload (reference population or offline contributions), with an optional source note."""

    file = FileField()
    source = StringField()


class QuestionsOffForm(Form):
    """Which equality questions a consultation switches off (unknown names are refused by the service)."""

    questions = SelectMultipleField(choices=[(k, k) for k in QUESTION_KEYS], validate_choice=False)


class DeadlineForm(Form):
    """The last day offline contributions may be entered after a phase closes (blank clears it)."""

    day = StringField()
    month = StringField()
    year = StringField()


class EventForm(Form):
    """An offline event's details, corrected after it was recorded (the service checks every value)."""

    channel = StringField()
    event_name = StringField()
    event_day = StringField()
    event_month = StringField()
    event_year = StringField()
    event_people = StringField()
    event_profile = StringField()
