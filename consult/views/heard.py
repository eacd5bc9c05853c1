"""Check and challenge (facilitators publish codebook themes as statements) and the public "What we heard" pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import authz
from ..authz import allow
from ..extensions import db
from ..forms import field_errors
from ..forms.workspace import HeardForm, PublishForm
from ..models import Consultation, Phase, Topic
from ..services import challenge, codebook_quotes
from ..services import codebook as cb
from ..services.errors import Conflict, Invalid, NotFound
from ..services.phase_names import phase_name

bp = Blueprint("heard", __name__)


def _consultation(consultation_id: int) -> Consultation:
    """A consultation this facilitator runs (admins: any), or 404."""
    item = db.session.get(Consultation, consultation_id)
    if item is None:
        raise NotFound(authz.NOT_FOUND)
    authz.require_staff(item.id, "facilitate")
    return item


def _render_manage(consultation: Consultation, *, errors: dict[str, str], chosen: list[str], status: int = 200) -> Any:
    """The check-and-challenge page: publish themes, see what people said about them, write the pages."""
    book = cb.for_consultation(db.session, consultation.id)
    phases = list(db.session.scalars(select(Phase).where(Phase.consultation_id == consultation.id)
                                     .order_by(Phase.position)))
    open_topics = [(str(t.id), f"{phase_name(p)} – {t.title}") for p in phases
                   if p.state != "closed" for t in p.topics]
    pages = {p.phase_id: p for p, _ in challenge.published_pages(db.session, consultation.id)}
    return render_template("heard/manage.html", consultation=consultation, book=book, topics=open_topics,
                           results=challenge.statement_results(db.session, consultation.id), pages=pages, phases=phases,
                           errors=errors, chosen=chosen, topic_id=request.form.get("topic_id", "")), status


@bp.route("/facilitate/consultations/<int:consultation_id>/feedback")
@allow("facilitator")
def manage(consultation_id: int) -> Any:
    """Publish codebook themes for check and challenge, and write each phase's "What we heard"."""
    return _render_manage(_consultation(consultation_id), errors={}, chosen=[])


@bp.route("/facilitate/consultations/<int:consultation_id>/statements", methods=["POST"])
@allow("facilitator")
def publish(consultation_id: int) -> Any:
    """Publish the chosen themes as statements under a topic of an open or coming phase."""
    consultation = _consultation(consultation_id)
    form = PublishForm()
    chosen = request.form.getlist("themes")
    if not form.validate_on_submit() or form.topic_id.data is None:
        errors = field_errors(form) or {"topic_id": "Choose the phase and topic to publish into"}
        return _render_manage(consultation, errors=errors, chosen=chosen, status=400)
    topic = db.session.get(Topic, form.topic_id.data)
    if topic is None or topic.phase.consultation_id != consultation.id:
        raise NotFound(authz.NOT_FOUND)
    try:
        ideas = challenge.publish_statements(db.session, actor=current_user, topic=topic,
                                             theme_ids=_ids(form.themes.data))
    except (Invalid, Conflict) as exc:
        db.session.rollback()
        errors = getattr(exc, "field_errors", None) or {"themes": exc.message}
        return _render_manage(consultation, errors=errors, chosen=chosen, status=400)
    db.session.commit()
    flash(f"{len(ideas)} statements published in “{topic.title}”. Participants can now vote and comment on them.",
          "success")
    return redirect(url_for("heard.manage", consultation_id=consultation.id))


@bp.route("/facilitate/phases/<int:phase_id>/what-we-heard", methods=["GET", "POST"])
@allow("facilitator")
def edit(phase_id: int) -> Any:
    """Write a phase's "What we heard" page from the codebook, and publish it."""
    phase = db.session.get(Phase, phase_id)
    if phase is None:
        raise NotFound(authz.NOT_FOUND)
    consultation = _consultation(phase.consultation_id)
    book = cb.for_consultation(db.session, consultation.id)
    page = challenge.heard_page(db.session, phase)
    errors: dict[str, str] = {}
    values, seen, saved, refusal = challenge.heard_values(page), challenge.heard_stamp(page), None, ""
    if request.method == "POST":
        form = HeardForm()
        typed = {k[7:]: v for k, v in request.form.items() if k.startswith("action_")}
        values = {"introduction": request.form.get("introduction", ""), "outcome": request.form.get("outcome", ""),
                  "themes": request.form.getlist("themes"), "publish": bool(request.form.get("publish")),
                  "actions": typed}
        seen = request.form.get("seen", "")
        if form.validate_on_submit():
            ids = _ids(form.themes.data)
            actions = {i: request.form.get(f"action_{i}", "") for i in ids}
            try:
                page, kept = challenge.save_heard(db.session, actor=current_user, phase=phase,
                                                  introduction=form.introduction.data, outcome=form.outcome.data,
                                                  theme_ids=ids, actions=actions, publish=form.publish.data,
                                                  seen=form.seen.data or "")
            except cb.Stale as exc:
                # Show the saved page beside what was typed: the boxes hold the typed text where it clashed and
                # the saved text where it was left alone, so saving again keeps both people's work.
                db.session.rollback()
                page = challenge.heard_page(db.session, phase)
                errors, seen, saved = {"stale": exc.headline, **exc.fields}, exc.seen, challenge.heard_values(page)
                refusal = exc.message
                values = challenge.heard_values(None, exc.values)
                values["actions"] = {**typed, **values["actions"]}
            except (Invalid, Conflict) as exc:
                db.session.rollback()
                errors = getattr(exc, "field_errors", None) or {"themes": exc.message}
            else:
                db.session.commit()
                also = (f" Someone else had changed {challenge.describe(db.session, kept)} since you opened the page; "
                        "theirs was kept.") if kept else ""
                flash(("The page is published." if page.is_published else "Saved as a draft (not public yet).")
                      + also, "success")
                return redirect(url_for("heard.edit", phase_id=phase.id))
        else:
            errors = field_errors(form)
    active = [t for t in book.themes if t.state == "active"] if book is not None else []
    counts = challenge.phase_counts(db.session, active, phase.id) if book is not None else {}
    quoted = {theme_id: len(found) for theme_id, found in codebook_quotes.quotes(
        db.session, book, {t.id: [m.contribution for m in t.members] for t in active}).items()} if book else {}
    return render_template("heard/edit.html", consultation=consultation, phase=phase, book=book, page=page,
                           values=values, errors=errors, counts=counts, quoted=quoted, seen=seen, saved=saved,
                           refusal=refusal), \
        (409 if saved is not None else 400) if errors else 200


@bp.route("/phases/<int:phase_id>/what-we-heard")
@allow("anyone")
def show(phase_id: int) -> Any:
    """The public "What we heard" page of a phase: themes, summaries, anonymous quotes and what was done."""
    phase = authz.get_phase(phase_id)
    page = challenge.heard_page(db.session, phase)
    preview = page is not None and not page.is_published and authz.can(
        current_user if current_user.is_authenticated else None, phase.consultation_id, "facilitate")
    if page is None or not (page.is_published or preview):
        raise NotFound("There is no “What we heard” page for this phase yet.")
    return render_template("heard/show.html", phase=phase, consultation=phase.consultation, page=page,
                           themes=challenge.heard_view(db.session, page), preview=preview)


@bp.app_context_processor
def _heard_links() -> dict[str, Any]:
    """`heard_links()` for templates: published pages of the phases the logged-in person took part in."""

    def heard_links() -> list[tuple[Any, Phase]]:
        if not current_user.is_authenticated:
            return []
        # Only pages this person may open: a phase of an unpublished consultation would name it.
        return [(page, phase) for page, phase in challenge.pages_for_participant(db.session, current_user)
                if authz.phase_visible(phase)]

    def heard_published(phase: Phase) -> bool:
        page = challenge.heard_page(db.session, phase)
        return page is not None and page.is_published

    return {"heard_links": heard_links, "heard_published": heard_published}


def _ids(values: list[str] | None) -> list[int]:
    """Theme ids from checkboxes, each parsed once and safely, in order and without repeats."""
    return list(dict.fromkeys(i for i in (authz.parse_id(v) for v in values or []) if i is not None))
