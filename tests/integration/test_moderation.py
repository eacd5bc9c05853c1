"""Moderation through the real routes: holds, reports, the queues, hiding in place, edits, withdrawals, anomalies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import (
    AuditEvent,
    Comment,
    ConsultationAssignment,
    ContributionRevision,
    Idea,
    ModerationCase,
    NetworkSighting,
    User,
    utcnow,
)
from consult.services import analysis_runs, anomalies, anomaly_scans, contributions
from tests.conftest import login
from tests.support.publicids import idea_url, item_url


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app) -> None:
    """Tests share one app context, so forget the last request's user before each request (several clients)."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def _assign(user: User, consultation_id: int, role: str) -> None:
    """Assign a staff member to a consultation."""
    db.session.add(ConsultationAssignment(consultation_id=consultation_id, user_id=user.id, role=role))
    db.session.commit()


def _idea(make, phase=None):
    """A published idea in an open phase, by a fresh participant."""
    phase = phase or make.phase()
    author = make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "More evening clinics",
                                      "Clinics after work would help carers.")
    db.session.commit()
    return phase, idea


def _comment(client, idea_id: int, body: str):
    """Post a comment through the real route."""
    return client.post(f"{idea_url(idea_id)}/comments", data={"body": body})


def test_comment_with_phone_number_is_held_and_author_told_why(app, make) -> None:
    phase, idea = _idea(make)
    author = make.user()
    client = app.test_client()
    login(client, author)
    response = _comment(client, idea.id, "Ring me on 07700 900123 to talk about it")
    assert response.status_code == 302 and "/my/comment/" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "not published yet" in page.lower() and "it contains a phone number" in page
    # Their list of contributions says the same, not a bare state word.
    mine = client.get("/me/contributions?kind=comments").get_data(as_text=True)
    assert "Waiting for a moderator" in mine and "it contains a phone number" in mine and "Only you can see it" in mine
    other = app.test_client()
    assert "07700 900123" not in other.get(idea_url(idea.id)).get_data(as_text=True)
    assert db.session.get(Idea, idea.id).comment_count == 0
    comment = db.session.scalar(select(Comment).where(Comment.idea_id == idea.id))
    # The author takes the number out and sends it again: published at once, counted once.
    response = client.post(item_url('edit', 'comment', comment.id), data={"body": "Happy to talk about it here"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).moderation_state == "published"
    assert db.session.get(Idea, idea.id).comment_count == 1
    assert "Happy to talk about it here" in other.get(idea_url(idea.id)).get_data(as_text=True)


def test_report_then_moderator_hides_with_reason_shown_in_place(app, make) -> None:
    phase, idea = _idea(make)
    writer, reporter, moderator = make.user(), make.user(), make.user(role="moderator")
    _assign(moderator, phase.consultation_id, "moderator")
    client = app.test_client()
    login(client, writer)
    _comment(client, idea.id, "The manager on that ward is hopeless and lazy")
    comment = db.session.scalar(select(Comment).where(Comment.idea_id == idea.id))
    assert comment.moderation_state == "published"
    reporting = app.test_client()
    login(reporting, reporter)
    assert reporting.post(item_url('report', 'comment', comment.id), data={}).status_code == 400
    report = item_url("report", "comment", comment.id)
    response = reporting.post(report, data={"reason": "abusive"}, follow_redirects=True)
    assert "Thank you. You reported this comment" in response.get_data(as_text=True)
    again = reporting.get(item_url('report', 'comment', comment.id)).get_data(as_text=True)
    assert "already reported" in again
    assert client.post(report, data={"reason": "spam"}).status_code == 409  # own post

    staff = app.test_client()
    login(staff, moderator)
    queue = staff.get(f"/moderation/{phase.consultation_id}?reason=abusive&kind=comment").get_data(as_text=True)
    assert "hopeless and lazy" in queue
    case = db.session.scalar(select(ModerationCase).where(ModerationCase.comment_id == comment.id))
    assert staff.post(f"/moderation/cases/{case.id}", data={"action": "hide"}).status_code == 400  # no reason
    response = staff.post(f"/moderation/cases/{case.id}", data={"action": "hide", "reason": "It was a personal attack"})
    assert response.status_code == 302
    page = app.test_client().get(idea_url(idea.id)).get_data(as_text=True)
    assert "This comment was hidden by a moderator: It was a personal attack" in page
    decided = staff.get(f"/moderation/{phase.consultation_id}?status=closed").get_data(as_text=True)
    assert "decided: hidden" in decided and "decided: hide<" not in decided
    assert "Decided: hidden." in staff.get(f"/moderation/cases/{case.id}").get_data(as_text=True)
    mine = client.get("/me/contributions?kind=comments").get_data(as_text=True)
    assert "Hidden by a moderator" in mine and "It was a personal attack" in mine and "Others cannot see it" in mine
    assert "hopeless and lazy" not in page
    assert "hopeless" not in app.test_client().get(f"/api/v1{idea_url(idea.id)}/comments").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).comment_count == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "moderation.hide")) == 1
    staff.post(f"/moderation/cases/{case.id}", data={"action": "restore"})
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).comment_count == 1
    assert "hopeless and lazy" in app.test_client().get(idea_url(idea.id)).get_data(as_text=True)


def test_moderators_of_other_consultations_and_participants_cannot_use_the_queue(app, make) -> None:
    phase, idea = _idea(make)
    outsider = make.user(role="moderator")
    participant = make.user()
    for user in (outsider, participant):
        client = app.test_client()
        login(client, user)
        assert client.get(f"/moderation/{phase.consultation_id}").status_code == 404


def test_safeguarding_disclosure_goes_to_the_restricted_queue_with_signposting(app, make) -> None:
    phase, idea = _idea(make)
    author, moderator, lead = make.user(), make.user(role="moderator"), make.user(role="moderator")
    _assign(moderator, phase.consultation_id, "moderator")
    _assign(lead, phase.consultation_id, "safeguarding")
    client = app.test_client()
    login(client, author)
    response = _comment(client, idea.id, "Some nights I want to kill myself, nobody listens")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Samaritans free on 116 123" in page and "NHS 111" in page and "Patient Advice and Liaison Service" in page
    case = db.session.scalar(select(ModerationCase))
    assert case.restricted
    mod = app.test_client()
    login(mod, moderator)
    assert "kill myself" not in mod.get(f"/moderation/{phase.consultation_id}?status=all").get_data(as_text=True)
    assert mod.get(f"/moderation/{phase.consultation_id}/safeguarding").status_code == 404
    assert mod.get(f"/moderation/cases/{case.id}").status_code == 404
    safe = app.test_client()
    login(safe, lead)
    assert "kill myself" in safe.get(f"/moderation/{phase.consultation_id}/safeguarding").get_data(as_text=True)
    # The author editing it does not release it: a safeguarding lead decides.
    comment = db.session.scalar(select(Comment))
    client.post(item_url('edit', 'comment', comment.id), data={"body": "Please ignore"})
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).moderation_state == "held"


def test_premoderated_phase_holds_posts_until_approved_in_bulk(app, make) -> None:
    phase = make.phase()
    facilitator = make.user(role="facilitator")
    _assign(facilitator, phase.consultation_id, "facilitator")
    staff = app.test_client()
    login(staff, facilitator)
    staff.post(f"/moderation/phases/{phase.id}/premoderation", data={"premoderated": "on"})
    author = make.user()
    client = app.test_client()
    login(client, author)
    for n in range(2):
        response = client.post(f"/topics/{phase.topics[0].id}/ideas/new",
                               data={"title": f"Idea {n}", "body": "Ordinary text about services"})
        assert "/my/idea/" in response.headers["Location"]
    assert "Idea 0" not in app.test_client().get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)
    cases = list(db.session.scalars(select(ModerationCase.id)))
    assert len(cases) == 2
    # Each box says which contribution it selects (to a screen reader too), not only its reason and phase.
    queue = staff.get(f"/moderation/{phase.consultation_id}").get_data(as_text=True)
    assert 'Select<span class="nhsuk-u-visually-hidden"> “Idea 0”</span>: Pre-moderated phase' in queue
    response = staff.post(f"/moderation/{phase.consultation_id}/decide",
                          data={"case_id": [str(c) for c in cases], "action": "publish"})
    assert response.status_code == 302
    assert "2 contributions published." in staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Idea 1" in app.test_client().get(f"/topics/{phase.topics[0].id}").get_data(as_text=True)
    assert staff.post(f"/moderation/{phase.consultation_id}/decide",
                      data={"case_id": ["²"], "action": "publish"}).status_code == 400


def test_moderator_edits_out_personal_details_and_the_original_is_kept_privately(app, make) -> None:
    phase = make.phase()
    moderator = make.user(role="moderator")
    _assign(moderator, phase.consultation_id, "moderator")
    client = app.test_client()
    login(client, make.user())
    client.post(f"/topics/{phase.topics[0].id}/ideas/new",
                data={"title": "Thanks to the ward", "body": "Dr Okonkwo was wonderful with my son"})
    case = db.session.scalar(select(ModerationCase))
    staff = app.test_client()
    login(staff, moderator)
    staff.post(f"/moderation/cases/{case.id}/redact",
               data={"title": "Thanks to the ward", "body": "[a doctor] was wonderful with my son"})
    idea = db.session.scalar(select(Idea))
    page = app.test_client().get(idea_url(idea.id)).get_data(as_text=True)
    assert "[a doctor] was wonderful" in page and "Okonkwo" not in page
    assert db.session.scalar(select(ContributionRevision.body)) == "Dr Okonkwo was wonderful with my son"


def test_author_edits_within_the_window_and_withdraws_any_time(app, make) -> None:
    phase = make.phase()
    author = make.user()
    idea, _ = contributions.post_idea(db.session, author, phase.topics[0], "Title here", "Body text here",
                                      now=utcnow() - timedelta(minutes=20))
    db.session.commit()
    client = app.test_client()
    login(client, author)
    late = client.post(item_url('edit', 'idea', idea.id), data={"title": "New", "body": "New body typed late"})
    page = late.get_data(as_text=True)
    # The 15-minute window has passed: refused, and what was typed is on the page to copy.
    assert late.status_code == 409 and "can no longer be edited" in page and "New body typed late" in page
    db.session.expire_all()
    assert db.session.get(Idea, idea.id).title == "Title here"
    assert client.post(item_url('withdraw', 'idea', idea.id), data={}).status_code == 302
    for viewer in (client, app.test_client()):
        assert viewer.get(idea_url(idea.id)).status_code == 404
    other = app.test_client()
    login(other, make.user())
    assert other.post(item_url('withdraw', 'idea', idea.id), data={}).status_code == 404


def test_vote_burst_from_new_accounts_is_flagged_and_excluded_with_a_reason(app, make) -> None:
    phase, idea = _idea(make)
    facilitator = make.user(role="facilitator")
    _assign(facilitator, phase.consultation_id, "facilitator")
    for _ in range(12):
        contributions.vote(db.session, make.user(), "idea", idea.id, 1)
    db.session.commit()
    anomaly_scans.look(db.session, phase.consultation_id)  # the background worker's look
    db.session.commit()
    staff = app.test_client()
    login(staff, facilitator)
    page = staff.get(f"/moderation/{phase.consultation_id}/anomalies").get_data(as_text=True)
    assert "Burst of votes" in page and "12 votes" in page
    flag_id = db.session.scalar(select(anomalies.AnomalyFlag.id).where(anomalies.AnomalyFlag.kind == "vote_burst"))
    # No reason: the page says so on the card (it used to redirect with a message and lose the choice).
    assert staff.post(f"/moderation/anomalies/{flag_id}", data={"action": "exclude"}).status_code == 400
    assert db.session.get(anomalies.AnomalyFlag, flag_id).status == "open"  # no reason, nothing done
    staff.post(f"/moderation/anomalies/{flag_id}", data={"action": "exclude", "reason": "Throwaway accounts"})
    dataset = analysis_runs.build_dataset(db.session, phase.consultation, None, "key")
    assert dataset.meta["excluded_votes"] == 12
    assert [v for v in dataset.votes if v.item == f"i{idea.id}"] == []
    assert db.session.get(Idea, idea.id).up_count == 12  # flagged, never silently deleted


def test_near_identical_posts_from_many_accounts_are_flagged(app, make) -> None:
    phase = make.phase()
    for n in range(4):
        contributions.post_idea(db.session, make.user(), phase.topics[0], "Fund the hydrotherapy pool",
                                "Please keep the hydrotherapy pool open, it matters so much to patients" + "!" * n)
    db.session.commit()
    assert anomalies.scan(db.session, phase.consultation_id) >= 1
    flag = db.session.scalar(select(anomalies.AnomalyFlag).where(anomalies.AnomalyFlag.kind == "duplicate_text"))
    assert flag.detail["accounts"] == 4


def test_posting_records_a_network_key_never_an_address(app, make) -> None:
    phase, idea = _idea(make)
    client = app.test_client()
    login(client, make.user())
    _comment(client, idea.id, "A plain comment")
    keys = list(db.session.scalars(select(NetworkSighting.network_key)))
    assert len(keys) == 1 and "127.0.0" not in keys[0]


def test_public_log_counts_by_reason_without_text(app, make) -> None:
    phase, idea = _idea(make)
    client = app.test_client()
    login(client, make.user())
    _comment(client, idea.id, "Email me at someone@example.com")
    page = app.test_client().get(f"/c/{phase.consultation.slug}/moderation-log").get_data(as_text=True)
    assert "Email address" in page and "waiting" in page and "someone@example.com" not in page
    assert "Moderation policy" in app.test_client().get("/moderation-policy").get_data(as_text=True)


def test_held_posts_from_before_moderation_appear_in_the_queue(app, make) -> None:
    phase, idea = _idea(make)
    idea.moderation_state, idea.moderation_reason = "held", "Held for a moderator: possible duplicate."
    db.session.commit()
    moderator = make.user(role="moderator")
    _assign(moderator, phase.consultation_id, "moderator")
    staff = app.test_client()
    login(staff, moderator)
    # Counted as waiting before anyone has opened the queue, and once only after it has.
    assert "Moderation queue</a> (1 waiting)" in staff.get("/moderation").get_data(as_text=True)
    queue = staff.get(f"/moderation/{phase.consultation_id}").get_data(as_text=True)
    assert "More evening clinics" in queue
    assert "What its author is told: Held for a moderator: possible duplicate." in queue
    assert db.session.scalar(select(func.count()).select_from(ModerationCase)) == 1
    assert "Moderation queue</a> (1 waiting)" in staff.get("/moderation").get_data(as_text=True)
