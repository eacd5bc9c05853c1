"""Forms for equality monitoring and participants' rights (field shapes only; the rules are in services)."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, PasswordField, StringField

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
