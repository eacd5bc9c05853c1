"""Your account: what is held about you (and a JSON download), deleting your account, the privacy notice."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from ..authz import allow
from ..extensions import db
from ..forms import field_errors
from ..forms.equality import DeleteAccountForm
from ..models import CATEGORY_LABELS
from ..services import equality, rights
from ..services.errors import Invalid

bp = Blueprint("rights", __name__)


def _secret() -> str:
    """The server-side key equality answers are stored under."""
    return str(current_app.config["PSEUDONYM_KEY"])


@bp.route("/me")
@allow("participant")
def account() -> Any:
    """The person's account page: their details, their answers about them, and their rights."""
    answers = equality.get_answers(db.session, user_id=current_user.id, secret=_secret())
    profile = current_user.profile
    return render_template("rights/account.html", answers=equality.describe(answers),
                           has_answers=answers is not None,
                           category_label=CATEGORY_LABELS.get(profile.category, "") if profile else "")


@bp.route("/me/download")
@allow("participant")
def download() -> Any:
    """Everything held about the person, as a JSON file."""
    data = rights.data_held(db.session, current_user, secret=_secret(),
                            public_id_key=str(current_app.config["PUBLIC_ID_KEY"]))
    body = json.dumps(data, indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": "attachment; filename=my-consult-data.json", "Cache-Control": "no-store"})


@bp.route("/me/delete", methods=["GET", "POST"])
@allow("participant")
def delete_account() -> Any:
    """Delete the account after the person chooses what happens to their contributions and confirms."""
    form = DeleteAccountForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("rights/delete.html", errors=field_errors(form) or {
                "password": "The form had expired. Try again."}, choice=form.contributions.data), 400
        try:
            rights.delete_account(db.session, current_user._get_current_object(), password=form.password.data,
                                  contributions=form.contributions.data or "", secret=_secret())
        except Invalid as exc:
            db.session.rollback()
            return render_template("rights/delete.html", errors=exc.field_errors,
                                   choice=form.contributions.data), 400
        db.session.commit()
        logout_user()
        session.clear()
        flash("Your account has been deleted. Thank you for taking part.", "success")
        return redirect(url_for("public.home"))
    return render_template("rights/delete.html", errors={}, choice="")


@bp.route("/privacy")
@allow("anyone")
def privacy() -> Any:
    """The privacy notice: what is held, why, for how long, and who sees it."""
    return render_template("rights/privacy.html", retention=rights.RETENTION)
