"""Domain errors that views turn into clear messages with the right status code."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule refused the action; the message is shown to the person as it is."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(ServiceError):
    """The person may not do this (wrong role or outside the phase's audience)."""

    status = 403


class NotFound(ServiceError):
    """The thing asked for does not exist, or is not visible to this person."""

    status = 404


class Conflict(ServiceError):
    """The action does not fit the current state (for example the phase is closed)."""

    status = 409


class Invalid(ServiceError):
    """The input is wrong; field_errors maps form fields to messages."""

    status = 400

    def __init__(self, message: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}
