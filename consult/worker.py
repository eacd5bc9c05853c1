"""The analysis worker: claims queued runs under a lease and runs each in a child process.

Two ways to run it, the same code:
- embedded (the laptop default, ANALYSIS_WORKER=true): a daemon thread in each web process. It polls with a
  cheap read, so on SQLite the web processes take the write lock only when a run is actually waiting;
- `flask --app wsgi worker` (production): one or more processes on any machine that reaches the database,
  with the web servers started with CONSULT_ANALYSIS_WORKER=false.

Each claim is a lease (owner, expiry, attempt count) renewed by a heartbeat while the child runs. A worker
that dies leaves its lease to lapse and the run is queued again; a run interrupted on every one of its
WORKER_MAX_ATTEMPTS attempts (for example killed for memory) fails with that reason instead of looping.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from datetime import timedelta

from flask import Flask

from .extensions import db, write_intent
from .services import analysis_runs

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
            if not busy:
                self.stop.wait(poll)

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

