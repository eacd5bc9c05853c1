"""Forms for registering, logging in, emailed links and the account page (field parsing only)."""

from __future__ import annotations

from wtforms import HiddenField, PasswordField, StringField

from . import Form


class RegisterForm(Form):
    """Create an account: the service checks every rule and gives the messages."""

    email = StringField()
    password = PasswordField()
    category = StringField()
    profession = StringField()
    next = HiddenField()


class LoginForm(Form):
    """Log in with email and password."""

    email = StringField()
    password = PasswordField()
    next = HiddenField()


class ForgotPasswordForm(Form):
    """Ask for a password reset link."""

    email = StringField()


class ResetPasswordForm(Form):
    """Choose a new password behind a reset link."""

    password = PasswordField()


class ChangePasswordForm(Form):
    """Change password on the account page."""

    current_password = PasswordField()
    new_password = PasswordField()


class ChangeEmailForm(Form):
    """Change the account's email address (confirmed by a link sent to the new one)."""

    email = StringField()
    password = PasswordField()


class ButtonForm(Form):
    """A plain POST button: only the CSRF token."""


class VerifyClaimForm(Form):
    """A facilitator names the account whose staff or student claim they have checked."""

    email = StringField()


class ChangeParticipationForm(Form):
    """Change how you take part: the service checks the category and profession with registration's messages."""

    category = StringField()
    profession = StringField()
