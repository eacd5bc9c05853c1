"""Small helpers shared by views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, render_template, request
from flask_login import current_user

from ..authz import parse_id
from ..extensions import db
from ..models import User
from ..services.errors import Invalid

T = TypeVar("T")


def get_or_404(model: type[T], item_id: int) -> T:
    """Load a row by id or answer 404."""
    item = db.session.get(model, item_id)
    if item is None:
        abort(404)
    return item


def page_arg() -> int:
    """The ?page= number, 1 when missing or not a number."""
    value = parse_id(request.args.get("page"))
    return value if value is not None and value < 1_000_000 else 1


def user_or_none() -> User | None:
    """The logged-in user, or None for visitors."""
    # The object itself, not the proxy: each attribute read through current_user looks the user up again.
    user = current_user._get_current_object()  # type: ignore[attr-defined]
    return user if user.is_authenticated else None


def logged_in_user() -> User:
    """The logged-in user itself, on routes for logged-in people only (services read it many times)."""
    return current_user._get_current_object()  # type: ignore[attr-defined]


def form_values(form: Any) -> dict[str, Any]:
    """What was sent in a form, as templates show it back (never None, never the CSRF token)."""
    return {name: ("" if value is None else value) for name, value in form.data.items() if name != "csrf_token"}


def link_expired(exc: Invalid) -> tuple[str, int]:
    """The page for an emailed link that is unknown, used or out of date (with nothing changed)."""
    db.session.rollback()
    return render_template("auth/link_expired.html", message=exc.message), 404


def emailed_link_page(token: str, purpose: str, template: str, **context: Any) -> Any:
    """The page behind an emailed link: one button acts, so mail scanners that open links cannot spend them."""
    from ..forms.accounts import ButtonForm
    from ..services import accounts

    try:
        accounts.find_token(db.session, token, purpose)
    except Invalid as exc:
        return link_expired(exc)
    return render_template(template, form=ButtonForm(), token=token, **context)


def password_checked(user: User, check: Callable[[], T]) -> T:
    """Run a form's check of the account's password under its login back-off; a wrong password counts.

    Raises TooManyRequests while the back-off holds (whatever was typed), else whatever the check raises.
    """
    from ..extensions import write_intent
    from ..services import accounts, ratelimit

    wait = accounts.password_wait(db.session, user)
    db.session.commit()  # end the read: what follows may write
    if wait:
        raise ratelimit.TooManyRequests(f"Too many wrong passwords for this account. Wait {ratelimit.minutes(wait)} "
                                        "and try again, or log out and reset your password.", wait)
    try:
        return check()
    except Invalid as exc:
        wrong = {accounts.WRONG_PASSWORD, accounts.WRONG_CURRENT_PASSWORD} & set(exc.field_errors.values())
        if wrong:
            db.session.rollback()  # nothing of the refused form is kept; only the count is written
            with write_intent():
                accounts.count_wrong_password(db.session, user)
                db.session.commit()
        raise
