"""Moderation: participants report, edit and withdraw; staff work the queue, safeguarding and anomalies;
anyone reads the moderation policy and log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from .. import authz, publicids
from ..authz import allow
from ..extensions import db, reads_only, write_intent
from ..forms import field_errors
from ..forms.moderation import (
    AnomalyForm,
    DecisionForm,
    EditForm,
    PremoderationForm,
    ReportForm,
)
from ..models import AnomalyFlag, Comment, Consultation, Idea, ModerationCase, Phase
from ..services import anomalies, anomaly_scans, moderation, queries, suspension
from ..services.errors import Invalid, NotFound, ServiceError
from ..services.text import plural
from .helpers import page_arg, user_or_none

bp = Blueprint("moderation", __name__)
KINDS = ("idea", "comment")
STAFF = ("moderator", "facilitator", "analyst")
# Endpoints whose successful POSTs record the sender's coarse network key (for anomaly flags).
NETWORK_ENDPOINTS = {"participate.vote", "participate.comment", "participate.new_idea"}
# Each flag's card carries its excerpts and a decision form, so pages are short.
FLAGS_PER_PAGE = 10


def _window() -> timedelta:
    """How long an author may edit a published post."""
    return timedelta(minutes=float(current_app.config.get("EDIT_WINDOW_MINUTES", 15)))


def _item(kind: str, item_id: int) -> Idea | Comment:
    """A contribution this person may see, through the authz loaders."""
    if kind == "idea":
        return authz.get_idea(item_id)
    if kind == "comment":
        return authz.get_comment(item_id)
    raise NotFound(authz.NOT_FOUND)


def _back(item: Idea | Comment) -> str:
    """The idea page, at the comment when it is one."""
    if isinstance(item, Idea):
        return url_for("public.idea", idea_id=item.id)
    return url_for("public.idea", idea_id=item.idea_id) + publicids.anchor(item.id)


@bp.app_template_global()
def can_edit_item(item: Idea | Comment) -> bool:
    """Whether the current person may edit this contribution now (templates show an Edit link)."""
    return moderation.can_edit(item, user_or_none(), _window())


@bp.app_template_global()
def viewer_id() -> int | None:
    """The logged-in person's id, or None (imported macros have no request context of their own)."""
    user = user_or_none()
    return user.id if user is not None else None


@bp.after_app_request
def _remember_network(response: Any) -> Any:
    """After a successful post or vote, note the sender's coarse network key once per session and network."""
    if (request.method != "POST" or request.endpoint not in NETWORK_ENDPOINTS or response.status_code >= 400
            or not current_user.is_authenticated):
        return response
    key = moderation.network_key(current_app.config["SECRET_KEY"], request.remote_addr)
    if key is None or session.get("network_key") == key:
        return response
    try:
        db.session.commit()
        with write_intent():
            moderation.record_network(db.session, current_user.id, key)
            db.session.commit()
        session["network_key"] = key
    except OperationalError:
        db.session.rollback()  # a busy database skips it; the next post records it
    return response


# ------------------------------------------------------------------------------------ participants


@bp.route("/report/idea/<idea_pid:item_id>", methods=["GET", "POST"], defaults={"kind": "idea"})
@bp.route("/report/comment/<comment_pid:item_id>", methods=["GET", "POST"], defaults={"kind": "comment"})
@allow("participant")
def report(kind: str, item_id: int) -> Any:
    """Report an idea or comment to the moderators, with a reason."""
    item = _item(kind, item_id)
    form = ReportForm()
    already = item.id in moderation.has_reported(db.session, current_user, kind, [item.id])
    if request.method == "POST" and not already:
        if form.validate_on_submit():
            try:
                created = moderation.report(db.session, current_user, item, form.reason.data, form.note.data)
            except Invalid as exc:
                db.session.rollback()
                return _report_page(kind, item, form, exc.field_errors), 400
            db.session.commit()
            if created:
                flash(f"Thank you. You reported this {kind} because: \u201c{moderation.REPORT_LABELS[form.reason.data]}"
                      "\u201d. A moderator will look at it, usually within a working day. We will not tell its "
                      "author who reported it.", "success")
            else:
                flash(f"You have already reported this {kind}. A moderator will look at it.", "info")
            return redirect(_back(item))
        db.session.rollback()
        return _report_page(kind, item, form, field_errors(form)), 400
    return _report_page(kind, item, form, {}, already=already)


def _report_page(kind: str, item: Idea | Comment, form: ReportForm, errors: dict[str, str],
                 already: bool = False) -> str:
    """The report form with its errors and what was typed."""
    return render_template("moderation/report.html", kind=kind, item=item, form=form, errors=errors,
                           already=already, back=_back(item), labels=moderation.REPORT_LABELS)


@bp.route("/my/idea/<idea_pid:item_id>/edit", methods=["GET", "POST"], defaults={"kind": "idea"})
@bp.route("/my/comment/<comment_pid:item_id>/edit", methods=["GET", "POST"], defaults={"kind": "comment"})
@allow("participant")
def edit(kind: str, item_id: int) -> Any:
    """The author's page for one post: why it is not published yet (and where to get help), and its edit form."""
    item = _item(kind, item_id)
    if item.author_id != current_user.id:
        raise NotFound(authz.NOT_FOUND)
    form = EditForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                result = moderation.author_edit(db.session, current_user, item, form.title.data, form.body.data,
                                                window=_window())
            except Invalid as exc:
                db.session.rollback()
                errors, status = exc.field_errors, 400
            except ServiceError as exc:
                # Usually the edit window closed while they typed: say so, and keep what they wrote to copy.
                db.session.rollback()
                kept = {name: value for name, value in (("title", form.title.data), ("body", form.body.data))
                        if value and value.strip()}
                return _edit_page(kind, item, {}, 409, problem=exc.message, kept=kept)
            else:
                db.session.commit()
                if item.moderation_state == "published":
                    flash("Your changes have been published.", "success")
                    return redirect(_back(item))
                flash("Thank you. Your changes have been saved." if not result.held else
                      "Your changes have been saved, but the post still cannot be published yet.", "info")
                return redirect(url_for("moderation.edit", kind=kind, item_id=item.id))
        else:
            db.session.rollback()
            errors, status = field_errors(form) or {"body": "That was not understood. Try again."}, 400
    values = {"title": form.title.data if request.method == "POST" else getattr(item, "title", None),
              "body": form.body.data if request.method == "POST" else item.body}
    return _edit_page(kind, item, errors, status, values=values)


def _edit_page(kind: str, item: Idea | Comment, errors: dict[str, str], status: int, *,
               values: dict[str, Any] | None = None, problem: str = "", kept: dict[str, str] | None = None) -> Any:
    """The author's edit page; ``kept`` is text that could not be saved, shown back to copy."""
    case = db.session.scalar(select(ModerationCase).where(
        (ModerationCase.idea_id if kind == "idea" else ModerationCase.comment_id) == item.id))
    values = values or {"title": getattr(item, "title", None), "body": item.body}
    return render_template("moderation/edit.html", kind=kind, item=item, case=case, errors=errors, values=values,
                           can_edit=moderation.can_edit(item, current_user, _window()),
                           until=moderation.editable_until(item, _window()), problem=problem, kept=kept or {},
                           safeguarding=bool(case and case.restricted and item.moderation_state == "held"),
                           window_minutes=int(_window().total_seconds() // 60), back=_back(item)), status


@bp.route("/my/idea/<idea_pid:item_id>/withdraw", methods=["GET", "POST"], defaults={"kind": "idea"})
@bp.route("/my/comment/<comment_pid:item_id>/withdraw", methods=["GET", "POST"], defaults={"kind": "comment"})
@allow("participant")
def withdraw(kind: str, item_id: int) -> Any:
    """Ask, then withdraw one of your own posts: it is hidden from everyone, for good."""
    item = _item(kind, item_id)
    if item.author_id != current_user.id:
        raise NotFound(authz.NOT_FOUND)
    form = EditForm()
    if request.method == "POST" and form.validate_on_submit():
        moderation.withdraw(db.session, current_user, item)
        db.session.commit()
        flash(f"Your {kind} has been withdrawn. Nobody can see it now.", "success")
        return redirect(url_for("participate.my_contributions", kind="comments" if kind == "comment" else None))
    return render_template("moderation/withdraw.html", kind=kind, item=item, back=_back(item))


# ------------------------------------------------------------------------------------------ public


@bp.route("/moderation-policy")
@allow("anyone")
def policy() -> Any:
    """What is allowed, what is held and why, and how decisions are made."""
    return render_template("moderation/policy.html", labels=moderation.REPORT_LABELS)


@bp.route("/c/<slug>/moderation-log")
@allow("anyone")
def log(slug: str) -> Any:
    """Counts of moderation decisions by reason and phase (never the text, never who)."""
    consultation = authz.get_consultation(slug=slug)
    return render_template("moderation/log.html", consultation=consultation,
                           **moderation.public_log(db.session, consultation.id))


# ------------------------------------------------------------------------------------------- staff


@bp.route("/moderation")
@allow(*STAFF)
def index() -> Any:
    """The consultations this person moderates or safeguards, with their open cases."""
    user = current_user
    moderate = authz.staff_consultation_ids(db.session, user, "moderate")
    safeguard = authz.staff_consultation_ids(db.session, user, "safeguard")
    stmt = select(Consultation).order_by(Consultation.created_at.desc())
    if moderate is not None and safeguard is not None:
        stmt = stmt.where(Consultation.id.in_(set(moderate) | set(safeguard)))
    items = list(db.session.scalars(stmt))
    counts = moderation.queue_counts(db.session, [c.id for c in items])
    return render_template("moderation/index.html", items=items, counts=counts,
                           moderate=None if moderate is None else set(moderate),
                           safeguard=None if safeguard is None else set(safeguard))


def _queue_page(consultation_id: int, restricted: bool, form: DecisionForm | None = None,
                errors: dict[str, str] | None = None) -> Any:
    """The queue (or the safeguarding queue) with its filters, one page."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(authz.NOT_FOUND)
    authz.require_staff(consultation.id, "safeguard" if restricted else "moderate")
    if not restricted:
        _adopt_unqueued(consultation.id)
    args = request.args
    filters = {"status": args.get("status", "open") if args.get("status") in ("open", "closed", "all") else "open",
               "reason": args.get("reason", "") if args.get("reason") in moderation.REASON_LABELS else "",
               "state": args.get("state", "") if args.get("state") in ("held", "published", "hidden", "withdrawn")
               else "", "kind": args.get("kind", "") if args.get("kind") in KINDS else "",
               "phase": authz.parse_id(args.get("phase"))}
    page = moderation.queue(db.session, consultation.id, restricted=restricted, status=filters["status"],
                            reason=filters["reason"], state=filters["state"], phase_id=filters["phase"],
                            kind=filters["kind"], page=page_arg(), per_page=int(current_app.config["PAGE_SIZE"]))
    # After a problem the page shows what was chosen and typed again, so nothing has to be redone.
    kept = {"case_ids": set(form.case_id.data or []) if form else set(),
            "action": (form.action.data or "") if form else "", "reason": (form.reason.data or "") if form else ""}
    return render_template("moderation/queue.html", consultation=consultation, page=page, restricted=restricted,
                           filters=filters, reasons=moderation.REASON_LABELS, errors=errors or {}, kept=kept,
                           can_facilitate=authz.can(current_user, consultation.id, "facilitate")), \
        400 if errors else 200


def _adopt_unqueued(consultation_id: int) -> None:
    """Queue held posts that have no case yet (data from before moderation, or the demo), in one short write."""
    db.session.commit()
    try:
        with write_intent():
            if moderation.adopt_unqueued(db.session, consultation_id):
                db.session.commit()
            else:
                db.session.rollback()
    except OperationalError:
        db.session.rollback()


@bp.route("/moderation/<int:consultation_id>")
@allow(*STAFF)
def queue(consultation_id: int) -> Any:
    """Reported, held and pre-moderated contributions of one consultation (not the safeguarding ones)."""
    return _queue_page(consultation_id, restricted=False)


@bp.route("/moderation/<int:consultation_id>/safeguarding")
@allow(*STAFF)
def safeguarding(consultation_id: int) -> Any:
    """The restricted queue of possible disclosures, for the consultation's safeguarding leads."""
    return _queue_page(consultation_id, restricted=True)


def _case(case_id: int) -> ModerationCase:
    """A case this person may work on: safeguarding cases need the safeguarding assignment."""
    case = db.session.get(ModerationCase, case_id)
    if case is None:
        raise NotFound(authz.NOT_FOUND)
    authz.require_staff(case.consultation_id, "safeguard" if case.restricted else "moderate")
    return case


@bp.route("/moderation/<int:consultation_id>/decide", methods=["POST"])
@allow(*STAFF)
def bulk(consultation_id: int) -> Any:
    """Apply one decision to the selected cases (all or nothing)."""
    form = DecisionForm()
    restricted = request.args.get("restricted") == "1"
    if not form.validate_on_submit() or not form.case_id.data:
        errors = field_errors(form) or {"case_id": "Select at least one contribution"}
        db.session.rollback()
        return _queue_page(consultation_id, restricted, form, errors)
    try:
        for case_id in form.case_id.data:
            case = _case(case_id)
            if case.consultation_id != consultation_id:
                raise NotFound(authz.NOT_FOUND)
            moderation.decide(db.session, current_user, case, form.action.data, form.reason.data)
    except Invalid as exc:
        db.session.rollback()
        return _queue_page(consultation_id, restricted, form, exc.field_errors)
    except ServiceError as exc:
        # Usually a post withdrawn by its author meanwhile: nothing was applied; say why and keep the choices.
        db.session.rollback()
        return _queue_page(consultation_id, restricted, form, {"case_id": f"{exc.message} Nothing was changed."})
    db.session.commit()
    flash(_decided(len(form.case_id.data), form.action.data), "success")
    target = "moderation.safeguarding" if restricted else "moderation.queue"
    # Back to the same filtered list, so a moderator working through one reason or phase stays in it.
    filters = {k: v for k, v in request.args.items() if k in ("status", "reason", "state", "kind", "phase")}
    return redirect(url_for(target, consultation_id=consultation_id, **filters))


def _decided(count: int, action: str | None) -> str:
    """What a decision did, in words, so a moderator working down the queue can check it was the one meant."""
    items = plural(count, "contribution")
    return {"publish": f"{items} published.", "hide": f"{items} hidden, with your reason shown in place.",
            "restore": f"{items} restored.",
            "dismiss": f"Reports on {items} closed; {'it is' if count == 1 else 'they are'} left as "
                       f"{'it was' if count == 1 else 'they were'}."}.get(action or "", f"{items} decided.")


@bp.route("/moderation/cases/<int:case_id>", methods=["GET", "POST"])
@allow(*STAFF)
def case(case_id: int) -> Any:
    """One case: the contribution, its reports and automatic reasons, and the decisions."""
    item_case = _case(case_id)
    item = moderation.case_item(db.session, item_case)
    form = DecisionForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                moderation.decide(db.session, current_user, item_case, form.action.data, form.reason.data)
            except ServiceError as exc:
                db.session.rollback()
                errors = getattr(exc, "field_errors", {}) or {"action": exc.message}
            else:
                db.session.commit()
                flash(f"Your decision has been recorded. {_decided(1, form.action.data)}", "success")
                return redirect(url_for("moderation.safeguarding" if item_case.restricted else "moderation.queue",
                                        consultation_id=item_case.consultation_id))
        else:
            db.session.rollback()
            errors = field_errors(form)
    return _case_page(item_case, item, errors, form.reason.data or ""), 400 if errors else 200


def _case_page(item_case: ModerationCase, item: Idea | Comment, errors: dict[str, str], reason: str,
               values: dict[str, Any] | None = None, suspend_reason: str = "") -> str:
    """The case page with any errors."""
    return render_template("moderation/case.html", case=item_case, item=item, kind=moderation.kind_of(item),
                           reports=moderation.case_reports(db.session, item_case), errors=errors, reason=reason,
                           suspend_reason=suspend_reason, author=suspension.author_state(db.session, item),
                           phase=db.session.get(Phase, item_case.phase_id), labels=moderation.REASON_LABELS,
                           report_labels=moderation.REPORT_LABELS,
                           values=values or {"title": getattr(item, "title", None), "body": item.body},
                           # What the author was really told when it was held (the queue shows the same).
                           explanation=item.moderation_reason or moderation.hold_message(
                               item_case.reasons or [item_case.reason]))


@bp.route("/moderation/cases/<int:case_id>/redact", methods=["POST"])
@allow(*STAFF)
def redact(case_id: int) -> Any:
    """Edit personal details out and publish; the original is kept for admins and the audit."""
    item_case = _case(case_id)
    item = moderation.case_item(db.session, item_case)
    form = EditForm()
    values = {"title": form.title.data, "body": form.body.data}
    if not form.validate_on_submit():
        db.session.rollback()
        return _case_page(item_case, item, field_errors(form), "", values), 400
    try:
        moderation.redact(db.session, current_user, item_case, form.title.data, form.body.data)
    except Invalid as exc:
        db.session.rollback()
        return _case_page(item_case, item, exc.field_errors, "", values), 400
    db.session.commit()
    flash("The edited text has been published. The original is kept for administrators only.", "success")
    return redirect(url_for("moderation.queue", consultation_id=item_case.consultation_id))


@bp.route("/moderation/phases/<int:phase_id>/premoderation", methods=["POST"])
@allow("facilitator")
def premoderation(phase_id: int) -> Any:
    """Turn pre-moderation of a phase on or off."""
    phase = authz.get_staff_object(Phase, phase_id, "facilitate", lambda p: p.consultation_id)
    form = PremoderationForm()
    if form.validate_on_submit():
        moderation.set_premoderation(db.session, current_user, phase, form.premoderated.data == "on")
        db.session.commit()
        flash(f"Pre-moderation is {'on' if phase.premoderated else 'off'} for {phase.title}.", "success")
    else:
        db.session.rollback()
        flash("Choose on or off.", "error")
    return redirect(url_for("moderation.queue", consultation_id=phase.consultation_id))


# --------------------------------------------------------------------------------------- anomalies


@bp.route("/moderation/<int:consultation_id>/anomalies")
@allow("facilitator")
@reads_only
def anomaly_list(consultation_id: int) -> Any:
    """Flagged bursts and near-identical texts, as the background worker last recorded them (this page only reads)."""
    consultation = authz.get_staff_object(Consultation, consultation_id, "facilitate", lambda c: c.id)
    status = request.args.get("status") if request.args.get("status") in ("excluded", "dismissed") else "open"
    return _anomaly_page(consultation, status, page_arg())


@bp.route("/moderation/<int:consultation_id>/anomalies/look", methods=["POST"])
@allow("facilitator")
def anomaly_look(consultation_id: int) -> Any:
    """Ask the background worker to look for unusual activity again soon (a second click asks nothing more)."""
    authz.get_staff_object(Consultation, consultation_id, "facilitate", lambda c: c.id)
    asked = anomaly_scans.request_look(db.session, current_user, consultation_id)
    db.session.commit()
    flash("The worker will look again shortly." if asked else "A look was already waiting: the worker will start "
          "it shortly.", "success" if asked else "info")
    return redirect(url_for("moderation.anomaly_list", consultation_id=consultation_id))


def _anomaly_page(consultation: Consultation, status: str, number: int, *, flag_id: int | None = None,
                  errors: dict[str, str] | None = None, typed: dict[str, str] | None = None) -> Any:
    """One page of flags with this status; after a problem, the errors and what was typed on that flag's card."""
    page = queries.paginate(db.session, anomalies.flags_query(consultation.id, status=status), number,
                            FLAGS_PER_PAGE)
    texts = anomalies.flag_texts(db.session, page.items,
                                 safeguard=authz.can(current_user, consultation.id, "safeguard"))
    errors = errors or {}
    scan = anomaly_scans.status(db.session, consultation.id)
    return render_template("moderation/anomalies.html", consultation=consultation, status=status, page=page,
                           scan=scan, looked_ago=anomaly_scans.ago(scan.looked_at) if scan.looked_at else "",
                           scan_minutes=round(float(current_app.config.get("ANOMALY_SCAN_SECONDS", 300)) / 60),
                           flags=page.items, texts=texts, errors={f"{k}-{flag_id}": v for k, v in errors.items()},
                           card_errors=errors, failed=flag_id, typed=typed or {},
                           excluded=anomalies.excluded_counts(db.session, [f.id for f in page.items])), \
        400 if errors else 200


@bp.route("/moderation/anomalies/<int:flag_id>", methods=["POST"])
@allow("facilitator")
def anomaly_decide(flag_id: int) -> Any:
    """Exclude a flagged burst's votes from the analysis, or dismiss the flag, with a reason."""
    flag = authz.get_staff_object(AnomalyFlag, flag_id, "facilitate", lambda f: f.consultation_id)
    form = AnomalyForm()
    form.validate_on_submit()  # text fields only; the service checks them and says what is wrong
    action = form.action.data or ""
    try:
        count = anomalies.decide(db.session, current_user, flag, action, form.reason.data)
    except Invalid as exc:
        # Show the card again with what is wrong and what was typed, on the page it was on.
        db.session.rollback()
        consultation = db.session.get(Consultation, flag.consultation_id)
        number = authz.parse_id(form.page.data) or 1
        return _anomaly_page(consultation, flag.status, min(number, 1_000_000), flag_id=flag.id,
                             errors=exc.field_errors, typed={"action": action, "reason": form.reason.data or ""})
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("moderation.anomaly_list", consultation_id=flag.consultation_id))
    db.session.commit()
    if action == "reopen":
        flash("The flag is waiting for a decision again." + (
            f" {plural(count, 'vote')} {'counts' if count == 1 else 'count'} in analyses again." if count else ""),
              "success")
    else:
        flash(f"{plural(count, 'vote')} {'is' if count == 1 else 'are'} now left out of analyses."
              if action == "exclude" else "The flag has been dismissed.", "success")
    return redirect(url_for("moderation.anomaly_list", consultation_id=flag.consultation_id))


# Suspending a case's author joins this blueprint from its own module (kept apart so this file stays short).
from . import moderation_suspend  # noqa: E402, F401
