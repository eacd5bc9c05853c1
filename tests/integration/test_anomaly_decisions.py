"""Deciding on unusual activity: a decision without its reason keeps what was typed, and a decision made by
mistake can be reopened, so excluded votes count in analyses again (both audited)."""

from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import AnomalyFlag, AuditEvent, Consultation, ConsultationAssignment, VoteExclusion
from consult.services import analysis_runs, anomaly_scans, contributions
from tests.conftest import login


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app) -> None:
    """Tests share one app context, so forget the last request's user before each request."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def _burst(app, make):
    """An idea with a burst of 12 votes from new accounts, flagged, and a logged-in facilitator."""
    phase = make.phase()
    idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "More evening clinics",
                                      "Clinics after work would help carers.")
    for _ in range(12):
        contributions.vote(db.session, make.user(), "idea", idea.id, 1)
    facilitator = make.user(role="facilitator")
    db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=facilitator.id,
                                          role="facilitator"))
    db.session.commit()
    anomaly_scans.look(db.session, phase.consultation_id)  # the background worker's look
    db.session.commit()
    client = app.test_client()
    login(client, facilitator)
    assert "Burst of votes" in client.get(f"/moderation/{phase.consultation_id}/anomalies").get_data(as_text=True)
    flag = db.session.scalar(select(AnomalyFlag).where(AnomalyFlag.kind == "vote_burst"))
    return phase, idea, client, flag


def test_a_decision_missing_its_choice_or_reason_says_so_on_the_card_and_keeps_what_was_typed(app, make) -> None:
    phase, _idea, client, flag = _burst(app, make)
    response = client.post(f"/moderation/anomalies/{flag.id}", data={"reason": "Twelve accounts made at 2am",
                                                                       "page": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "<title>Error: Unusual activity" in page
    assert f'<a href="#action-{flag.id}">Choose what to do</a>' in page
    assert 'value="Twelve accounts made at 2am"' in page
    no_reason = client.post(f"/moderation/anomalies/{flag.id}", data={"action": "exclude"})
    page = no_reason.get_data(as_text=True)
    assert no_reason.status_code == 400 and "Enter the reason for your decision" in page
    assert f'id="action-{flag.id}" name="action" type="radio" value="exclude" checked' in page
    db.session.expire_all()
    assert db.session.get(AnomalyFlag, flag.id).status == "open"


def test_an_exclusion_made_by_mistake_can_be_reopened_and_the_votes_count_again(app, make) -> None:
    phase, idea, client, flag = _burst(app, make)
    done = client.post(f"/moderation/anomalies/{flag.id}", data={"action": "exclude", "reason": "Looked odd"},
                       follow_redirects=True)
    assert "12 votes are now left out of analyses." in done.get_data(as_text=True)
    excluded = client.get(f"/moderation/{phase.consultation_id}/anomalies?status=excluded").get_data(as_text=True)
    assert "“Looked odd”. 12 votes are left out now." in excluded and "Reopen this flag" in excluded

    missing = client.post(f"/moderation/anomalies/{flag.id}", data={"action": "reopen", "reason": " "})
    assert missing.status_code == 400 and "Enter why you are reopening it" in missing.get_data(as_text=True)
    assert db.session.scalar(select(VoteExclusion.id).limit(1)) is not None

    reopened = client.post(f"/moderation/anomalies/{flag.id}",
                           data={"action": "reopen", "reason": "It was a carers' group voting together"},
                           follow_redirects=True)
    assert "12 votes count in analyses again" in reopened.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(AnomalyFlag, flag.id).status == "open"
    assert db.session.scalar(select(VoteExclusion.id).limit(1)) is None
    # The pages just shown only read (on PostgreSQL without a transaction, on the session this test shares);
    # the worker builds datasets in sessions of its own, as this one now is.
    idea_id, consultation_id = idea.id, phase.consultation_id
    db.remove()
    dataset = analysis_runs.build_dataset(db.session, db.session.get(Consultation, consultation_id), None, "key")
    assert dataset.meta["excluded_votes"] == 0
    assert len([v for v in dataset.votes if v.item == f"i{idea_id}"]) == 12
    actions = list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "anomaly_flag")
                                      .order_by(AuditEvent.id)))
    assert actions == ["anomaly.exclude", "anomaly.reopen"]
    # Reopened, it can be decided again; a second reopening of a waiting flag is refused in words.
    assert client.post(f"/moderation/anomalies/{flag.id}",
                       data={"action": "dismiss", "reason": "A carers' group"}).status_code == 302
    client.post(f"/moderation/anomalies/{flag.id}", data={"action": "reopen", "reason": "Checking again"})
    again = client.post(f"/moderation/anomalies/{flag.id}", data={"action": "reopen", "reason": "Twice"},
                        follow_redirects=True)
    assert "already waiting for a decision" in again.get_data(as_text=True)


def _bursts(make, phase, ideas: int) -> None:
    """This many ideas, each voted for by the same ten brand-new accounts within minutes."""
    voters = [make.user() for _ in range(10)]
    for n in range(ideas):
        idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], f"Idea number {n}",
                                          f"A different suggestion, number {n}")
        for voter in voters:
            contributions.vote(db.session, voter, "idea", idea.id, 1)
    db.session.commit()


def test_looking_again_for_unusual_activity_costs_the_same_however_many_patterns_were_flagged(app, make) -> None:
    from tests.integration.test_facilitate import _count_queries

    counts = []
    for groups in (2, 8):
        db.session.execute(AnomalyFlag.__table__.delete())
        phase = make.phase()
        _bursts(make, phase, groups)
        facilitator = make.user(role="facilitator")
        db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=facilitator.id,
                                              role="facilitator"))
        db.session.commit()
        anomaly_scans.look(db.session, phase.consultation_id)  # the first look raises the flags
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AnomalyFlag).where(
            AnomalyFlag.consultation_id == phase.consultation_id, AnomalyFlag.kind == "vote_burst")) == groups
        with _count_queries() as statements:
            anomaly_scans.look(db.session, phase.consultation_id)
            db.session.commit()
        counts.append(len(statements))
    # Each look finds them all again; what was flagged before is known from one query, not one query per pattern.
    assert counts[0] == counts[1], counts
