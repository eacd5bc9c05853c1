"""Test data for the strategy team's workspace: a consultation with ideas, comments and votes, and a finished run."""

from __future__ import annotations

from datetime import timedelta

from consult import analysis_job
from consult.extensions import db
from consult.models import AnalysisRun, ConsultationAssignment, Phase, User, utcnow
from consult.services import contributions

TEXTS = {
    "waiting": ["Waiting times for physio are far too long", "Six months wait for a hip appointment",
                "The waiting list for speech therapy is too long", "Long waits for podiatry appointments",
                "Shorter waiting lists for therapy please", "I waited months for my first appointment"],
    "digital": ["Video appointments saved me a long drive", "Online booking for physio would help",
                "Phone calls with the dietitian worked well", "Let me book appointments online",
                "Video calls are fine for follow ups", "An app to book and change appointments"],
    "weekend": ["=HYPERLINK(\"http://x\") weekend clinics", "+1 for weekend clinics", "@staff more weekend clinics",
                "-weekend clinics would help working people", "Weekend clinics for people who work",
                "Saturday clinics please"],
}
FORMULAS = ("=HYPERLINK", "+1 for", "@staff", "-weekend")


def seed(make, *, analyst_email: str = "analyst.unique@example.net") -> dict:
    """A consultation (one open phase, one topic), ten distinctive authors, ideas, comments and votes."""
    phase = make.phase()
    authors = [make.user(category=c, email=f"author{n}.{c}@registrant-secret.test")
               for n, c in enumerate(("carer", "public", "service_user", "staff", "student") * 2)]
    ideas = []
    for n, (_, texts) in enumerate(TEXTS.items()):
        for i, text in enumerate(texts):
            idea, _ = contributions.post_idea(db.session, authors[(n + i) % len(authors)], phase.topics[0],
                                              text[:60], text)
            ideas.append(idea)
    comments = []
    for n, idea in enumerate(ideas[:6]):
        comment, _ = contributions.post_comment(db.session, authors[n], idea, f"=SUM(A1) I agree about waits {n}")
        comments.append(comment)
    for voter in authors:
        for idea in ideas[::2]:
            contributions.record_impressions(db.session, voter.id, idea_ids=[idea.id])
            contributions.vote(db.session, voter, "idea", idea.id, 1)
        contributions.vote(db.session, voter, "idea", ideas[1].id, -1)
    analyst = make.user(role="analyst", category="staff", email=analyst_email)
    db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=analyst.id, role="analyst"))
    db.session.commit()
    return {"phase": phase, "consultation": phase.consultation, "authors": authors, "ideas": ideas,
            "comments": comments, "analyst": analyst}


def finished_run(consultation_id: int, analyst: User, k: int | None = 3) -> AnalysisRun:
    """Run the analysis engine now on the whole consultation and return the finished run."""
    run = AnalysisRun(consultation_id=consultation_id, requested_by_id=analyst.id, params={"k": k},
                      state="running", started_at=utcnow(), heartbeat_at=utcnow())
    db.session.add(run)
    db.session.commit()
    assert analysis_job.run(run.id) is True
    db.session.expire_all()
    run = db.session.get(AnalysisRun, run.id)
    assert run is not None and run.state == "done"
    return run


def closed_phase(phase: Phase) -> None:
    """Close a phase (for statements published into a later one)."""
    phase.state = "closed"
    phase.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
