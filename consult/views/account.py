"""Your account, the one page: email, how you take part, password, devices, answers about you, your data, deleting."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, logout_user
from sqlalchemy import select

from ..authz import allow
from ..extensions import db, reads_first, write_intent
from ..forms import field_errors
from ..forms.accounts import ChangeEmailForm, ChangePasswordForm, VerifyClaimForm
from ..models import CATEGORY_LABELS, PROFESSION_LABELS, User
from ..security import session_timeouts
from ..services import accounts, equality, mail, sessions
from ..services.errors import Invalid, NotFound
from ..services.ratelimit import TooManyRequests
from .auth import current_secret, verified_domains
from .helpers import emailed_link_page, link_expired, password_checked

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Any:
    """The account page, with any form's errors and values."""
    user = current_user
    profile = user.profile
    answers = equality.get_answers(db.session, user_id=user.id, secret=str(current_app.config["PSEUDONYM_KEY"]))
    values = {
        "errors": {}, "email_form": {}, "user": user,
        "category": CATEGORY_LABELS.get(profile.category, "") if profile else "",
        "profession": PROFESSION_LABELS.get(profile.profession or "", "") if profile else "",
        "verified": bool(profile and profile.claim_verified_via),
        "devices": sessions.count(db.session, user.id, timeouts=session_timeouts()),
        # The optional questions about you, kept apart from the account under the pseudonym key.
        "answers": answers and equality.describe(answers), "has_answers": answers is not None,
    }
    values.update(context)
    return render_template("account/index.html", **values), status, headers or {}


@bp.get("")
@allow("participant")
def index() -> Any:
    """Your account: email, how you take part, password, devices, answers about you, your data and deleting it."""
    return _page()


@bp.post("/email")
@allow("participant")
@reads_first
def change_email() -> Any:
    """Ask to change the email address: a link goes to the new address, which takes over once followed."""
    form = ChangeEmailForm()
    user = current_user._get_current_object()

    def request_change() -> tuple[str, str | None]:
        with write_intent():
            change = accounts.request_email_change(db.session, user, form.email.data or "", form.password.data or "")
            db.session.commit()
        return change

    try:
        if not form.validate():
            raise Invalid("There is a problem", field_errors(form))
        new_email, secret = password_checked(user, request_change)
    except TooManyRequests as exc:
        return _page(429, errors={"password": exc.message}, email_form={"email": form.email.data or ""},
                     headers={"Retry-After": str(exc.retry_after)})
    except Invalid as exc:
        db.session.rollback()
        return _page(400, errors=exc.field_errors, email_form={"email": form.email.data or ""})
    if secret:
        mail.send(new_email, "Confirm your new email address for consult", "change_email",
                  link=mail.link("account.confirm_email", token=secret))
    else:
        mail.send(new_email, "Someone tried to use your email address on consult", "already",
                  login=mail.link("auth.login"), reset=mail.link("auth.forgot_password"))
    mail.send(user.email, "Your consult email address is being changed", "email_changing", new_email=new_email)
    flash(f"We have sent a link to {new_email}. Your email address changes when you follow it.", "success")
    return redirect(url_for("account.index"))


@bp.get("/email/confirm/<token>")
@allow("anyone")
def confirm_email(token: str) -> Any:
    """The page behind the link sent to a new address: one button makes the change."""
    return emailed_link_page(token, "change_email", "account/confirm_email.html")


@bp.post("/email/confirm/<token>")
@allow("anyone")
def confirm_email_post(token: str) -> Any:
    """Make the new address the account's email."""
    try:
        accounts.change_email(db.session, token, keep=current_secret(), **verified_domains())
    except Invalid as exc:
        return link_expired(exc)
    db.session.commit()
    flash("Your email address has been changed. Use the new one to log in.", "success")
    return redirect(url_for("account.index") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/password")
@allow("participant")
@reads_first
def change_password() -> Any:
    """Change password: check the current one and hash the new one first, then a short write."""
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    try:
        if not form.validate():
            raise Invalid("There is a problem", field_errors(form))
        password_hash = password_checked(user, lambda: accounts.new_password_hash(
            user, form.current_password.data or "", form.new_password.data or ""))
    except TooManyRequests as exc:
        return _page(429, errors={"current_password": exc.message}, headers={"Retry-After": str(exc.retry_after)})
    except Invalid as exc:
        return _page(400, errors=exc.field_errors)
    with write_intent():
        # Every other session ends with the change; this browser's stays.
        accounts.set_password(db.session, user, password_hash, keep=current_secret())
        db.session.commit()
    flash("Your password has been changed. Any other devices have been logged out.", "success")
    return redirect(url_for("account.index"))


@bp.post("/sign-out-others")
@allow("participant")
def logout_others() -> Any:
    """End every other session of this account (a lost phone, a shared computer); this one stays."""
    ended = accounts.end_sessions(db.session, current_user._get_current_object(), keep=current_secret())
    db.session.commit()
    if ended:
        devices = "1 other device" if ended == 1 else f"{ended} other devices"
        flash(f"You have been signed out on {devices}. You are still signed in here.", "success")
    else:
        flash("You were not signed in anywhere else. You are still signed in here.", "info")
    return redirect(url_for("account.index"))


@bp.post("/logout-everywhere")
@allow("participant")
def logout_everywhere() -> Any:
    """End every session of this account, on every device, including this one."""
    accounts.end_sessions(db.session, current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out on every device.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/verify-claims", methods=["GET", "POST"])
@allow("facilitator")
def verify_claims() -> Any:
    """A facilitator verifies someone's staff or student claim, having checked it themselves (audited)."""
    form = VerifyClaimForm()
    if not form.is_submitted():
        return render_template("account/verify_claims.html", errors={}, form={})
    email = (form.email.data or "").strip().lower()
    person = db.session.scalar(select(User).where(User.email == email)) if email else None
    try:
        if not form.validate():
            raise Invalid("There is a problem", field_errors(form))
        if person is None:
            raise NotFound("No account uses this email address. Check it with the person.")
        accounts.verify_claim(db.session, current_user._get_current_object(), person)
    except (Invalid, NotFound) as exc:
        db.session.rollback()
        errors = getattr(exc, "field_errors", None) or {"email": exc.message}
        return render_template("account/verify_claims.html", errors=errors, form=form.data), 400
    db.session.commit()
    label = "staff" if person.profile and person.profile.category == "staff" else "student"
    flash(f"The {label} claim of {person.email} is now verified.", "success")
    return redirect(url_for("account.verify_claims"))
