"""The analysis worker: claims queued runs under a lease and runs each in a child process.

Two ways to run it, the same code:
- embedded (the laptop default, ANALYSIS_WORKER=true): a daemon thread in each web process. It polls with a
  cheap read, so on SQLite the web processes take the write lock only when a run is actually waiting;
- `flask --app wsgi worker` (production): one or more processes on any machine that reaches the database,
  with the web servers started with CONSULT_ANALYSIS_WORKER=false.

Each claim is a lease (owner, expiry, attempt count) renewed by a heartbeat while the child runs. A worker
that dies leaves its lease to lapse and the run is queued again; a run interrupted on every one of its
WORKER_MAX_ATTEMPTS attempts (for example killed for memory) fails with that reason instead of looping.

Between analyses the same loop looks for unusual activity (services/anomaly_scans.py): in every active consultation
each ANOMALY_SCAN_SECONDS, and within a poll of a facilitator asking. It writes a heartbeat each minute, so pages
can say when no worker is running. A failed or locked look is logged and left for the next tick; it never stops
the analyses.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

from flask import Flask
from sqlalchemy.exc import OperationalError

from .extensions import db, is_transient, write_intent
from .models import utcnow
from .services import analysis_runs, anomalies, anomaly_scans

log = logging.getLogger(__name__)


def new_owner() -> str:
    """A lease owner name unique to this worker: host, process and a random part."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    """Claims and runs analyses for one app until stopped."""

    def __init__(self, app: Flask, owner: str | None = None) -> None:
        self.app = app
        self.owner = owner or new_owner()
        self.stop = threading.Event()
        self.lease = timedelta(seconds=app.config["WORKER_LEASE_SECONDS"])
        self.max_attempts = int(app.config["WORKER_MAX_ATTEMPTS"])
        self.child: subprocess.Popen[bytes] | None = None
        self.scan_every = float(app.config.get("ANOMALY_SCAN_SECONDS", 300.0))
        self.next_sweep = 0.0  # monotonic time of the next periodic look (the first tick looks)
        self.next_beat = 0.0
        self.retry: set[int] = set()  # consultations whose look met a busy database: tried again next tick

    def poll_once(self) -> int | None:
        """Claim and run one run if there is one; its id, or None when nothing was waiting."""
        # Sessions come straight from the factory: no app context, so a caller's request session is untouched.
        with db.new_session() as session:
            if not analysis_runs.has_work(session):
                return None  # the common case: a read, no write lock
        with write_intent(), db.new_session() as session:
            run_id = analysis_runs.claim_next(session, owner=self.owner, lease=self.lease,
                                              max_attempts=self.max_attempts)
        if run_id is not None:
            self.run_child(run_id)
        return run_id

    def loop(self) -> None:
        """Poll every WORKER_POLL_SECONDS until stopped, outliving any one failure."""
        poll = float(self.app.config["WORKER_POLL_SECONDS"])
        while not self.stop.is_set():
            try:
                busy = self.poll_once() is not None
            except Exception:  # noqa: BLE001 - the worker must outlive any one failure
                log.exception("Analysis worker error")
                busy = False
            try:
                self.anomaly_tick()
            except Exception:  # noqa: BLE001 - looking for unusual activity must never stop the analyses
                log.exception("Unusual-activity scan error")
            if not busy:
                self.stop.wait(poll)

    def heartbeat(self) -> None:
        """Record that this worker is alive, when a beat is due (pages tell "waiting" from "no worker running")."""
        clock = time.monotonic()
        if clock < self.next_beat:
            return
        try:
            with write_intent(), db.new_session() as session:
                anomaly_scans.beat(session, self.owner)
                session.commit()
            self.next_beat = clock + anomaly_scans.BEAT_EVERY.total_seconds()
        except OperationalError as exc:
            if not is_transient(exc):
                raise
            log.warning("Database busy: the worker's heartbeat is left for the next poll")

    def anomaly_tick(self) -> list[int]:
        """Write the heartbeat when due; look in consultations asked for, and every active one when a sweep is due.

        Returns the consultations looked at (an unchanged one is skipped with one read; a locked one is left for
        the next tick).
        """
        self.heartbeat()
        clock = time.monotonic()
        sweep = self.scan_every > 0 and clock >= self.next_sweep
        with db.new_session() as session:
            asked = anomaly_scans.requested(session)
            # Not what another process's worker looked at within (a little under) the interval.
            periodic = anomaly_scans.due(session, every=timedelta(seconds=0.9 * self.scan_every)) if sweep else []
            wanted = list(dict.fromkeys(asked + sorted(self.retry) + periodic))
        if sweep:
            self.next_sweep = clock + self.scan_every
        looked, skipped = [], []
        for consultation_id in wanted:
            if self.stop.is_set():
                break
            try:
                outcome = self.look(consultation_id)
            except OperationalError as exc:
                if not is_transient(exc):
                    raise
                log.warning("Database busy: unusual activity in consultation %s left for the next tick",
                            consultation_id)
                self.retry.add(consultation_id)
                continue
            except Exception:  # noqa: BLE001 - one consultation's failure must not stop the others
                log.exception("Unusual-activity scan of consultation %s failed", consultation_id)
                self.retry.discard(consultation_id)  # a fault, not a busy database: wait for the next sweep
                continue
            self.retry.discard(consultation_id)
            if outcome == "looked":
                looked.append(consultation_id)
            elif outcome == "unchanged":
                skipped.append(consultation_id)
        if skipped:
            with write_intent(), db.new_session() as session:
                anomaly_scans.touch(session, skipped)
                session.commit()
        return looked

    def look(self, consultation_id: int) -> str:
        """Look in one consultation: "unchanged" (nothing new since the last look), "busy" (another worker is
        looking) or "looked". The looking is a read; the write lock is taken only to claim and to record."""
        with db.new_session() as session:
            current = anomaly_scans.marker(session, consultation_id)
            if anomaly_scans.unchanged(session, consultation_id, current):
                return "unchanged"
        started = utcnow()
        with write_intent(), db.new_session() as session:
            if not anomaly_scans.claim(session, consultation_id, now=started):
                return "busy"
            session.commit()
        try:
            with db.new_session() as session:
                found = anomalies.find(session, consultation_id)
            with write_intent(), db.new_session() as session:
                raised = anomaly_scans.finish(session, consultation_id, found, started=started, current=current)
                session.commit()
        except BaseException:
            with write_intent(), db.new_session() as session:
                anomaly_scans.release(session, consultation_id)
                session.commit()
            raise
        log.info("Looked for unusual activity in consultation %s: %s new flags", consultation_id, raised,
                 extra={"consultation_id": consultation_id})
        return "looked"

    def run_child(self, run_id: int) -> int:
        """Run one analysis in a child process, renewing the lease while it runs; the child's exit code."""
        app = self.app
        env = dict(os.environ)
        env.update({
            "CONSULT_DATABASE_URL": app.config["DATABASE_URL"],
            "CONSULT_SECRET_KEY": app.config["SECRET_KEY"],
            "CONSULT_PSEUDONYM_KEY": app.config["PSEUDONYM_KEY"],
            "CONSULT_PUBLIC_ID_KEY": app.config["PUBLIC_ID_KEY"],
            "CONSULT_INSTANCE_PATH": app.instance_path,
            "CONSULT_ENV": app.config["ENV"],
        })
        log.info("Starting analysis %s", run_id, extra={"run_id": run_id, "worker": self.owner})
        memory_mb = int(app.config["WORKER_MEMORY_MB"])
        self.child = subprocess.Popen(
            self.child_command(run_id), env=env,
            preexec_fn=(lambda: _limit_memory(memory_mb)) if memory_mb else None)  # noqa: PLW1509
        renew_every = max(0.5, self.lease.total_seconds() / 4)
        while True:
            try:
                code = self.child.wait(timeout=renew_every)
                break
            except subprocess.TimeoutExpired:
                with write_intent(), db.new_session() as session:
                    if not analysis_runs.renew_lease(session, run_id, self.owner, self.lease):
                        log.warning("Lost the lease on analysis %s; stopping it", run_id)
                        self.child.kill()
                self.heartbeat()  # a long analysis is no reason for pages to say no worker is running
        self.child = None
        if code != 0:
            self._after_failure(run_id, code)
        return code

    def child_command(self, run_id: int) -> list[str]:
        """The command line of the child process that runs one analysis."""
        return [sys.executable, "-m", "consult.analysis_job", str(run_id), self.owner]

    def _after_failure(self, run_id: int, code: int) -> None:
        """A child that ended without recording its result: retry (up to the cap) or fail, with the reason."""
        if self.stop.is_set() and code == -signal.SIGTERM:
            reason, refund = "the worker was shut down", True
        elif code < 0 and -code == signal.SIGKILL:
            reason, refund = "its process was killed (usually for using too much memory)", False
        elif code < 0:
            reason, refund = f"its process was stopped by signal {-code}", False
        else:
            reason, refund = f"its process ended with code {code}", False
        with write_intent(), db.new_session() as session:
            state = analysis_runs.interrupted(session, run_id, self.owner, reason, retry=True,
                                              max_attempts=self.max_attempts, refund=refund)
        if state:
            log.warning("Analysis %s: %s; now %s", run_id, reason, state, extra={"run_id": run_id})

    def terminate(self) -> None:
        """Stop claiming; stop a running child (its run is queued again without waiting for the lease)."""
        self.stop.set()
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()


def _limit_memory(megabytes: int) -> None:
    """In the child before exec: cap its address space, so a huge analysis fails there, not the machine."""
    import resource

    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def start(app: Flask) -> threading.Thread:
    """Start the embedded worker in a daemon thread of this web process."""
    worker = Worker(app)
    app.extensions["consult_worker_stop"] = worker.stop
    thread = threading.Thread(target=worker.loop, name="consult-analysis-worker", daemon=True)
    thread.start()
    return thread

