"""Operator commands: create-user, seed-demo --if-empty, analyse, serve."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests
from sqlalchemy import func, select

from consult import migrate
from consult.extensions import db
from consult.models import AnalysisRun, AuditEvent, Consultation, User
from tests.support.live import BIN, ROOT, free_port, server_env


def test_create_user_grants_a_staff_role_and_refuses_bad_input(app) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Lead@Example.org", "--role", "facilitator",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert (user.email, user.role) == ("lead@example.org", "facilitator")
    created = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "user.create")
    assert db.session.scalar(created) == 1
    again = runner.invoke(args=["create-user", "lead@example.org", "--password", "a long enough password"])
    assert again.exit_code == 1 and "already exists" in again.output
    short = runner.invoke(args=["create-user", "new@example.org", "--password", "short"])
    assert short.exit_code == 1 and "10 characters or more" in short.output


def test_seed_demo_if_empty_loads_once_then_leaves_data_alone(app) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--scale", "0.1"])
    assert first.exit_code == 0, first.output
    assert "Demo logins" in first.output and "admin@demo.consult.test" in first.output
    second = runner.invoke(args=["seed-demo", "--if-empty"])
    assert second.exit_code == 0 and "already has data" in second.output
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 2
    refused = runner.invoke(args=["seed-demo"])
    assert refused.exit_code != 0 and "empty database" in refused.output


def test_analyse_command_stores_a_finished_run(app) -> None:
    runner = app.test_cli_runner()
    # Without the demo's own analysis of phase 1 (seed-demo's feedback), so this run is the only one.
    assert runner.invoke(args=["seed-demo", "--scale", "0.2", "--no-feedback"]).exit_code == 0
    result = runner.invoke(args=["analyse", "ahp-strategy", "--phase", "1"])
    assert result.exit_code == 0, result.output
    run = db.session.scalars(select(AnalysisRun)).one()
    assert run.state == "done" and run.phase_id is not None
    assert f"Analysis {run.id} finished" in result.output and run.result["themes"]["themes"]
    missing = runner.invoke(args=["analyse", "no-such-consultation"])
    assert missing.exit_code != 0 and "No consultation" in missing.output


@pytest.mark.sqlite_only
def test_serve_upgrades_the_database_then_answers_and_stops_on_a_signal(tmp_path) -> None:
    """`make run` is `flask serve`: one process migrates, then its forked gunicorn workers answer."""
    port = free_port()
    database = tmp_path / "serve.sqlite3"
    process = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "serve", "--bind", f"127.0.0.1:{port}",
                                "--workers", "1", "--no-access-log"], cwd=ROOT,
                               env=server_env(database, tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        health = None
        for _ in range(600):
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                break
            except requests.RequestException:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.1)
        assert health is not None and health["status"] == "ok"
        assert health["revision"] == migrate.head_revision(db.engine)
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"Serving consult on http://127.0.0.1:{port}" in output
