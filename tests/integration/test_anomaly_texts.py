"""The unusual-activity cards show the start of each flagged contribution (escaped, never who wrote it), mark
hidden ones, link to each and its moderation case, and keep safeguarding text for the safeguarding team."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from consult.extensions import db
from consult.models import AnomalyFlag, Comment, ConsultationAssignment, Idea, ModerationCase, Phase, User, utcnow
from consult.services import anomalies, anomaly_scans, contributions
from tests.conftest import Factory
from tests.integration.test_facilitate import _count_queries, login
from tests.support.publicids import idea_url, pid

HYDRO = "Please keep the hydrotherapy pool open, it matters so much to patients"


def _facilitator(make: Factory, phase: Phase, *roles: str) -> User:
    user = make.user(role="facilitator")
    for role in roles or ("facilitator",):
        db.session.add(ConsultationAssignment(consultation_id=phase.consultation_id, user_id=user.id, role=role))
    db.session.commit()
    return user


def _page(app, user: User, phase: Phase, query: str = "") -> str:
    client = app.test_client()
    login(client, user)
    response = client.get(f"/moderation/{phase.consultation_id}/anomalies{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _duplicates(make: Factory, phase: Phase, n: int = 4) -> tuple[list[Idea], list[User]]:
    authors = [make.user(email=f"author{i}@example.org") for i in range(n)]
    ideas = [contributions.post_idea(db.session, a, phase.topics[0], "Fund the hydrotherapy pool",
                                     HYDRO + "!" * i)[0] for i, a in enumerate(authors)]
    db.session.commit()
    return ideas, authors


def test_near_identical_texts_are_shown_with_links_and_hidden_ones_marked_without_authors(app, make) -> None:
    phase = make.phase()
    ideas, authors = _duplicates(make, phase)
    assert anomalies.scan(db.session, phase.consultation_id) >= 1
    ideas[1].moderation_state = "hidden"
    ideas[2].moderation_state = "withdrawn"
    case = ModerationCase(consultation_id=phase.consultation_id, phase_id=phase.id, idea_id=ideas[1].id,
                          reason="spam", reasons=["spam"], status="closed")
    db.session.add(case)
    db.session.commit()
    page = _page(app, _facilitator(make, phase), phase)
    assert "What was posted" in page and page.count("Fund the hydrotherapy pool") >= 4
    assert HYDRO in page and "Hidden</strong>" in page and "Withdrawn by its author</strong>" in page
    for idea in ideas:
        assert f'href="{idea_url(idea.id)}"' in page
    assert f'href="/moderation/cases/{case.id}"' in page
    for author in authors:
        assert author.email not in page and f"user_id={author.id}" not in page


def test_a_vote_burst_shows_the_idea_voted_on(app, make) -> None:
    phase = make.phase()
    idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "More evening clinics",
                                      "Clinics after work would help carers & families, 5 < 7.")
    for _ in range(12):
        contributions.vote(db.session, make.user(), "idea", idea.id, 1)
    db.session.commit()
    anomaly_scans.look(db.session, phase.consultation_id)  # the background worker's look
    db.session.commit()
    page = _page(app, _facilitator(make, phase), phase)
    assert "What was voted on" in page and "More evening clinics" in page
    assert "Clinics after work would help carers &amp; families, 5 &lt; 7." in page  # escaped
    assert f'href="{idea_url(idea.id)}"' in page


def test_a_post_burst_shows_its_posts_old_flags_too_and_long_texts_are_cut(app, make) -> None:
    phase = make.phase()
    idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "Parking", "First post")
    for n in range(5):
        contributions.post_comment(db.session, make.user(), idea, f"Burst comment {n}")
    db.session.commit()
    assert anomalies.scan(db.session, phase.consultation_id) >= 1
    flag = db.session.scalar(select(AnomalyFlag).where(AnomalyFlag.kind == "post_burst"))
    assert len(flag.detail["items"]) == 6
    page = _page(app, _facilitator(make, phase), phase)
    assert "First post" in page and "Burst comment 3" in page and "And 1 more like these." in page
    comment = db.session.scalar(select(Comment).where(Comment.body == "Burst comment 0"))
    assert f'#comment-{pid("comment", comment.id)}"' in page
    # A flag raised before flags recorded their posts finds them as the scan did.
    flag.detail = {k: v for k, v in flag.detail.items() if k != "items"}
    db.session.commit()
    again = _page(app, _facilitator(make, phase), phase)
    assert "First post" in again and "Burst comment 3" in again and "And 1 more like these." in again


def test_text_held_for_safeguarding_is_shown_only_to_the_safeguarding_team(app, make) -> None:
    phase = make.phase()
    ideas, _ = _duplicates(make, phase)
    assert anomalies.scan(db.session, phase.consultation_id) >= 1
    ideas[0].moderation_state, ideas[0].body = "held", "A safeguarding disclosure that must stay restricted"
    case = ModerationCase(consultation_id=phase.consultation_id, phase_id=phase.id, idea_id=ideas[0].id,
                          reason="safeguarding", reasons=["safeguarding"], restricted=True)
    db.session.add(case)
    db.session.commit()
    page = _page(app, _facilitator(make, phase), phase)
    assert "held for the safeguarding team. Only they can read it." in page
    assert "safeguarding disclosure" not in page and f"/moderation/cases/{case.id}" not in page
    lead = _page(app, _facilitator(make, phase, "facilitator", "safeguarding"), phase)
    assert "safeguarding disclosure" in lead and f"/moderation/cases/{case.id}" in lead


def _manual_flags(phase: Phase, ideas: list[Idea], count: int) -> None:
    now = utcnow()
    for n in range(count):
        db.session.add(AnomalyFlag(consultation_id=phase.consultation_id, phase_id=phase.id, kind="duplicate_text",
                                   signature=f"manual-{n}", first_at=now - timedelta(minutes=n), last_at=now,
                                   detail={"why": "same_text", "events": 2, "accounts": 2, "user_ids": [],
                                           "items": [f"idea:{i.id}" for i in ideas]}))
    db.session.commit()


def test_the_cards_are_paged_and_their_texts_are_read_in_one_query(app, make) -> None:
    phase = make.phase()
    author = make.user()
    ideas = [contributions.post_idea(db.session, author, phase.topics[0], f"Idea {n}", f"Different text {n}")[0]
             for n in range(7)]
    db.session.commit()
    facilitator = _facilitator(make, phase)
    _manual_flags(phase, ideas[:2], 2)
    anomaly_scans.look(db.session, phase.consultation_id)  # the worker's look raises its own flags (none here)
    db.session.commit()
    _page(app, facilitator, phase)
    with _count_queries() as few:
        page = _page(app, facilitator, phase)
    assert page.count("Different text 0") == 2
    assert "2 posts from 2 different accounts," in page and "accounts, from different accounts" not in page
    db.session.execute(AnomalyFlag.__table__.delete())
    db.session.commit()
    _manual_flags(phase, ideas, 12)
    with _count_queries() as many:
        page = _page(app, facilitator, phase)
    assert len(many) == len(few), "\n".join(many)
    assert page.count("Different text 0") == 10 and "And 2 more like these." in page and "Page 1 of 2" in page
    assert _page(app, facilitator, phase, "?page=2").count("Different text 0") == 2


def test_excerpts_are_one_line_cut_at_a_word_with_an_ellipsis() -> None:
    assert anomalies._short("Short  text\nhere") == "Short text here"
    long = "word " * 100
    cut = anomalies._short(long, 40)
    assert cut.endswith("word…") and len(cut) <= 41 and "  " not in cut
    assert anomalies._short("x" * 50, 10) == "x" * 10 + "…"


def test_identical_texts_are_written_out_once_per_run(app, make) -> None:
    phase = make.phase()
    idea, _ = contributions.post_idea(db.session, make.user(), phase.topics[0], "Parking", "More parking please")
    for _ in range(3):
        contributions.post_comment(db.session, make.user(), idea, "Spot on, this would help so many of us here.")
    db.session.commit()
    anomaly_scans.look(db.session, phase.consultation_id)  # the background worker's look
    db.session.commit()
    page = _page(app, _facilitator(make, phase), phase)
    assert page.count(">Spot on, this would help so many of us here.<") == 1
    assert page.count("The same words as the one above.") == 2 and page.count("Open the comment") == 3
