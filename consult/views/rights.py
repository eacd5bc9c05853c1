"""Your account: what is held about you (and a JSON download), how you take part, deleting your account, privacy."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from ..authz import allow
from ..extensions import db
from ..forms import field_errors
from ..forms.accounts import ChangeParticipationForm
from ..forms.equality import DeleteAccountForm
from ..models import CATEGORIES, CATEGORY_LABELS
from ..security import safe_next
from ..services import participation, rights
from ..services.errors import Invalid
from ..services.ratelimit import TooManyRequests
from .auth import verified_domains
from .helpers import password_checked

bp = Blueprint("rights", __name__)


def _secret() -> str:
    """The server-side key equality answers are stored under."""
    return str(current_app.config["PSEUDONYM_KEY"])


@bp.route("/me")
@allow("anyone")
def account() -> Any:
    """The old address of "About you and your data", now part of the one account page: moved for good."""
    return redirect(url_for("account.index"), 301)


def _taking_part(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    """The form to change how you take part, with the choices made and any messages."""
    return render_template("rights/taking_part.html", values=values, errors=errors,
                           categories=[(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
                           next_url=safe_next(request.values.get("next"), "")), status


@bp.route("/me/how-you-take-part", methods=["GET", "POST"])
@allow("participant")
def taking_part() -> Any:
    """Change the group you take part as (and your profession), with what that changes said first."""
    form = ChangeParticipationForm()
    profile = current_user.profile
    if request.method == "GET":
        return _taking_part({"category": profile.category if profile else "",
                             "profession": (profile.profession or "") if profile else ""}, {})
    values = {"category": form.category.data or "", "profession": form.profession.data or ""}
    try:
        change = participation.change_participation(
            db.session, current_user._get_current_object(), values["category"], values["profession"] or None,
            secret=_secret(), **verified_domains())
    except TooManyRequests as exc:
        db.session.rollback()
        page, status = _taking_part(values, {"category": exc.message}, 429)
        return page, status, {"Retry-After": str(exc.retry_after)}
    except Invalid as exc:
        db.session.rollback()
        return _taking_part(values, exc.field_errors or {"category": exc.message}, 400)
    # Back to the phase they were reading when they came to change it, if they did.
    done = safe_next(request.form.get("next"), url_for("account.index"))
    if not change.changed:
        flash("Nothing changed: you take part as you did before.", "info")
        return redirect(done)
    db.session.commit()
    for message in change_messages(change, values["category"]):
        flash(message, "success")
    return redirect(done)


def change_messages(change: participation.Change, category: str) -> list[str]:
    """What a change did, in plain words, for the page the person lands on."""
    label = CATEGORY_LABELS[category]
    messages = [f"Saved. You now take part as {label[0].lower()}{label[1:]}. What you posted before stays in the "
                "group you were in when you posted it."]
    if change.claim_checked and change.verified:
        messages.append("Your email address is at a known work or university domain, so your claim is verified.")
    elif change.claim_checked:
        messages.append("Your claim is not verified yet. A confirmed work or university email address, or a "
                        "facilitator, can verify it. Some phases are only for verified staff.")
    elif change.was_verified:
        messages.append("Your staff or student claim no longer applies, so it is no longer marked as verified.")
    if "profession" in change.cleared:
        what = "profession and pay band" if "pay_band" in change.cleared else "profession"
        messages.append(f"We deleted your answer about your {what}: we ask only staff and students about that.")
    elif change.cleared:
        messages.append("We deleted your answer about your pay band: we ask only health and care staff about that.")
    return messages


@bp.route("/me/download")
@allow("participant")
def download() -> Any:
    """Everything held about the person, as a JSON file."""
    data = rights.data_held(db.session, current_user, secret=_secret(),
                            public_id_key=str(current_app.config["PUBLIC_ID_KEY"]))
    body = json.dumps(data, indent=2, ensure_ascii=False)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": "attachment; filename=my-consult-data.json", "Cache-Control": "no-store"})


def _delete_page(errors: dict[str, str], choice: str | None, status: int = 200,
                 headers: dict[str, str] | None = None) -> Any:
    """The delete-account page, saying how much each choice would keep or remove."""
    return render_template("rights/delete.html", errors=errors, choice=choice or "",
                           posted=rights.posted_counts(db.session, current_user)), status, headers or {}


@bp.route("/me/delete", methods=["GET", "POST"])
@allow("participant")
def delete_account() -> Any:
    """Delete the account after the person chooses what happens to their contributions and confirms."""
    form = DeleteAccountForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _delete_page(field_errors(form) or {"password": "The form had expired. Try again."},
                                form.contributions.data, 400)
        user = current_user._get_current_object()
        try:
            password_checked(user, lambda: rights.delete_account(
                db.session, user, password=form.password.data, contributions=form.contributions.data or "",
                secret=_secret()))
        except TooManyRequests as exc:
            return _delete_page({"password": exc.message}, form.contributions.data, 429,
                                {"Retry-After": str(exc.retry_after)})
        except Invalid as exc:
            db.session.rollback()
            return _delete_page(exc.field_errors, form.contributions.data, 400)
        db.session.commit()
        logout_user()
        session.clear()
        flash("Your account has been deleted. Thank you for taking part.", "success")
        return redirect(url_for("public.home"))
    return _delete_page({}, "")


@bp.route("/privacy")
@allow("anyone")
def privacy() -> Any:
    """The privacy notice: what is held, why, for how long, and who sees it."""
    return render_template("rights/privacy.html", retention=rights.RETENTION)
