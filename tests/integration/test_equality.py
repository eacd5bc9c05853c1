"""Equality monitoring questions: optional, consented, stored apart, changed and withdrawn for real."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import func, inspect, select

from consult.extensions import db
from consult.models import Comment, EqualityResponse, Idea, ParticipantProfile, User, Vote
from consult.services import contributions, equality
from tests.conftest import PASSWORD, Factory, login
from tests.support.publicids import idea_url, pid, vote_form

ANSWERS = {"age_band": "75_plus", "sex": "female", "gender_same": "prefer_not_to_say", "ethnic_group": "roma",
           "disability": "limited_a_lot", "sexual_orientation": "bisexual", "religion": "sikh",
           "unpaid_carer": "yes", "postcode_district": "so16"}


def _row(app: Flask) -> EqualityResponse | None:
    return db.session.scalar(select(EqualityResponse))


def test_equality_questions_page_says_why_and_offers_prefer_not_to_say(client, make: Factory) -> None:
    login(client, make.user(category="student"))
    page = client.get("/me/about-you?next=/c/anything").get_data(as_text=True)
    assert "Every question is optional" in page
    assert "never" in page.lower() or "Nobody sees your answers beside what you post" in page
    assert page.count('value="prefer_not_to_say"') == 9  # every choice question; the postcode may be left blank
    assert "What is your profession, or the one you are studying for?" in page  # students can give one
    assert "Agenda for Change" not in page  # pay band is for staff only
    assert "Skip these questions" in page and "/me/about-you/skip?next=/c/anything" in page


def test_equality_answers_need_consent_for_special_category_and_lose_nothing(client, make, app) -> None:
    login(client, make.user())
    response = client.post("/me/about-you", data=ANSWERS)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Tick the box to agree" in page
    assert 'value="roma" selected' in page  # what was chosen is still there
    assert db.session.scalar(select(func.count()).select_from(EqualityResponse)) == 0


def test_equality_answers_saved_apart_from_account_and_region_mapped(client, make, app) -> None:
    user = make.user()
    login(client, user)
    response = client.post("/me/about-you", data={**ANSWERS, "consent_special": "y"})
    assert response.status_code == 302
    row = _row(app)
    assert row is not None and row.ethnic_group == "roma" and row.gender_same == "prefer_not_to_say"
    assert row.postcode_district == "SO16" and row.region == "South East"
    # No column of the answers table names an account or a contribution.
    columns = {c["name"] for c in inspect(db.engine).get_columns("equality_response")}
    assert not columns & {"user_id", "author_id", "voter_id", "idea_id", "comment_id", "email"}
    assert str(user.id) != row.respondent_key and len(row.respondent_key) == 64
    assert not inspect(db.engine).get_foreign_keys("equality_response")


def test_equality_bad_postcode_and_bad_choice_are_explained(client, make, app) -> None:
    login(client, make.user())
    response = client.post("/me/about-you", data={"postcode_district": "not a postcode", "age_band": "ancient"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter the first part of a postcode" in page and "Choose one of the answers" in page


def test_equality_full_postcode_keeps_only_the_outward_code(client, make, app) -> None:
    login(client, make.user())
    client.post("/me/about-you", data={"postcode_district": "m1 1ae"})
    row = _row(app)
    assert row.postcode_district == "M1" and row.region == "North West"


def test_equality_answers_can_be_changed_and_withdrawn_for_real(client, make, app) -> None:
    login(client, make.user())
    client.post("/me/about-you", data={**ANSWERS, "consent_special": "y"})
    client.post("/me/about-you", data={"age_band": "18_24"})
    row = _row(app)
    assert row.age_band == "18_24" and row.ethnic_group is None
    assert "18 to 24" in client.get("/account").get_data(as_text=True)
    response = client.post("/me/about-you/withdraw")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(EqualityResponse)) == 0


def test_equality_skip_stores_nothing_and_goes_on(client, make, app) -> None:
    login(client, make.user())
    response = client.get("/me/about-you/skip?next=/about")
    assert response.status_code == 302 and response.headers["Location"].endswith("/about")
    assert client.get("/me/about-you/skip?next=https://evil.example/").headers["Location"].startswith("/")
    assert db.session.scalar(select(func.count()).select_from(EqualityResponse)) == 0


def test_equality_pages_need_login_and_csrf(client, make, app) -> None:
    assert client.get("/me/about-you").status_code == 302
    login(client, make.user())
    assert client.post("/me/about-you", data={"age_band": "18_24"}, csrf=False).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(EqualityResponse)) == 0


def test_rights_download_holds_account_answers_and_contributions(client, make, app) -> None:
    user = make.user()
    login(client, user)
    client.post("/me/about-you", data={**ANSWERS, "consent_special": "y"})
    response = client.get("/me/download")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == user.email
    assert data["equality_answers"]["answers"]["religion"] == "sikh"
    assert "password_hash" not in json.dumps(data) and user.password_hash not in json.dumps(data)


def test_rights_download_names_ideas_comments_and_votes_by_public_id(client, make, app) -> None:
    author, user = make.user(), make.user()
    phase = make.phase()
    theirs, _ = contributions.post_idea(db.session, author, phase.topics[0], "Their idea", "Their body")
    mine, _ = contributions.post_idea(db.session, user, phase.topics[0], "My idea", "My body")
    comment, _ = contributions.post_comment(db.session, user, theirs, "My comment")
    db.session.commit()
    login(client, user)
    voted = client.post("/vote", data=vote_form("idea", theirs, 1), headers={"Accept": "application/json"})
    assert voted.status_code == 200
    data = client.get("/me/download").get_json(force=True)
    # Database ids would let anyone who votes widely recover the order of everybody's posts.
    assert [i["id"] for i in data["ideas"]] == [pid("idea", mine)]
    assert [(c["id"], c["idea_id"], c["reply_to"]) for c in data["comments"]] == [
        (pid("comment", comment), pid("idea", theirs), None)]
    assert [(v["idea_id"], v["comment_id"]) for v in data["votes"]] == [(pid("idea", theirs), None)]


def _erasure_rows(user_id: int, email: str, secret: str) -> int:
    """Identity and equality rows left for a person: account, profile, votes, authorship, answers."""
    key = equality.respondent_key(user_id, secret)
    return sum(db.session.scalar(q) or 0 for q in (
        select(func.count()).select_from(User).where((User.id == user_id) | (User.email == email)),
        select(func.count()).select_from(ParticipantProfile).where(ParticipantProfile.user_id == user_id),
        select(func.count()).select_from(Vote).where(Vote.voter_id == user_id),
        select(func.count()).select_from(Idea).where(Idea.author_id == user_id),
        select(func.count()).select_from(Comment).where(Comment.author_id == user_id),
        select(func.count()).select_from(EqualityResponse).where(EqualityResponse.respondent_key == key),
    ))


def test_rights_delete_account_keeping_contributions_anonymous(client, make, app, promise) -> None:
    from consult.services.contributions import post_idea, vote

    phase = make.phase()
    user = make.user()
    other = make.user()
    idea, _ = post_idea(db.session, user, phase.topics[0], "Keep this idea", "A body that stays")
    theirs, _ = post_idea(db.session, other, phase.topics[0], "Another idea", "Someone else's")
    vote(db.session, user, "idea", theirs.id, 1)
    db.session.commit()
    uid, email, secret = user.id, user.email, app.config["PSEUDONYM_KEY"]
    login(client, user)
    client.post("/me/about-you", data={**ANSWERS, "consent_special": "y"})
    wrong = client.post("/me/delete", data={"contributions": "keep", "password": "nope"})
    assert wrong.status_code == 400 and "Your password is not right" in wrong.get_data(as_text=True)
    response = client.post("/me/delete", data={"contributions": "keep", "password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    left = _erasure_rows(uid, email, secret)
    assert left == 0
    kept = db.session.get(Idea, idea.id)
    assert kept is not None and kept.author_id is None and kept.body == "A body that stays"
    assert db.session.get(Idea, theirs.id).up_count == 0  # the deleted person's vote no longer counts
    assert client.get("/account").status_code == 302  # logged out
    promise(f"erasure: account with answers, votes and ideas deleted, {left} identity or equality rows left")


def test_rights_delete_account_with_contributions(client, make, app) -> None:
    from consult.services.contributions import post_idea

    phase = make.phase()
    user = make.user()
    idea, _ = post_idea(db.session, user, phase.topics[0], "Delete this idea", "Gone")
    db.session.commit()
    idea_id = idea.id
    login(client, user)
    assert client.post("/me/delete", data={"contributions": "delete", "password": PASSWORD}).status_code == 302
    db.session.expire_all()
    left = db.session.get(Idea, idea_id)
    assert left is None


def test_a_deleted_posts_address_is_never_given_to_a_new_post(client, make, app) -> None:
    # SQLite numbers a new row one past the highest left: deleting the newest idea and comment handed their
    # addresses to the next posts, so an old link showed someone else's words.
    from consult.services.contributions import post_comment, post_idea

    phase = make.phase()
    leaving, staying = make.user(), make.user()
    first, _ = post_idea(db.session, staying, phase.topics[0], "Staying idea", "Stays")
    post_comment(db.session, staying, first, "A comment that stays")
    idea, _ = post_idea(db.session, leaving, phase.topics[0], "Delete this idea", "Gone")
    comment, _ = post_comment(db.session, leaving, first, "Delete this comment")
    db.session.commit()
    old_idea, old_comment = idea.id, comment.id
    login(client, leaving)
    assert client.post("/me/delete", data={"contributions": "delete", "password": PASSWORD}).status_code == 302
    new_idea, _ = post_idea(db.session, staying, phase.topics[0], "A new idea", "New")
    new_comment, _ = post_comment(db.session, staying, first, "A new comment")
    db.session.commit()
    assert new_idea.id > old_idea and new_comment.id > old_comment
    assert client.get(idea_url(old_idea)).status_code == 404
    public = client.get(idea_url(first.id)).get_data(as_text=True)
    assert "A comment that stays" in public and "Delete this comment" not in public
    assert "Comments <span class=\"consult-muted\">(2)</span>" in public


def test_a_topic_emptied_by_an_account_deletion_can_be_deleted(client, make, app) -> None:
    # No empty row is left behind to hold a deleted post's number (ids are never reused), so nothing blocks it.
    from consult.services.contributions import post_idea

    phase = make.phase(topics=2)
    leaving = make.user()
    post_idea(db.session, make.user(), phase.topics[0], "Staying idea", "Stays")
    post_idea(db.session, leaving, phase.topics[1], "The only idea here", "Gone")
    db.session.commit()
    emptied = phase.topics[1].id
    login(client, leaving)
    assert client.post("/me/delete", data={"contributions": "delete", "password": PASSWORD}).status_code == 302
    facilitator = make.user(role="facilitator")
    make.assign(facilitator, phase.consultation)
    staff = app.test_client()
    login(staff, facilitator)
    assert "Yes, delete it" in staff.get(f"/facilitate/topics/{emptied}/delete").get_data(as_text=True)
    assert staff.post(f"/facilitate/topics/{emptied}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 1


def test_privacy_notice_says_what_why_how_long_and_who(client) -> None:
    page = client.get("/privacy").get_data(as_text=True)
    for heading in ("What we hold", "Why", "Who sees it", "How long", "Your rights"):
        assert f"<h2>{heading}</h2>" in page
