"""Facilitators: the dashboard, setting up consultations, phases and topics, opening and closing phases,
and entering contributions gathered at workshops, on paper or by phone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..authz import allow
from ..extensions import db
from ..models import (
    CATEGORIES,
    CATEGORY_LABELS,
    Consultation,
    Phase,
    PhaseTransition,
    Topic,
    User,
    utcnow,
)
from ..security import safe_next
from ..services import manage, phases, queries
from ..services.errors import Conflict, Invalid
from .helpers import get_or_404, page_arg

bp = Blueprint("facilitate", __name__, url_prefix="/facilitate")

CHANNEL_LABELS = {"workshop": "At a workshop or event", "paper": "On a paper form or by post",
                  "phone": "By phone"}
CHANNEL_NAMES = {"workshop": "at a workshop", "paper": "on paper", "phone": "by phone"}
# Each consultation on the dashboard is a long block of phases and figures, so pages are short.
CONSULTATIONS_PER_PAGE = 10


def _per_page() -> int:
    """List length from configuration."""
    return int(current_app.config["PAGE_SIZE"])


def _dashboard_url(phase: Phase | None = None) -> str:
    """Where to go back to: the dashboard page the form came from, at the phase's entry."""
    target = safe_next(request.form.get("next"), url_for("facilitate.dashboard"))
    return target + (f"#phase-{phase.id}" if phase else "")


@bp.route("/")
@allow("facilitator")
def dashboard() -> Any:
    """Every consultation with its phases, their state, schedule, audience and participation figures."""
    page = manage.consultations_page(db.session, page=page_arg(), per_page=CONSULTATIONS_PER_PAGE)
    phase_ids = [p.id for c in page.items for p in c.phases]
    return render_template("facilitate/dashboard.html", page=page,
                           stats=queries.phase_stats(db.session, phase_ids),
                           registrants=manage.registrant_counts(db.session))


# ---------------------------------------------------------------------------------------- consultations


def _consultation_fields() -> dict[str, Any]:
    """The consultation form's fields as the service takes them."""
    form = request.form
    return {"title": form.get("title"), "slug": form.get("slug"), "summary": form.get("summary"),
            "description": form.get("description"), "is_published": form.get("is_published") == "yes"}


@bp.route("/consultations/new", methods=["GET", "POST"])
@allow("facilitator")
def new_consultation() -> Any:
    """Create a consultation."""
    if request.method == "POST":
        try:
            consultation = manage.create_consultation(db.session, current_user, **_consultation_fields())
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/consultation_form.html", consultation=None, form=request.form,
                                   errors=exc.field_errors), 400
        db.session.commit()
        flash(f"“{consultation.title}” has been created. Now add its first phase.", "success")
        return redirect(url_for("facilitate.new_phase", consultation_id=consultation.id))
    return render_template("facilitate/consultation_form.html", consultation=None,
                           form={"is_published": "no"}, errors={})


@bp.route("/consultations/<int:consultation_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_consultation(consultation_id: int) -> Any:
    """Change a consultation's title, web address, summary, description or whether it is published."""
    consultation = get_or_404(Consultation, consultation_id)
    if request.method == "POST":
        try:
            changed = manage.update_consultation(db.session, current_user, consultation,
                                                 **_consultation_fields())
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/consultation_form.html", consultation=consultation,
                                   form=request.form, errors=exc.field_errors), 400
        db.session.commit()
        if changed:
            flash(f"Your changes to “{consultation.title}” have been saved.", "success")
        else:
            flash("Nothing was changed.", "info")
        return redirect(url_for("facilitate.dashboard") + f"#consultation-{consultation.id}")
    form = {"title": consultation.title, "slug": consultation.slug, "summary": consultation.summary,
            "description": consultation.description,
            "is_published": "yes" if consultation.is_published else "no"}
    return render_template("facilitate/consultation_form.html", consultation=consultation, form=form,
                           errors={})


# ----------------------------------------------------------------------------------------------- phases


def _typed(prefix: str) -> manage.TypedDateTime:
    """A date and time from the form's day, month, year and time boxes."""
    form = request.form
    return manage.TypedDateTime(day=form.get(f"{prefix}_day", ""), month=form.get(f"{prefix}_month", ""),
                                year=form.get(f"{prefix}_year", ""), time=form.get(f"{prefix}_time", ""))


def _phase_fields() -> dict[str, Any]:
    """The phase form's fields as the service takes them."""
    form = request.form
    return {"title": form.get("title"), "question": form.get("question"),
            "description": form.get("description"), "audience": form.getlist("audience"),
            "opens_at": _typed("opens_at"), "closes_at": _typed("closes_at")}


def _requires_verified() -> bool:
    """The phase form's "staff must be verified" box."""
    return request.form.get("requires_verified_staff") == "1"


def _phase_form(consultation: Consultation, phase: Phase | None, *, errors: dict[str, str],
                status: int = 200) -> Any:
    """Render the phase form, filled from the request after a problem or from the phase otherwise."""
    if request.method == "POST":
        fields = _phase_fields()
        form, audience = request.form, fields["audience"]
        opens, closes = fields["opens_at"], fields["closes_at"]
    elif phase is not None:
        form = {"title": phase.title, "question": phase.question, "description": phase.description}
        audience = phase.audience_categories
        opens = manage.TypedDateTime.from_utc(phase.opens_at)
        closes = manage.TypedDateTime.from_utc(phase.closes_at)
    else:
        form, audience, opens, closes = {}, [], manage.TypedDateTime(), manage.TypedDateTime()
    return render_template("facilitate/phase_form.html", consultation=consultation, phase=phase, form=form,
                           audience=audience, opens=opens, closes=closes, errors=errors,
                           categories=[(c, CATEGORY_LABELS[c]) for c in CATEGORIES]), status


def _schedule_note(phase: Phase) -> None:
    """Tell the facilitator when the times they saved change the phase's state straight away."""
    state = phases.scheduled_state(phase, utcnow())
    if state != phase.state:
        flash(f"Its planned {'opening' if state == 'open' else 'closing'} time has passed, "
              f"so it is now {'open' if state == 'open' else 'closed'}.", "info")


@bp.route("/consultations/<int:consultation_id>/phases/new", methods=["GET", "POST"])
@allow("facilitator")
def new_phase(consultation_id: int) -> Any:
    """Add a phase to a consultation."""
    consultation = get_or_404(Consultation, consultation_id)
    if request.method == "POST":
        try:
            phase = manage.create_phase(db.session, current_user, consultation, **_phase_fields())
            manage.set_requires_verified_staff(db.session, current_user, phase, _requires_verified())
        except Invalid as exc:
            db.session.rollback()
            return _phase_form(consultation, None, errors=exc.field_errors, status=400)
        db.session.commit()
        flash(f"Phase {phase.position}, “{phase.title}”, has been added. Now add its topics.", "success")
        _schedule_note(phase)
        return redirect(url_for("facilitate.topics", phase_id=phase.id))
    return _phase_form(consultation, None, errors={})


@bp.route("/phases/<int:phase_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_phase(phase_id: int) -> Any:
    """Change a phase's title, question, description, audience or planned times."""
    phase = get_or_404(Phase, phase_id)
    if request.method == "POST":
        try:
            changed = manage.update_phase(db.session, current_user, phase, **_phase_fields())
            if manage.set_requires_verified_staff(db.session, current_user, phase, _requires_verified()):
                changed.append("requires_verified_staff")
        except Invalid as exc:
            db.session.rollback()
            return _phase_form(phase.consultation, phase, errors=exc.field_errors, status=400)
        db.session.commit()
        if changed:
            flash(f"Your changes to phase {phase.position}, “{phase.title}”, have been saved.", "success")
            _schedule_note(phase)
        else:
            flash("Nothing was changed.", "info")
        return redirect(url_for("facilitate.dashboard") + f"#phase-{phase.id}")
    return _phase_form(phase.consultation, phase, errors={})


@bp.route("/phases/<int:phase_id>/open", methods=["POST"])
@allow("facilitator")
def open_phase(phase_id: int) -> Any:
    """Open a phase now."""
    return _change_state(phase_id, phases.open_phase, "is now open.")


@bp.route("/phases/<int:phase_id>/close", methods=["POST"])
@allow("facilitator")
def close_phase(phase_id: int) -> Any:
    """Close a phase now."""
    return _change_state(phase_id, phases.close_phase, "is now closed. Everything in it can still be read.")


def _change_state(phase_id: int, change: Any, done: str) -> Any:
    """Apply an open or close by hand, then show the dashboard with what happened."""
    phase = get_or_404(Phase, phase_id)
    try:
        change(db.session, phase, current_user)
    except Conflict as exc:
        # Usually a second click, or a colleague got there first: say what happened and show the state now.
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(_dashboard_url(phase))
    db.session.commit()
    flash(f"Phase {phase.position}, “{phase.title}”, {done}", "success")
    return redirect(_dashboard_url(phase))


@bp.route("/phases/<int:phase_id>/history")
@allow("facilitator")
def phase_history(phase_id: int) -> Any:
    """Every change of the phase's state: when, from, to, and who made it (or the schedule)."""
    phase = get_or_404(Phase, phase_id)
    stmt = (select(PhaseTransition, User.email).outerjoin(User, PhaseTransition.actor_id == User.id)
            .where(PhaseTransition.phase_id == phase.id)
            .order_by(PhaseTransition.at.desc(), PhaseTransition.id.desc()))
    page = queries.paginate(db.session, stmt, page_arg(), _per_page(), scalars=False)
    return render_template("facilitate/phase_history.html", phase=phase, page=page)


# ----------------------------------------------------------------------------------------------- topics


@bp.route("/phases/<int:phase_id>/topics")
@allow("facilitator")
def topics(phase_id: int) -> Any:
    """A phase's topics in order, with their idea counts and the actions on each."""
    phase = get_or_404(Phase, phase_id)
    stmt = select(Topic).where(Topic.phase_id == phase.id).order_by(Topic.position)
    page = queries.paginate(db.session, stmt, page_arg(), _per_page())
    last = db.session.scalar(select(Topic.position).where(Topic.phase_id == phase.id)
                             .order_by(Topic.position.desc()).limit(1))
    return render_template("facilitate/topics.html", phase=phase, page=page, last_position=last,
                           counts=queries.topic_counts(db.session, [phase.id]))


@bp.route("/phases/<int:phase_id>/topics/new", methods=["GET", "POST"])
@allow("facilitator")
def new_topic(phase_id: int) -> Any:
    """Add a topic to a phase."""
    phase = get_or_404(Phase, phase_id)
    if request.method == "POST":
        try:
            topic = manage.create_topic(db.session, current_user, phase, title=request.form.get("title"),
                                        description=request.form.get("description"))
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/topic_form.html", phase=phase, topic=None, form=request.form,
                                   errors=exc.field_errors), 400
        db.session.commit()
        flash(f"The topic “{topic.title}” has been added.", "success")
        return redirect(url_for("facilitate.topics", phase_id=phase.id))
    return render_template("facilitate/topic_form.html", phase=phase, topic=None, form={}, errors={})


@bp.route("/topics/<int:topic_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_topic(topic_id: int) -> Any:
    """Change a topic's title or description."""
    topic = get_or_404(Topic, topic_id)
    if request.method == "POST":
        try:
            changed = manage.update_topic(db.session, current_user, topic, title=request.form.get("title"),
                                          description=request.form.get("description"))
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/topic_form.html", phase=topic.phase, topic=topic,
                                   form=request.form, errors=exc.field_errors), 400
        db.session.commit()
        flash(f"Your changes to “{topic.title}” have been saved." if changed else "Nothing was changed.",
              "success" if changed else "info")
        return redirect(url_for("facilitate.topics", phase_id=topic.phase_id))
    form = {"title": topic.title, "description": topic.description}
    return render_template("facilitate/topic_form.html", phase=topic.phase, topic=topic, form=form, errors={})


@bp.route("/topics/<int:topic_id>/move", methods=["POST"])
@allow("facilitator")
def move_topic(topic_id: int) -> Any:
    """Move a topic one place up or down in its phase."""
    topic = get_or_404(Topic, topic_id)
    direction = request.form.get("direction", "")
    moved = manage.move_topic(db.session, current_user, topic, direction)
    db.session.commit()
    if moved:
        flash(f"“{topic.title}” has moved {direction}.", "success")
    else:
        flash(f"“{topic.title}” is already {'first' if direction == 'up' else 'last'}.", "info")
    target = safe_next(request.form.get("next"), url_for("facilitate.topics", phase_id=topic.phase_id))
    return redirect(target + f"#topic-{topic.id}")


# ------------------------------------------------------------------------------------- offline entry


def _on_behalf_form(topic: Topic, form: Any, errors: dict[str, str], status: int = 200,
                    problem: str = "") -> Any:
    """Render the form for entering an idea on someone's behalf."""
    categories = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES] + [(manage.CATEGORY_UNKNOWN, "Not known")]
    return render_template("facilitate/on_behalf.html", topic=topic, phase=topic.phase, form=form,
                           errors=errors, problem=problem, channels=list(CHANNEL_LABELS.items()),
                           categories=categories,
                           state=phases.scheduled_state(topic.phase, utcnow())), status


@bp.route("/topics/<int:topic_id>/on-behalf", methods=["GET", "POST"])
@allow("facilitator")
def on_behalf(topic_id: int) -> Any:
    """Enter an idea someone gave at a workshop, on paper or by phone."""
    topic = get_or_404(Topic, topic_id)
    if request.method == "GET":
        # The channel and group are kept between entries, so a pile of forms from one event is quick to type.
        return _on_behalf_form(topic, request.args, {})
    form = request.form
    try:
        idea, created = manage.enter_on_behalf(
            db.session, current_user, topic, title=form.get("title"), body=form.get("body"),
            channel=form.get("channel"), category=form.get("category"),
            profession=form.get("profession") or None)
    except Invalid as exc:
        db.session.rollback()
        return _on_behalf_form(topic, form, exc.field_errors, 400)
    except Conflict as exc:
        # The phase closed while the form was being typed: keep the text so nothing typed is lost.
        db.session.rollback()
        return _on_behalf_form(topic, form, {}, exc.status, problem=exc.message)
    db.session.commit()
    if created:
        flash(f"“{idea.title}” has been added as gathered {CHANNEL_NAMES[idea.channel]}. "
              "You can enter the next one below.", "success")
    else:
        flash(f"“{idea.title}” had already been entered; it was not added twice.", "info")
    keep = {name: form[name] for name in ("channel", "category", "profession") if form.get(name)}
    return redirect(url_for("facilitate.on_behalf", topic_id=topic.id, **keep))
