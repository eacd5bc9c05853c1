"""Flask-WTF forms, one module per area (field validation only; the rules live in services).

Every state-changing route reads its input through a form here, never from ``request.form`` by hand:
the form checks the CSRF token, parses each id and number once and safely, and gives plain messages.
Templates take ``errors`` as {field: message} (``field_errors(form)``) and the submitted values as
``form.data`` so nothing typed is lost when something is wrong.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, IntegerField
from wtforms.validators import ValidationError

from ..authz import parse_id


class Form(FlaskForm):
    """Base form: CSRF-protected, and never a 500 for odd input."""

    class Meta:
        # Error messages are ours, in plain English, not WTForms' defaults.
        locales = False


class IdField(IntegerField):
    """An id sent by a form: ASCII digits within 64 bits, else "not understood" (never an exception)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the submitted value with the one id parser."""
        self.data = None
        if valuelist and str(valuelist[0]).strip():
            self.data = parse_id(valuelist[0])
            if self.data is None:
                raise ValueError("That was not understood. Go back and try again.")


def whole_number(minimum: int, maximum: int, message: str) -> Any:
    """A validator for a whole number within a range, with our message."""

    def check(_form: Form, field: Field) -> None:
        if field.data is not None and not (minimum <= field.data <= maximum):
            raise ValidationError(message)

    return check


def field_errors(form: Form) -> dict[str, str]:
    """The first error of each field, as templates show them beside the field."""
    return {name: messages[0] for name, messages in form.errors.items() if messages}
