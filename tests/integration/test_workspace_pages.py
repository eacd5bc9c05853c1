"""Analysts curate the codebook through the pages; only analysts assigned to the consultation get in."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from consult.extensions import db
from consult.models import Codebook, CodebookTheme
from consult.services import codebook as cb
from tests.conftest import login
from tests.integration.workspace_data import finished_run, seed


def _theme_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"/themes/(\d+)\"", page)]


def test_analyst_adopts_renames_merges_splits_moves_and_undoes(client, make) -> None:
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    cid = data["consultation"].id
    login(client, data["analyst"])
    page = client.get(f"/workspace/{cid}/").get_data(as_text=True)
    assert "Adopt these themes" in page
    assert client.post(f"/workspace/{cid}/adopt", data={"run_id": run.id}).status_code == 302
    page = client.get(f"/workspace/{cid}/").get_data(as_text=True)
    assert "Codebook, version 1" in page
    a, b, c = _theme_ids(page)[:3]

    seen = cb.stamp(db.session.get(CodebookTheme, a))  # the hidden field: what the page was drawn from
    bad = client.post(f"/workspace/{cid}/themes/{a}/edit", data={"label": "", "summary": "kept text", "seen": seen})
    assert bad.status_code == 400 and "Enter a name for the theme" in bad.get_data(as_text=True)
    assert "kept text" in bad.get_data(as_text=True)
    client.post(f"/workspace/{cid}/themes/{a}/edit", data={"label": "Waiting times", "summary": "Too long.",
                                                            "seen": seen})
    client.post(f"/workspace/{cid}/themes/{a}/merge", data={"other": b})
    theme_c = db.session.get(CodebookTheme, c)
    members = sorted(m.contribution for m in theme_c.members)
    response = client.post(f"/workspace/{cid}/themes/{c}/split",
                           data={"contributions": members[:1], "new_label": "Weekend clinics"})
    assert response.status_code == 302
    in_a = {m.contribution for m in db.session.get(CodebookTheme, a).members}
    moving = next(m for m in members[1:] if m not in in_a)
    client.post(f"/workspace/{cid}/themes/{c}/move", data={"contributions": [moving], "target": a})
    db.session.expire_all()
    book = db.session.scalar(select(Codebook))
    assert book.version == 5
    assert moving in {m.contribution for m in db.session.get(CodebookTheme, a).members}
    history = client.get(f"/workspace/{cid}/history").get_data(as_text=True)
    assert "Renamed" in history and "to “Waiting times”" in history and "Merged" in history
    assert "Split 1 contribution out of" in history and data["analyst"].email in history
    assert client.post(f"/workspace/{cid}/undo", data={"version": 5}).status_code == 302
    db.session.expire_all()
    assert moving not in {m.contribution for m in db.session.get(CodebookTheme, a).members}
    assert moving in {m.contribution for m in db.session.get(CodebookTheme, c).members}
    assert client.get(f"/workspace/{cid}/themes/{c}").status_code == 200
    assert client.get(f"/workspace/{cid}/proposals").status_code == 200


def test_workspace_is_only_for_analysts_assigned_to_the_consultation(client, make) -> None:
    data = seed(make)
    cid = data["consultation"].id
    login(client, make.user(role="analyst", category="staff", email="other.analyst@example.net"))
    assert client.get(f"/workspace/{cid}/").status_code == 404
    assert client.post(f"/workspace/{cid}/export", data={"format": "csv"}).status_code == 404
    client.post("/logout")
    login(client, make.user())
    assert client.get("/workspace/").status_code == 404
    client.post("/logout")
    assert client.get(f"/workspace/{cid}/").status_code == 302


def test_proposals_page_codes_new_contributions_in_bulk(client, make) -> None:
    from consult.services import codebook as cb
    from consult.services import contributions

    data = seed(make)
    cid = data["consultation"].id
    run = finished_run(cid, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    db.session.commit()
    author = data["authors"][0]
    waiting, _ = contributions.post_idea(db.session, author, data["phase"].topics[0], "Waits for physio",
                                         "The waiting list for physio appointments is far too long")
    parking, _ = contributions.post_idea(db.session, author, data["phase"].topics[0], "Parking",
                                         "Hospital car parking charges are unfair")
    db.session.commit()
    finished_run(cid, data["analyst"])
    login(client, data["analyst"])
    assert "New contributions to code (2)" in client.get(f"/workspace/{cid}/").get_data(as_text=True)
    page = client.get(f"/workspace/{cid}/proposals").get_data(as_text=True)
    assert "None of these" in page and f"choice_i{parking.id}" in page
    target = book.themes[0].id
    bad = client.post(f"/workspace/{cid}/proposals", data={f"choice_i{waiting.id}": "999999"},
                      follow_redirects=True)
    assert "not in the codebook" in bad.get_data(as_text=True)
    done = client.post(f"/workspace/{cid}/proposals",
                       data={f"choice_i{waiting.id}": str(target), f"choice_i{parking.id}": "none"},
                       follow_redirects=True).get_data(as_text=True)
    assert "2 contributions coded" in done and "Every contribution in the newest analysis" in done
    db.session.expire_all()
    assert f"i{waiting.id}" in {m.contribution for m in db.session.get(CodebookTheme, target).members}


def test_a_comment_is_shown_for_coding_with_the_idea_it_answers(client, make) -> None:
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    cid = data["consultation"].id
    login(client, data["analyst"])
    client.post(f"/workspace/{cid}/adopt", data={"run_id": run.id})
    comment = data["comments"][0]
    theme = next(t for t in db.session.scalars(select(CodebookTheme))
                 if f"c{comment.id}" in {m.contribution for m in t.members})
    page = client.get(f"/workspace/{cid}/themes/{theme.id}").get_data(as_text=True)
    assert f"In reply to “{html.escape(comment.idea.title, quote=False)}”" in page


def test_a_large_theme_lists_its_contributions_a_page_at_a_time(client, make, monkeypatch) -> None:
    from consult.views import workspace

    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    cid = data["consultation"].id
    login(client, data["analyst"])
    client.post(f"/workspace/{cid}/adopt", data={"run_id": run.id})
    theme = max(db.session.scalars(select(CodebookTheme)), key=lambda t: len(t.members))
    members = {m.contribution for m in theme.members}
    assert len(members) >= 3
    monkeypatch.setattr(workspace, "MEMBERS_PER_PAGE", 2)
    seen: list[str] = []
    for number in range(1, -(-len(members) // 2) + 1):
        page = client.get(f"/workspace/{cid}/themes/{theme.id}?page={number}").get_data(as_text=True)
        listed = re.findall(r'id="pick-([ic]\d+)"', page)
        assert 1 <= len(listed) <= 2 and f"Page {number} of" in page
        seen += listed
    assert sorted(seen) == sorted(members), "every contribution on exactly one page"
