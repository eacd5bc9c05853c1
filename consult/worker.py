"""The background worker: a thread in each web process that starts queued analyses as child processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

from flask import Flask

from .extensions import db, write_intent
from .services.analysis_runs import claim_next

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


def start(app: Flask) -> threading.Thread:
    """Start polling for queued analyses in a daemon thread (one per process; claiming is atomic)."""
    stop = threading.Event()
    app.extensions["consult_worker_stop"] = stop
    thread = threading.Thread(target=_loop, args=(app, stop), name="consult-analysis-worker", daemon=True)
    thread.start()
    return thread


def _loop(app: Flask, stop: threading.Event) -> None:
    """Claim and run queued analyses until stopped."""
    while not stop.wait(POLL_SECONDS):
        try:
            with app.app_context(), write_intent(), db.new_session() as session:
                run_id = claim_next(session)
            if run_id is not None:
                run_child(app, run_id)
        except Exception:  # noqa: BLE001 - the worker must outlive any one failure
            log.exception("Analysis worker error")


def run_child(app: Flask, run_id: int) -> int:
    """Run one analysis in a child process, so its CPU and memory never touch the web process."""
    env = dict(os.environ)
    env.update({
        "CONSULT_DATABASE_URL": app.config["DATABASE_URL"],
        "CONSULT_SECRET_KEY": app.config["SECRET_KEY"],
        "CONSULT_PSEUDONYM_KEY": app.config["PSEUDONYM_KEY"],
        "CONSULT_INSTANCE_PATH": app.instance_path,
    })
    log.info("Starting analysis %s", run_id)
    return subprocess.run([sys.executable, "-m", "consult.analysis_job", str(run_id)], env=env, check=False).returncode
