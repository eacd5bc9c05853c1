"""Forms of the strategy team's workspace, check and challenge, and "What we heard" (field validation only)."""

from __future__ import annotations

import re
from typing import Any

from wtforms import BooleanField, HiddenField, IntegerField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional, Regexp, ValidationError

from . import Form, IdField

# Contribution ids as the analysis and the codebook use them.
CONTRIBUTION_ID = re.compile(r"^[ic][0-9]{1,19}$")


class IdList(SelectMultipleField):
    """Several contribution ids from checkboxes; anything that is not one is refused."""

    def pre_validate(self, form: Form) -> None:
        """Check the shape of each id (the service checks that each belongs where it should)."""
        if any(not CONTRIBUTION_ID.match(value) for value in self.data or []):
            raise ValidationError("That was not understood. Go back and try again.")


def seen_field() -> HiddenField:
    """What the page was drawn from (a stamp the service made), so a save from a stale page cannot undo a newer one."""
    return HiddenField()


class AdoptForm(Form):
    """Adopt a finished run's themes."""

    run_id = IdField()


class ThemeEditForm(Form):
    """A theme's name and summary (the service trims and checks length)."""

    label = StringField()
    summary = TextAreaField()
    seen = seen_field()


class MergeForm(Form):
    """The theme to merge into this one."""

    other = IdField()
    seen = seen_field()


class SplitForm(Form):
    """The members that go to a new theme, and its name."""

    contributions = IdList(choices=[], validate_choice=False)
    new_label = StringField()
    new_summary = TextAreaField()
    seen = seen_field()


class MoveForm(Form):
    """Move the ticked contributions to another theme, or add them there as well."""

    contributions = IdList(choices=[], validate_choice=False)
    target = IdField()
    keep = BooleanField()
    seen = seen_field()


class MemberForm(Form):
    """The ticked contributions of a theme (to take them out)."""

    contributions = IdList(choices=[], validate_choice=False)
    seen = seen_field()


class DropQuoteForm(Form):
    """Stop quoting one contribution for a theme."""

    contribution = StringField(validators=[Regexp(CONTRIBUTION_ID)])


class ScopeForm(Form):
    """Put a theme out of scope, or back."""

    in_scope = BooleanField()
    seen = seen_field()


class UndoForm(Form):
    """Undo the newest change (the version the person saw, so a stale page cannot undo something else)."""

    version = IdField()


def proposals_form(items: list[str], formdata: Any = None) -> Form:
    """A form with one choice per proposed contribution (a theme id, "none", or "" to decide later)."""
    fields = {f"choice_{item}": StringField() for item in items}
    form_class = type("ProposalsForm", (Form,), fields)
    return form_class(formdata=formdata) if formdata is not None else form_class()


class ExportForm(Form):
    """Which export (the choice is checked against the known formats in the view)."""

    format = StringField()


class PublishForm(Form):
    """Codebook themes to publish as statements into a phase, under one of its topics."""

    phase_id = IdField()
    topic_id = IdField()
    themes = SelectMultipleField(choices=[], validate_choice=False)

    def validate_themes(self, field: Any) -> None:
        """Theme ids are whole numbers."""
        if any(not str(v).isdigit() or len(str(v)) > 19 for v in field.data or []):
            raise ValidationError("That was not understood. Go back and try again.")


class HeardForm(Form):
    """A phase's "What we heard" page: introduction, what was done, the themes shown, published or not."""

    introduction = TextAreaField()
    outcome = TextAreaField()
    themes = SelectMultipleField(choices=[], validate_choice=False)
    publish = BooleanField()
    seen = seen_field()

    def validate_themes(self, field: Any) -> None:
        """Theme ids are whole numbers."""
        if any(not str(v).isdigit() or len(str(v)) > 19 for v in field.data or []):
            raise ValidationError("That was not understood. Go back and try again.")


class BlindStartForm(Form):
    """How many contributions to sample."""

    size = IntegerField(validators=[Optional(), NumberRange(5, 500, "Choose a sample of 5 to 500 contributions")])


class BlindCodeForm(Form):
    """The second coder's theme for one contribution ("none" when none fits)."""

    contribution = StringField(validators=[Regexp(CONTRIBUTION_ID, message="That was not understood.")])
    theme = StringField(validators=[Regexp(r"^(none|[0-9]{1,19})$", message="Choose a theme")])
