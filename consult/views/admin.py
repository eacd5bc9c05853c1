"""Admins: people's accounts and staff roles, staff assignments to consultations, and the audit log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..authz import allow, parse_id
from ..extensions import db
from ..forms.admin import AssignmentForm, EraseForm, RoleForm, SuspensionForm, UnassignForm
from ..models import ASSIGNMENT_ROLES, STAFF_ROLES, AuditEvent, Consultation, ConsultationAssignment, User
from ..services import accounts, assignments, queries, rights
from ..services import suspension as suspensions
from ..services.errors import Invalid, ServiceError
from ..services.text import plural
from .helpers import form_values, get_or_404, page_arg

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_LABELS = {"participant": "Participant", "moderator": "Moderator", "facilitator": "Facilitator",
               "analyst": "Analyst", "admin": "Admin"}
ROLE_DESCRIPTIONS = {
    "participant": "Takes part: posts ideas and comments, and votes. No staff pages.",
    "moderator": "Moderates the consultations they are assigned to: reviews reports and held posts, hides and "
                 "restores contributions.",
    "facilitator": "Runs consultations: sets up consultations, phases and topics, opens and closes phases, "
                   "and enters ideas gathered offline.",
    "analyst": "Reviews and analyses what people said, and exports it.",
    "admin": "Everything facilitators and analysts can do, and gives people roles.",
}
ACTION_LABELS = {
    "consultation.create": "Created a consultation",
    "consultation.update": "Changed a consultation",
    "phase.create": "Added a phase",
    "phase.update": "Changed a phase",
    "phase.open": "Opened a phase",
    "phase.close": "Closed a phase",
    "topic.create": "Added a topic",
    "topic.update": "Changed a topic",
    "topic.move": "Moved a topic",
    "topic.delete": "Deleted a topic",
    "phase.delete": "Deleted a phase",
    "consultation.delete": "Deleted a consultation",
    "idea.enter_on_behalf": "Entered an idea on someone's behalf",
    "user.create": "Created an account",
    "user.set_role": "Changed someone's role",
    "consultation.assign": "Assigned someone to a consultation",
    "consultation.unassign": "Removed someone from a consultation",
    "moderation.auto_hold": "Held a contribution automatically",
    "moderation.publish": "Approved a held contribution",
    "moderation.hide": "Hid a contribution",
    "moderation.restore": "Restored a hidden contribution",
    "moderation.dismiss": "Dismissed reports of a contribution",
    "moderation.redact": "Edited personal details out of a contribution",
    "phase.premoderation": "Changed a phase's pre-moderation",
    "anomaly.exclude": "Excluded flagged votes from analyses",
    "anomaly.dismiss": "Dismissed an anomaly flag",
    "anomaly.reopen": "Reopened an anomaly flag (its excluded votes count again)",
    "anomaly.look": "Asked for a new look for unusual activity",
    "analysis.request": "Asked for an analysis run",
    "user.reset_password": "Reset their password",
    "user.change_password": "Changed their password",
    "user.change_email": "Changed their email address",
    "user.verify_claim": "Verified someone's staff or student claim",
    "user.suspend": "Suspended an account",
    "user.erase": "Deleted an account at the person's request",
    "user.reinstate": "Let a suspended account log in again",
    "case.suspend_author": "Suspended the account that wrote a contribution",
    "user.change_participation": "Changed how they take part",
    "codebook.adopt": "Started a codebook from the engine's themes",
    "codebook.edit": "Edited a codebook theme",
    "codebook.merge": "Merged two codebook themes",
    "codebook.split": "Split a codebook theme",
    "codebook.add": "Added contributions to a codebook theme",
    "codebook.move": "Moved contributions between codebook themes",
    "codebook.remove": "Took contributions out of a codebook theme",
    "codebook.scope": "Marked a codebook theme in or out of scope",
    "codebook.undo": "Undid a codebook change",
    "codebook.code": "Coded contributions into a codebook theme",
    "codebook.quote": "Chose the quotes of a codebook theme",
    "codebook.blind_sample": "Drew a sample for blind double-coding",
    "export": "Exported a consultation's analysis",
    "heard.save": "Saved a draft What we heard page",
    "heard.publish": "Published a What we heard page",
    "statement.publish": "Published a theme statement for checking",
    "offline.deadline": "Set the deadline for offline contributions",
    "offline.upload": "Uploaded offline contributions",
    "offline.event_edit": "Corrected an offline event's details",
    "offline.event_delete": "Deleted an offline event nothing came from",
}
ASSIGNMENT_LABELS = {"facilitator": "Facilitator", "moderator": "Moderator", "analyst": "Analyst",
                     "safeguarding": "Safeguarding lead"}
ASSIGNMENT_DESCRIPTIONS = {
    "facilitator": "Runs this consultation: its phases, topics and ideas gathered offline. Also moderates it.",
    "moderator": "Moderates this consultation: reports, held posts, hiding and restoring.",
    "analyst": "Analyses this consultation and exports the results.",
    "safeguarding": "Sees this consultation's restricted safeguarding queue.",
}
# How many of a person's own audit events their page shows; the full log has the rest.
RECENT_EVENTS = 10


@bp.route("/")
@allow("admin")
def index() -> Any:
    """The admin area starts at the list of people."""
    return redirect(url_for("admin.users"))


@bp.route("/users")
@allow("admin")
def users() -> Any:
    """Everyone with an account, searchable by email and filterable by role."""
    search = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    stmt = select(User).options(selectinload(User.profile)).order_by(User.email)
    if search:
        stmt = stmt.where(User.email.contains(search.lower(), autoescape=True))
    if role in STAFF_ROLES:
        stmt = stmt.where(User.role == role)
    account = "suspended" if request.args.get("account") == "suspended" else ""
    if account:
        stmt = stmt.where(User.is_active.is_(False))
    page = queries.paginate(db.session, stmt, page_arg(), int(current_app.config["PAGE_SIZE"]))
    return render_template("admin/users.html", page=page, search=search, role=role, roles=ROLE_LABELS,
                           account=account)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow("admin")
def user(user_id: int) -> Any:
    """One person's account, with the form to change their role."""
    person = get_or_404(User, user_id)
    errors: dict[str, str] = {}
    form = RoleForm()
    if form.is_submitted():
        before = person.role
        try:
            accounts.set_role(db.session, current_user, person, form.role.data or "")
        except Invalid as exc:
            db.session.rollback()
            errors = exc.field_errors or {"role": exc.message}
        else:
            db.session.commit()
            if person.role == before:
                flash(f"{person.email} already had that role. Nothing was changed.", "info")
            else:
                flash(f"{person.email} is now {ROLE_LABELS[person.role].lower()}. They have been logged out "
                      "everywhere, so the change applies when they next log in.", "success")
            return redirect(url_for("admin.user", user_id=person.id))
    return _user_page(person, errors)


def _user_page(person: User, errors: dict[str, str], reason: str = "",
               erase: dict[str, str] | None = None) -> tuple[str, int]:
    """One person's account page, with any errors of its forms."""
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target_type == "user", AuditEvent.target_id == person.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(RECENT_EVENTS)
    ).all()
    works_on = db.session.execute(
        select(Consultation, ConsultationAssignment.role)
        .join(ConsultationAssignment, ConsultationAssignment.consultation_id == Consultation.id)
        .where(ConsultationAssignment.user_id == person.id).order_by(Consultation.title, ConsultationAssignment.role)
    ).all()
    return render_template("admin/user.html", person=person, errors=errors, events=events, works_on=works_on,
                           assignment_labels=ASSIGNMENT_LABELS, reason=reason, erase=erase or {},
                           posted=rights.posted_counts(db.session, person),
                           roles=[(r, ROLE_LABELS[r]) for r in STAFF_ROLES], descriptions=ROLE_DESCRIPTIONS,
                           actions=ACTION_LABELS), 400 if errors else 200


@bp.route("/users/<int:user_id>/suspension", methods=["POST"])
@allow("admin")
def suspension(user_id: int) -> Any:
    """Suspend an account (logged out everywhere, cannot log in) or reinstate it."""
    person = get_or_404(User, user_id)
    form = SuspensionForm()
    action = form.action.data if form.action.data in ("suspend", "reinstate") else "suspend"
    try:
        if action == "suspend":
            changed = suspensions.suspend(db.session, current_user, person, form.reason.data)
        else:
            changed = suspensions.reinstate(db.session, current_user, person)
    except ServiceError as exc:
        db.session.rollback()
        return _user_page(person, getattr(exc, "field_errors", None) or {"reason": exc.message},
                          form.reason.data or "")
    db.session.commit()
    if not changed:
        flash(f"{person.email} was already {'suspended' if action == 'suspend' else 'able to log in'}. "
              "Nothing was changed.", "info")
    elif action == "suspend":
        flash(f"{person.email} is suspended: logged out everywhere and unable to log in. What they posted "
              "stays as it is; hide anything that breaks the rules from the moderation queue.", "success")
    else:
        flash(f"{person.email} can log in again.", "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<int:user_id>/erase", methods=["POST"])
@allow("admin")
def erase(user_id: int) -> Any:
    """Delete an account the person asked to be deleted, as they could themselves from Your account."""
    person = get_or_404(User, user_id)
    form = EraseForm()
    email = person.email
    typed = {"contributions": form.contributions.data or "", "typed_email": form.typed_email.data or ""}
    try:
        counts = rights.erase_on_request(db.session, current_user, person, **typed,
                                         secret=str(current_app.config["PSEUDONYM_KEY"]))
    except ServiceError as exc:
        db.session.rollback()
        errors = getattr(exc, "field_errors", None) or {"typed_email": exc.message}
        return _user_page(get_or_404(User, user_id), errors, erase=typed)
    db.session.commit()
    kept = "kept without a name" if form.contributions.data == "keep" else "deleted"
    posted = f"{plural(counts['ideas'], 'idea')}, {plural(counts['comments'], 'comment')}"
    flash(f"The account {email} has been deleted, with its votes and the answers about its owner. What it "
          f"posted ({posted}) was {kept}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/audit")
@allow("admin")
def audit_log() -> Any:
    """Every privileged action, newest first: who did what to which record, and when."""
    action = request.args.get("action", "")
    stmt = (select(AuditEvent, User.email).outerjoin(User, AuditEvent.actor_id == User.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    # Narrowed to one person's actions, or to one record's history, from the links on each row.
    who = parse_id(request.args.get("who"))
    if who is not None:
        stmt = stmt.where(AuditEvent.actor_id == who)
    kind, _, number = request.args.get("record", "").partition(":")
    record = (kind, parse_id(number)) if kind.isidentifier() and parse_id(number) is not None else None
    if record is not None:
        stmt = stmt.where(AuditEvent.target_type == record[0], AuditEvent.target_id == record[1])
    page = queries.paginate(db.session, stmt, page_arg(), int(current_app.config["PAGE_SIZE"]), scalars=False)
    recorded = db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    return render_template("admin/audit.html", page=page, action=action, actions=ACTION_LABELS,
                           recorded=recorded, deleted=_deleted([event for event, _ in page.items]), who=who,
                           who_email=db.session.scalar(select(User.email).where(User.id == who)) if who else None,
                           record=record)


def _deleted(events: list[AuditEvent]) -> set[tuple[str, int]]:
    """The (type, id) of the records on this page that were deleted since, so they are not linked to a 404."""
    ids = {e.target_id for e in events if e.target_type in ("topic", "phase", "consultation") and e.target_id}
    if not ids:
        return set()
    rows = db.session.execute(select(AuditEvent.target_type, AuditEvent.target_id).where(
        AuditEvent.action.in_(("topic.delete", "phase.delete", "consultation.delete")),
        AuditEvent.target_id.in_(ids)))
    return {(kind, number) for kind, number in rows}


# ------------------------------------------------------------------------------------- assignments


@bp.route("/consultations")
@allow("admin")
def consultations() -> Any:
    """Every consultation with how many people are assigned to it in each role."""
    stmt = select(Consultation).order_by(Consultation.created_at.desc(), Consultation.id.desc())
    page = queries.paginate(db.session, stmt, page_arg(), int(current_app.config["PAGE_SIZE"]))
    counts: dict[int, dict[str, int]] = {c.id: {} for c in page.items}
    if counts:
        for consultation_id, role, n in db.session.execute(
            select(ConsultationAssignment.consultation_id, ConsultationAssignment.role, func.count())
            .where(ConsultationAssignment.consultation_id.in_(list(counts)))
            .group_by(ConsultationAssignment.consultation_id, ConsultationAssignment.role)
        ):
            counts[consultation_id][role] = n
    return render_template("admin/consultations.html", page=page, counts=counts, labels=ASSIGNMENT_LABELS)


def _staff_page(consultation: Consultation, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    """The consultation's staff and the form to assign someone."""
    return render_template("admin/consultation_staff.html", consultation=consultation, form=form, errors=errors,
                           assigned=assignments.assignments_of(db.session, consultation),
                           roles=[(r, ASSIGNMENT_LABELS[r]) for r in ASSIGNMENT_ROLES],
                           descriptions=ASSIGNMENT_DESCRIPTIONS, labels=ASSIGNMENT_LABELS), status


@bp.route("/consultations/<int:consultation_id>/staff", methods=["GET", "POST"])
@allow("admin")
def consultation_staff(consultation_id: int) -> Any:
    """Who works on a consultation, and assigning someone to it (audited)."""
    consultation = get_or_404(Consultation, consultation_id)
    form = AssignmentForm()
    if not form.is_submitted():
        return _staff_page(consultation, {"email": request.args.get("email", "")}, {})
    try:
        assignment, created = assignments.assign_staff(db.session, current_user, consultation,
                                                       email=form.email.data, role=form.role.data)
    except Invalid as exc:
        db.session.rollback()
        return _staff_page(consultation, form_values(form), exc.field_errors, 400)
    db.session.commit()
    person = db.session.get(User, assignment.user_id)
    role = assignments.with_article(ASSIGNMENT_LABELS[assignment.role].lower())
    if created:
        flash(f"{person.email} is now {role} on “{consultation.title}”.", "success")
    else:
        flash(f"{person.email} was already {role} on “{consultation.title}”. Nothing was changed.", "info")
    return redirect(url_for("admin.consultation_staff", consultation_id=consultation.id))


@bp.route("/consultations/<int:consultation_id>/staff/remove", methods=["POST"])
@allow("admin")
def remove_staff(consultation_id: int) -> Any:
    """Take one person off one role on a consultation (audited)."""
    consultation = get_or_404(Consultation, consultation_id)
    form = UnassignForm()
    if not form.validate_on_submit() or form.assignment_id.data is None:
        flash("That assignment does not exist. It may have been removed already.", "error")
        return redirect(url_for("admin.consultation_staff", consultation_id=consultation.id))
    role = db.session.scalar(select(ConsultationAssignment.role)
                             .where(ConsultationAssignment.id == form.assignment_id.data))
    person = assignments.unassign_staff(db.session, current_user, consultation, form.assignment_id.data)
    db.session.commit()
    flash(f"{person.email} is no longer {assignments.with_article(ASSIGNMENT_LABELS[role].lower())} "
          f"on “{consultation.title}”.", "success")
    return redirect(url_for("admin.consultation_staff", consultation_id=consultation.id))
