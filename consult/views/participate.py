"""Taking part: posting ideas, commenting, replying, voting, and seeing your own contributions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from .. import authz, publicids
from ..authz import allow
from ..extensions import db, set_write_intent
from ..forms.participate import CommentForm, IdeaForm, VoteInput
from ..models import COMMENT_BODY_MAX, IDEA_BODY_MAX, TITLE_MAX, Idea
from ..security import safe_next, wants_json
from ..services import challenge, contributions, queries
from ..services.errors import Conflict, Invalid, NotAllowed, NotFound, ServiceError
from ..services.phases import eligibility, require_contribution_allowed
from ..services.ratelimit import TooManyRequests
from .helpers import form_values, logged_in_user, page_arg

bp = Blueprint("participate", __name__)
LIMITS = {"title": TITLE_MAX, "idea_body": IDEA_BODY_MAX, "comment_body": COMMENT_BODY_MAX}


@bp.route("/topics/<int:topic_id>/ideas/new", methods=["GET", "POST"])
@allow("participant")
def new_idea(topic_id: int) -> Any:
    """The form to post an idea under a topic."""
    topic = authz.get_topic(topic_id)
    phase = topic.phase
    if request.method == "GET":
        try:
            require_contribution_allowed(phase, current_user)
        except (Conflict, NotAllowed) as exc:
            # Say why here, with the way back to the topic's ideas (a tab opened before the phase closed).
            return render_template("idea_new.html", topic=topic, phase=phase, errors={}, form={}, limits=LIMITS,
                                   blocked=exc.message), exc.status
        return render_template("idea_new.html", topic=topic, phase=phase, errors={}, form={}, limits=LIMITS)
    form = IdeaForm()
    try:
        idea, created = contributions.post_idea(db.session, logged_in_user(), topic, form.title.data,
                                                form.body.data)
    except Invalid as exc:
        db.session.rollback()
        return render_template("idea_new.html", topic=topic, phase=phase, errors=exc.field_errors,
                               form=form_values(form), limits=LIMITS), 400
    except TooManyRequests as exc:
        # The words stay in the form, to send again once the wait is over.
        db.session.rollback()
        return render_template("idea_new.html", topic=topic, phase=phase, errors={"title": exc.message},
                               form=form_values(form), limits=LIMITS), 429, {"Retry-After": str(exc.retry_after)}
    except (Conflict, NotAllowed) as exc:
        # The phase closed, or stopped being open to them, while they were typing: show the words back.
        db.session.rollback()
        return render_template("idea_new.html", topic=topic, phase=phase, errors={}, refused=exc.message,
                               form=form_values(form), limits=LIMITS), exc.status
    db.session.commit()
    if idea.moderation_state == "held":
        return redirect(url_for("moderation.edit", kind="idea", item_id=idea.id))
    flash("Your idea has been posted." if created else "You had already posted this idea; here it is.", "success")
    return redirect(url_for("public.idea", idea_id=idea.id))


@bp.route("/ideas/<idea_pid:idea_id>/comments", methods=["POST"])
@allow("participant")
def comment(idea_id: int) -> Any:
    """Post a comment on an idea, or a reply to a comment."""
    # Visibility first: nothing below (not even a validation message) may show an idea this person cannot see.
    idea = authz.get_idea(idea_id)
    form = CommentForm()
    if not form.validate_on_submit():
        raise NotFound(authz.NOT_FOUND)  # a reply to a comment id that cannot exist
    parent_id = form.parent_id.data
    if parent_id is not None:
        parent = authz.get_comment(parent_id)
        if parent.idea_id != idea.id or parent.moderation_state != "published":
            raise NotFound(authz.NOT_FOUND)
    # Each reply box's error and text go back to that box.
    field = "body" if parent_id is None else f"reply-{publicids.encode('comment', parent_id)}"
    try:
        item, created = contributions.post_comment(db.session, logged_in_user(), idea, form.body.data,
                                                   parent_id=parent_id)
    except (Invalid, Conflict, NotAllowed, TooManyRequests) as exc:
        db.session.rollback()
        return _idea_with_errors(idea, exc, field, form.body.data or "")
    db.session.commit()
    set_write_intent(False)  # what follows only reads: its transaction need not wait for the write lock
    if item.moderation_state == "held":
        return redirect(url_for("moderation.edit", kind="comment", item_id=item.id))
    if created:
        flash("Your reply has been posted." if item.parent_id else "Your comment has been posted.", "success")
    else:
        flash("You had already posted this; it was not added twice.", "info")
    # Take them to the page the comment landed on (new comments go last, often on a later page).
    page = queries.comment_page(db.session, item, per_page=_per_page())
    # End the read with COMMIT, not the request end's ROLLBACK: on PostgreSQL a ROLLBACK makes psycopg drop
    # every statement it had prepared on the connection.
    db.session.commit()
    return redirect(url_for("public.idea", idea_id=idea.id, page=page if page > 1 else None)
                    + publicids.anchor(item.id))


def _per_page() -> int:
    """Comments per page on the idea page, from configuration."""
    return int(current_app.config["PAGE_SIZE"])


def _idea_with_errors(idea: Idea, exc: ServiceError, field: str, text: str) -> Any:
    """Show the idea page again with the comment form's error and the text kept."""
    topic = idea.topic
    comments, replies = queries.idea_comments(db.session, idea, page=page_arg(), per_page=_per_page(),
                                              in_place=True)
    comment_ids = [c.id for c in comments.items] + [r.id for rs in replies.values() for r in rs]
    votes = queries.my_votes(db.session, current_user, idea_ids=[idea.id], comment_ids=comment_ids)
    return render_template("idea.html", idea=idea, topic=topic, phase=topic.phase, comments=comments,
                           replies=replies, votes=votes, can=eligibility(topic.phase, current_user),
                           errors=_field_error(exc, field), form={field: text},
                           refused=exc.message if isinstance(exc, Conflict | NotAllowed) else None,
                           statement=queries.statement_size(db.session, idea.id)), exc.status, _retry(exc)


def _field_error(exc: ServiceError, field: str) -> dict[str, str]:
    """The message for the comment box that was refused; a phase closed (or not theirs) has no box, so none."""
    if isinstance(exc, Conflict | NotAllowed):
        return {}
    return {field: next(iter(getattr(exc, "field_errors", {}).values()), exc.message)}


def _retry(exc: ServiceError) -> dict[str, str]:
    """A Retry-After header when a rate limit refused the post."""
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else {}


@bp.route("/vote", methods=["POST"])
@allow("participant")
def vote() -> Any:
    """Support, oppose or withdraw a vote; JSON for the enhanced buttons, a redirect otherwise."""
    sent = VoteInput.read(request.form)
    try:
        if sent.kind not in publicids.KINDS:
            raise NotFound(authz.NOT_FOUND)  # only ideas and comments take votes
        if sent.item_id is None or sent.value is None:
            raise Invalid("That vote was not understood. Go back and try again.")
        result = contributions.vote(db.session, logged_in_user(), sent.kind, sent.item_id, sent.value)
    except ServiceError as exc:
        db.session.rollback()
        if wants_json():
            response = jsonify(error=exc.message)
            if getattr(exc, "retry_after", None):
                # A limit reached, or its counters unreachable: the script is told when to try again.
                response.headers["Retry-After"] = str(int(exc.retry_after))
            return response, exc.status
        flash(exc.message, "error")
        return redirect(safe_next(sent.next, url_for("public.home")))
    db.session.commit()
    if wants_json():
        return jsonify(value=result.value, up=result.up, down=result.down, changed=result.changed)
    words = challenge.VOTE_WORDS["summary" if challenge.is_statement(db.session, sent.kind, sent.item_id) else "idea"]
    flash(words["saved"][result.value], "success")
    return redirect(safe_next(sent.next, url_for("public.home")))


@bp.route("/me/contributions")
@allow("participant")
def my_contributions() -> Any:
    """Your own ideas and comments, marked as yours only to you."""
    kind = "comments" if request.args.get("kind") == "comments" else "ideas"
    page = queries.my_contributions(db.session, current_user, kind=kind, page=page_arg(), per_page=20)
    return render_template("my_contributions.html", page=page, kind=kind)
