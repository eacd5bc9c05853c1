"""The participant's rules, through the web client: posting, commenting, voting, phase and audience limits."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import Comment, Idea, Impression, Vote, VoteEvent
from tests.conftest import login
from tests.support.publicids import idea_url, pid, vote_form

JSON = {"Accept": "application/json"}


def _post_idea(client, topic_id: int, title: str = "Evening appointments", body: str = "Open clinics after 6pm."):
    return client.post(f"/topics/{topic_id}/ideas/new", data={"title": title, "body": body})


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_participant_posts_comments_replies_and_votes(client, make) -> None:
    user = make.user()
    phase = make.phase()
    login(client, user)
    response = _post_idea(client, phase.topics[0].id)
    assert response.status_code == 302
    idea = db.session.scalars(select(Idea)).one()
    assert (idea.author_category, idea.channel, idea.phase_id) == ("public", "online", phase.id)

    assert client.post(f"{idea_url(idea.id)}/comments", data={"body": "Yes please"}).status_code == 302
    top = db.session.scalars(select(Comment)).one()
    reply_form = {"body": "Agreed", "parent_id": pid("comment", top.id)}
    assert client.post(f"{idea_url(idea.id)}/comments", data=reply_form).status_code == 302
    reply = db.session.scalars(select(Comment).where(Comment.parent_id == top.id)).one()
    # A reply to a reply joins the same one-level thread.
    client.post(f"{idea_url(idea.id)}/comments", data={"body": "Me too", "parent_id": pid("comment", reply.id)})
    assert db.session.scalar(select(func.count()).where(Comment.parent_id == top.id)) == 2

    page = client.get(idea_url(idea.id)).get_data(as_text=True)
    assert "Yes please" in page and "Agreed" in page and "Me too" in page
    assert ">You<" in page
    assert user.email not in page


def test_vote_is_changeable_withdrawable_and_idempotent(client, make) -> None:
    user = make.user()
    phase = make.phase()
    login(client, user)
    _post_idea(client, phase.topics[0].id)
    idea_id = db.session.scalar(select(Idea.id))

    def vote(value: int) -> dict:
        response = client.post("/vote", data={"kind": "idea", "id": pid("idea", idea_id), "value": value},
                               headers={"Accept": "application/json"})
        assert response.status_code == 200
        return response.get_json()

    assert vote(1) == {"value": 1, "up": 1, "down": 0, "changed": True}
    assert vote(1) == {"value": 1, "up": 1, "down": 0, "changed": False}
    assert vote(-1) == {"value": -1, "up": 0, "down": 1, "changed": True}
    assert vote(0) == {"value": 0, "up": 0, "down": 0, "changed": True}
    assert vote(0)["changed"] is False
    assert _count(Vote) == 0
    assert [e.value for e in db.session.scalars(select(VoteEvent).order_by(VoteEvent.id))] == [1, -1, 0]


def test_vote_without_javascript_redirects_back_with_a_message(client, make) -> None:
    user = make.user()
    phase = make.phase()
    login(client, user)
    _post_idea(client, phase.topics[0].id)
    idea_id = db.session.scalar(select(Idea.id))
    response = client.post("/vote", data=vote_form("idea", idea_id, 1, next=idea_url(idea_id)), follow_redirects=True)
    assert response.status_code == 200
    assert "You support this." in response.get_data(as_text=True)
    # From a topic's list, the vote form returns to the idea voted on, not to the top of the list.
    topic = client.get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)
    anchor = f"idea-{pid('idea', idea_id)}"
    assert f'id="{anchor}"' in topic and f'name="next" value="/topics/{phase.topics[0].id}#{anchor}"' in topic


def test_closed_phase_refuses_ideas_comments_and_votes_whatever_is_sent(client, make) -> None:
    author = make.user()
    phase = make.phase()
    login(client, author)
    _post_idea(client, phase.topics[0].id)
    idea_id = db.session.scalar(select(Idea.id))
    phase.state = "closed"
    db.session.commit()

    assert client.get(f"/topics/{phase.topics[0].id}/ideas/new").status_code == 409
    response = _post_idea(client, phase.topics[0].id, title="Another")
    assert response.status_code == 409
    assert "This phase is closed" in response.get_data(as_text=True)
    assert client.post(f"{idea_url(idea_id)}/comments", data={"body": "Late"}).status_code == 409
    vote = client.post("/vote", data={"kind": "idea", "id": pid("idea", idea_id), "value": 1}, headers=JSON)
    assert vote.status_code == 409 and "closed" in vote.get_json()["error"]
    assert (_count(Idea), _count(Comment), _count(Vote)) == (1, 0, 0)
    # Still readable.
    assert client.get(idea_url(idea_id)).status_code == 200


def test_scheduled_closing_takes_effect_without_cron(client, make) -> None:
    from datetime import timedelta

    from consult.models import PhaseTransition, utcnow

    user = make.user()
    phase = make.phase()
    phase.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login(client, user)
    assert _post_idea(client, phase.topics[0].id).status_code == 409
    db.session.refresh(phase)
    assert phase.state == "closed"
    transition = db.session.scalars(select(PhaseTransition)).one()
    assert (transition.from_state, transition.to_state, transition.reason, transition.actor_id) == (
        "open", "closed", "schedule", None)


def test_participant_outside_the_audience_can_read_but_not_contribute(client, make) -> None:
    staff = make.user(category="staff", profession="physiotherapist")
    carer = make.user(category="carer")
    phase = make.phase(audience=("staff", "student"))
    login(client, staff)
    _post_idea(client, phase.topics[0].id)
    client.post("/logout")
    login(client, carer)
    topic_page = client.get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)
    assert "This phase is for health and care staff and students" in topic_page
    assert "Add an idea" not in topic_page
    response = _post_idea(client, phase.topics[0].id, title="Carers too")
    assert response.status_code == 403
    assert _count(Idea) == 1


def test_bad_input_gets_clear_messages_and_keeps_the_text(client, make) -> None:
    login(client, make.user())
    phase = make.phase()
    response = _post_idea(client, phase.topics[0].id, title="   ", body="x" * 5001)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter a title" in page
    assert "Your idea must be 5,000 characters or fewer (it has 5,001)" in page
    assert "x" * 5001 in page
    assert _count(Idea) == 0


def test_double_submit_of_the_same_idea_creates_one(client, make) -> None:
    login(client, make.user())
    phase = make.phase()
    first = _post_idea(client, phase.topics[0].id)
    second = _post_idea(client, phase.topics[0].id)
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(Idea) == 1


def test_unknown_ids_are_404_not_500(client, make) -> None:
    login(client, make.user())
    assert client.get("/ideas/999999").status_code == 404
    assert client.get("/topics/999999").status_code == 404
    assert client.get("/c/no-such-consultation").status_code == 404
    assert client.post("/ideas/999999/comments", data={"body": "hi"}).status_code == 404
    assert client.get(idea_url(999999)).status_code == 404
    assert client.post(f"{idea_url(999999)}/comments", data={"body": "hi"}).status_code == 404
    response = client.post("/vote", data={"kind": "idea", "id": pid("idea", 999999), "value": 1}, headers=JSON)
    assert response.status_code == 404
    assert client.post("/vote", data={"kind": "user", "id": 1, "value": 1}, headers=JSON).status_code == 404
    assert client.post("/vote", data={"kind": "idea", "id": "x", "value": 7}, headers=JSON).status_code == 400


def test_html_in_contributions_is_refused_with_the_text_kept_and_unicode_kept(client, make) -> None:
    login(client, make.user())
    phase = make.phase()
    topic = phase.topics[0].id
    typed = "The ratio of staff<patients matters. Use <email> or <name> placeholders."
    refused = client.post(f"/topics/{topic}/ideas/new", data={"title": "<img src=x onerror=alert(1)>Diolch 🙏",
                                                              "body": typed})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Remove the angle brackets" in page
    assert "staff&lt;patients matters. Use &lt;email&gt;" in page, "what was typed comes back, escaped"
    assert "<img src=x" not in page and db.session.scalar(select(func.count()).select_from(Idea)) == 0
    _post_idea(client, topic, title="Diolch 🙏 <3", body="Zoë says a < b\nhello")
    idea = db.session.scalars(select(Idea)).one()
    assert (idea.title, idea.body) == ("Diolch 🙏 <3", "Zoë says a < b\nhello")


def test_pages_record_impressions_once_per_person_and_item(client, make) -> None:
    user = make.user()
    phase = make.phase()
    login(client, user)
    for title in ("Idea one", "Idea two", "Idea three"):
        _post_idea(client, phase.topics[0].id, title=title, body=title)
    client.get(f"/topics/{phase.topics[0].id}")
    client.get(f"/topics/{phase.topics[0].id}?order=newest")
    assert _count(Impression) == 3
    assert db.session.scalars(select(Idea.impression_count)).all() == [1, 1, 1]


def test_random_order_is_stable_for_a_person_while_paging(app, make) -> None:
    user = make.user()
    phase = make.phase()
    # Five authors post nine ideas each (one person posting 45 in a minute would be throttled as spam).
    for author in range(5):
        poster = app.test_client()
        g.pop("_login_user", None)  # requests share the test's app context: forget the last poster
        login(poster, make.user())
        for i in range(author * 9, author * 9 + 9):
            _post_idea(poster, phase.topics[0].id, title=f"Idea {i:02d}", body=f"Body {i}")
    client = app.test_client()
    g.pop("_login_user", None)
    login(client, user)
    url = f"/topics/{phase.topics[0].id}"
    first = [client.get(f"{url}?page={p}").get_data(as_text=True) for p in (1, 2, 3)]
    again = [client.get(f"{url}?page={p}").get_data(as_text=True) for p in (1, 2, 3)]
    titles = [[f"Idea {i:02d}" for i in range(45) if f">Idea {i:02d}<" in page] for page in first]
    assert sum(len(t) for t in titles) == 45
    assert first == again or titles == [[f"Idea {i:02d}" for i in range(45) if f">Idea {i:02d}<" in p] for p in again]
    newest = client.get(f"{url}?order=newest").get_data(as_text=True)
    assert newest.index(">Idea 44<") < newest.index(">Idea 43<")


@pytest.mark.sqlite_only
def test_locked_database_answers_503_with_retry_after_and_saves_nothing(tmp_path, make) -> None:
    import sqlite3

    from tests.conftest import make_app

    app = make_app(tmp_path, SQLITE_BUSY_TIMEOUT=0.2)
    with app.app_context():
        user = make.user()
        phase = make.phase()
        client = app.test_client()
        login(client, user)
        _post_idea(client, phase.topics[0].id)
        idea_id = db.session.scalar(select(Idea.id))
        db.remove()  # requests in a real server never share a session
        blocker = sqlite3.connect(str(tmp_path / "test.sqlite3"), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            response = _post_idea(client, phase.topics[0].id, title="While locked")
            db.remove()
            vote = client.post("/vote", data={"kind": "idea", "id": pid("idea", idea_id), "value": 1},
                               headers={"Accept": "application/json"})
            db.remove()
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert "Nothing was saved" in response.get_data(as_text=True)
        assert vote.status_code == 503 and "busy" in vote.get_json()["error"]
        assert (_count(Idea), _count(Vote)) == (1, 0)
        # Once the lock is gone the same request succeeds.
        assert _post_idea(client, phase.topics[0].id, title="While locked").status_code == 302
    db.dispose()


def test_most_supported_order_ranks_support_per_impression_not_raw_votes(client, make) -> None:
    login(client, make.user())
    phase = make.phase()
    for title in ("Early idea with many votes", "Later idea most people liked", "Unseen idea"):
        _post_idea(client, phase.topics[0].id, title=title, body=title)
    early, later, unseen = db.session.scalars(select(Idea).order_by(Idea.id)).all()
    early.up_count, early.impression_count = 15, 100
    later.up_count, later.impression_count = 8, 10
    db.session.commit()
    page = client.get(f"/topics/{phase.topics[0].id}?order=supported").get_data(as_text=True)
    assert page.index("Later idea most people liked") < page.index("Unseen idea") < page.index("Early idea")
