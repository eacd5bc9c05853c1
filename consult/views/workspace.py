"""The strategy team's workspace: the codebook, its history, proposals for new contributions, and exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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
from ..services import challenge, codebook_quotes, exports, queries
from ..services import codebook as cb
from ..services.errors import Conflict, Invalid, NotFound
from ..services.text import plural
from .helpers import page_arg

bp = Blueprint("workspace", __name__, url_prefix="/workspace")
T = TypeVar("T")
NOT_UNDERSTOOD = "That was not understood. Go back and try again."
MEMBERS_PER_PAGE = 50
# The texts a theme page's forms send, as named when a refusal shows them back.
TEXTS = {"label": "Name", "summary": "Summary", "new_label": "Name of the new theme",
         "new_summary": "Summary of the new theme"}


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


def _codebook(consultation_id: int) -> tuple[Consultation, Codebook]:
    """The consultation (this analyst's) and its codebook, or 404."""
    consultation = _consultation(consultation_id)
    return consultation, _book(consultation)


def _home(consultation: Consultation, anchor: str = "") -> Any:
    """Back to the codebook page."""
    return redirect(url_for("workspace.codebook", consultation_id=consultation.id) + anchor)


def _theme_url(consultation: Consultation, theme: CodebookTheme, anchor: str = "") -> Any:
    """Back to a theme's page."""
    return redirect(url_for("workspace.theme", consultation_id=consultation.id, theme_id=theme.id) + anchor)


def _flash_quotes(book: Codebook) -> None:
    """Say where the chosen quotes of the contributions a change moved went, and which were not kept."""
    change = cb.last_undoable(db.session, book)
    detail = (change.detail or {}) if change is not None else {}
    if detail.get("quote_note"):
        dropped = len(detail.get("quotes_dropped") or [])
        again = f" Undo this change to quote {'it' if dropped == 1 else 'them'} again." if dropped else ""
        flash(f"Quotes: {detail['quote_note']}{again}", "info")


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
    consultation, book = _codebook(consultation_id)
    gone = cb.gone(db.session, book, theme_id) if db.session.get(CodebookTheme, theme_id) is None else None
    if gone is not None:  # a split undone since: say so, rather than a bare "not found"
        return _render_gone(consultation, book, gone, status=404)
    item = cb.theme_in(db.session, book, theme_id)
    return _render_theme(consultation, book, item, errors={}, form={})


def _render_gone(consultation: Consultation, book: Codebook, gone: cb.Stale, status: int = 409) -> Any:
    """What became of a theme that no longer exists, with any text sent to it shown back."""
    kept = [(TEXTS[k], v) for k, v in request.form.items() if k in TEXTS and v.strip()]
    message = gone.message
    if request.method == "POST":
        message += " Nothing was saved" + (": your text is below, so you can copy it." if kept else ".")
    return render_template("workspace/gone.html", consultation=consultation, book=book, message=message,
                           moved_to=gone.moved_to, kept=kept), status


def _refused(consultation: Consultation, book: Codebook, item: CodebookTheme, exc: Conflict) -> Any:
    """Show the current theme page with why nothing was saved, and everything typed (409)."""
    db.session.rollback()  # and read the theme as it is now
    if isinstance(exc, cb.Stale) and exc.gone:
        return _render_gone(consultation, book, exc)
    form = {**request.form.to_dict(), **getattr(exc, "values", {})}
    if getattr(exc, "seen", ""):  # the page now shows the current version: saving again is deliberate
        form["seen"] = exc.seen
    errors = {"stale": getattr(exc, "headline", exc.message), **getattr(exc, "fields", {})}
    return _render_theme(consultation, book, item, errors=errors, form=form, status=409,
                         moved_to=getattr(exc, "moved_to", None), refusal=exc.message)


def _render_theme(consultation: Consultation, book: Codebook, item: CodebookTheme, *, errors: dict[str, str],
                  form: dict[str, Any], status: int = 200, moved_to: CodebookTheme | None = None,
                  refusal: str = "") -> Any:
    """The theme page, with any errors beside their fields and the typed values kept."""
    groups = _sub_theme_groups(db.session.get(AnalysisRun, item.origin_run_id) if item.origin_run_id else None, item)
    # A page of members at a time (in sub-theme order): a large theme was one 90,000-pixel page.
    ordered = [cid for group in groups for cid in group["ids"]]
    last = max(1, -(-len(ordered) // MEMBERS_PER_PAGE))
    members = queries.Page(items=[], page=min(page_arg(), last), per_page=MEMBERS_PER_PAGE, total=len(ordered))
    window = set(ordered[(members.page - 1) * MEMBERS_PER_PAGE:members.page * MEMBERS_PER_PAGE])
    groups = [{**group, "ids": [c for c in group["ids"] if c in window]} for group in groups]
    groups = [group for group in groups if group["ids"]]
    texts = cb.contribution_texts(db.session, sorted(window))
    others = [t for t in book.themes if t.state == "active" and t.id != item.id]
    phases = cb.phase_names(db.session, consultation.id)
    # Typed text whose form this page no longer shows (the theme was merged, or put out of scope) is shown to copy.
    shown = ({"label", "summary"} if item.state != "merged" else set()) | \
        ({"new_label", "new_summary"} if item.state == "active" else set())
    kept = [(TEXTS[k], v) for k, v in form.items() if k in TEXTS and k not in shown and str(v).strip()]
    quoted = codebook_quotes.quotes(db.session, book, {item.id: [m.contribution for m in item.members]})[item.id]
    return render_template("workspace/theme.html", consultation=consultation, book=book, theme=item, texts=texts,
                           quoted=quoted, quotes_max=codebook_quotes.QUOTES_MAX,
                           groups=groups, members=members, others=others, phases=phases, errors=errors, form=form,
                           other_options=[(str(o.id), o.label) for o in others], seen=form.get("seen") or
                           cb.stamp(item), moved_to=moved_to, kept=kept, refusal=refusal,
                           chosen=request.form.getlist("contributions") if request.method == "POST" else []), status


def _sub_theme_groups(run: AnalysisRun | None, item: CodebookTheme) -> list[dict[str, Any]]:
    """The theme's members grouped by the engine's sub-themes when it has them, else one group."""
    members = [m.contribution for m in item.members]
    member_set = set(members)
    found = None
    if run is not None and run.result and item.origin_theme is not None:
        found = next((t for t in run.result["themes"]["themes"] if t["id"] == item.origin_theme), None)
    groups, placed = [], set()
    for sub in (found or {}).get("sub_themes") or []:
        ids = [c for c in sub.get("contributions", []) if c in member_set and c not in placed]
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


class _Shown(Exception):
    """A page to show instead of the view's own: what became of a theme that no longer exists, or a refused change
    with everything typed."""

    def __init__(self, response: Any) -> None:
        super().__init__("shown")
        self.response = response


def _theme_action(consultation_id: int, theme_id: int) -> tuple[Consultation, Codebook, CodebookTheme]:
    """The consultation, codebook and theme a theme form posts to (404 when any is not theirs)."""
    consultation, book = _codebook(consultation_id)
    if db.session.get(CodebookTheme, theme_id) is None and (gone := cb.gone(db.session, book, theme_id)):
        raise _Shown(_render_gone(consultation, book, gone))
    return consultation, book, cb.theme_in(db.session, book, theme_id)


@bp.errorhandler(_Shown)
def _shown_page(exc: _Shown) -> Any:
    """The page a theme form shows instead of its own (what became of the theme, or why nothing was saved)."""
    return exc.response


def _saved(consultation: Consultation, book: Codebook, item: CodebookTheme, change: Callable[[], T]) -> T:
    """Make a change to a theme and commit it; refused, the theme page shows why, with what was typed (400/409)."""
    try:
        result = change()
    except Invalid as exc:
        raise _Shown(_invalid(consultation, book, item, exc)) from exc
    except Conflict as exc:
        raise _Shown(_refused(consultation, book, item, exc)) from exc
    db.session.commit()
    return result


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/edit", methods=["POST"])
@allow("analyst")
def edit(consultation_id: int, theme_id: int) -> Any:
    """Rename a theme or write its summary."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = ThemeEditForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    changed, kept = _saved(consultation, book, item, lambda: cb.edit(
        db.session, actor=current_user, theme=item, label=form.label.data, summary=form.summary.data,
        seen=form.seen.data or ""))
    theirs = " and ".join({"label": "the name", "summary": "the summary"}[k] for k in kept)
    also = f" Someone else had changed {theirs} since you opened the page; theirs was kept." if kept else ""
    flash((f"Saved as version {book.version}." if changed else "Nothing was changed.") + also,
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
    _saved(consultation, book, item, lambda: cb.merge(
        db.session, actor=current_user, target=item, other=other, seen=form.seen.data or ""))
    flash(f"“{other.label}” has been merged into “{item.label}” (version {book.version}).", "success")
    _flash_quotes(book)
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/split", methods=["POST"])
@allow("analyst")
def split(consultation_id: int, theme_id: int) -> Any:
    """Split the chosen contributions of a theme into a new theme."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = SplitForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    created = _saved(consultation, book, item, lambda: cb.split(
        db.session, actor=current_user, theme=item, contributions=form.contributions.data or [],
        label=form.new_label.data, summary=form.new_summary.data, seen=form.seen.data or ""))
    count = len(created.members)
    flash(f"{plural(count, 'contribution')} {'is' if count == 1 else 'are'} now in the new theme “{created.label}” "
          f"(version {book.version}).", "success")
    _flash_quotes(book)
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
    moved = _saved(consultation, book, item, lambda: cb.move(
        db.session, actor=current_user, contributions=form.contributions.data or [], source=item, target=target,
        keep=form.keep.data, seen=form.seen.data or ""))
    verb = "added to" if form.keep.data else "moved to"
    flash(f"{moved} {'contribution has' if moved == 1 else 'contributions have'} been {verb} “{target.label}” "
          f"(version {book.version}).", "success")
    _flash_quotes(book)
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/themes/<int:theme_id>/remove", methods=["POST"])
@allow("analyst")
def remove(consultation_id: int, theme_id: int) -> Any:
    """Take the ticked contributions out of a theme."""
    consultation, book, item = _theme_action(consultation_id, theme_id)
    form = MemberForm()
    if not form.validate_on_submit():
        return _invalid(consultation, book, item, Invalid("There is a problem", field_errors(form)))
    taken = _saved(consultation, book, item, lambda: cb.remove_members(
        db.session, actor=current_user, theme=item, contributions=form.contributions.data or [],
        seen=form.seen.data or ""))
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
    _saved(consultation, book, item, lambda: cb.set_scope(db.session, actor=current_user, theme=item,
                                                          in_scope=form.in_scope.data, seen=form.seen.data or ""))
    flash(f"“{item.label}” is {'back in scope' if form.in_scope.data else 'out of scope'}.", "success")
    return _theme_url(consultation, item)


@bp.route("/<int:consultation_id>/undo", methods=["POST"])
@allow("analyst")
def undo(consultation_id: int) -> Any:
    """Undo the newest change."""
    consultation, book = _codebook(consultation_id)
    form = UndoForm()
    if not form.validate_on_submit():
        raise Invalid(NOT_UNDERSTOOD)
    newest = cb.last_undoable(db.session, book)
    carried = bool(newest is not None and (newest.detail or {}).get("quoted"))
    try:
        made = cb.undo(db.session, actor=current_user, codebook=book, version=form.version.data)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _home(consultation)
    db.session.commit()
    flash(f"{made.description} (now version {made.version}).", "success")
    if carried:
        flash("The chosen quotes are back with the themes they were chosen for.", "info")
    return _home(consultation)


@bp.route("/<int:consultation_id>/history")
@allow("analyst")
def history(consultation_id: int) -> Any:
    """Every numbered change: who, when, what, and whether it was undone."""
    consultation, book = _codebook(consultation_id)
    changes = cb.history(db.session, book)
    people = {u.id: u.email for u in db.session.scalars(
        select(User).where(User.id.in_({c.actor_id for c in changes if c.actor_id})))}
    return render_template("workspace/history.html", consultation=consultation, book=book, changes=changes,
                           people=people)


@bp.route("/<int:consultation_id>/proposals", methods=["GET", "POST"])
@allow("analyst")
def proposals(consultation_id: int) -> Any:
    """Where the newest analysis's uncoded contributions seem to fit; accept or change them in bulk."""
    consultation, book = _codebook(consultation_id)
    latest = cb.latest_run(db.session, consultation.id)
    found = cb.proposals(db.session, book, latest) if latest is not None else []
    items = [p.item for p in found]
    form = proposals_form(items, request.form if request.method == "POST" else None)
    if request.method == "POST":
        if not form.validate_on_submit():
            raise Invalid(NOT_UNDERSTOOD)
        choices = {item: (form[f"choice_{item}"].data or "").strip() for item in items}
        # Chosen on the page but coded by someone else since: their coding stands, and the analyst is told.
        others = sum(1 for key, value in request.form.items()
                     if key.startswith("choice_") and value and key[len("choice_"):] not in choices)
        try:
            done = cb.apply_proposals(db.session, actor=current_user, codebook=book, choices=choices)
        except cb.Stale as exc:
            db.session.rollback()
            return _proposals_page(consultation, book, latest, found, kept=exc.values,
                                   errors={"stale": exc.headline}, refusal=exc.message, status=409)
        except Invalid as exc:
            db.session.rollback()
            flash(next(iter(exc.field_errors.values()), exc.message), "error")
            return redirect(url_for("workspace.proposals", consultation_id=consultation.id))
        db.session.commit()
        flash(f"{plural(done, 'contribution')} coded (version {book.version})." if done else "Nothing was chosen.",
              "success" if done else "info")
        if others:
            flash(f"{plural(others, 'contribution')} you chose for had been coded by someone else meanwhile; "
                  "their coding was kept.", "info")
        return redirect(url_for("workspace.proposals", consultation_id=consultation.id))
    return _proposals_page(consultation, book, latest, found)


def _proposals_page(consultation: Consultation, book: Codebook, latest: AnalysisRun | None, found: list[Any], *,
                    kept: dict[str, str] | None = None, errors: dict[str, str] | None = None, refusal: str = "",
                    status: int = 200) -> Any:
    """The proposals page; after a refused save, with the analyst's choices kept."""
    texts = cb.contribution_texts(db.session, [p.item for p in found])
    themes = {t.id: t for t in book.themes}
    return render_template("workspace/proposals.html", consultation=consultation, book=book, latest=latest,
                           proposals=found, texts=texts, themes=themes,
                           pending=cb.pending_run(db.session, consultation.id),
                           phases=cb.phase_names(db.session, consultation.id), none_in_bulk=cb.none_accepted_in_bulk(),
                           active=[t for t in book.themes if t.state == "active"], kept_choices=kept or {},
                           errors=errors or {}, refusal=refusal), status


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


# The blind coding and quote pages add their routes to this blueprint.
from . import workspace_blind, workspace_quotes  # noqa: E402,F401
