"""Facilitators: who is being heard (inclusion checks), reference populations, and offline contributions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..authz import allow, get_staff_object, parse_id
from ..extensions import db
from ..forms import field_errors
from ..forms.equality import CsvUploadForm, DeadlineForm, EventForm, QuestionsOffForm
from ..models import Consultation, OfflineEvent, Phase
from ..services import disclosure, equality, inclusion, offline_events, workshops
from ..services.errors import Conflict, Invalid
from .facilitate import CHANNEL_LABELS
from .helpers import form_values

bp = Blueprint("inclusion", __name__, url_prefix="/facilitate")
MAX_UPLOAD = 200 * 1024


def _consultation(consultation_id: int) -> Consultation:
    """A consultation this facilitator is assigned to (404 otherwise)."""
    return get_staff_object(Consultation, consultation_id, "facilitate", lambda c: c.id)


def _phase(phase_id: int) -> Phase:
    """A phase of a consultation this facilitator is assigned to (404 otherwise)."""
    return get_staff_object(Phase, phase_id, "facilitate", lambda p: p.consultation_id)


def _read_upload(form: CsvUploadForm) -> str:
    """The uploaded file's text, or Invalid with a plain message."""
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", ""):
        raise Invalid("There is a problem", {"file": "Choose a CSV file to upload"})
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Invalid("There is a problem", {"file": f"The file is larger than {MAX_UPLOAD // 1024} KB. Split it into "
                                                     "smaller files."})
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            raise Invalid("There is a problem", {"file": "The file is not a CSV text file. Save it as CSV "
                                                         "(UTF-8) and try again."}) from None


def _csv(text: str, filename: str) -> Response:
    """A CSV download."""
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/consultations/<int:consultation_id>/inclusion")
@allow("facilitator")
def page(consultation_id: int) -> Any:
    """Who is taking part against the reference population, per consultation or phase, live."""
    consultation = _consultation(consultation_id)
    phase_id = parse_id(request.args.get("phase"))
    phase = next((p for p in consultation.phases if p.id == phase_id), None)
    who = "contributors" if request.args.get("who") == "contributors" else "registrants"
    over_time = request.args.get("over_time") or "age_band"
    if over_time not in inclusion.BY_DIMENSION:
        over_time = "age_band"
    policy = disclosure.policy_from(current_app.config)
    report = inclusion.build_report(db.session, inclusion.Scope(consultation, phase, who),
                                    secret=str(current_app.config["PSEUDONYM_KEY"]), policy=policy,
                                    over_time=over_time)
    return render_template("inclusion/page.html", consultation=consultation, phase=phase, who=who, report=report,
                           summary=inclusion.summary_paragraph(report), rule=disclosure.describe_policy(policy),
                           over_time=over_time, dimensions=inclusion.DIMENSIONS, questions=equality.QUESTIONS,
                           region_note=inclusion.REGION_NOTE, errors={},
                           # Where outreach can be typed in now, for the "what you can do" list.
                           offline_phases=[p for p in consultation.phases
                                           if workshops.accepting(db.session, p)[0]])


@bp.route("/consultations/<int:consultation_id>/inclusion/questions", methods=["POST"])
@allow("facilitator")
def questions_off(consultation_id: int) -> Any:
    """Switch equality questions off (or back on) for this consultation."""
    consultation = _consultation(consultation_id)
    form = QuestionsOffForm()
    if not form.validate_on_submit():
        flash("The form had expired. Try again.", "error")
        return redirect(url_for("inclusion.page", consultation_id=consultation.id))
    try:
        off = equality.set_switched_off(db.session, consultation_id=consultation.id,
                                        questions=form.questions.data or [])
    except Invalid:
        db.session.rollback()
        flash("Choose questions from the list.", "error")
        return redirect(url_for("inclusion.page", consultation_id=consultation.id))
    db.session.commit()
    flash(f"{len(off)} question{'s are' if len(off) != 1 else ' is'} switched off for this consultation.", "success")
    return redirect(url_for("inclusion.page", consultation_id=consultation.id) + "#questions")


@bp.route("/consultations/<int:consultation_id>/inclusion/reference.csv")
@allow("facilitator")
def reference_template(consultation_id: int) -> Any:
    """A CSV of every dimension and category with England's Census 2021 counts, to edit and upload."""
    _consultation(consultation_id)
    return _csv(inclusion.reference_template(), "reference-population.csv")


@bp.route("/consultations/<int:consultation_id>/inclusion/reference", methods=["GET", "POST"])
@allow("facilitator")
def reference(consultation_id: int) -> Any:
    """Replace the reference population with the team's own (one ICS's population, say), or go back."""
    consultation = _consultation(consultation_id)
    form = CsvUploadForm()
    result = None
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            errors, status = field_errors(form) or {"file": "The form had expired. Try again."}, 400
        elif request.form.get("action") == "reset":
            inclusion.reset_reference(db.session, consultation_id=consultation.id)
            db.session.commit()
            flash("The shipped Census 2021 and HCPC references are back in use.", "success")
            return redirect(url_for("inclusion.reference", consultation_id=consultation.id))
        else:
            try:
                result = inclusion.upload_reference(db.session, consultation_id=consultation.id,
                                                    text=_read_upload(form), source=form.source.data or "")
                db.session.commit()
            except Invalid as exc:
                db.session.rollback()
                errors, status = exc.field_errors, 400
    return render_template("inclusion/reference.html", consultation=consultation, result=result, errors=errors,
                           source=form.source.data or ""), status


# ---------------------------------------------------------------------------------------- offline input


def _workshops_page(phase: Phase, *, report: Any = None, errors: dict[str, str] | None = None,
                    problem: str = "", status: int = 200, typed: list[str] | None = None) -> Any:
    """The offline contributions page for a phase (``typed``: the deadline's boxes as sent, after an error)."""
    ok, why = workshops.accepting(db.session, phase)
    deadline = workshops.deadline_for(db.session, phase)
    boxes = typed or ([str(deadline.day), str(deadline.month), str(deadline.year)] if deadline else ["", "", ""])
    return render_template("inclusion/workshops.html", phase=phase, consultation=phase.consultation,
                           events=workshops.event_rows(db.session, [phase.id]), report=report,
                           errors=errors or {}, problem=problem, accepting=ok, why=why,
                           deadline=deadline, deadline_boxes=boxes, columns=workshops.COLUMNS,
                           max_rows=workshops.MAX_ROWS, max_kb=MAX_UPLOAD // 1024), status


@bp.route("/phases/<int:phase_id>/workshops", methods=["GET", "POST"])
@allow("facilitator")
def offline(phase_id: int) -> Any:
    """Upload ideas gathered at workshops, on paper or by phone as a CSV, and see the events so far."""
    phase = _phase(phase_id)
    if request.method == "GET":
        return _workshops_page(phase)
    form = CsvUploadForm()
    if not form.validate_on_submit():
        return _workshops_page(phase, errors=field_errors(form) or {"file": "The form had expired. Try again."},
                               status=400)
    try:
        report = workshops.upload(db.session, current_user, phase, _read_upload(form))
    except Invalid as exc:
        db.session.rollback()
        return _workshops_page(phase, errors=exc.field_errors, status=400)
    except Conflict as exc:
        db.session.rollback()
        return _workshops_page(phase, problem=exc.message, status=exc.status)
    db.session.commit()
    return _workshops_page(phase, report=report, status=200 if not report.problems else 422)


@bp.route("/phases/<int:phase_id>/workshops/template.csv")
@allow("facilitator")
def offline_template(phase_id: int) -> Any:
    """The CSV template for offline contributions, with this phase's first topic filled in."""
    phase = _phase(phase_id)
    return _csv(workshops.template_csv(phase), f"offline-contributions-phase-{phase.position}.csv")


@bp.route("/phases/<int:phase_id>/workshops/deadline", methods=["POST"])
@allow("facilitator")
def offline_deadline(phase_id: int) -> Any:
    """Set the last day offline contributions may be entered after the phase closes (blank clears it)."""
    phase = _phase(phase_id)
    form = DeadlineForm()
    parts = [(form.day.data or "").strip(), (form.month.data or "").strip(), (form.year.data or "").strip()]
    if not form.validate_on_submit():
        return _workshops_page(phase, errors={"deadline": "The form had expired. Try again."}, status=400)
    deadline = None
    if any(parts):
        try:
            if not all(p.isascii() and p.isdigit() and len(p) <= 4 for p in parts):
                raise ValueError(parts)
            day, month, year = (int(p) for p in parts)
            deadline = datetime(year, month, day, 23, 59)
        except (ValueError, OverflowError):
            return _workshops_page(phase, errors={"deadline": "Enter a real date, for example 30 6 2021"},
                                   status=400, typed=parts)
        if not 2000 <= deadline.year <= 2099:  # the same years a phase's dates may take
            return _workshops_page(phase, errors={"deadline": "Enter a year between 2000 and 2099"}, status=400,
                                   typed=parts)
    try:
        workshops.set_deadline(db.session, current_user, phase, deadline)
    except Invalid as exc:
        db.session.rollback()
        return _workshops_page(phase, errors=exc.field_errors, status=400, typed=parts)
    db.session.commit()
    flash(f"Offline contributions can be entered until {deadline.day} {deadline:%B %Y}." if deadline else
          "The deadline for offline contributions has been cleared.", "success")
    return redirect(url_for("inclusion.offline", phase_id=phase.id))




# ------------------------------------------------------------------------------------- offline events


def _event(event_id: int) -> OfflineEvent:
    """An offline event in a consultation this facilitator is assigned to (404 otherwise)."""
    return get_staff_object(OfflineEvent, event_id, "facilitate", lambda e: e.phase.consultation_id)


def _event_form(event: OfflineEvent, form: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    """The form for correcting an event, with what was typed and what is wrong."""
    return render_template("inclusion/event_form.html", event=event, phase=event.phase,
                           consultation=event.phase.consultation, form=form, errors=errors,
                           channels=list(CHANNEL_LABELS.items()),
                           ideas=offline_events.contributions_of(db.session, event)), status


@bp.route("/offline-events/<int:event_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_event(event_id: int) -> Any:
    """Correct an offline event's details: how it was gathered, its name, date, size and group."""
    event = _event(event_id)
    if request.method == "GET":
        held = event.held_on
        return _event_form(event, {"channel": event.channel, "event_name": event.name, "event_day": str(held.day),
                                   "event_month": str(held.month), "event_year": str(held.year),
                                   "event_people": str(event.people or ""), "event_profile": event.profile or ""},
                           {})
    form = EventForm()
    form.validate_on_submit()  # text fields only; the service checks every value and says what is wrong
    values = form_values(form)
    try:
        changed = offline_events.update_event(db.session, current_user, event, channel=form.channel.data,
                                              choice=workshops.EventChoice(
                                                  name=values["event_name"], day=values["event_day"],
                                                  month=values["event_month"], year=values["event_year"],
                                                  people=values["event_people"], profile=values["event_profile"]))
    except Invalid as exc:
        db.session.rollback()
        return _event_form(db.session.get(OfflineEvent, event_id), values, exc.field_errors, 400)
    db.session.commit()
    flash(f"“{event.name}” has been updated." if changed else "Nothing was changed.",
          "success" if changed else "info")
    return redirect(url_for("inclusion.offline", phase_id=event.phase_id))


@bp.route("/offline-events/<int:event_id>/delete", methods=["GET", "POST"])
@allow("facilitator")
def delete_event(event_id: int) -> Any:
    """Delete an offline event nothing came from, after confirming; one with ideas says why it stays."""
    event = _event(event_id)
    ideas = offline_events.contributions_of(db.session, event)
    if request.method == "GET":
        return render_template("inclusion/event_delete.html", event=event, phase=event.phase,
                               consultation=event.phase.consultation, ideas=ideas)
    phase_id, name = event.phase_id, event.name
    try:
        offline_events.delete_event(db.session, current_user, event)
    except Conflict as exc:
        # Ideas were entered under it since the confirmation was shown: the page now says why it stays.
        db.session.rollback()
        return render_template("inclusion/event_delete.html", event=event, phase=event.phase,
                               consultation=event.phase.consultation,
                               ideas=offline_events.contributions_of(db.session, event)), exc.status
    db.session.commit()
    flash(f"“{name}” has been deleted.", "success")
    return redirect(url_for("inclusion.offline", phase_id=phase_id))
