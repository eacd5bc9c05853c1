"""The participant's equality monitoring questions at /me/about-you: answer, change, skip or withdraw."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..authz import allow, get_consultation
from ..extensions import db
from ..forms import field_errors
from ..forms.equality import AnswersForm, ConfirmForm
from ..models import PREFER_NOT
from ..security import safe_next
from ..services import equality
from ..services.errors import Invalid, NotFound

bp = Blueprint("equality", __name__)


def _secret() -> str:
    """The server-side key answers are stored under."""
    return str(current_app.config["PSEUDONYM_KEY"])


def _category() -> str | None:
    """The logged-in person's declared category (decides whether profession and pay band are asked)."""
    profile = current_user.profile
    return profile.category if profile is not None else None


def _switched_off() -> set[str]:
    """Questions switched off by the consultation the person came from (?for=slug), if any."""
    slug = request.values.get("for")
    if not slug:
        return set()
    try:
        consultation = get_consultation(slug=slug)
    except NotFound:
        return set()
    return equality.switched_off(db.session, consultation.id)


def _render(values: dict[str, Any], errors: dict[str, str], status: int = 200, saved: bool = False) -> Any:
    """The questions page with the given values and messages."""
    next_url = safe_next(request.values.get("next"), "")
    questions = equality.questions_for(_category(), _switched_off())
    return render_template("equality/questions.html", questions=questions, values=values, errors=errors,
                           ethnic_groups=equality.ETHNIC_GROUPS, prefer=equality.PREFER_LABEL,
                           PREFER_NOT=PREFER_NOT, next_url=next_url, saved=saved,
                           for_slug=request.values.get("for", "")), status


@bp.route("/me/about-you", methods=["GET", "POST"])
@allow("participant")
def questions() -> Any:
    """Ask (or let the person change) their equality monitoring answers; every question is optional."""
    form = AnswersForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render(request.form.to_dict(), field_errors(form) or
                           {"consent_special": "The form had expired. Check your answers and save again."}, 400)
        try:
            equality.save_answers(db.session, user_id=current_user.id, secret=_secret(), category=_category(),
                                  values=request.form.to_dict(), consent=bool(form.consent_special.data),
                                  keep=_switched_off())
        except Invalid as exc:
            db.session.rollback()
            return _render(request.form.to_dict(), exc.field_errors, 400)
        db.session.commit()
        flash("Thank you. Your answers are saved. You can change or withdraw them at any time from "
              "Your account.", "success")
        return redirect(safe_next(request.form.get("next"), url_for("account.index")))
    row = equality.get_answers(db.session, user_id=current_user.id, secret=_secret())
    values: dict[str, Any] = {}
    if row is not None:
        values = {key: getattr(row, key) or "" for key in equality.QUESTION_KEYS}
        values["consent_special"] = row.consent_special
    return _render(values, {}, saved=row is not None)


@bp.route("/me/about-you/skip")
@allow("participant")
def skip() -> Any:
    """Skip the questions for now (nothing is stored) and carry on where the person was going."""
    return redirect(safe_next(request.args.get("next"), url_for("public.home")))


@bp.route("/me/about-you/withdraw", methods=["GET", "POST"])
@allow("participant")
def withdraw() -> Any:
    """Delete every equality answer this person has given (after a confirmation page)."""
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        removed = equality.withdraw_answers(db.session, user_id=current_user.id, secret=_secret())
        db.session.commit()
        flash("Your answers have been deleted." if removed else "You had no answers stored.", "success")
        return redirect(url_for("account.index"))
    row = equality.get_answers(db.session, user_id=current_user.id, secret=_secret())
    return render_template("equality/withdraw.html", answers=equality.describe(row))
