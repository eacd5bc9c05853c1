"""The strategy team's workspace: the codebook, its history, proposals for new contributions, and exports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import authz
from ..authz import allow
from ..extensions import db
from ..forms import field_errors
from ..forms.workspace import (
    AdoptForm,
    ExportForm,
    MemberForm,
    MergeForm,
    MoveForm,
    ScopeForm,
    SplitForm,
    ThemeEditForm,
    UndoForm,
    proposals_form,
)
from ..models import AnalysisRun, Codebook, CodebookTheme, Consultation, User
from ..services import challenge, exports
from ..services import codebook as cb
from ..services.errors import Conflict, Invalid, NotFound
from ..services.text import plural

bp = Blueprint("workspace", __name__, url_prefix="/workspace")
NOT_UNDERSTOOD = "That was not understood. Go back and try again."


def _consultation(consultation_id: int) -> Consultation:
    """A consultation this analyst is assigned to (admins: any), or 404."""
    item = db.session.get(Consultation, consultation_id)
    if item is None:
        raise NotFound(authz.NOT_FOUND)
    authz.require_staff(item.id, "analyse")
    return item


def _book(consultation: Consultation) -> Codebook:
    """The consultation's codebook, or 404 before one is adopted."""
    book = cb.for_consultation(db.session, consultation.id)
    if book is None:
        raise NotFound("This consultation has no codebook yet. Adopt an analysis's themes first.")
    return book


def _home(consultation: Consultation, anchor: str = "") -> Any:
    """Back to the codebook page."""
    return redirect(url_for("workspace.codebook", consultation_id=consultation.id) + anchor)


def _theme_url(consultation: Consultation, theme: CodebookTheme, anchor: str = "") -> Any:
    """Back to a theme's page."""
    return redirect(url_for("workspace.theme", consultation_id=consultation.id, theme_id=theme.id) + anchor)


@bp.route("/")
@allow("analyst")
def index() -> Any:
    """The consultations this analyst works on, with their codebooks."""
    ids = authz.staff_consultation_ids(db.session, current_user, "analyse")
    query = select(Consultation).order_by(Consultation.created_at.desc())
    if ids is not None:
        query = query.where(Consultation.id.in_(ids))
    consultations = db.session.scalars(query).all()
    books = {b.consultation_id: b for b in db.session.scalars(select(Codebook))}
    return render_template("workspace/index.html", consultations=consultations, books=books)


@bp.route("/<int:consultation_id>/")
@allow("analyst")
def codebook(consultation_id: int) -> Any:
    """The codebook (or, before there is one, the finished analyses whose themes can be adopted)."""
    consultation = _consultation(consultation_id)
    book = cb.for_consultation(db.session, consultation.id)
    runs = db.session.scalars(select(AnalysisRun).where(
        AnalysisRun.consultation_id == consultation.id, AnalysisRun.state == "done")
        .order_by(AnalysisRun.finished_at.desc()).limit(20)).all()
    if book is None:
        return render_template("workspace/adopt.html", consultation=consultation, runs=runs)
    latest = cb.latest_run(db.session, consultation.id)
    waiting = cb.uncoded_count(db.session, book, latest) if latest is not None else 0
    return render_template("workspace/codebook.html", consultation=consultation, book=book, waiting=waiting,
                           latest=latest, pending=cb.pending_run(db.session, consultation.id),
                           undoable=cb.last_undoable(db.session, book),
                           formats=exports.FORMATS, statements=challenge.statement_results(db.session, consultation.id))


@bp.route("/<int:consultation_id>/adopt", methods=["POST"])
@allow("analyst")
def adopt(consultation_id: int) -> Any:
    """Adopt a finished run's themes as the codebook."""
    consultation = _consultation(consultation_id)
    form = AdoptForm()
    run = db.session.get(AnalysisRun, form.run_id.data) if form.validate_on_submit() and form.run_id.data else None
    if run is None or run.consultation_id != consultation.id:
        raise NotFound(authz.NOT_FOUND)
    book = cb.adopt(db.session, actor=current_user, consultation=consultation, run=run)
    db.session.commit()
    flash(f"The {len(book.themes)} themes of analysis {run.id} are now this consultation's codebook (version 1).",
          "success")
    return _home(consultation)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>")
@allow("analyst")
def theme(consultation_id: int, theme_id: int) -> Any:
    """A theme: edit its name and summary, merge, split, move or add its contributions, mark it out of scope."""
    consultation = _consultation(consultation_id)
    book = _book(consultation)
    item = cb.theme_in(db.session, book, theme_id)
    return _render_theme(consultation, book, item, errors={}, form={})


def _render_theme(consultation: Consultation, book: Codebook, item: CodebookTheme, *, errors: dict[str, str],
                  form: dict[str, Any], status: int = 200) -> Any:
    """The theme page, with any errors beside their fields and the typed values kept."""
    texts = cb.contribution_texts(db.session, [m.contribution for m in item.members])
    groups = _sub_theme_groups(db.session.get(AnalysisRun, item.origin_run_id) if item.origin_run_id else None,
                               item, texts)
    others = [t for t in book.themes if t.state == "active" and t.id != item.id]
    phases = cb.phase_names(db.session, consultation.id)
    return render_template("workspace/theme.html", consultation=consultation, book=book, theme=item, texts=texts,
                           groups=groups, others=others, phases=phases, errors=errors, form=form,
                           other_options=[(str(o.id), o.label) for o in others],
                           chosen=request.form.getlist("contributions") if request.method == "POST" else []), status


def _sub_theme_groups(run: AnalysisRun | None, item: CodebookTheme, texts: dict[str, Any]) -> list[dict[str, Any]]:
    """The theme's members grouped by the engine's sub-themes when it has them, else one group."""
    members = [m.contribution for m in item.members]
    found = None
    if run is not None and run.result and item.origin_theme is not None:
        found = next((t for t in run.result["themes"]["themes"] if t["id"] == item.origin_theme), None)
    groups, placed = [], set()
    for sub in (found or {}).get("sub_themes") or []:
        ids = [c for c in sub.get("contributions", []) if c in set(members) and c not in placed]
        if ids:
            groups.append({"label": sub.get("label") or "Sub-theme", "description": sub.get("description") or "",
                           "ids": ids})
            placed.update(ids)
    rest = [c for c in members if c not in placed]
    if rest:
        groups.append({"label": "Other contributions" if groups else "", "description": "", "ids": rest})
    return groups


def _invalid(consultation: Consultation, book: Codebook, item: CodebookTheme, exc: Invalid) -> Any:
    """Show the theme page again with the field errors and what was typed."""
    db.session.rollback()
    return _render_theme(consultation, book, item, errors=exc.field_errors or {"form": exc.message},
                         form=request.form.to_dict(), status=400)


def _theme_action(consultation_id: int, theme_id: int) -> tuple[Consultation, Codebook, CodebookTheme]:
    """The consultation, codebook and theme a theme form posts to (404 when any is not theirs)."""
    consultation = _consultation(consultation_id)
    book = _book(consultation)
    return consultation, book, cb.theme_in(db.session, book, theme_id)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/edit", methods=["POST"])
@allow("analyst")
def edit(consultation_id: int, theme_id: int) -> Any:
    """Rename a theme or write its summary."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = ThemeEditForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    try:
        changed = cb.rename(db.session, actor=current_user, theme=item, label=form.label.data,
                            summary=form.summary.data)
    except Invalid as exc:
        return _invalid(consultation, book, item, exc)
    db.session.commit()
    flash(f"Saved as version {book.version}." if changed else "Nothing was changed.",
          "success" if changed else "info")
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/merge", methods=["POST"])
@allow("analyst")
def merge(consultation_id: int, theme_id: int) -> Any:
    """Merge another theme into this one."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = MergeForm()
    if not form.validate_on_submit() or form.other.data is None:
        return _invalid(consultation, book, item, Invalid("There is a problem",
                                                          {"other": "Choose the theme to merge into this one"}))
    other = cb.theme_in(db.session, book, form.other.data)
    try:
        cb.merge(db.session, actor=current_user, target=item, other=other)
    except Invalid as exc:
        return _invalid(consultation, book, item, exc)
    db.session.commit()
    flash(f"“{other.label}” has been merged into “{item.label}” (version {book.version}).", "success")
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/split", methods=["POST"])
@allow("analyst")
def split(consultation_id: int, theme_id: int) -> Any:
    """Split the chosen contributions of a theme into a new theme."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = SplitForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    try:
        created = cb.split(db.session, actor=current_user, theme=item, contributions=form.contributions.data or [],
                           label=form.new_label.data, summary=form.new_summary.data)
    except Invalid as exc:
        return _invalid(consultation, book, item, exc)
    db.session.commit()
    count = len(created.members)
    flash(f"{plural(count, 'contribution')} {'is' if count == 1 else 'are'} now in the new theme “{created.label}” "
          f"(version {book.version}).", "success")
    return _theme_url(consultation, created)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/move", methods=["POST"])
@allow("analyst")
def move(consultation_id: int, theme_id: int) -> Any:
    """Move the ticked contributions to another theme, or add them to a second theme."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = MoveForm()
    if not form.validate_on_submit() or form.target.data is None:
        errors = field_errors(form) or {"target": "Choose the theme they should go to"}
        return _invalid(consultation, book, item, Invalid("There is a problem", errors))
    target = cb.theme_in(db.session, book, form.target.data)
    try:
        moved = cb.move(db.session, actor=current_user, contributions=form.contributions.data or [], source=item,
                        target=target, keep=form.keep.data)
    except Invalid as exc:
        return _invalid(consultation, book, item, exc)
    db.session.commit()
    verb = "added to" if form.keep.data else "moved to"
    flash(f"{moved} {'contribution has' if moved == 1 else 'contributions have'} been {verb} “{target.label}” "
          f"(version {book.version}).", "success")
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/remove", methods=["POST"])
@allow("analyst")
def remove(consultation_id: int, theme_id: int) -> Any:
    """Take the ticked contributions out of a theme."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    try:
        taken = cb.remove_members(db.session, actor=current_user, theme=item,
                                  contributions=form.contributions.data or [])
    except Invalid as exc:
        return _invalid(consultation, book, item, exc)
    db.session.commit()
    flash(f"{taken} taken out of “{item.label}” (version {book.version}).", "success")
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/scope", methods=["POST"])
@allow("analyst")
def scope(consultation_id: int, theme_id: int) -> Any:
    """Mark a theme out of scope, or bring it back."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = ScopeForm()
    if not form.validate_on_submit():
        raise Invalid(NOT_UNDERSTOOD)
    cb.set_scope(db.session, actor=current_user, theme=item, in_scope=form.in_scope.data)
    db.session.commit()
    flash(f"“{item.label}” is {'back in scope' if form.in_scope.data else 'out of scope'}.", "success")
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/undo", methods=["POST"])
@allow("analyst")
def undo(consultation_id: int) -> Any:
    """Undo the newest change."""
    consultation = _consultation(consultation_id)
    book = _book(consultation)
    form = UndoForm()
    if not form.validate_on_submit():
        raise Invalid(NOT_UNDERSTOOD)
    try:
        made = cb.undo(db.session, actor=current_user, codebook=book, version=form.version.data)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _home(consultation)
    db.session.commit()
    flash(f"{made.description} (now version {made.version}).", "success")
    return _home(consultation)


@bp.route("/<int:consultation_id>/history")
@allow("analyst")
def history(consultation_id: int) -> Any:
    """Every numbered change: who, when, what, and whether it was undone."""
    consultation = _consultation(consultation_id)
    book = _book(consultation)
    changes = cb.history(db.session, book)
    people = {u.id: u.email for u in db.session.scalars(
        select(User).where(User.id.in_({c.actor_id for c in changes if c.actor_id})))}
    return render_template("workspace/history.html", consultation=consultation, book=book, changes=changes,
                           people=people)


@bp.route("/<int:consultation_id>/proposals", methods=["GET", "POST"])
@allow("analyst")
def proposals(consultation_id: int) -> Any:
    """Where the newest analysis's uncoded contributions seem to fit; accept or change them in bulk."""
    consultation = _consultation(consultation_id)
    book = _book(consultation)
    latest = cb.latest_run(db.session, consultation.id)
    found = cb.proposals(db.session, book, latest) if latest is not None else []
    items = [p.item for p in found]
    form = proposals_form(items, request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            raise Invalid(NOT_UNDERSTOOD)
        choices = {item: (form[f"choice_{item}"].data or "").strip() for item in items}
        try:
            done = cb.apply_proposals(db.session, actor=current_user, codebook=book, choices=choices)
        except Invalid as exc:
            db.session.rollback()
            flash(next(iter(exc.field_errors.values()), exc.message), "error")
            return redirect(url_for("workspace.proposals", consultation_id=consultation.id))
        db.session.commit()
        flash(f"{plural(done, 'contribution')} coded (version {book.version})." if done else "Nothing was chosen.",
              "success" if done else "info")
        return redirect(url_for("workspace.proposals", consultation_id=consultation.id))
    texts = cb.contribution_texts(db.session, items)
    themes = {t.id: t for t in book.themes}
    return render_template("workspace/proposals.html", consultation=consultation, book=book, latest=latest,
                           proposals=found, texts=texts, themes=themes,
                           pending=cb.pending_run(db.session, consultation.id),
                           phases=cb.phase_names(db.session, consultation.id), none_in_bulk=cb.none_accepted_in_bulk(),
                           active=[t for t in book.themes if t.state == "active"])


@bp.route("/<int:consultation_id>/export", methods=["POST"])
@allow("analyst")
def export(consultation_id: int) -> Any:
    """Download an export (streamed as it is written; audited)."""
    consultation = _consultation(consultation_id)
    form = ExportForm()
    if not form.validate_on_submit() or form.format.data not in exports.FORMATS:
        raise Invalid("Choose one of the export formats.")
    fmt = form.format.data
    exports.record(db.session, actor=current_user, consultation=consultation, fmt=fmt, via="web")
    db.session.commit()
    key = current_app.config["PSEUDONYM_KEY"]
    chunks = exports.stream(db.session, consultation=consultation, fmt=fmt, key=key)
    response = current_app.response_class(stream_with_context(chunks), mimetype=exports.FORMATS[fmt]["mimetype"])
    response.headers["Content-Disposition"] = f'attachment; filename="{exports.filename(consultation, fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# The blind coding pages add their routes to this blueprint.
from . import workspace_blind  # noqa: E402,F401
