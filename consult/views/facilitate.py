"""Facilitators: the dashboard, setting up consultations, phases and topics, opening and closing phases,
and entering contributions gathered at workshops, on paper or by phone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import authz
from ..authz import allow
from ..extensions import db
from ..forms.facilitate import (
    BackForm,
    ConsultationForm,
    MoveTopicForm,
    OnBehalfForm,
    PhaseChangeForm,
    PhaseForm,
    TopicForm,
)
from ..models import (
    CATEGORIES,
    CATEGORY_LABELS,
    GATHERED,
    Consultation,
    Phase,
    PhaseTransition,
    Topic,
    User,
    utcnow,
)
from ..security import safe_next
from ..services import dashboard as dashboard_reads
from ..services import manage, phases, queries, workshops
from ..services.errors import Conflict, Invalid
from ..services.typed_time import TypedDateTime, to_utc
from .helpers import form_values, page_arg

bp = Blueprint("facilitate", __name__, url_prefix="/facilitate")

CHANNEL_LABELS = {"workshop": "At a workshop or event", "paper": "On a paper form or by post",
                  "phone": "By phone"}
CHANNEL_NAMES = {"workshop": "workshop", "paper": "paper", "phone": "phone"}
KEPT_BETWEEN_ENTRIES = ("channel", "category", "profession", "event")
# Each consultation on the dashboard is a long block of phases and figures, so pages are short.
CONSULTATIONS_PER_PAGE = 10


def _per_page() -> int:
    """List length from configuration."""
    return int(current_app.config["PAGE_SIZE"])


def _dashboard_url(form: BackForm, phase: Phase | None = None) -> str:
    """Where to go back to: the dashboard page the form came from, at the phase's entry."""
    target = safe_next(form.next.data, url_for("facilitate.dashboard"))
    return target + (f"#phase-{phase.id}" if phase else "")


def _consultation(consultation_id: int) -> Consultation:
    """A consultation this person runs (assigned as facilitator, or an admin), or 404."""
    return authz.get_staff_object(Consultation, consultation_id, "facilitate", lambda c: c.id)


def _phase(phase_id: int) -> Phase:
    """A phase of a consultation this person runs, or 404."""
    return authz.get_staff_object(Phase, phase_id, "facilitate", lambda p: p.consultation_id)


def _topic(topic_id: int) -> Topic:
    """A topic of a consultation this person runs, or 404."""
    return authz.get_staff_object(Topic, topic_id, "facilitate", lambda t: t.phase.consultation_id)


@bp.route("/")
@allow("facilitator")
def dashboard() -> Any:
    """The consultations this person runs, with their phases, state, schedule, audience and figures."""
    mine = authz.staff_consultation_ids(db.session, current_user, "facilitate")
    page = dashboard_reads.consultations_page(db.session, page=page_arg(), per_page=CONSULTATIONS_PER_PAGE,
                                     consultation_ids=mine)
    phase_ids = [p.id for c in page.items for p in c.phases]
    return render_template("facilitate/dashboard.html", page=page,
                           stats=queries.phase_stats(db.session, phase_ids),
                           registrants=dashboard_reads.registrant_counts(db.session))


# ---------------------------------------------------------------------------------------- consultations


def _consultation_fields(form: ConsultationForm) -> dict[str, Any]:
    """The consultation form's fields as the service takes them."""
    return {"title": form.title.data, "slug": form.slug.data, "summary": form.summary.data,
            "description": form.description.data, "is_published": form.published}


@bp.route("/consultations/new", methods=["GET", "POST"])
@allow("facilitator")
def new_consultation() -> Any:
    """Create a consultation; its creator is assigned to run it."""
    form = ConsultationForm()
    if form.is_submitted():
        try:
            consultation = manage.create_consultation(db.session, current_user, **_consultation_fields(form))
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/consultation_form.html", consultation=None,
                                   form=form_values(form), errors=exc.field_errors), 400
        db.session.commit()
        flash(f"“{consultation.title}” has been created. Now add its first phase.", "success")
        return redirect(url_for("facilitate.new_phase", consultation_id=consultation.id))
    return render_template("facilitate/consultation_form.html", consultation=None,
                           form={"is_published": "no"}, errors={})


@bp.route("/consultations/<int:consultation_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_consultation(consultation_id: int) -> Any:
    """Change a consultation's title, web address, summary, description or whether it is published."""
    consultation = _consultation(consultation_id)
    form = ConsultationForm()
    if form.is_submitted():
        try:
            changed = manage.update_consultation(db.session, current_user, consultation,
                                                 **_consultation_fields(form))
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/consultation_form.html", consultation=consultation,
                                   form=form_values(form), errors=exc.field_errors), 400
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


def _phase_fields(form: PhaseForm) -> dict[str, Any]:
    """The phase form's fields as the service takes them."""
    return {"title": form.title.data, "question": form.question.data,
            "description": form.description.data, "audience": list(form.audience.data or []),
            "opens_at": TypedDateTime(**form.typed("opens_at")),
            "closes_at": TypedDateTime(**form.typed("closes_at"))}


def _requires_verified(form: PhaseForm) -> bool:
    """The phase form's "staff must be verified" box."""
    return (form.requires_verified_staff.data or "") == "1"


def _phase_form(consultation: Consultation, phase: Phase | None, submitted: PhaseForm | None, *,
                errors: dict[str, str], status: int = 200) -> Any:
    """Render the phase form, filled from what was sent after a problem or from the phase otherwise."""
    form: dict[str, Any]
    if submitted is not None:
        fields = _phase_fields(submitted)
        form, audience = form_values(submitted), fields["audience"]
        opens, closes = fields["opens_at"], fields["closes_at"]
    elif phase is not None:
        form = {"title": phase.title, "question": phase.question, "description": phase.description}
        audience = phase.audience_categories
        opens = TypedDateTime.from_utc(phase.opens_at)
        closes = TypedDateTime.from_utc(phase.closes_at)
    else:
        form, audience, opens, closes = {}, [], TypedDateTime(), TypedDateTime()
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
    consultation = _consultation(consultation_id)
    form = PhaseForm()
    if form.is_submitted():
        try:
            phase = manage.create_phase(db.session, current_user, consultation, **_phase_fields(form))
            manage.set_requires_verified_staff(db.session, current_user, phase, _requires_verified(form))
        except Invalid as exc:
            db.session.rollback()
            return _phase_form(consultation, None, form, errors=exc.field_errors, status=400)
        db.session.commit()
        flash(f"Phase {phase.position}, “{phase.title}”, has been added. Now add its topics.", "success")
        _schedule_note(phase)
        return redirect(url_for("facilitate.topics", phase_id=phase.id))
    return _phase_form(consultation, None, None, errors={})


@bp.route("/phases/<int:phase_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_phase(phase_id: int) -> Any:
    """Change a phase's title, question, description, audience or planned times."""
    phase = _phase(phase_id)
    form = PhaseForm()
    if form.is_submitted():
        try:
            changed = manage.update_phase(db.session, current_user, phase, **_phase_fields(form))
            if manage.set_requires_verified_staff(db.session, current_user, phase, _requires_verified(form)):
                changed.append("requires_verified_staff")
        except Invalid as exc:
            db.session.rollback()
            return _phase_form(phase.consultation, phase, form, errors=exc.field_errors, status=400)
        db.session.commit()
        if changed:
            flash(f"Your changes to phase {phase.position}, “{phase.title}”, have been saved.", "success")
            _schedule_note(phase)
        else:
            flash("Nothing was changed.", "info")
        return redirect(url_for("facilitate.dashboard") + f"#phase-{phase.id}")
    return _phase_form(phase.consultation, phase, None, errors={})


@bp.route("/phases/<int:phase_id>/open", methods=["GET", "POST"])
@allow("facilitator")
def open_phase(phase_id: int) -> Any:
    """Open a phase now, after a confirmation page that also asks when it should close."""
    phase = _phase(phase_id)
    form = PhaseChangeForm()
    # Opening cannot be taken back (what people add stays, and an opened phase cannot be deleted): ask first.
    change = "reopen" if phases.scheduled_state(phase, utcnow()) == "closed" else "open"
    if request.method == "GET" or form.confirmed.data != "yes":
        return _confirm_change(phase, change, form)
    if change == "open" and "closes_at_day" not in request.form:
        # A form without the closing-time boxes (a script, an old page) keeps the planned closing time.
        return _change_state(phase, form, phases.open_phase, "is now open.")
    try:
        closes = to_utc(TypedDateTime(**form.typed("closes_at")), field="closes_at", label="closing")
        if closes is not None and closes <= utcnow():
            raise Invalid("There is a problem", {"closes_at": "The closing time must be in the future"})
    except Invalid as exc:
        return _confirm_change(phase, change, form, exc.field_errors), 400
    return _change_state(phase, form, lambda session, item, actor: phases.open_phase(
        session, item, actor, closes_at=closes), "is now open." if change == "open" else "is open again.")


@bp.route("/phases/<int:phase_id>/close", methods=["GET", "POST"])
@allow("facilitator")
def close_phase(phase_id: int) -> Any:
    """Close a phase now, after a confirmation page (which works without JavaScript)."""
    phase = _phase(phase_id)
    form = PhaseChangeForm()
    if request.method == "GET" or form.confirmed.data != "yes":
        return _confirm_change(phase, "close", form)
    return _change_state(phase, form, phases.close_phase, "is now closed. Everything in it can still be read.")


def _confirm_change(phase: Phase, change: str, form: PhaseChangeForm, errors: dict[str, str] | None = None) -> Any:
    """The page that asks before a phase is closed or reopened."""
    if form.is_submitted() and errors is not None:
        closes = TypedDateTime(**form.typed("closes_at"))
    else:
        # Keep a planned closing time that is still to come; otherwise ask for one.
        planned = phase.closes_at if phase.closes_at and phase.closes_at > utcnow() else None
        closes = TypedDateTime.from_utc(planned)
    back = safe_next(form.next.data or request.args.get("next"), url_for("facilitate.dashboard"))
    return render_template("facilitate/phase_confirm.html", phase=phase, change=change, closes=closes,
                           errors=errors or {}, back=back)


def _change_state(phase: Phase, form: BackForm, change: Any, done: str) -> Any:
    """Apply an open or close by hand, then show the dashboard with what happened."""
    form.validate_on_submit()  # only the CSRF token and a return address, both checked already
    try:
        change(db.session, phase, current_user)
    except Conflict as exc:
        # Usually a second click, or a colleague got there first: say what happened and show the state now.
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(_dashboard_url(form, phase))
    db.session.commit()
    hidden = "" if phase.consultation.is_published or phase.state != "open" else (
        " Participants cannot see it until the consultation is published.")
    flash(f"Phase {phase.position}, “{phase.title}”, {done}{hidden}", "success")
    return redirect(_dashboard_url(form, phase))


@bp.route("/phases/<int:phase_id>/history")
@allow("facilitator")
def phase_history(phase_id: int) -> Any:
    """Every change of the phase's state: when, from, to, and who made it (or the schedule)."""
    phase = _phase(phase_id)
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
    phase = _phase(phase_id)
    stmt = select(Topic).where(Topic.phase_id == phase.id).order_by(Topic.position)
    page = queries.paginate(db.session, stmt, page_arg(), _per_page())
    last = db.session.scalar(select(Topic.position).where(Topic.phase_id == phase.id)
                             .order_by(Topic.position.desc()).limit(1))
    return render_template("facilitate/topics.html", phase=phase, page=page, last_position=last,
                           counts=queries.topic_counts(db.session, [phase.id]),
                           accepting=workshops.accepting(db.session, phase))


@bp.route("/phases/<int:phase_id>/topics/new", methods=["GET", "POST"])
@allow("facilitator")
def new_topic(phase_id: int) -> Any:
    """Add a topic to a phase."""
    phase = _phase(phase_id)
    form = TopicForm()
    if form.is_submitted():
        try:
            topic = manage.create_topic(db.session, current_user, phase, title=form.title.data,
                                        description=form.description.data)
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/topic_form.html", phase=phase, topic=None,
                                   form=form_values(form), errors=exc.field_errors), 400
        db.session.commit()
        flash(f"The topic “{topic.title}” has been added.", "success")
        return redirect(url_for("facilitate.topics", phase_id=phase.id))
    return render_template("facilitate/topic_form.html", phase=phase, topic=None, form={}, errors={})


@bp.route("/topics/<int:topic_id>/edit", methods=["GET", "POST"])
@allow("facilitator")
def edit_topic(topic_id: int) -> Any:
    """Change a topic's title or description."""
    topic = _topic(topic_id)
    form = TopicForm()
    if form.is_submitted():
        try:
            changed = manage.update_topic(db.session, current_user, topic, title=form.title.data,
                                          description=form.description.data)
        except Invalid as exc:
            db.session.rollback()
            return render_template("facilitate/topic_form.html", phase=topic.phase, topic=topic,
                                   form=form_values(form), errors=exc.field_errors), 400
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
    topic = _topic(topic_id)
    form = MoveTopicForm()
    form.validate_on_submit()  # the service checks the direction and says what is wrong
    direction = form.direction.data or ""
    moved = manage.move_topic(db.session, current_user, topic, direction)
    db.session.commit()
    if moved:
        flash(f"“{topic.title}” has moved {direction}.", "success")
    else:
        flash(f"“{topic.title}” is already {'first' if direction == 'up' else 'last'}.", "info")
    target = safe_next(form.next.data, url_for("facilitate.topics", phase_id=topic.phase_id))
    return redirect(target + f"#topic-{topic.id}")


# ------------------------------------------------------------------------------------- offline entry


def _on_behalf_form(topic: Topic, form: Any, errors: dict[str, str], status: int = 200,
                    problem: str = "") -> Any:
    """Render the form for entering an idea on someone's behalf."""
    categories = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES] + [(manage.CATEGORY_UNKNOWN, "Not known")]
    events = [(str(e.id), _event_label(e)) for e in workshops.event_options(db.session, topic.phase)]
    return render_template("facilitate/on_behalf.html", topic=topic, phase=topic.phase, form=form,
                           errors=errors, problem=problem, channels=list(CHANNEL_LABELS.items()),
                           categories=categories, events=events, new_event=workshops.NEW_EVENT,
                           accepting=workshops.accepting(db.session, topic.phase)), status


def _event_label(event: Any) -> str:
    """An event as the hand-entry list names it: name, date, how it was gathered and how many took part."""
    people = f", {event.people:,} {'person' if event.people == 1 else 'people'}" if event.people else ""
    return f"{event.name} ({event.held_on.day} {event.held_on:%B %Y}, {CHANNEL_NAMES[event.channel]}{people})"


@bp.route("/topics/<int:topic_id>/on-behalf", methods=["GET", "POST"])
@allow("facilitator")
def on_behalf(topic_id: int) -> Any:
    """Enter an idea someone gave at a workshop, on paper or by phone."""
    topic = _topic(topic_id)
    if request.method == "GET":
        # The channel and group are kept between entries, so a pile of forms from one event is quick to type.
        keep = {name: request.args.get(name, "") for name in KEPT_BETWEEN_ENTRIES}
        return _on_behalf_form(topic, keep, {})
    form = OnBehalfForm()
    form.validate_on_submit()  # text fields only; the service checks every value and says what is wrong
    values = form_values(form)
    try:
        idea, created = manage.enter_on_behalf(
            db.session, current_user, topic, title=form.title.data, body=form.body.data,
            channel=form.channel.data, category=form.category.data,
            profession=form.profession.data or None, event=workshops.EventChoice(
                choice=form.event.data or "", name=form.event_name.data or "", day=form.event_day.data or "",
                month=form.event_month.data or "", year=form.event_year.data or "",
                people=form.event_people.data or "", profile=form.event_profile.data or ""))
    except Invalid as exc:
        db.session.rollback()
        return _on_behalf_form(topic, values, exc.field_errors, 400)
    except Conflict as exc:
        # The phase closed while the form was being typed: keep the text so nothing typed is lost.
        db.session.rollback()
        return _on_behalf_form(topic, values, {}, exc.status, problem=exc.message)
    db.session.commit()
    recorded = workshops.event_of(db.session, idea.id)
    source = f" from “{recorded.name}”" if recorded else ""
    if created and idea.moderation_state == "held":
        flash(f"“{idea.title}” has been saved, but participants will not see it until a moderator publishes it. "
              f"{idea.moderation_reason} You can enter the next one below.", "info")
    elif created:
        flash(f"“{idea.title}” has been added as gathered {GATHERED[idea.channel]}{source}. "
              "You can enter the next one below.", "success")
    else:
        flash(f"“{idea.title}” had already been entered; it was not added twice.", "info")
    # The next form starts on the same event (a new one is in the list now), so a pile of forms is quick to type.
    values["event"] = str(recorded.id) if recorded else ""
    keep = {name: values[name] for name in KEPT_BETWEEN_ENTRIES if values.get(name)}
    return redirect(url_for("facilitate.on_behalf", topic_id=topic.id, **keep))


# The delete routes join this blueprint from their own module (kept apart so this file stays short).
from . import facilitate_delete  # noqa: E402, F401
