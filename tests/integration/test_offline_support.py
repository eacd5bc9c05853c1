"""Offline contributions (workshops, paper, phone) are themed and quoted but left out of vote-based support."""

from __future__ import annotations

import csv
import io

import pytest
from flask import url_for
from openpyxl import load_workbook
from sqlalchemy import select

from consult import analysis_job
from consult.extensions import db
from consult.models import AnalysisRun, Idea, Impression, Vote, VoteEvent, utcnow
from consult.services import contributions
from consult.services.contributions import OnBehalf
from tests.conftest import login
from tests.integration.test_analysis_pages import TEXTS
from tests.support.publicids import vote_form


@pytest.fixture()
def world(make):
    """Online ideas with a few votes, and one workshop idea with far more up-votes than any of them."""
    phase = make.phase()
    authors = [make.user(category=c) for c in ("carer", "public", "service_user", "staff", "student")
               for _ in range(2)]
    online = []
    for n, texts in enumerate(TEXTS.values()):
        for i, text in enumerate(texts):
            idea, _ = contributions.post_idea(db.session, authors[(n + i) % len(authors)], phase.topics[0],
                                              text[:60], text)
            online.append(idea)
    for voter in authors[:4]:
        for idea in online[::2]:
            contributions.record_impressions(db.session, voter.id, idea_ids=[idea.id])
            contributions.vote(db.session, voter, "idea", idea.id, 1)
    facilitator = make.user(role="facilitator", category="staff")
    make.assign(facilitator, phase.consultation, "facilitator")
    workshop, _ = contributions.post_idea(db.session, facilitator, phase.topics[0],
                                          "Waiting lists are far too long for older people",
                                          "At the forum everyone said the waiting list for physio is far too long",
                                          on_behalf=OnBehalf(channel="workshop", category="service_user"))
    # Votes on it from before offline items were closed to voting (or imported): many, all up.
    now = utcnow()
    voters = [make.user() for _ in range(30)]
    for voter in voters + authors:
        db.session.add(Vote(voter_id=voter.id, idea_id=workshop.id, value=1, created_at=now, updated_at=now))
        db.session.add(VoteEvent(voter_id=voter.id, idea_id=workshop.id, value=1, at=now))
        db.session.add(Impression(viewer_id=voter.id, idea_id=workshop.id, first_seen=now))
    workshop.up_count = len(voters) + len(authors)
    workshop.impression_count = len(voters) + len(authors)
    db.session.commit()
    return phase, online, workshop, authors


def _analyse(client, make, phase) -> AnalysisRun:
    """Run an analysis of the consultation as an assigned analyst (who stays logged in)."""
    analyst = make.user(role="analyst", category="staff")
    make.assign(analyst, phase.consultation, "analyst")
    login(client, analyst)
    client.post("/analyse/start", data={"consultation_id": phase.consultation_id, "scope": "all"})
    run = db.session.scalars(select(AnalysisRun)).one()
    db.session.execute(AnalysisRun.__table__.update().values(state="running"))
    db.session.commit()
    assert analysis_job.run(run.id) is True
    db.remove()
    return db.session.get(AnalysisRun, run.id)


def test_offline_idea_with_many_votes_is_left_out_of_support_but_themed_and_marked(client, make, world) -> None:
    phase, online, workshop, _ = world
    run = _analyse(client, make, phase)
    result = run.result
    rows = {r["id"]: r for r in result["contributions"]}
    item = f"i{workshop.id}"
    assert rows[item]["offline"] == "workshop" and rows[item]["support"] is None
    assert rows[item]["support_note"] == "gathered offline: left out of vote-based support"
    assert result["meta"]["counts"]["offline_votes_left_out"] == 40
    # Its 40 up-votes make it rank nowhere: after every online contribution of its theme.
    theme = next(t for t in result["themes"]["themes"] if item in t["contributions"])
    assert theme["contributions"][-1] == item
    voted_online = [r for r in rows.values() if r["voters"] and not r["offline"]]
    assert voted_online and all(r["support"] is not None for r in voted_online)

    page = client.get(f"/analyse/runs/{run.id}/themes/{theme['id']}").get_data(as_text=True)
    assert "Workshop contribution: left out of vote-based support" in page
    exported = list(csv.DictReader(io.StringIO(client.get(f"/analyse/runs/{run.id}/themes.csv")
                                               .get_data(as_text=True))))
    mine = next(r for r in exported if r["contribution"] == item)
    assert mine["gathered"] == "Workshop contribution" and mine["support"] == ""
    assert all(r["gathered"] == "online" for r in exported if r["contribution"] != item)


def test_offline_idea_has_no_support_figure_in_the_workbook(client, make, world) -> None:
    phase, _, workshop, _ = world
    _analyse(client, make, phase)
    response = client.post(f"/workspace/{phase.consultation_id}/export", data={"format": "xlsx"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    ideas = list(book["Ideas"].values)
    header = ideas[0]
    row = next(r for r in ideas[1:] if r[0] == f"i{workshop.id}")
    assert row[header.index("channel")] == "workshop" and row[header.index("support")] is None
    supported = [r for r in ideas[1:] if r[header.index("support")] is not None]
    assert supported and all(r[header.index("channel")] == "online" for r in supported)


def test_participants_see_a_workshop_contribution_with_no_votes_and_it_ranks_last(app, client, make, world) -> None:
    phase, online, workshop, authors = world
    with app.test_request_context():
        links = {idea.id: url_for("public.idea", idea_id=idea.id) for idea in [*online, workshop]}
        topic = url_for("public.topic", topic_id=phase.topics[0].id, order="supported")
    login(client, authors[0])
    page = client.get(links[workshop.id]).get_data(as_text=True)
    assert "Workshop contribution" in page and "no support figure" in page
    # The attribution says how it was gathered in words, as the note under it does.
    assert "(gathered at a workshop)" in page and "Gathered at a workshop and entered by a facilitator" in page
    assert f'data-vote-id="{workshop.id}"' not in page
    listing = client.get(topic).get_data(as_text=True)
    positions = {idea: listing.find(f'href="{link}"') for idea, link in links.items()}
    assert all(p > 0 for p in positions.values())
    assert positions[workshop.id] == max(positions.values())  # 40 up-votes, still last
    refused = client.post("/vote", data=vote_form("idea", workshop, 1), follow_redirects=True)
    assert "not voted on" in refused.get_data(as_text=True)
    assert db.session.get(Idea, workshop.id).up_count == 40
