"""Two gunicorn servers on different ports (standing in for two machines), one PostgreSQL, one worker.

A participant logged in on one server is logged in on the other, a form from one is accepted by the
other, an analysis asked for on one is run by the separate worker and reads the same on both, and every
process derives the same pseudonyms: the keys come from the environment, not from each machine's files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from consult import migrate, publicids
from consult.extensions import make_engine
from consult.models import (
    AnalysisRun,
    Consultation,
    ConsultationAssignment,
    Idea,
    ParticipantProfile,
    Phase,
    Topic,
    User,
    utcnow,
)
from consult.services import contributions
from consult.services.accounts import hash_password
from consult.services.analysis_runs import pseudonym
from tests.support.live import BIN, ROOT, csrf_token, live_server, logged_in_session, server_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live"), pytest.mark.own_databases]
PASSWORD = "scale out password"
KEYS = {"CONSULT_SECRET_KEY": "a" * 24 + "shared-secret-key-for-all", "CONSULT_PSEUDONYM_KEY": "b" * 24 + "shared-pk",
        "CONSULT_PUBLIC_ID_KEY": "c" * 24 + "shared-public-id-key"}
PRODUCTION = {"CONSULT_ENV": "production", "CONSULT_ANALYSIS_WORKER": "false", "CONSULT_SESSION_COOKIE_SECURE": "false",
              "CONSULT_LOG_FORMAT": "json", **KEYS}
TEXTS = ["Shorter waits for physiotherapy", "Waiting lists for physio are too long", "Book appointments online",
         "Online booking would help", "Video appointments save travel", "Weekend clinics for working people",
         "Saturday clinics please", "More speech therapists in schools", "Long waits for speech therapy",
         "Phone follow ups are fine", "An app to change appointments", "Evening clinics would help"]


def _seed(url: str) -> tuple[int, list[int], int]:
    """An open consultation with ideas and votes; returns (consultation id, participant ids, topic id)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    password = hash_password(PASSWORD)
    with Session(engine, expire_on_commit=False) as session:
        people = []
        for i in range(6):
            user = User(email=f"person{i}@example.org", password_hash=password, email_confirmed_at=utcnow())
            user.profile = ParticipantProfile(category=("public", "carer", "service_user")[i % 3])
            people.append(user)
        analyst = User(email="analyst@example.org", password_hash=password, role="analyst",
                       email_confirmed_at=utcnow())
        analyst.profile = ParticipantProfile(category="staff")
        consultation = Consultation(slug="scale", title="Scale", is_published=True)
        phase = Phase(consultation=consultation, position=1, title="Open", question="Q?", state="open",
                      opens_at=utcnow())
        topic = Topic(phase=phase, position=1, title="Waiting")
        session.add_all([*people, analyst, consultation, phase, topic])
        session.flush()
        session.add(ConsultationAssignment(consultation_id=consultation.id, user_id=analyst.id, role="analyst"))
        session.commit()
        for n, body in enumerate(TEXTS):
            contributions.post_idea(session, people[n % len(people)], topic, body, body + ", please.")
        session.commit()
        for idea_id in session.scalars(select(Idea.id)).all()[::2]:
            for person in people[:3]:
                contributions.vote(session, person, "idea", idea_id, 1)
        session.commit()
        result = consultation.id, [p.id for p in people], topic.id
    engine.dispose()
    return result


def _pseudonym_in(env: dict[str, str], consultation_id: int, user_id: int) -> str:
    """The pseudonym a process started with this environment derives (as the worker does)."""
    code = ("from consult import create_app; from consult.services.analysis_runs import pseudonym; "
            f"app = create_app(); print(pseudonym(app.config['PSEUDONYM_KEY'], {consultation_id}, {user_id}))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_two_servers_share_sessions_pseudonyms_and_one_worker(tmp_path: Path) -> None:
    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster() as url:
        consultation_id, people, topic_id = _seed(url)
        machines = {name: tmp_path / name for name in ("a", "b", "worker")}
        for folder in machines.values():
            folder.mkdir()
        worker_env = server_env(machines["worker"] / "x", machines["worker"], url)
        worker_env.update(PRODUCTION)
        worker_env["CONSULT_WORKER_POLL_SECONDS"] = "0.5"
        worker_log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
        worker = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "worker"], cwd=ROOT, env=worker_env,
                                  stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            with live_server(machines["a"] / "x", url=url, extra_env=PRODUCTION) as a, \
                    live_server(machines["b"] / "x", url=url, extra_env=PRODUCTION) as b:
                # A participant logged in on A is logged in on B, and B accepts A's form token.
                person = logged_in_session(a.url, "person0@example.org", PASSWORD)
                mine = person.get(b.url + "/me/contributions", allow_redirects=False, timeout=10)
                assert mine.status_code == 200, mine.headers.get("Location")
                token = csrf_token(person, a.url + f"/topics/{topic_id}")
                assert 'href="/ideas/' in mine.text
                idea_pid = mine.text.split('href="/ideas/')[1].split('"')[0]
                # Both servers name the idea by the same public id, from the shared key only.
                assert publicids.decode("idea", idea_pid, key=KEYS["CONSULT_PUBLIC_ID_KEY"]) is not None
                for server in (a, b):
                    shown = requests.get(server.url + f"/api/v1/ideas/{idea_pid}", timeout=10)
                    assert shown.status_code == 200 and shown.json()["id"] == idea_pid
                voted = person.post(b.url + "/vote", headers={"Accept": "application/json"}, timeout=10,
                                    data={"kind": "idea", "id": idea_pid, "value": -1, "csrf_token": token})
                assert voted.status_code == 200, voted.text[:300]

                # The analyst asks on B; the one worker runs it; both servers show the same result.
                analyst = logged_in_session(b.url, "analyst@example.org", PASSWORD)
                token = csrf_token(analyst, b.url + "/analyse/")
                started = analyst.post(a.url + "/analyse/start", allow_redirects=False, timeout=10,
                                       data={"consultation_id": consultation_id, "scope": "all", "k": "2",
                                             "csrf_token": token})
                assert started.status_code == 302, started.text[:300]
                run_id = int(started.headers["Location"].rstrip("/").rsplit("/", 1)[1])
                engine = make_engine(url)
                deadline = time.monotonic() + 120
                while True:
                    with Session(engine) as session:
                        run = session.get(AnalysisRun, run_id)
                        assert run is not None
                        if run.state in ("done", "failed"):
                            break
                    assert time.monotonic() < deadline, "the worker did not finish the analysis"
                    time.sleep(0.5)
                engine.dispose()
                assert run.state == "done", run.error
                assert run.worker is None and run.attempts == 1
                results = [analyst.get(s.url + f"/analyse/runs/{run_id}/results.json", timeout=30) for s in (a, b)]
                assert all(r.status_code == 200 for r in results)
                assert results[0].json() == results[1].json() and results[0].json()["themes"]

            # Every machine's process derives the same pseudonyms, from the shared key only.
            envs = []
            for name in ("a", "b"):
                env = server_env(machines[name] / "x", machines[name], url)
                env.update(PRODUCTION)
                envs.append(env)
            expected = pseudonym(KEYS["CONSULT_PSEUDONYM_KEY"], consultation_id, people[0])
            assert {_pseudonym_in(env, consultation_id, people[0]) for env in [*envs, worker_env]} == {expected}
            assert not any((folder / "secret_key").exists() for folder in machines.values())
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
            worker_log.close()
        assert b"Analysis worker stopped" in (tmp_path / "worker.log").read_bytes()
