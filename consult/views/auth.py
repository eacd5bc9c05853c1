"""Register, log in, log out."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from ..authz import allow
from ..extensions import db
from ..models import CATEGORIES, CATEGORY_LABELS
from ..security import safe_next
from ..services import accounts
from ..services.errors import Invalid

bp = Blueprint("auth", __name__)


def _form_context(**extra: Any) -> dict[str, Any]:
    """Choices the registration form needs."""
    return {
        "categories": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        **extra,
    }


@bp.route("/register", methods=["GET", "POST"])
@allow("anyone")
def register() -> Any:
    """Create a participant account."""
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = request.form
    if request.method == "POST":
        try:
            user = accounts.register(db.session, form.get("email", ""), form.get("password", ""),
                                     form.get("category", ""), form.get("profession") or None)
        except Invalid as exc:
            db.session.rollback()
            return render_template("auth/register.html", errors=exc.field_errors, form=form, **_form_context()), 400
        db.session.commit()
        login_user(user)
        flash("Your account has been created. What you post is anonymous: others never see your email.", "success")
        return redirect(safe_next(form.get("next"), url_for("public.home")))
    return render_template("auth/register.html", errors={}, form=form, **_form_context())


@bp.route("/login", methods=["GET", "POST"])
@allow("anyone")
def login() -> Any:
    """Log in with email and password."""
    next_url = safe_next(request.values.get("next"), url_for("public.home"))
    if current_user.is_authenticated:
        return redirect(next_url)
    if request.method == "POST":
        user = accounts.authenticate(db.session, request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            db.session.rollback()
            errors = {"email": "Enter a correct email address and password"}
            return render_template("auth/login.html", errors=errors, form=request.form, next=next_url), 400
        db.session.commit()
        login_user(user)
        return redirect(next_url)
    return render_template("auth/login.html", errors={}, form={}, next=next_url)


@bp.route("/logout", methods=["POST"])
@allow("anyone")
def logout() -> Any:
    """Log out (POST only, so a link elsewhere cannot log someone out)."""
    logout_user()
    flash("You have logged out.", "info")
    return redirect(url_for("public.home"))
