"""Flask-WTF forms, one module per area (field validation only; the rules live in services).

Every state-changing route reads its input through a form here, never from ``request.form`` by hand:
the form parses each id and number once and safely, and gives plain messages. (The vote, the busiest
route, is read by ``participate.VoteInput`` with the same parsers and no form object.) The CSRF token of every
POST, PUT, PATCH and DELETE is checked once, for the whole app, by CSRFProtect before any view runs
(consult/__init__.py; no view is exempt), so the forms do not check it a second time.
Templates take ``errors`` as {field: message} (``field_errors(form)``) and the submitted values as
``form.data`` so nothing typed is lost when something is wrong.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, IntegerField
from wtforms.validators import ValidationError
from wtforms.widgets import HiddenInput

from .. import publicids
from ..authz import MAX_ID, parse_id

NOT_UNDERSTOOD = "That was not understood. Go back and try again."


class Form(FlaskForm):
    """Base form: never a 500 for odd input (the CSRF token was checked before the view ran)."""

    class Meta:
        # Error messages are ours, in plain English, not WTForms' defaults.
        locales = False
        # CSRFProtect has already checked the token of this request; checking it again in every form, and
        # signing a fresh token for a form that is never shown, cost more than the rest of the form.
        csrf = False


class IdField(IntegerField):
    """An id sent by a form: ASCII digits within 64 bits, else "not understood" (never an exception)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the submitted value with the one id parser."""
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = parse_id(valuelist[0])
            if self.data is None:
                raise ValueError(NOT_UNDERSTOOD)


def stored_id(kind: str, text: str) -> int | None:
    """The stored id a public id names, or None (also for numbers beyond any stored id)."""
    number = publicids.decode(kind, text)
    return number if number is not None and number <= MAX_ID else None


class PublicIdField(Field):
    """An idea or comment named by its public id (consult/publicids.py), decoded once to the stored id.

    ``kind`` is "idea" or "comment"; None takes the kind from the form's ``kind`` field (a vote names either).
    Anything malformed or tampered with is "not understood", never an exception.
    """

    widget = HiddenInput()

    def __init__(self, label: str | None = None, validators: Any = None, kind: str | None = None,
                 **kwargs: Any) -> None:
        """A field for one kind's public ids, or for the kind the form's ``kind`` field names."""
        super().__init__(label, validators, **kwargs)
        self.kind = kind
        self.raw: str = ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Keep the text sent, and decode it now when the kind is fixed."""
        self.data = None
        self.raw = str(valuelist[0]).strip() if valuelist else ""
        if self.raw and self.kind is not None:
            self.data = stored_id(self.kind, self.raw)
            if self.data is None:
                raise ValueError(NOT_UNDERSTOOD)

    def pre_validate(self, form: Form) -> None:
        """Decode with the kind the form names, when the field's kind comes from the form."""
        if self.kind is not None or not self.raw:
            return
        kind = form["kind"].data if "kind" in form else None
        self.data = stored_id(kind, self.raw) if kind in publicids.KINDS else None
        if self.data is None:
            raise ValidationError(NOT_UNDERSTOOD)

    def _value(self) -> str:
        """The text sent, for a form shown again."""
        return self.raw


def whole_number(minimum: int, maximum: int, message: str) -> Any:
    """A validator for a whole number within a range, with our message."""

    def check(_form: Form, field: Field) -> None:
        if field.data is not None and not (minimum <= field.data <= maximum):
            raise ValidationError(message)

    return check


def field_errors(form: Form) -> dict[str, str]:
    """The first error of each field, as templates show them beside the field."""
    return {name: messages[0] for name, messages in form.errors.items() if messages}
