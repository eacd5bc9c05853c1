"""Analysts start an analysis, see its progress, and read themes, support and groups; nobody else can."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from consult import analysis_job
from consult.extensions import db
from consult.models import AnalysisRun, AuditEvent, Consultation
from consult.services import contributions
from tests.conftest import login

TEXTS = {
    "waiting": ["Waiting times for physio are far too long", "Six months wait for a hip appointment",
                "The waiting list for speech therapy is too long", "Long waits for podiatry appointments",
                "Shorter waiting lists for therapy please", "I waited months for my first appointment"],
    "digital": ["Video appointments saved me a long drive", "Online booking for physio would help",
                "Phone calls with the dietitian worked well", "Let me book appointments online",
                "Video calls are fine for follow ups", "An app to book and change appointments"],
    "=formula": ["=HYPERLINK(\"http://x\") good idea", "+1 for weekend clinics", "@staff more weekend clinics",
                 "-weekend clinics would help working people", "Weekend clinics for people who work",
                 "Saturday clinics please"],
}


def _consultation_with_ideas(make) -> tuple[Consultation, list]:
    phase = make.phase()
    authors = [make.user(category=c) for c in ("carer", "public", "service_user", "staff", "student")
               for _ in range(2)]
    ideas = []
    for n, (_, texts) in enumerate(TEXTS.items()):
        for i, text in enumerate(texts):
            idea, _ = contributions.post_idea(db.session, authors[(n + i) % len(authors)], phase.topics[0],
                                              text[:60], text)
            ideas.append(idea)
    for voter in authors:
        for idea in ideas[::2]:
            contributions.record_impressions(db.session, voter.id, idea_ids=[idea.id])
            contributions.vote(db.session, voter, "idea", idea.id, 1)
    db.session.commit()
    return phase.consultation, authors


def _assigned_analyst(client, make, consultation: Consultation):
    """Log in an analyst assigned to analyse this consultation."""
    analyst = make.user(role="analyst", category="staff")
    make.assign(analyst, consultation, "analyst")
    login(client, analyst)
    return analyst


def _start(client, consultation_id: int, **fields):
    return client.post("/analyse/start", data={"consultation_id": consultation_id, "scope": "all", **fields})


def test_only_analysts_and_admins_reach_the_analysis_pages(client, make) -> None:
    login(client, make.user())
    assert client.get("/analyse/").status_code == 404
    assert client.post("/analyse/start", data={"consultation_id": 1}).status_code == 404
    client.post("/logout")
    assert client.get("/analyse/").status_code == 302  # to the log-in page


def test_analyst_runs_an_analysis_and_reads_the_results(client, make) -> None:
    consultation, authors = _consultation_with_ideas(make)
    analyst = make.user(role="analyst", category="staff")
    make.assign(analyst, consultation, "analyst")
    emails = [person.email for person in authors + [analyst]]
    login(client, analyst)
    response = _start(client, consultation.id)
    assert response.status_code == 302
    run = db.session.scalars(select(AnalysisRun)).one()
    assert run.state == "queued"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "analysis.request")) == 1
    waiting = client.get(f"/analyse/runs/{run.id}").get_data(as_text=True)
    assert "Waiting to start" in waiting and 'data-refresh-seconds="2"' in waiting

    again = client.post("/analyse/start", data={"consultation_id": consultation.id, "scope": "all"})
    assert again.headers["Location"].endswith(f"/analyse/runs/{run.id}"), "a second start shows the first's progress"
    assert "already waiting or running" in client.get(again.headers["Location"]).get_data(as_text=True)
    huge = client.post("/analyse/start", data={"consultation_id": consultation.id, "scope": "all",
                                                "k": "9" * 24}, follow_redirects=True)
    assert "whole number from 2 to 40" in huge.get_data(as_text=True)

    db.session.execute(AnalysisRun.__table__.update().values(state="running"))
    db.session.commit()
    assert analysis_job.run(run.id) is True
    db.remove()
    page = client.get(f"/analyse/runs/{run.id}").get_data(as_text=True)
    assert "Themes, largest first" in page and "Saturation" in page
    # The method is told in words an analyst can read, its id kept for reproducing the run.
    assert "grouped by spectral clustering of each one&#39;s nearest neighbours" in page
    assert "(minilm-static-words+tfidf-lsa20 | knn-spectral consensus k-means)" in page
    assert client.get(f"/analyse/runs/{run.id}/themes/0").status_code == 200
    # A theme with no sub-themes (most of these few-text themes) says so rather than leaving the heading out.
    themes = db.session.get(AnalysisRun, run.id).result["themes"]["themes"]
    undivided = [theme["id"] for theme in themes if not theme["sub_themes"]]
    assert undivided
    theme_page = client.get(f"/analyse/runs/{run.id}/themes/{undivided[0]}").get_data(as_text=True)
    assert "None: no part of this theme shares words of its own" in theme_page
    assert client.get(f"/analyse/runs/{run.id}/groups").status_code == 200
    assert client.get(f"/analyse/runs/{run.id}/themes/999").status_code == 404

    exported = client.get(f"/analyse/runs/{run.id}/themes.csv").get_data(as_text=True)
    everything = client.get(f"/analyse/runs/{run.id}/results.json").get_data(as_text=True)
    for email in emails:
        assert email not in exported and email not in everything
    table = list(csv.DictReader(io.StringIO(exported)))
    # Where the pages say "no votes yet", the export gives no figure (the prior's would rank it above voted ones).
    unvoted = [r for r in table if int(r["up"] or 0) + int(r["down"] or 0) == 0]
    assert unvoted and all(r["support"] == r["support_low_80"] == r["support_high_80"] == "" for r in unvoted)
    texts = [row["text"] for row in table]
    assert any(t.startswith("'=HYPERLINK") for t in texts)
    assert not any(t.startswith(("=", "+", "-", "@")) for t in texts)


def test_a_failed_analysis_says_why_and_unknown_runs_are_404(client, make) -> None:
    phase = make.phase()
    _assigned_analyst(client, make, phase.consultation)
    _start(client, phase.consultation.id)
    run = db.session.scalars(select(AnalysisRun)).one()
    assert analysis_job.run(run.id) is False
    db.remove()
    page = client.get(f"/analyse/runs/{run.id}").get_data(as_text=True)
    assert "The analysis did not finish" in page and "no published contributions" in page
    assert client.get("/analyse/runs/999").status_code == 404
    assert client.get(f"/analyse/runs/{run.id}/groups").status_code == 404


def test_number_of_themes_is_checked(client, make) -> None:
    phase = make.phase()
    _assigned_analyst(client, make, phase.consultation)
    too_many = client.post("/analyse/start", data={"consultation_id": phase.consultation.id, "scope": "all",
                                                   "k": "99"}, follow_redirects=True).get_data(as_text=True)
    assert "between 2 and 40" in too_many
    followed = client.post("/analyse/start", data={"consultation_id": phase.consultation.id, "scope": "all",
                                                   "k": "x"}, follow_redirects=True).get_data(as_text=True)
    assert "whole number" in followed
    assert db.session.scalar(select(func.count()).select_from(AnalysisRun)) == 0


def test_a_run_whose_worker_died_is_queued_again_and_claimed_once(app, make) -> None:
    from datetime import timedelta

    from consult.models import utcnow
    from consult.services.analysis_runs import STALE_AFTER, claim_next

    phase = make.phase()
    run = AnalysisRun(consultation_id=phase.consultation.id, state="running", progress=0.4,
                      heartbeat_at=utcnow() - STALE_AFTER - timedelta(seconds=1))
    fresh = AnalysisRun(consultation_id=phase.consultation.id, state="running", progress=0.2, heartbeat_at=utcnow())
    db.session.add_all([run, fresh])
    db.session.commit()
    assert claim_next(db.session) == run.id
    assert claim_next(db.session) is None  # the live one is left alone, the claimed one is not claimed twice
    db.session.refresh(run)
    db.session.refresh(fresh)
    assert (run.state, fresh.state) == ("running", "running")


def test_theme_page_filters_by_group_and_phase_and_ignores_bad_filters(client, make) -> None:
    consultation, _ = _consultation_with_ideas(make)
    _assigned_analyst(client, make, consultation)
    _start(client, consultation.id, k="3")
    run = db.session.scalars(select(AnalysisRun)).one()
    db.session.execute(AnalysisRun.__table__.update().values(state="running"))
    db.session.commit()
    assert analysis_job.run(run.id) is True
    db.remove()
    result = db.session.get(AnalysisRun, run.id).result
    theme = max(result["themes"]["themes"], key=lambda t: t["size"])
    base = f"/analyse/runs/{run.id}/themes/{theme['id']}"
    page = client.get(base).get_data(as_text=True)
    assert theme["description"].split(",")[0] in page and "Where people agree and divide" in page
    phase = result["contributions"][0]["phase"]
    assert f"{theme['size']} contribution" in page
    # An unknown phase or group is ignored (never a 500), and a known phase narrows nothing here (one phase).
    for query in ("?phase=nonsense", "?group=nonsense", f"?phase={phase}", "?page=999"):
        response = client.get(base + query)
        assert response.status_code == 200


def test_a_queued_analysis_says_when_no_worker_is_running_to_start_it(client, make) -> None:
    from consult.models import WorkerBeat, utcnow

    consultation, _ = _consultation_with_ideas(make)
    _assigned_analyst(client, make, consultation)
    _start(client, consultation.id)
    run = db.session.scalars(select(AnalysisRun)).one()
    page = client.get(f"/analyse/runs/{run.id}").get_data(as_text=True)
    assert "Waiting to start" in page and "No background worker has been seen" in page
    db.session.add(WorkerBeat(owner="a-worker", seen_at=utcnow()))
    db.session.commit()
    page = client.get(f"/analyse/runs/{run.id}").get_data(as_text=True)
    assert "Waiting to start" in page and "No background worker" not in page
