"""Register, confirm an email address, log in and out, and reset a forgotten password.

Registration, login and reset answer the same, in about the same time, whether or not an account exists.
Login, registration and the reset request read first (``reads_first``): argon2 runs with no write lock
held, and what they save goes in a short write of its own.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..authz import allow
from ..extensions import db, reads_first, write_intent
from ..forms import field_errors
from ..forms.accounts import ForgotPasswordForm, LoginForm, RegisterForm, ResetPasswordForm
from ..models import CATEGORIES, CATEGORY_LABELS, User
from ..security import SESSION_KEY, safe_next, session_timeouts
from ..services import accounts, mail, ratelimit, sessions
from ..services.errors import Invalid
from ..services.passwords import check_password, hash_password
from ..services.suspension import Suspended
from .helpers import emailed_link_page, link_expired

bp = Blueprint("auth", __name__)
LOGIN_FAILED = "Enter a correct email address and password"


def _address() -> str:
    """The client's network address, for per-address limits."""
    return request.remote_addr or "unknown"


def verified_domains() -> dict[str, str]:
    """The configured email domains that verify staff and student claims."""
    return {"staff_domains": current_app.config["VERIFIED_STAFF_DOMAINS"],
            "student_domains": current_app.config["VERIFIED_STUDENT_DOMAINS"]}


def _too_many(template: str, wait: int, status: int = 429, advice: str = ", or reset your password",
              **context: Any) -> Any:
    """Show a form again with a plain message saying how long to wait."""
    response = current_app.make_response((render_template(
        template, errors={"email": f"Too many attempts from this internet connection. Wait "
                                   f"{ratelimit.minutes(wait)} and try again{advice}."}, **context), status))
    response.headers["Retry-After"] = str(wait)
    return response


def start_session(user: User) -> None:
    """Log this person in on this browser: a new server-side session row (the caller commits it)."""
    secret = sessions.start(db.session, user, timeouts=session_timeouts())
    login_user(user)
    session[SESSION_KEY] = secret


def current_secret() -> str:
    """The secret naming this browser's server-side session ("" when logged out)."""
    return str(session.get(SESSION_KEY) or "")


def after_registration_url(next_url: str = "") -> str:
    """Where a newly confirmed person goes: the equality questions if installed, then the page they came from."""
    if "equality.questions" in current_app.view_functions:
        return url_for("equality.questions", next=next_url or None)
    return next_url or url_for("public.home")


def _came_from(value: str | None) -> str:
    """The page on this site a person was on before registering ("" if none), to take them back to it."""
    return safe_next(value, "").rstrip("?")


@bp.route("/register", methods=["GET", "POST"])
@allow("anyone")
@reads_first
def register() -> Any:
    """Create a participant account; the answer is the same whether or not the address has one."""
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = RegisterForm()
    context = {"categories": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES], "form": form.data}
    if not form.is_submitted():
        return render_template("auth/register.html", errors={}, **context)
    if not form.validate():
        return render_template("auth/register.html", errors=field_errors(form), **context), 400
    with write_intent():
        wait = ratelimit.hit(db.session, ratelimit.REGISTER_ADDRESS, _address())
        db.session.commit()
    if wait:
        # A new person has no password to reset.
        return _too_many("auth/register.html", wait, advice="", **context)
    try:
        with write_intent():
            # The service validates and hashes before its first query, so the write lock is held only briefly.
            outcome = accounts.register(db.session, form.email.data or "", form.password.data or "",
                                        form.category.data or "", form.profession.data or None)
            secret = accounts.issue_token(db.session, outcome.user, "confirm") if outcome.created else None
            db.session.commit()
    except Invalid as exc:
        db.session.rollback()
        return render_template("auth/register.html", errors=exc.field_errors, **context), 400
    # The link carries the page they were on, so confirming (even on another device) leads back to it.
    came_from = _came_from(form.next.data) or None
    if secret:
        mail.send(outcome.user.email, "Confirm your email address for consult", "confirm",
                  link=mail.link("auth.confirm", token=secret, next=came_from))
    else:
        # Tell the owner, not the person at the keyboard, that the address already has an account.
        mail.send(outcome.user.email, "Someone tried to create a consult account with your email", "already",
                  login=mail.link("auth.login", next=came_from), reset=mail.link("auth.forgot_password"))
    session["pending_email"] = outcome.user.email
    session["pending_next"] = came_from
    return redirect(url_for("auth.check_email"))


@bp.get("/register/check-email")
@allow("anyone")
def check_email() -> Any:
    """After registering: look for the confirmation email."""
    return render_template("auth/check_email.html", email=session.get("pending_email"),
                           came_from=_came_from(session.get("pending_next")))


@bp.get("/confirm/<token>")
@allow("anyone")
def confirm(token: str) -> Any:
    """The page behind a confirmation link: one button confirms (so mail scanners cannot spend the link)."""
    return emailed_link_page(token, "confirm", "auth/confirm.html", came_from=_came_from(request.args.get("next")))


@bp.post("/confirm/<token>")
@allow("anyone")
def confirm_post(token: str) -> Any:
    """Confirm the email address, log the person in and take them on."""
    try:
        user = accounts.confirm_email(db.session, token, **verified_domains())
    except Invalid as exc:
        return link_expired(exc)
    if current_user.is_authenticated and current_user.id != user.id:
        # Someone else was logged in on this browser: their session here ends, the link's owner's begins.
        sessions.end(db.session, current_secret())
        logout_user()
    if not current_user.is_authenticated:
        # Confirming logs the person in, so it counts as their first login.
        accounts.record_login(db.session, user)
        start_session(user)
    db.session.commit()
    session.pop("pending_email", None)
    session.pop("pending_next", None)
    flash("Your email address is confirmed. You can now add ideas, comment and vote.", "success")
    return redirect(after_registration_url(_came_from(request.args.get("next"))))


@bp.post("/confirm/resend")
@allow("participant")
def resend_confirmation() -> Any:
    """Send a new confirmation link to the logged-in person's address."""
    user = current_user._get_current_object()
    if user.email_confirmed_at is not None:
        flash("Your email address is already confirmed.", "info")
        return redirect(url_for("account.index"))
    ratelimit.throttle(db.session, ratelimit.RESEND_ACCOUNT, str(user.id), "asked for a confirmation email")
    secret = accounts.issue_token(db.session, user, "confirm")
    db.session.commit()
    mail.send(user.email, "Confirm your email address for consult", "confirm",
              link=mail.link("auth.confirm", token=secret))
    flash(f"We have sent a new confirmation link to {user.email}. It works for 7 days.", "success")
    return redirect(safe_next(request.form.get("next"), url_for("account.index")))


@bp.route("/login", methods=["GET", "POST"])
@allow("anyone")
@reads_first
def login() -> Any:
    """Log in with email and password, with back-off per account and per address."""
    form = LoginForm()
    next_url = safe_next(form.next.data or request.args.get("next"), url_for("public.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    if not form.is_submitted():
        return render_template("auth/login.html", errors={}, form={}, next=next_url)
    email = (form.email.data or "").strip().lower()
    checks = [(ratelimit.LOGIN_ACCOUNT, email), (ratelimit.LOGIN_ADDRESS, _address())]
    wait = ratelimit.blocked(db.session, checks)
    if wait or not form.validate():
        db.session.rollback()
        if wait:
            return _too_many("auth/login.html", wait, form=form.data, next=next_url)
        return render_template("auth/login.html", errors=field_errors(form), form=form.data, next=next_url), 400
    try:
        user, new_hash = accounts.authenticate(db.session, email, form.password.data or "")
    except Suspended as exc:
        db.session.rollback()
        return render_template("auth/login.html", errors={"email": exc.message}, form=form.data,
                               next=next_url), 403
    db.session.commit()  # end the read before writing anything
    with write_intent():
        if user is None:
            for limits, subject in checks:
                ratelimit.hit(db.session, limits, subject)
        else:
            accounts.record_login(db.session, user, new_hash)
            start_session(user)
        db.session.commit()
    if user is None:
        return render_template("auth/login.html", errors={"email": LOGIN_FAILED}, form=form.data, next=next_url), 400
    return redirect(next_url)


@bp.route("/logout", methods=["POST"])
@allow("anyone")
def logout() -> Any:
    """Log out on this device (POST only); its session ends on the server too, so a copied cookie stops working."""
    sessions.end(db.session, current_secret())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("public.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@allow("anyone")
@reads_first
def forgot_password() -> Any:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if not form.is_submitted():
        return render_template("auth/forgot.html", errors={}, form={})
    email = (form.email.data or "").strip().lower()
    if not form.validate() or "@" not in email:
        return render_template("auth/forgot.html", errors={"email": accounts.FORMAT_MESSAGE}, form=form.data), 400
    with write_intent():
        wait = max(ratelimit.hit(db.session, ratelimit.RESET_ADDRESS, _address()),
                   ratelimit.hit(db.session, ratelimit.RESET_ACCOUNT, email))
        found = None if wait else accounts.request_reset(db.session, email)
        db.session.commit()
    if wait:
        return _too_many("auth/forgot.html", wait, form=form.data)
    if found is not None:
        user, secret = found
        mail.send(user.email, "Reset your consult password", "reset",
                  link=mail.link("auth.reset_password", token=secret))
    session["pending_email"] = email
    return redirect(url_for("auth.reset_sent"))


@bp.get("/forgot-password/sent")
@allow("anyone")
def reset_sent() -> Any:
    """After asking for a reset: look for the email."""
    return render_template("auth/reset_sent.html", email=session.get("pending_email"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@allow("anyone")
@reads_first
def reset_password(token: str) -> Any:
    """Choose a new password behind a single-use reset link; every old session ends."""
    try:
        user = db.session.get(User, accounts.find_token(db.session, token, "reset").user_id)
    except Invalid as exc:
        return link_expired(exc)
    form = ResetPasswordForm()
    if not form.is_submitted():
        return render_template("auth/reset.html", errors={}, token=token)
    try:
        if not form.validate():
            raise Invalid("There is a problem", field_errors(form))
        check_password(form.password.data or "", email=user.email if user else None)
    except Invalid as exc:
        return render_template("auth/reset.html", errors=exc.field_errors, token=token), 400
    password_hash = hash_password(form.password.data or "")
    db.session.commit()  # end the read; the hash is made, now a short write
    try:
        with write_intent():
            # Every session of the account ends, this browser's too; it starts a fresh one.
            user = accounts.reset_password(db.session, token, password_hash)
            logout_user()
            session.clear()
            start_session(user)
            db.session.commit()
    except Invalid as exc:
        return link_expired(exc)
    flash("Your password has been changed, and you are logged in. Any other devices have been logged out.",
          "success")
    return redirect(url_for("public.home"))
