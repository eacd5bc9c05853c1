"""Facilitators: deleting a topic, phase or consultation made by mistake, after a confirmation page.

The routes belong to the facilitate blueprint (their endpoints are facilitate.delete_*); they live here to keep
facilitate.py short.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import authz
from ..authz import allow
from ..extensions import db
from ..forms.facilitate import BackForm
from ..models import Consultation, Phase, Topic
from ..services import deletion
from ..services.errors import Conflict, NotFound
from .facilitate import bp


def _load(model: Any, kind: str, item_id: int, consultation_of: Any) -> Any:
    """The thing, for someone who runs its consultation; or, if it has been deleted, say so and go back."""
    if db.session.get(model, item_id) is not None:
        return authz.get_staff_object(model, item_id, "facilitate", consultation_of)
    detail = deletion.already_deleted(db.session, current_user, kind, item_id)
    if detail is None:
        raise NotFound(authz.NOT_FOUND)
    flash(f"“{detail.get('title', 'It')}” has already been deleted.", "info")
    return redirect(_after(kind, detail))


def _after(kind: str, detail: dict[str, Any]) -> str:
    """Where to go once something is deleted: its phase's topics for a topic, the dashboard otherwise."""
    if kind == "topic" and db.session.get(Phase, detail.get("phase_id") or 0) is not None:
        return url_for("facilitate.topics", phase_id=detail["phase_id"])
    consultation_id = detail.get("consultation_id")
    anchor = f"#consultation-{consultation_id}" if kind == "phase" and consultation_id else ""
    return url_for("facilitate.dashboard") + anchor


def _confirm(kind: str, item: Any, plan: deletion.Plan, back: str, action: str, *, problem: str = "",
             status: int = 200) -> Any:
    """The page that says what will be deleted and asks, or says why it cannot be deleted."""
    return render_template("facilitate/delete_confirm.html", kind=kind, item=item, plan=plan, back=back,
                           action=action, problem=problem), status


def _delete(kind: str, item: Any, plan_of: Any, back: str, action: str, do: Any, detail: dict[str, Any],
            done: str) -> Any:
    """GET asks; POST (with a CSRF token) deletes, or shows the confirmation page again with the reason."""
    if request.method == "GET":
        return _confirm(kind, item, plan_of(), back, action)
    form = BackForm()
    if not form.validate_on_submit():
        return _confirm(kind, item, plan_of(), back, action, status=400,
                        problem="The form had expired, so nothing was deleted. Try again.")
    confirmed = request.form.get("title")
    if confirmed is not None and confirmed != item.title:
        return _confirm(kind, item, plan_of(), back, action, status=409,
                        problem=f"Nothing was deleted: it is now called “{item.title}”, not “{confirmed}” as on the "
                                "page you confirmed. It was renamed, or deleted and a new one made, since. Check "
                                "that this is the one you mean.")
    try:
        do()
    except Conflict:
        # Something was added (or the phase opened) since the page was shown: say why, delete nothing.
        db.session.rollback()
        return _confirm(kind, item, plan_of(), back, action, status=409)
    db.session.commit()
    flash(done, "success")
    return redirect(_after(kind, detail))


@bp.route("/topics/<int:topic_id>/delete", methods=["GET", "POST"])
@allow("facilitator")
def delete_topic(topic_id: int) -> Any:
    """Delete a topic that has no ideas, after asking."""
    topic = _load(Topic, "topic", topic_id, lambda t: t.phase.consultation_id)
    if not isinstance(topic, Topic):
        return topic
    plan = partial(deletion.topic_plan, db.session, topic)
    detail = {"phase_id": topic.phase_id, "consultation_id": topic.phase.consultation_id}
    return _delete("topic", topic, plan, url_for("facilitate.edit_topic", topic_id=topic.id),
                   url_for("facilitate.delete_topic", topic_id=topic.id),
                   lambda: deletion.delete_topic(db.session, current_user, topic), detail,
                   f"The topic “{topic.title}” has been deleted.")


@bp.route("/phases/<int:phase_id>/delete", methods=["GET", "POST"])
@allow("facilitator")
def delete_phase(phase_id: int) -> Any:
    """Delete a phase that has never been open and holds nothing, with its empty topics, after asking."""
    phase = _load(Phase, "phase", phase_id, lambda p: p.consultation_id)
    if not isinstance(phase, Phase):
        return phase
    plan = partial(deletion.phase_plan, db.session, phase)
    detail = {"consultation_id": phase.consultation_id}
    return _delete("phase", phase, plan, url_for("facilitate.edit_phase", phase_id=phase.id),
                   url_for("facilitate.delete_phase", phase_id=phase.id),
                   lambda: deletion.delete_phase(db.session, current_user, phase), detail,
                   f"Phase {phase.position}, “{phase.title}”, has been deleted. Later phases have moved up a "
                   "number." if phase.position < len(phase.consultation.phases) else
                   f"Phase {phase.position}, “{phase.title}”, has been deleted.")


@bp.route("/consultations/<int:consultation_id>/delete", methods=["GET", "POST"])
@allow("facilitator")
def delete_consultation(consultation_id: int) -> Any:
    """Delete a consultation that was never published and holds nothing, after asking."""
    consultation = _load(Consultation, "consultation", consultation_id, lambda c: c.id)
    if not isinstance(consultation, Consultation):
        return consultation
    plan = partial(deletion.consultation_plan, db.session, consultation)
    return _delete("consultation", consultation, plan,
                   url_for("facilitate.edit_consultation", consultation_id=consultation.id),
                   url_for("facilitate.delete_consultation", consultation_id=consultation.id),
                   lambda: deletion.delete_consultation(db.session, current_user, consultation), {},
                   f"The consultation “{consultation.title}” has been deleted.")
