"""Second-analyst blind coding pages (on the workspace blueprint): code a random sample, then see agreement."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..authz import allow
from ..extensions import db
from ..forms import field_errors
from ..forms.workspace import BlindCodeForm, BlindStartForm
from ..services import codebook as cb
from ..services import codebook_blind as blind
from .workspace import _codebook, bp


def _page(consultation_id: int) -> Any:
    """Back to the blind coding page."""
    return redirect(url_for("workspace.blind", consultation_id=consultation_id))


def _blind(consultation_id: int, *, errors: dict[str, str] | None = None, size: str | None = None,
           status: int = 200) -> Any:
    """The blind coding page: the next contribution to code, the agreement, or the form to start (with errors)."""
    consultation, book = _codebook(consultation_id)
    rows = blind.sample(db.session, book, current_user)
    pending = next((r for r in rows if not r.coded), None)
    text = cb.contribution_texts(db.session, [pending.contribution]).get(pending.contribution) if pending else None
    result = blind.agreement(db.session, book, current_user) if rows and pending is None else None
    extra = {} if size is None else {"size": size}
    return render_template("workspace/blind.html", consultation=consultation, book=book, rows=rows, pending=pending,
                           text=text, result=result, done=sum(r.coded for r in rows),
                           active=[t for t in book.themes if t.state == "active"], errors=errors or {},
                           **extra), status


@bp.route("/<int:consultation_id>/blind", endpoint="blind")
@allow("analyst")
def blind_page(consultation_id: int) -> Any:
    """The next contribution of your sample to code (without the codebook's choice), or the agreement."""
    return _blind(consultation_id)


@bp.route("/<int:consultation_id>/blind/start", methods=["POST"])
@allow("analyst")
def blind_start(consultation_id: int) -> Any:
    """Draw your random sample."""
    consultation, book = _codebook(consultation_id)
    form = BlindStartForm()
    if not form.validate_on_submit():
        # The same page again, with what was typed and what to change ("abc", 4 and 501 all land here).
        errors = field_errors(form) or {"size": "The form had expired. Try again."}
        if form.size.errors:  # "Not a valid integer value" says less than the range does
            errors["size"] = "Choose a sample of 5 to 500 contributions"
        return _blind(consultation.id, errors=errors, size=form.size.raw_data[0] if form.size.raw_data else "",
                      status=400)
    rows = blind.start(db.session, coder=current_user, codebook=book, size=form.size.data or blind.SAMPLE_SIZE)
    db.session.commit()
    flash(f"Your sample of {len(rows)} contributions is ready. Code each one as you read it.", "success")
    return _page(consultation.id)


@bp.route("/<int:consultation_id>/blind/code", methods=["POST"])
@allow("analyst")
def blind_code(consultation_id: int) -> Any:
    """Code one contribution of your sample."""
    consultation, book = _codebook(consultation_id)
    form = BlindCodeForm()
    if not form.validate_on_submit() or not form.theme.data:
        flash("Choose a theme, or “None of these”.", "error")
        return _page(consultation.id)
    theme = None if form.theme.data == "none" else int(form.theme.data)
    blind.code(db.session, coder=current_user, codebook=book, contribution=form.contribution.data, theme_id=theme)
    db.session.commit()
    return _page(consultation.id)


@bp.route("/<int:consultation_id>/blind/discard", methods=["POST"])
@allow("analyst")
def blind_discard(consultation_id: int) -> Any:
    """Throw away your sample to start again."""
    consultation, book = _codebook(consultation_id)
    blind.discard(db.session, coder=current_user, codebook=book)
    db.session.commit()
    flash("Your sample has been discarded.", "info")
    return _page(consultation.id)
