"""The analysts' pages: start an analysis, watch its progress, read themes, support and group breakdowns."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import authz
from ..authz import allow
from ..extensions import db
from ..forms.analysis import StartAnalysisForm
from ..models import CATEGORY_LABELS, AnalysisRun, Comment, Consultation, Phase
from ..services import analysis_runs, anomaly_scans, codebook, disclosure, queries, results, reweighting
from ..services.errors import Conflict, Invalid
from ..services.phase_names import phase_name
from .helpers import page_arg

bp = Blueprint("analyse", __name__, url_prefix="/analyse")
PER_PAGE = 20


@bp.route("/")
@allow("analyst")
def index() -> Any:
    """The consultations this analyst is assigned to, with a form to start an analysis, and their runs."""
    mine = authz.staff_consultation_ids(db.session, current_user, "analyse")
    listed = select(Consultation).options(selectinload(Consultation.phases)).order_by(Consultation.created_at.desc())
    run_list = select(AnalysisRun).order_by(AnalysisRun.created_at.desc(), AnalysisRun.id.desc())
    if mine is not None:
        listed = listed.where(Consultation.id.in_(mine))
        run_list = run_list.where(AnalysisRun.consultation_id.in_(mine))
    consultations = db.session.scalars(listed).all()
    runs = queries.paginate(db.session, run_list, page_arg(), PER_PAGE)
    names = {c.id: c.title for c in consultations}
    phase_names = {p.id: phase_name(p) for c in consultations for p in c.phases}
    return render_template("analysis/index.html", consultations=consultations, runs=runs, names=names,
                           phase_names=phase_names, errors={}, form={})


@bp.route("/start", methods=["POST"])
@allow("analyst")
def start() -> Any:
    """Queue an analysis of a consultation or one of its phases."""
    form = StartAnalysisForm()
    form.validate_on_submit()
    consultation = authz.get_staff_object(Consultation, form.consultation_id.data, "analyse", lambda c: c.id)
    scope = (form.scope.data or "all").strip()
    phase = None
    if scope != "all":
        phase_id = authz.parse_id(scope)
        phase = db.session.get(Phase, phase_id) if phase_id is not None else None
        if phase is None or phase.consultation_id != consultation.id:
            abort(404)
    raw_k = (form.k.data or "").strip()
    themes = authz.parse_id(raw_k)
    try:
        if raw_k and themes is None:
            raise Invalid("There is a problem", {"k": f"Number of themes must be a whole number from "
                                                      f"{analysis_runs.K_MIN} to {analysis_runs.K_MAX}, or left blank"})
        run = analysis_runs.request_run(db.session, current_user, consultation, phase, themes)
    except (Conflict, Invalid) as exc:
        db.session.rollback()
        message = next(iter(getattr(exc, "field_errors", {}).values()), exc.message)
        busy = analysis_runs.busy_run(db.session, consultation, phase) if isinstance(exc, Conflict) else None
        if busy is not None:  # a double click, or a colleague started it: show that run's progress
            flash("An analysis of this was already waiting or running: this is its progress.", "info")
            return redirect(url_for("analyse.run", run_id=busy))
        flash(message, "error")
        return redirect(url_for("analyse.index"))
    db.session.commit()
    return redirect(url_for("analyse.run", run_id=run.id))


def _run(run_id: int) -> AnalysisRun:
    """A run of a consultation this analyst is assigned to, or 404."""
    return authz.get_staff_object(AnalysisRun, run_id, "analyse", lambda r: r.consultation_id)


def _done(run_id: int) -> tuple[AnalysisRun, dict[str, Any]]:
    """A finished run and its result, or 404."""
    run = _run(run_id)
    if run.state != "done" or not run.result:
        abort(404)
    return run, run.result


@bp.route("/runs/<int:run_id>")
@allow("analyst")
def run(run_id: int) -> Any:
    """Progress while it runs; the overview and themes table when it is done."""
    item = _run(run_id)
    consultation = db.session.get(Consultation, item.consultation_id)
    phase = db.session.get(Phase, item.phase_id) if item.phase_id else None
    if item.state != "done":
        # A queued run with no worker alive would say "Waiting to start" for ever: say why instead.
        no_worker = item.state == "queued" and not anomaly_scans.worker_seen(db.session)
        return render_template("analysis/progress.html", run=item, consultation=consultation, phase=phase,
                               no_worker=no_worker)
    result = item.result or {}
    # A whole-consultation run of a consultation with a codebook: say how many of its contributions await coding.
    book = codebook.for_consultation(db.session, consultation.id) if item.phase_id is None else None
    waiting = codebook.uncoded_count(db.session, book, item) if book is not None else 0
    choices = reweighting.dimensions(db.session, item.consultation_id)
    wanted = request.args.get("reweight") or reweighting.DEFAULT_DIMENSION
    chosen = next((d for d in choices if d.key == wanted), choices[0] if choices else None)
    policy = disclosure.policy_from(current_app.config)
    reweighted = reweighting.theme_shares(db.session, item, dimension=chosen.key,
                                          secret=str(current_app.config["PSEUDONYM_KEY"]),
                                          policy=policy) if chosen else None
    return render_template("analysis/run.html", run=item, consultation=consultation, phase=phase, result=result,
                           book=book, waiting=waiting, reweighted=reweighted, reweight_choices=choices,
                           disclosure_rule=disclosure.describe_policy(policy),
                           chart=results.chart_rows(result), percent=results.percent,
                           stability=results.stability_reading(result["themes"].get("stability")),
                           set_aside=results.set_aside(result), quality=results.quality(result),
                           comparison=results.phase_comparison(result),
                           shift_points=results.support_shift_points(),
                           method=results.method_text(result["themes"].get("method")))


@bp.route("/runs/<int:run_id>/themes/<int:theme_id>")
@allow("analyst")
def theme(run_id: int, theme_id: int) -> Any:
    """A theme's quotes and its contributions ordered by support."""
    item, result = _done(run_id)
    found = results.theme(result, theme_id)
    if found is None:
        abort(404)
    rows = results.contributions_by_id(result)
    categories = results.contribution_groups(db.session, found["contributions"])
    min_cell = result.get("groups", {}).get("min_cell", 5)
    phases = results.theme_filters(result, found, categories, min_cell)["phases"]
    phase = request.args.get("phase") if request.args.get("phase") in phases else None
    # Groups are offered by their count in the chosen phase: four staff ideas in one phase could be recognised.
    filters = results.theme_filters(result, found, categories, min_cell, phase)
    asked = request.args.get("group") or None
    group = asked if asked in filters["groups"] else None
    too_few = asked if asked is not None and group is None and asked in CATEGORY_LABELS else None
    ids = results.filter_contributions(result, found, categories, phase, group)
    page = queries.Page(items=[], page=1, per_page=PER_PAGE, total=len(ids))
    page.page = min(max(1, page_arg()), page.pages)
    page.items = [rows[i] for i in ids[(page.page - 1) * PER_PAGE: page.page * PER_PAGE] if i in rows]
    comment_ids = [int(r["id"][1:]) for r in page.items if r["kind"] == "comment"]
    idea_of = dict(db.session.execute(select(Comment.id, Comment.idea_id).where(Comment.id.in_(comment_ids))).all())
    return render_template("analysis/theme.html", run=item, result=result, theme=found, page=page, rows=rows,
                           idea_of=idea_of, percent=results.percent, support_text=results.support_text,
                           filters=filters, phase=phase, group=group, too_few=too_few, min_cell=min_cell)


@bp.route("/runs/<int:run_id>/groups")
@allow("analyst")
def groups(run_id: int) -> Any:
    """Who said what: themes by declared group, consensus, division and opinion groups."""
    item, result = _done(run_id)
    phases = results.phases(result)
    chosen = request.args.get("phase")
    phase = chosen if chosen in phases else None
    return render_template("analysis/groups.html", run=item, result=result, phases=phases, phase=phase,
                           tables=results.group_tables(result, phase), rows=results.contributions_by_id(result),
                           percent=results.percent)


@bp.route("/runs/<int:run_id>/results.json")
@allow("analyst")
def download_json(run_id: int) -> Response:
    """The whole stored result (pseudonymous: contribution ids only, no accounts)."""
    item, result = _done(run_id)
    body = json.dumps(result, ensure_ascii=False, indent=1)
    return _download(body, "application/json", f"analysis-{item.id}.json")


@bp.route("/runs/<int:run_id>/themes.csv")
@allow("analyst")
def download_csv(run_id: int) -> Response:
    """Themes and their contributions as a spreadsheet-safe CSV."""
    item, result = _done(run_id)
    return _download(results.themes_csv(result), "text/csv", f"analysis-{item.id}-themes.csv")


def _download(body: str, mimetype: str, filename: str) -> Response:
    """A file download that is never cached."""
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
