"""Unusual activity is looked for by the background worker, not by the page: the page reads what was recorded and
says when it last looked; a facilitator can ask for a look (once, however often they click); with no worker
running the page says so; a failed or locked look never stops the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import AnomalyFlag, AnomalyScan, AuditEvent, ConsultationAssignment, WorkerBeat, utcnow
from consult.services import anomalies, anomaly_scans, contributions
from consult.worker import Worker
from tests.conftest import login


@pytest.fixture(autouse=True)
def _fresh_user_per_request(app) -> None:
    """Tests share one app context, so forget the last request's user before each request."""
    def forget() -> None:
        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget)


def _burst(make):
    """An open phase with an idea voted for by twelve brand-new accounts within minutes."""
    phase = make.phase()
    idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "More evening clinics",
                                      "Clinics after work would help carers.")
    for _ in range(12):
        contributions.vote(db.session, make.user(), "idea", idea.id, 1)
    db.session.commit()
    return phase


def _facilitator(app, make, consultation_id: int):
    user = make.user(role="facilitator")
    db.session.add(ConsultationAssignment(consultation_id=consultation_id, user_id=user.id, role="facilitator"))
    db.session.commit()
    client = app.test_client()
    login(client, user)
    return client


def _flags(consultation_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AnomalyFlag)
                             .where(AnomalyFlag.consultation_id == consultation_id))


def _worker_alive() -> None:
    db.session.add(WorkerBeat(owner="test-worker", seen_at=utcnow()))
    db.session.commit()


def test_the_page_only_reads_what_was_recorded_and_never_looks_itself(app, make, monkeypatch) -> None:
    phase = _burst(make)
    client = _facilitator(app, make, phase.consultation_id)

    def no_looking(*_args, **_kwargs):
        raise AssertionError("the page looked for patterns")

    monkeypatch.setattr(anomalies, "find", no_looking)
    response = client.get(f"/moderation/{phase.consultation_id}/anomalies")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Not looked for yet in this consultation." in page
    assert "Nothing flagged." in page and _flags(phase.consultation_id) == 0


def test_a_worker_tick_records_new_flags_and_when_it_looked_and_skips_an_unchanged_consultation(
        app, make, monkeypatch) -> None:
    phase = _burst(make)
    client = _facilitator(app, make, phase.consultation_id)
    worker = Worker(app)
    assert phase.consultation_id in worker.anomaly_tick()
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    assert _flags(phase.consultation_id) == 1
    scan = db.session.get(AnomalyScan, phase.consultation_id)
    assert scan.looked_at is not None and scan.raised == 1 and scan.started_at is None
    page = client.get(f"/moderation/{phase.consultation_id}/anomalies").get_data(as_text=True)
    assert "Burst of votes" in page and "Last looked just now, at " in page and ": 1 new flag." in page
    assert "Look again now" in page  # the worker wrote its heartbeat

    # Nothing new since: the next sweep reads one marker and does not look again, but notes that it checked.
    monkeypatch.setattr(anomalies, "find", lambda *_a, **_k: (_ for _ in ()).throw(AssertionError("looked")))
    db.session.get(AnomalyScan, phase.consultation_id).looked_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    worker.next_sweep = 0.0
    assert worker.anomaly_tick() == []
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(AnomalyScan, phase.consultation_id).looked_at > utcnow() - timedelta(minutes=1)


def test_look_again_now_queues_one_look_however_often_it_is_clicked_and_the_worker_answers_it(app, make) -> None:
    phase = _burst(make)
    client = _facilitator(app, make, phase.consultation_id)
    _worker_alive()
    url = f"/moderation/{phase.consultation_id}/anomalies"
    first = client.post(f"{url}/look", follow_redirects=True).get_data(as_text=True)
    second = client.post(f"{url}/look", follow_redirects=True).get_data(as_text=True)
    assert "The worker will look again shortly." in first and "A look was already waiting" in second
    assert "A new look is waiting to start." in second and "Refresh this page" in second
    assert "Look again now" not in second and 'data-refresh-seconds="10"' in second
    asked = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "anomaly.look")).all()
    assert [(a.target_type, a.target_id) for a in asked] == [("consultation", phase.consultation_id)]
    assert anomaly_scans.requested(db.session) == [phase.consultation_id]

    # The worker answers within a poll (no sweep due), and the page shows what it found.
    worker = Worker(app)
    worker.next_sweep = float("inf")
    assert worker.anomaly_tick() == [phase.consultation_id]
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(AnomalyScan, phase.consultation_id).requested_at is None
    page = client.get(url).get_data(as_text=True)
    assert "Burst of votes" in page and "Look again now" in page and "waiting to start" not in page


def test_with_no_worker_running_the_page_says_so_instead_of_waiting(app, make) -> None:
    phase = _burst(make)
    client = _facilitator(app, make, phase.consultation_id)
    db.session.add(WorkerBeat(owner="gone", seen_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    page = client.get(f"/moderation/{phase.consultation_id}/anomalies").get_data(as_text=True)
    assert "No background worker is running" in page and "flask --app wsgi worker" in page
    assert "Look again now" not in page and "data-refresh-seconds" not in page


def test_facilitators_of_another_consultation_can_neither_see_nor_ask(app, make) -> None:
    phase = _burst(make)
    other = make.phase()
    outsider = _facilitator(app, make, other.consultation_id)
    url = f"/moderation/{phase.consultation_id}/anomalies"
    assert outsider.get(url).status_code in (403, 404)
    assert outsider.post(f"{url}/look").status_code in (403, 404)
    assert db.session.get(AnomalyScan, phase.consultation_id) is None


def test_a_failed_look_is_logged_and_given_up_and_the_worker_carries_on(app, make, monkeypatch, caplog) -> None:
    phase = _burst(make)
    worker = Worker(app)

    def broken(*_args, **_kwargs):
        raise RuntimeError("scan broke")

    monkeypatch.setattr(anomalies, "find", broken)
    assert worker.anomaly_tick() == []
    assert "Unusual-activity scan of consultation" in caplog.text
    db.session.rollback()
    assert db.session.get(AnomalyScan, phase.consultation_id).started_at is None  # the next tick may try again
    assert worker.poll_once() is None  # the analysis duty is untouched


@pytest.mark.sqlite_only
def test_a_locked_database_leaves_the_look_for_the_next_tick(app, make, tmp_path, caplog) -> None:
    import sqlite3

    phase = _burst(make)
    blocker = sqlite3.connect(str(tmp_path / "test.sqlite3"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        app.config["SQLITE_BUSY_TIMEOUT"] = 0.1
        worker = Worker(app)
        assert worker.anomaly_tick() == []  # no error
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert "Database busy" in caplog.text
    assert worker.anomaly_tick() == [phase.consultation_id]  # the next tick looks


def test_the_web_processes_workers_sweep_a_consultation_once_per_interval_between_them(app, make,
                                                                                       monkeypatch) -> None:
    # Each web process runs its own worker; a consultation one of them looked at lately is not swept by the
    # next, even with new votes since (the look is seconds of reading at scale).
    phase = _burst(make)
    first, second = Worker(app), Worker(app)
    assert first.anomaly_tick() == [phase.consultation_id]
    contributions.post_idea(db.session, make.user(), phase.topics[0], "Weekend physio",
                                       "Saturday clinics for people who work.")
    db.session.commit()
    looks = []
    real_find = anomalies.find
    monkeypatch.setattr(anomalies, "find", lambda *a, **k: looks.append(1) or real_find(*a, **k))
    assert second.anomaly_tick() == [] and looks == []
    # Once the interval has passed, a sweep looks again.
    db.session.get(AnomalyScan, phase.consultation_id).looked_at = utcnow() - timedelta(seconds=600)
    db.session.commit()
    second.next_sweep = 0.0
    assert second.anomaly_tick() == [phase.consultation_id] and looks == [1]
