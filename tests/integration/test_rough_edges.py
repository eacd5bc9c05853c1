"""Rough edges a new participant or facilitator met: lost text, hidden pages, words that read wrongly."""

from __future__ import annotations

import io

from flask import g
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import Comment, Idea
from tests.conftest import login
from tests.support.publicids import comment_anchor, idea_url, pid


def test_idea_and_comment_text_is_shown_back_when_the_phase_closed_before_sending(client, make) -> None:
    user = make.user()
    phase = make.phase()
    login(client, user)
    topic_id = phase.topics[0].id
    client.post(f"/topics/{topic_id}/ideas/new", data={"title": "First", "body": "Already here."})
    idea_id = db.session.scalar(select(Idea.id))
    phase.state = "closed"
    db.session.commit()

    response = client.post(f"/topics/{topic_id}/ideas/new",
                           data={"title": "Late evening clinics", "body": "Typed for twenty minutes."})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This phase is closed" in page and "Not sent" in page
    assert "Late evening clinics" in page and "Typed for twenty minutes." in page

    response = client.post(f"{idea_url(idea_id)}/comments", data={"body": "My long considered comment"})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Not sent" in page and "My long considered comment" in page
    assert db.session.scalar(select(func.count()).select_from(Idea)) == 1
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0


def test_text_sent_after_being_logged_out_is_shown_back_and_login_returns_to_the_form(app, client, make) -> None:
    phase = make.phase()
    login(client, make.user())
    topic_id = phase.topics[0].id
    client.post(f"/topics/{topic_id}/ideas/new", data={"title": "First", "body": "Already here."})
    idea_id = db.session.scalar(select(Idea.id))
    client.post("/logout")
    page_url = idea_url(idea_id)
    response = client.post(f"{page_url}/comments", data={"body": "My long considered comment"},
                           headers={"Referer": f"http://localhost{page_url}"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "My long considered comment" in page and "Not sent" in page
    assert f'href="/login?next={page_url}"' in page, "log in, then back to the idea, not to /comments"
    voted = client.post("/vote", data={"kind": "idea", "id": pid("idea", idea_id), "value": "1"},
                        headers={"Accept": "application/json"})
    assert voted.status_code == 401 and "logged out" in voted.get_json()["error"]
    assert db.session.scalar(select(func.count()).select_from(Comment)) == 0


def test_closing_and_reopening_a_phase_ask_first_and_reopening_asks_for_the_closing_time(client, make) -> None:
    from datetime import timedelta

    from consult.models import Phase, utcnow

    phase = make.phase(state="open")
    facilitator = make.user(role="facilitator", category="staff")
    make.assign(facilitator, phase.consultation)
    login(client, facilitator)
    # The dashboard's plain button (no JavaScript) lands on the question, and nothing changes yet.
    asked = client.post(f"/facilitate/phases/{phase.id}/close")
    assert asked.status_code == 200 and "Yes, close it now" in asked.get_data(as_text=True)
    assert client.get(f"/facilitate/phases/{phase.id}/close").status_code == 200
    db.session.expire_all()
    assert db.session.get(Phase, phase.id).state == "open"
    assert client.post(f"/facilitate/phases/{phase.id}/close", data={"confirmed": "yes"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Phase, phase.id).state == "closed"

    asked = client.post(f"/facilitate/phases/{phase.id}/open").get_data(as_text=True)
    assert "Reopen phase" in asked and "When should it close again?" in asked
    past = client.post(f"/facilitate/phases/{phase.id}/open", data={
        "confirmed": "yes", "closes_at_day": "1", "closes_at_month": "1", "closes_at_year": "2001",
        "closes_at_time": "9am"})
    assert past.status_code == 400 and "must be in the future" in past.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Phase, phase.id).state == "closed"

    later = utcnow() + timedelta(days=10)
    response = client.post(f"/facilitate/phases/{phase.id}/open", data={
        "confirmed": "yes", "closes_at_day": str(later.day), "closes_at_month": str(later.month),
        "closes_at_year": str(later.year), "closes_at_time": "11:59pm"})
    assert response.status_code == 302
    db.session.expire_all()
    reopened = db.session.get(Phase, phase.id)
    assert reopened.state == "open" and reopened.closes_at is not None and reopened.closes_at > utcnow()
    # Asking again (say, after another close) shows the planned time still to come, to keep.
    client.post(f"/facilitate/phases/{phase.id}/close", data={"confirmed": "yes"})


def test_a_comment_on_a_later_page_takes_its_author_to_that_page(client, make, app) -> None:
    from consult.models import utcnow

    user = make.user()
    phase = make.phase()
    login(client, user)
    client.post(f"/topics/{phase.topics[0].id}/ideas/new", data={"title": "Busy idea", "body": "Lots to say."})
    idea = db.session.scalars(select(Idea)).one()
    per_page = app.config["PAGE_SIZE"]
    other = make.user()
    for n in range(per_page):
        db.session.add(Comment(idea_id=idea.id, phase_id=idea.phase_id, author_id=other.id, channel="online",
                               author_category="public", body=f"Earlier comment {n}", created_at=utcnow(),
                               visible_from=utcnow()))
    db.session.commit()
    response = client.post(f"{idea_url(idea.id)}/comments", data={"body": "The newest comment"})
    mine = db.session.scalars(select(Comment).where(Comment.body == "The newest comment")).one()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{idea_url(idea.id)}?page=2{comment_anchor(mine.id)}")
    assert "The newest comment" in client.get(response.headers["Location"]).get_data(as_text=True)
    # A reply goes to the page of the comment it answers.
    first = db.session.scalars(select(Comment).where(Comment.body == "Earlier comment 0")).one()
    reply = client.post(f"{idea_url(idea.id)}/comments",
                        data={"body": "A reply", "parent_id": pid("comment", first.id)})
    assert f"{idea_url(idea.id)}#comment-" in reply.headers["Location"]


def test_registering_records_the_login_and_students_can_name_their_profession(app) -> None:
    import re

    from flask import g

    from consult.models import User
    from consult.services import mail

    g.pop("_login_user", None)
    client = app.test_client()
    response = client.post("/register", data={"email": "student@example.org", "password": "a long enough password",
                                              "category": "student", "profession": "physiotherapist"})
    assert response.status_code == 302
    user = db.session.scalars(select(User).where(User.email == "student@example.org")).one()
    assert user.profile.profession == "physiotherapist"
    assert user.last_login_at is None
    link = re.search(r"https?://[^/\s]+(/confirm/\S+)", mail.outbox()[-1].body).group(1)
    assert client.post(link).status_code == 302  # confirming logs them in
    db.session.expire_all()
    assert db.session.get(User, user.id).last_login_at is not None
    # Students may leave it blank; anyone else who names one is asked to choose staff or student, or leave it
    # blank (it used to be dropped without a word).
    import pytest

    from consult.services import accounts
    from consult.services.errors import Invalid

    with pytest.raises(Invalid) as refused:
        accounts.register(db.session, "carer@example.org", "a long enough password", "carer", "physiotherapist")
    assert "Only health or care staff and students give a profession" in refused.value.field_errors["profession"]
    carer = accounts.register(db.session, "carer@example.org", "a long enough password", "carer", None)
    student = accounts.register(db.session, "other@example.org", "a long enough password", "student", None)
    assert (carer.user.profile.profession, student.user.profile.profession) == (None, None)


def test_attributions_keep_the_phase_name_as_written_and_login_prompts_offer_both_ways_in(app, client, make) -> None:
    user = make.user()
    phase = make.phase()
    phase.title = "Discover NHS Priorities"
    db.session.commit()
    login(client, user)
    client.post(f"/topics/{phase.topics[0].id}/ideas/new", data={"title": "An idea", "body": "Body."})
    idea_id = db.session.scalar(select(Idea.id))
    assert "Discover NHS Priorities" in client.get(idea_url(idea_id)).get_data(as_text=True)
    from flask import g

    g.pop("_login_user", None)
    client = app.test_client()  # a visitor
    for path in (idea_url(idea_id), f"/topics/{phase.topics[0].id}", f"/phases/{phase.id}"):
        page = client.get(path).get_data(as_text=True)
        assert 'href="/login?next=' in page and 'href="/register?next=' in page, path


def test_phase_pages_show_the_step_and_the_time_left(client, make) -> None:
    from datetime import timedelta

    from consult.models import utcnow
    from consult.templating import phase_timing

    phase = make.phase()
    phase.closes_at = utcnow() + timedelta(days=3, hours=2)
    db.session.commit()
    page = client.get(f"/phases/{phase.id}").get_data(as_text=True)
    count = len(phase.consultation.phases)
    assert f"Phase {phase.position} of {count}" in page and "Closes in 3 days, on " in page
    assert "Closes in 3 days" in client.get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)

    class Ran:
        state, opens_at, closes_at = "closed", utcnow() - timedelta(days=40), utcnow() - timedelta(days=10)
    assert phase_timing(Ran()).startswith("Closed. It ran from ")
    assert " to " in phase_timing(Ran())


def test_comment_counts_agree_between_the_topic_list_and_the_idea_page(client, make) -> None:
    import re

    from consult.services import moderation

    user = make.user()
    phase = make.phase()
    login(client, user)
    topic_id = phase.topics[0].id
    client.post(f"/topics/{topic_id}/ideas/new", data={"title": "Counted idea", "body": "Count me."})
    idea_id = db.session.scalar(select(Idea.id))
    for text in ("One", "Two", "Three"):
        client.post(f"{idea_url(idea_id)}/comments", data={"body": f"Comment {text}"})
    first = db.session.scalars(select(Comment).order_by(Comment.id)).first()
    client.post(f"{idea_url(idea_id)}/comments", data={"body": "A reply", "parent_id": pid("comment", first.id)})
    hidden = db.session.scalars(select(Comment).where(Comment.body == "Comment Two")).one()
    moderation.set_state(db.session, hidden, "hidden", reason="Off topic")
    db.session.commit()

    topic_page = client.get(f"/topics/{topic_id}").get_data(as_text=True)
    idea_page = client.get(idea_url(idea_id)).get_data(as_text=True)
    listed = int(re.search(r"(\d+) comments?</p>", topic_page).group(1))
    shown = int(re.search(r'id="comments">Comments <span class="consult-muted">\((\d+)\)', idea_page).group(1))
    assert listed == shown == 3  # two comments and a reply are shown; the hidden one is not counted


def test_the_consultation_page_says_when_each_phase_runs(client, make) -> None:
    from datetime import timedelta

    from consult.models import utcnow

    phase = make.phase()
    earlier = make.phase(state="closed", consultation=phase.consultation)
    earlier.opens_at, earlier.closes_at = utcnow() - timedelta(days=30), utcnow() - timedelta(days=2)
    db.session.commit()
    db.session.expire_all()
    page = client.get(f"/c/{phase.consultation.slug}").get_data(as_text=True)
    assert "Closed. It ran from " in page
    assert "Open now, with no closing date set." in page and "Phase 1 of 2" in page


def test_my_contributions_count_one_comment_as_one(client, make) -> None:
    author, commenter = make.user(), make.user()
    phase = make.phase()
    login(client, author)
    client.post(f"/topics/{phase.topics[0].id}/ideas/new", data={"title": "Evening clinics", "body": "After work."})
    idea_id = db.session.scalar(select(Idea.id))
    login(client, commenter)
    client.post(f"{idea_url(idea_id)}/comments", data={"body": "Yes, and at weekends."})
    login(client, author)
    page = client.get("/me/contributions").get_data(as_text=True)
    assert "1 comment<" in page and "1 comments" not in page


def test_an_unconfirmed_account_is_told_once_to_confirm_and_an_oversized_upload_says_the_limit(app, client, make):
    phase = make.phase()
    login(client, make.user(confirmed=False))
    page = client.get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)
    assert page.count("Confirm your email address") + page.count("confirm your email address") == 1
    facilitator = make.user(role="facilitator", category="staff")
    make.assign(facilitator, phase.consultation)
    staff = app.test_client()
    g.pop("_login_user", None)  # the test's app context remembers the last user loaded
    login(staff, facilitator)
    big = io.BytesIO(b"topic,title,idea,channel,event,date\n" + b"x" * (300 * 1024))
    response = staff.post(f"/facilitate/phases/{phase.id}/workshops", data={"file": (big, "big.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and "256 KB" in response.get_data(as_text=True)
