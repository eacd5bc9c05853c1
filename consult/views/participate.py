"""Taking part: posting ideas, commenting, replying, voting, and seeing your own contributions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from .. import authz
from ..authz import allow
from ..extensions import db
from ..models import COMMENT_BODY_MAX, IDEA_BODY_MAX, TITLE_MAX, Idea
from ..security import safe_next, wants_json
from ..services import contributions, queries
from ..services.errors import Invalid, ServiceError
from ..services.phases import eligibility, require_contribution_allowed
from .helpers import page_arg

bp = Blueprint("participate", __name__)
LIMITS = {"title": TITLE_MAX, "idea_body": IDEA_BODY_MAX, "comment_body": COMMENT_BODY_MAX}


@bp.route("/topics/<int:topic_id>/ideas/new", methods=["GET", "POST"])
@allow("participant")
def new_idea(topic_id: int) -> Any:
    """The form to post an idea under a topic."""
    topic = authz.get_topic(topic_id)
    phase = topic.phase
    if request.method == "GET":
        require_contribution_allowed(phase, current_user)
        return render_template("idea_new.html", topic=topic, phase=phase, errors={}, form={}, limits=LIMITS)
    try:
        idea, created = contributions.post_idea(db.session, current_user, topic, request.form.get("title"),
                                                request.form.get("body"))
    except Invalid as exc:
        db.session.rollback()
        return render_template("idea_new.html", topic=topic, phase=phase, errors=exc.field_errors,
                               form=request.form, limits=LIMITS), 400
    db.session.commit()
    if idea.moderation_state == "held":
        return redirect(url_for("moderation.edit", kind="idea", item_id=idea.id))
    flash("Your idea has been posted." if created else "You had already posted this idea; here it is.", "success")
    return redirect(url_for("public.idea", idea_id=idea.id))


@bp.route("/ideas/<int:idea_id>/comments", methods=["POST"])
@allow("participant")
def comment(idea_id: int) -> Any:
    """Post a comment on an idea, or a reply to a comment."""
    idea = authz.get_idea(idea_id)
    parent_id = authz.parse_id(request.form.get("parent_id"))
    # Each reply box has its own field name, so its error and text go back to the right box.
    field = "body" if parent_id is None else f"reply-{parent_id}"
    try:
        item, created = contributions.post_comment(db.session, current_user, idea, request.form.get(field),
                                                   parent_id=parent_id)
    except Invalid as exc:
        db.session.rollback()
        return _idea_with_errors(idea, exc, field)
    db.session.commit()
    if item.moderation_state == "held":
        return redirect(url_for("moderation.edit", kind="comment", item_id=item.id))
    if created:
        flash("Your reply has been posted." if item.parent_id else "Your comment has been posted.", "success")
    else:
        flash("You had already posted this; it was not added twice.", "info")
    return redirect(url_for("public.idea", idea_id=idea.id, page=request.args.get("page", 1)) + f"#comment-{item.id}")


def _idea_with_errors(idea: Idea, exc: Invalid, field: str) -> Any:
    """Show the idea page again with the comment form's error and the text kept."""
    topic = idea.topic
    comments, replies = queries.idea_comments(db.session, idea, page=page_arg(), per_page=20, in_place=True)
    comment_ids = [c.id for c in comments.items] + [r.id for rs in replies.values() for r in rs]
    votes = queries.my_votes(db.session, current_user, idea_ids=[idea.id], comment_ids=comment_ids)
    return render_template("idea.html", idea=idea, topic=topic, phase=topic.phase, comments=comments,
                           replies=replies, votes=votes, can=eligibility(topic.phase, current_user),
                           errors={field: next(iter(exc.field_errors.values()), exc.message)},
                           form={field: request.form.get(field, "")}), 400


@bp.route("/vote", methods=["POST"])
@allow("participant")
def vote() -> Any:
    """Support, oppose or withdraw a vote; JSON for the enhanced buttons, a redirect otherwise."""
    kind = request.form.get("kind", "")
    raw_id, raw_value = request.form.get("id", ""), request.form.get("value", "")
    next_url = safe_next(request.form.get("next"), url_for("public.home"))
    try:
        if authz.parse_id(raw_id) is None or raw_value not in ("1", "-1", "0"):
            raise Invalid("That vote was not understood. Go back and try again.")
        result = contributions.vote(db.session, current_user, kind, int(raw_id), int(raw_value))
    except ServiceError as exc:
        db.session.rollback()
        if wants_json():
            return jsonify(error=exc.message), exc.status
        flash(exc.message, "error")
        return redirect(next_url)
    db.session.commit()
    if wants_json():
        return jsonify(value=result.value, up=result.up, down=result.down, changed=result.changed)
    messages = {1: "You support this.", -1: "You are against this.", 0: "Your vote has been withdrawn."}
    flash(messages[result.value], "success")
    return redirect(next_url)


@bp.route("/me/contributions")
@allow("participant")
def my_contributions() -> Any:
    """Your own ideas and comments, marked as yours only to you."""
    kind = "comments" if request.args.get("kind") == "comments" else "ideas"
    page = queries.my_contributions(db.session, current_user, kind=kind, page=page_arg(), per_page=20)
    return render_template("my_contributions.html", page=page, kind=kind)
