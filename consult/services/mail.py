"""Email through Flask-Mailman: the console in development, SMTP by configuration, an outbox in tests.

Backends (CONSULT_MAIL_BACKEND): "console" prints each message, "file" writes each one to a file in
CONSULT_MAIL_FILE_PATH (browser tests read their links there), "smtp" sends through CONSULT_MAIL_SERVER,
"locmem" keeps them in memory for tests (``outbox()``). Messages are plain text, from templates/account/mail.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app, render_template, url_for
from flask_mailman import EmailMessage, Mail

log = logging.getLogger(__name__)
mail = Mail()


def init_app(app: Flask) -> None:
    """Bind the mail library to the app's MAIL_* settings."""
    mail.init_app(app)


def link(endpoint: str, **values: Any) -> str:
    """An absolute link for an email: from CONSULT_PUBLIC_URL when set, never from a forged Host header."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return str(base).rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _deliver(app: Flask, message: EmailMessage) -> None:
    """Send one message; a failure is logged, never shown (the page already answered)."""
    with app.app_context():
        try:
            message.send()
        except Exception:  # noqa: BLE001 - a mail server problem must not break the request or leak timing
            log.exception("Could not send email %r", message.subject)


def send(to: str, subject: str, template: str, **context: Any) -> None:
    """Send a plain-text email rendered from templates/account/mail/<template>.txt."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body = render_template(f"account/mail/{template}.txt", **context)
    message = EmailMessage(subject=subject, body=body, to=[to],
                           from_email=app.config.get("MAIL_DEFAULT_SENDER"))
    if app.config.get("MAIL_SEND_IN_BACKGROUND"):
        # Sending after the answer keeps every answer the same length of time, whether a message went or not.
        threading.Thread(target=_deliver, args=(app, message), daemon=True).start()
    else:
        _deliver(app, message)


def outbox() -> list[EmailMessage]:
    """Messages sent so far with the "locmem" backend (tests)."""
    state = current_app.extensions.get("mailman")
    return list(getattr(state, "outbox", []) or [])
