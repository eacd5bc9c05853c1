"""The open data API: published, anonymous, paginated, and free of anything that identifies a person."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, g

from consult.extensions import db
from consult.models import Comment, Consultation, Idea, Phase, User
from consult.services import contributions
from tests.conftest import Factory, session_cookie_for
from tests.support.publicids import idea_url, pid

# Keys that would tie a contribution to a person or a small group; none may appear anywhere.
FORBIDDEN_KEYS = {"author_id", "entered_by_id", "voter_id", "viewer_id", "user_id", "actor_id", "email",
                  "author_category", "author_profession", "voter_category", "voter_profession",
                  "created_at", "visible_from", "moderation_state", "moderation_reason"}
AUTHOR_EMAIL = "zebedee.quartermain@example.org"


def login(client, user: User) -> None:
    """Start a session for the user without the login form (a password check costs half a second)."""
    with client.session_transaction() as session:
        session.update(session_cookie_for(user))
    # Requests share the test's app context, so forget whoever the last request was made by.
    g.pop("_login_user", None)


def _conversation(make: Factory) -> dict[str, Any]:
    """A published phase with ideas, comments, a reply and votes, one held idea and one hidden comment."""
    phase = make.phase(state="open")
    topic = phase.topics[0]
    author = make.user(category="carer", email=AUTHOR_EMAIL)
    voter = make.user(category="service_user")
    ideas = [contributions.post_idea(db.session, author, topic, f"Idea {n}", f"Body of idea {n}")[0]
             for n in range(3)]
    comment, _ = contributions.post_comment(db.session, author, ideas[0], "A first comment")
    reply, _ = contributions.post_comment(db.session, voter, ideas[0], "A reply", parent_id=comment.id)
    hidden, _ = contributions.post_comment(db.session, voter, ideas[0], "Removed by moderators")
    hidden.moderation_state = "hidden"
    held, _ = contributions.post_idea(db.session, author, topic, "Held idea", "Waiting for a moderator")
    held.moderation_state = "held"
    contributions.vote(db.session, voter, "idea", ideas[0].id, 1)
    contributions.vote(db.session, author, "comment", reply.id, -1)
    # Moderation keeps the counts right; here the states were set by hand, so rebuild them.
    contributions.recount(db.session)
    db.session.commit()
    return {"phase": phase, "topic": topic, "ideas": ideas, "comment": comment, "reply": reply,
            "hidden": hidden, "held": held, "author": author, "voter": voter}


def _keys(value: Any) -> set[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_api_index_describes_every_endpoint(app: Flask, client) -> None:
    response = client.get("/api/v1/")
    assert response.status_code == 200
    documented = {e["path"] for e in response.get_json()["endpoints"]}
    rules = [r.rule for r in app.url_map.iter_rules()
             if r.endpoint.startswith("api.") and r.endpoint != "api.index"]
    routes = {re.sub(r"<(?:int|idea_pid):\w+>", "{id}", re.sub(r"<(\w+)>", r"{\1}", rule)) for rule in rules}
    assert documented == routes


def test_api_lists_published_consultations_a_page_at_a_time(client, make) -> None:
    for _ in range(3):
        make.phase()
    unpublished = make.phase().consultation
    unpublished.is_published = False
    db.session.commit()

    first = client.get("/api/v1/consultations?per_page=2").get_json()
    assert (first["total"], first["pages"], first["page"], first["prev"]) == (3, 2, 1, None)
    assert first["next"].endswith("/api/v1/consultations?per_page=2&page=2")
    second = client.get(first["next"]).get_json()
    assert len(second["items"]) == 1 and second["next"] is None and second["prev"].endswith("page=1")
    slugs = {c["slug"] for c in first["items"] + second["items"]}
    assert len(slugs) == 3 and unpublished.slug not in slugs

    missing = client.get(f"/api/v1/consultations/{unpublished.slug}")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404


def test_api_caps_page_size_and_explains_bad_parameters(app: Flask, client, make) -> None:
    make.phase()
    capped = client.get("/api/v1/consultations?per_page=100000").get_json()
    assert capped["per_page"] == app.config["API_MAX_PAGE_SIZE"]
    for query in ("page=0", "page=abc", "per_page=-5"):
        response = client.get(f"/api/v1/consultations?{query}")
        assert response.status_code == 400 and response.is_json, query
        assert "whole number" in response.get_json()["error"]
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.get_json()["status"] == 404


def test_api_consultation_has_phases_topics_and_idea_counts(client, make) -> None:
    data = _conversation(make)
    phase: Phase = data["phase"]
    consultation = db.session.get(Consultation, phase.consultation_id)
    body = client.get(f"/api/v1/consultations/{consultation.slug}").get_json()
    assert [p["id"] for p in body["phases"]] == [phase.id]
    assert body["phases"][0]["state"] == "open" and body["phases"][0]["audience"] == []
    assert body["phases"][0]["topics"][0]["idea_count"] == 3, "the held idea is not counted"

    single = client.get(f"/api/v1/phases/{phase.id}").get_json()
    assert single["topics"] == body["phases"][0]["topics"] and single["consultation"] == consultation.slug


def test_api_topic_ideas_are_newest_first_by_default_and_can_be_reordered(client, make) -> None:
    data = _conversation(make)
    ideas: list[Idea] = data["ideas"]
    url = f"/api/v1/topics/{data['topic'].id}/ideas"
    newest = client.get(url).get_json()
    assert [i["id"] for i in newest["items"]] == [pid("idea", i) for i in reversed(ideas)]
    assert newest["total"] == 3
    discussed = client.get(f"{url}?order=discussed").get_json()
    assert discussed["items"][0]["id"] == pid("idea", ideas[0]) and discussed["items"][0]["comment_count"] == 2
    paged = client.get(f"{url}?order=discussed&per_page=1&page=2").get_json()
    assert "order=discussed" in paged["next"] and "order=discussed" in paged["prev"]
    assert client.get(f"{url}?order=random").status_code == 400


def test_api_idea_has_counts_and_comments_nest_their_replies(client, make) -> None:
    data = _conversation(make)
    idea = client.get(f"/api/v1{idea_url(data['ideas'][0].id)}").get_json()
    assert idea["votes"] == {"up": 1, "down": 0} and idea["channel"] == "online"
    assert re.fullmatch(r"\d{4}-\d{2}", idea["created"]), "dates are given to the month only"

    comments = client.get(f"/api/v1{idea_url(data['ideas'][0].id)}/comments").get_json()
    assert [c["body"] for c in comments["items"]] == ["A first comment"], "hidden comments are left out"
    replies = comments["items"][0]["replies"]
    assert [(r["body"], r["votes"]) for r in replies] == [("A reply", {"up": 0, "down": 1})]


def test_api_held_and_hidden_contributions_do_not_exist(client, make) -> None:
    data = _conversation(make)
    held: Idea = data["held"]
    for url in (f"/api/v1{idea_url(held.id)}", f"/api/v1{idea_url(held.id)}/comments"):
        response = client.get(url)
        assert response.status_code == 404 and response.is_json
    listed = client.get(f"/api/v1/topics/{data['topic'].id}/ideas").get_json()
    assert pid("idea", held) not in {i["id"] for i in listed["items"]}
    hidden: Comment = data["hidden"]
    body = client.get(f"/api/v1{idea_url(data['ideas'][0].id)}/comments").get_data(as_text=True)
    assert hidden.body not in body


def test_api_never_exposes_emails_user_ids_or_groups(client, make) -> None:
    data = _conversation(make)
    consultation = db.session.get(Consultation, data["phase"].consultation_id)
    urls = ["/api/v1/", "/api/v1/consultations", f"/api/v1/consultations/{consultation.slug}",
            f"/api/v1/phases/{data['phase'].id}", f"/api/v1/topics/{data['topic'].id}/ideas",
            f"/api/v1/topics/{data['topic'].id}/ideas?order=supported"]
    for idea in data["ideas"]:
        urls += [f"/api/v1{idea_url(idea.id)}", f"/api/v1{idea_url(idea.id)}/comments"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert AUTHOR_EMAIL not in text and "@" not in text, url
        # The author is a carer and the voter a service user: their groups must not leak through the data.
        assert "carer" not in text and "service_user" not in text, url
        assert not _keys(response.get_json()) & FORBIDDEN_KEYS, url


def test_api_answers_may_be_cached_only_for_anonymous_readers(client, make) -> None:
    make.phase()
    anonymous = client.get("/api/v1/consultations")
    assert anonymous.headers["Cache-Control"] == "public, max-age=30"
    login(client, make.user())
    assert client.get("/api/v1/consultations").headers["Cache-Control"] == "no-store"
    assert "public" not in client.get("/api/v1/ideas/999").headers.get("Cache-Control", "")
