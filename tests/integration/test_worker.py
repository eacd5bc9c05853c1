"""The analysis queue: leases with an owner, a cap on attempts, a clear failure, the worker command, datasets."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from consult.extensions import db
from consult.models import AnalysisRun, utcnow
from consult.services import analysis_runs, contributions
from consult.worker import Worker


class SuicidalWorker(Worker):
    """A worker whose analysis process is killed at once, as the kernel's out-of-memory killer would."""

    def child_command(self, run_id: int) -> list[str]:
        return [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]


def _queued(make) -> AnalysisRun:
    phase = make.phase()
    run = AnalysisRun(consultation_id=phase.consultation.id, state="queued")
    db.session.add(run)
    db.session.commit()
    return run


def test_a_run_killed_for_memory_is_retried_up_to_the_cap_then_fails_with_the_reason(app, make) -> None:
    app.config["WORKER_MAX_ATTEMPTS"] = 2
    run = _queued(make)
    worker = SuicidalWorker(app)
    assert worker.poll_once() == run.id
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert (run.state, run.attempts, run.worker) == ("queued", 1, None)
    assert "killed" in run.message
    assert worker.poll_once() == run.id
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert (run.state, run.attempts) == ("failed", 2)
    assert "started 2 times" in run.error and "memory" in run.error
    assert worker.poll_once() is None  # never again


def test_claims_carry_an_owner_and_a_lease_that_only_the_owner_renews(app, make) -> None:
    run = _queued(make)
    claimed = analysis_runs.claim_next(db.session, owner="host-a:1:x", lease=timedelta(seconds=30))
    assert claimed == run.id
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert (run.state, run.worker, run.attempts) == ("running", "host-a:1:x", 1)
    assert run.lease_expires_at > utcnow() + timedelta(seconds=20)
    assert analysis_runs.claim_next(db.session, owner="host-b:2:y") is None
    assert analysis_runs.renew_lease(db.session, run.id, "host-a:1:x")
    assert not analysis_runs.renew_lease(db.session, run.id, "host-b:2:y")


def test_a_lapsed_lease_is_taken_over_and_the_last_attempt_fails_instead_of_looping(app, make) -> None:
    run = _queued(make)
    past = utcnow() - timedelta(seconds=1)
    analysis_runs.claim_next(db.session, owner="dead:1:x", max_attempts=2)
    db.session.execute(AnalysisRun.__table__.update().values(lease_expires_at=past))
    db.session.commit()
    assert analysis_runs.has_work(db.session)
    assert analysis_runs.claim_next(db.session, owner="alive:2:y", max_attempts=2) == run.id
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert (run.worker, run.attempts) == ("alive:2:y", 2)
    # The first owner's late result is not stored over the new owner's run.
    analysis_runs.finish(db.session, run.id, {"late": True}, owner="dead:1:x")
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert run.state == "running" and run.result is None
    db.session.execute(AnalysisRun.__table__.update().values(lease_expires_at=past))
    db.session.commit()
    assert analysis_runs.claim_next(db.session, owner="alive:2:y", max_attempts=2) is None
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert run.state == "failed" and "its worker stopped" in run.error


@pytest.mark.sqlite_only
def test_idle_workers_poll_with_a_read_and_never_take_the_write_lock(app, make, tmp_path) -> None:
    import sqlite3

    make.phase()
    blocker = sqlite3.connect(str(tmp_path / "test.sqlite3"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        app.config["SQLITE_BUSY_TIMEOUT"] = 0.1
        assert Worker(app).poll_once() is None  # no error, no wait: nothing queued means no lock wanted
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_the_worker_command_runs_a_queued_analysis_to_the_end(app, make, monkeypatch) -> None:
    phase = make.phase()
    for i in range(12):  # twelve people, as one person posting twelve ideas at once meets the rate limit
        contributions.post_idea(db.session, make.user(), phase.topics[0], f"Idea number {i}",
                                f"Shorter waits for physiotherapy appointments, number {i}")
    run = AnalysisRun(consultation_id=phase.consultation.id, state="queued", params={"k": 2})
    db.session.add(run)
    db.session.commit()
    monkeypatch.setenv("CONSULT_DATABASE_URL", app.config["DATABASE_URL"])
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "Analysis worker" in result.output
    db.session.rollback()  # a new snapshot: the worker wrote from its own connection
    db.session.refresh(run)
    assert (run.state, run.attempts, run.worker) == ("done", 1, None), run.error
    assert run.result["themes"]


def test_datasets_hold_only_their_own_consultations_votes_and_impressions(app, make) -> None:
    from consult.models import Consultation

    here, elsewhere = make.phase(), make.phase()
    voter = make.user()
    ideas = {}
    for phase in (here, elsewhere):
        idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "An idea", "A body")
        db.session.commit()
        contributions.vote(db.session, voter, "idea", idea.id, 1)
        contributions.record_impressions(db.session, voter.id, idea_ids=[idea.id])
        db.session.commit()
        ideas[phase.id] = idea.id
    consultation = db.session.scalar(select(Consultation).where(Consultation.id == here.consultation_id))
    dataset = analysis_runs.build_dataset(db.session, consultation, None, "key")
    assert [v.item for v in dataset.votes] == [f"i{ideas[here.id]}"]
    assert [i.item for i in dataset.impressions] == [f"i{ideas[here.id]}"]


class SlowWorker(Worker):
    """A worker whose analysis takes a while (a child that sleeps, then fails)."""

    def child_command(self, run_id: int) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(1.5); raise SystemExit(3)"]


def test_a_worker_busy_with_a_long_analysis_still_says_it_is_alive(app, make) -> None:
    # Pages say "no background worker is running" when no heartbeat is recent; a long analysis is no reason.
    from consult.models import WorkerBeat

    app.config["WORKER_LEASE_SECONDS"] = 2  # the lease is renewed every half second
    run = _queued(make)
    worker = SlowWorker(app)
    worker.next_beat = float("inf")  # as if it had just beaten before the run started
    beats: list[float] = []
    original = worker.heartbeat

    def counted() -> None:
        beats.append(1)
        worker.next_beat = 0.0
        original()

    worker.heartbeat = counted  # type: ignore[method-assign]
    assert worker.poll_once() == run.id
    db.session.rollback()
    assert beats and db.session.scalar(select(WorkerBeat.owner).where(WorkerBeat.owner == worker.owner[:120]))
