"""Running in production: keys from the environment, proxies, JSON logs, /healthz, 503 for every busy database."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from consult.config import ConfigError, load_config
from consult.extensions import db, is_transient
from consult.ops import JsonFormatter
from tests.conftest import make_app
from tests.support.publicids import pid

GOOD = {"CONSULT_ENV": "production", "CONSULT_SECRET_KEY": "s" * 40, "CONSULT_PSEUDONYM_KEY": "p" * 40,
        "CONSULT_PUBLIC_ID_KEY": "i" * 40}


def _env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key in ("CONSULT_ENV", "CONSULT_SECRET_KEY", "CONSULT_PSEUDONYM_KEY", "CONSULT_PUBLIC_ID_KEY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)


@pytest.mark.parametrize(("change", "says"), [
    ({"CONSULT_SECRET_KEY": None}, "CONSULT_SECRET_KEY is not set"),
    ({"CONSULT_PSEUDONYM_KEY": None}, "CONSULT_PSEUDONYM_KEY is not set"),
    ({"CONSULT_SECRET_KEY": "changeme"}, "CONSULT_SECRET_KEY is a development value"),
    ({"CONSULT_PSEUDONYM_KEY": "short-key"}, "CONSULT_PSEUDONYM_KEY is a development value or shorter"),
    ({"CONSULT_PSEUDONYM_KEY": "s" * 40}, "must differ"),
    ({"CONSULT_PUBLIC_ID_KEY": None}, "CONSULT_PUBLIC_ID_KEY is not set"),
    ({"CONSULT_PUBLIC_ID_KEY": "dev"}, "CONSULT_PUBLIC_ID_KEY is a development value"),
    ({"CONSULT_PUBLIC_ID_KEY": "s" * 40}, "CONSULT_PUBLIC_ID_KEY must differ"),
    ({"CONSULT_PUBLIC_ID_KEY": "p" * 40}, "CONSULT_PUBLIC_ID_KEY must differ"),
])
def test_production_refuses_to_start_without_proper_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          change: dict[str, str | None], says: str) -> None:
    values = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    _env(monkeypatch, values)
    # A development key file on the machine is not enough in production.
    (tmp_path / "secret_key").write_text("x" * 64)
    with pytest.raises(ConfigError, match=says):
        load_config(tmp_path)


def test_production_starts_with_keys_from_the_environment_and_secure_cookies(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, GOOD)
    config = load_config(tmp_path)
    assert (config["SECRET_KEY"], config["PSEUDONYM_KEY"], config["PUBLIC_ID_KEY"]) == ("s" * 40, "p" * 40, "i" * 40)
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert not (tmp_path / "secret_key").exists()


def test_development_keeps_its_key_file_so_make_run_needs_no_setup(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, {})
    first, second = load_config(tmp_path), load_config(tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"] == (tmp_path / "secret_key").read_text()
    assert first["SESSION_COOKIE_SECURE"] is False


def _client_address(tmp_path: Path, caplog: pytest.LogCaptureFixture, proxies: int) -> str:
    tmp_path.mkdir()
    app = make_app(tmp_path, PROXIES=proxies, LOG_REQUESTS=True)
    caplog.set_level(logging.INFO, logger="consult.request")
    try:
        with app.app_context():
            client = app.test_client()
            response = client.get("/about", headers={"X-Forwarded-For": "203.0.113.9",
                                                     "X-Forwarded-Proto": "https"})
            assert response.status_code == 200 and response.headers["X-Request-Id"]
    finally:
        db.dispose()
    record = [r for r in caplog.records if r.name == "consult.request" and r.path == "/about"][-1]
    return record.client  # type: ignore[attr-defined]


def test_forwarded_addresses_are_trusted_only_behind_a_configured_proxy(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    assert _client_address(tmp_path / "one", caplog, 1) == "203.0.113.9"
    assert _client_address(tmp_path / "none", caplog, 0) == "127.0.0.1"  # a forged header changes nothing


def test_logs_are_one_json_object_a_line_with_the_request_fields() -> None:
    record = logging.LogRecord("consult.request", logging.INFO, __file__, 1, "GET %s %s", ("/about", 200), None)
    record.request_id, record.status = "abc123", 200
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "info" and entry["message"] == "GET /about 200"
    assert entry["request_id"] == "abc123" and entry["status"] == 200 and entry["time"].endswith("Z")


def test_healthz_reads_and_writes(client) -> None:
    healthy = client.get("/healthz")
    assert healthy.status_code == 200, healthy.get_data(as_text=True)
    assert healthy.get_json()["status"] == "ok" and healthy.get_json()["revision"]


@pytest.mark.sqlite_only
def test_healthz_reads_and_writes_and_answers_503_while_the_database_is_locked(tmp_path: Path) -> None:
    app = make_app(tmp_path, SQLITE_BUSY_TIMEOUT=0.2)
    with app.app_context():
        client = app.test_client()
        healthy = client.get("/healthz")
        assert healthy.status_code == 200, healthy.get_data(as_text=True)
        assert healthy.get_json()["status"] == "ok" and healthy.get_json()["revision"]
        assert healthy.headers["Cache-Control"] == "no-store"
        blocker = sqlite3.connect(str(tmp_path / "test.sqlite3"), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            locked = client.get("/healthz")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert locked.status_code == 503 and locked.get_json() == {"status": "unhealthy", "database": "busy"}
        assert locked.headers["Retry-After"]
        assert client.get("/healthz").status_code == 200
    db.dispose()


def _wrapped(orig: BaseException) -> OperationalError:
    return OperationalError("UPDATE idea SET up_count = 1", {}, orig)


def test_every_lock_serialisation_and_timeout_failure_counts_as_busy() -> None:
    psycopg = pytest.importorskip("psycopg")
    errors = psycopg.errors
    for cls in (errors.SerializationFailure, errors.DeadlockDetected, errors.LockNotAvailable,
                errors.QueryCanceled, errors.TooManyConnections):
        assert is_transient(_wrapped(cls("simulated"))), cls
    assert is_transient(_wrapped(errors.OperationalError("could not obtain lock on row in relation \"idea\"")))
    assert is_transient(_wrapped(sqlite3.OperationalError("database is locked")))
    assert is_transient(PoolTimeout("QueuePool limit of size 5 overflow 5 reached"))
    assert not is_transient(_wrapped(errors.UndefinedTable("relation \"idea\" does not exist")))


def test_a_serialisation_failure_in_a_request_answers_503_never_500(client, make, monkeypatch) -> None:
    psycopg = pytest.importorskip("psycopg")
    from consult.services import queries

    phase = make.phase()

    def conflict(*_args, **_kwargs):
        raise _wrapped(psycopg.errors.SerializationFailure("could not serialize access"))

    monkeypatch.setattr(queries, "topic_ideas", conflict)
    response = client.get(f"/topics/{phase.topics[0].id}")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert "Nothing was saved" in response.get_data(as_text=True)


@pytest.mark.skipif(not os.environ.get("CONSULT_TEST_DATABASE", "").startswith("postgres"),
                    reason="PostgreSQL pass only: a real row lock and lock_timeout")
def test_a_row_lock_past_the_lock_timeout_answers_503_on_postgres_and_saves_nothing(tmp_path: Path, make) -> None:
    from sqlalchemy import func, select, text

    from consult.models import Idea, Vote
    from consult.services import contributions
    from tests.conftest import login

    app = make_app(tmp_path, PG_LOCK_TIMEOUT_MS=300)
    with app.app_context():
        phase = make.phase()
        idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "Locked idea", "Body")
        db.session.commit()
        idea_id = idea.id
        client = app.test_client()
        login(client, make.user())
        db.remove()
        assert db.engine is not None
        with db.engine.connect() as blocker:
            blocker.execute(text("SELECT id FROM idea WHERE id = :id FOR UPDATE"), {"id": idea_id})
            vote = client.post("/vote", data={"kind": "idea", "id": pid("idea", idea_id), "value": 1},
                               headers={"Accept": "application/json"})
            db.remove()
            blocker.rollback()
        assert vote.status_code == 503 and vote.headers["Retry-After"] == "2", vote.get_data(as_text=True)[:300]
        assert db.session.scalar(select(func.count()).select_from(Vote)) == 0
        assert db.session.scalar(select(Idea.up_count).where(Idea.id == idea_id)) == 0
        db.remove()
        again = client.post("/vote", data={"kind": "idea", "id": pid("idea", idea_id), "value": 1},
                            headers={"Accept": "application/json"})
        assert again.status_code == 200
    db.dispose()


def test_init_db_can_load_the_demo_in_the_same_start_up_and_only_once(app) -> None:
    from sqlalchemy import func, select

    from consult.models import Consultation

    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db", "--demo-if-empty"])
    assert first.exit_code == 0, first.output
    assert "Database at revision" in first.output and "Demo loaded" in first.output
    again = runner.invoke(args=["init-db", "--demo-if-empty"])
    assert again.exit_code == 0 and "demo not loaded" in again.output
    db.remove()
    assert db.session.scalar(select(func.count()).select_from(Consultation)) == 2


def test_starting_the_app_leaves_the_analysis_libraries_unloaded() -> None:
    """`make run` and every gunicorn worker import the app; scikit-learn, SciPy and nltk wait for an analysis."""
    import subprocess
    import sys

    heavy = ("sklearn", "scipy", "nltk", "vaderSentiment", "docx", "openpyxl")
    code = f"import sys, wsgi; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=True,
                          capture_output=True, text=True)
    assert done.stdout.strip() == ""
