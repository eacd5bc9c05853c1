"""Moderators: suspending the account that wrote a case's contribution, without being told whose it is.

The route belongs to the moderation blueprint (its endpoint is moderation.suspend_author); it lives here to keep
moderation.py short.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from flask_login import current_user

from ..authz import allow
from ..extensions import db
from ..forms.moderation import SuspendAuthorForm
from ..services import moderation, suspension
from ..services.errors import ServiceError
from .moderation import STAFF, _case, _case_page, bp


@bp.route("/moderation/cases/<int:case_id>/suspend-author", methods=["POST"])
@allow(*STAFF)
def suspend_author(case_id: int) -> Any:
    """Suspend the account that wrote the case's contribution; the moderator never learns whose it is."""
    item_case = _case(case_id)
    form = SuspendAuthorForm()
    try:
        changed = suspension.suspend_author(db.session, current_user, item_case, form.reason.data)
    except ServiceError as exc:
        db.session.rollback()
        item = moderation.case_item(db.session, item_case)
        errors = {"suspend_reason": (getattr(exc, "field_errors", None) or {}).get("reason", exc.message)}
        return _case_page(item_case, item, errors, "", suspend_reason=form.reason.data or ""), 400
    db.session.commit()
    flash("The author's account is suspended: they are logged out and cannot log in, post or vote. You have not "
          "been told who they are. Decide on this contribution below as usual." if changed else
          "The author's account was already suspended. Nothing was changed.", "success" if changed else "info")
    return redirect(url_for("moderation.case", case_id=item_case.id))
