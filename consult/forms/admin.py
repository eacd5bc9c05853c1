"""Forms for the admin pages: a person's role and staff assignments to consultations."""

from __future__ import annotations

from wtforms import StringField

from . import Form, IdField


class RoleForm(Form):
    """The staff role to give a person."""

    role = StringField()


class AssignmentForm(Form):
    """Assign a person, by email, to a consultation in one of the assignment roles."""

    email = StringField()
    role = StringField()


class UnassignForm(Form):
    """Remove one assignment."""

    assignment_id = IdField()


class SuspensionForm(Form):
    """Suspend an account (with the reason, for the audit log) or reinstate it."""

    action = StringField()
    reason = StringField()


class EraseForm(Form):
    """Delete an account at the person's request: what happens to their posts, and its address typed to confirm."""

    contributions = StringField()
    typed_email = StringField()
