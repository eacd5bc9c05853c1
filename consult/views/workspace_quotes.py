"""Choosing a codebook theme's quotes for the strategy (on the workspace blueprint)."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_login import current_user

from ..authz import allow
from ..extensions import db
from ..forms import field_errors
from ..forms.workspace import DropQuoteForm, MemberForm
from ..services import codebook_quotes
from ..services.errors import Invalid
from ..services.text import plural
from .workspace import NOT_UNDERSTOOD, _invalid, _saved, _theme_action, _theme_url, bp


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/quotes", methods=["POST"])
@allow("analyst")
def choose_quotes(consultation_id: int, theme_id: int) -> Any:
    """Quote the ticked contributions of a theme in the evidence pack and on What we heard."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    added = _saved(consultation, book, item, lambda: codebook_quotes.choose(
        db.session, actor=current_user, theme=item, contributions=form.contributions.data or [],
        seen=form.seen.data or ""))
    if added:
        flash(f"{plural(added, 'quote')} chosen for “{item.label}” (version {book.version}).", "success")
    else:
        flash("Those contributions were already quoted: nothing was changed.", "info")
    return _theme_url(consultation, item, "#quotes")


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/quotes/drop", methods=["POST"])
@allow("analyst")
def drop_quote(consultation_id: int, theme_id: int) -> Any:
    """Stop quoting one contribution for a theme."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = DropQuoteForm()
    if not form.validate_on_submit():
        raise Invalid(NOT_UNDERSTOOD)
    dropped = codebook_quotes.drop(db.session, actor=current_user, theme=item, contribution=form.contribution.data)
    db.session.commit()
    flash(f"{form.contribution.data} is no longer quoted (version {book.version})." if dropped else
          f"{form.contribution.data} was not quoted for this theme: nothing was changed.",
          "success" if dropped else "info")
    return _theme_url(consultation, item, "#quotes")
