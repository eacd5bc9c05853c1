"""The codebook: adopt a run's themes, curate them with numbered, recorded, undoable changes, code new ones."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import AuditEvent, CodebookChange, CodebookTheme
from consult.services import codebook as cb
from consult.services import contributions
from consult.services.errors import Conflict, Invalid
from tests.integration.workspace_data import finished_run, seed


def _members(theme: CodebookTheme) -> set[str]:
    return {m.contribution for m in theme.members}


@pytest.fixture()
def adopted(app, make):
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    db.session.commit()
    return {**data, "run": run, "book": book}


def test_adopt_keeps_the_engines_themes_and_members_with_their_own_ids(adopted) -> None:
    book, run = adopted["book"], adopted["run"]
    engine = run.result["themes"]["themes"]
    assert book.version == 1 and len(book.themes) == len(engine)
    for theme, found in zip(book.themes, engine, strict=True):
        assert theme.label == found["label"] and _members(theme) == set(found["contributions"])
        assert theme.origin_theme == found["id"]
        # The engine's figures would go stale with the first merge or move: the summary keeps only the words.
        assert re.match(r"[\d,]+ contributions? \(", found["description"]) and not re.match(r"\d", theme.summary)
        assert theme.summary.startswith("About ") or theme.summary.startswith("Typical")
        # Its typical example is nobody's chosen quote: it stays on the analysis page, out of what is published.
        assert "Typical" in found["description"] and "“" not in theme.summary
    with pytest.raises(Conflict):
        cb.adopt(db.session, actor=adopted["analyst"], consultation=adopted["consultation"], run=run)


def test_every_change_is_numbered_recorded_and_undone_in_order(adopted) -> None:
    book, analyst = adopted["book"], adopted["analyst"]
    a, b, c = book.themes[:3]
    a_members, b_members, c_members = _members(a), _members(b), _members(c)
    cb.rename(db.session, actor=analyst, theme=a, label="Waiting times", summary="People wait too long.")
    cb.merge(db.session, actor=analyst, target=a, other=b)
    assert _members(a) == a_members | b_members and b.state == "merged" and b.merged_into_id == a.id
    chosen = sorted(c_members)[:1]
    new = cb.split(db.session, actor=analyst, theme=c, contributions=chosen, label="Weekend clinics")
    assert _members(new) == set(chosen) and _members(c) == c_members - set(chosen)
    new_id, ids = new.id, (a.id, b.id, c.id)
    moving = sorted(_members(c))[0]
    cb.move(db.session, actor=analyst, contributions=[moving], source=c, target=a, keep=True)
    assert moving in _members(a) and moving in _members(c)
    cb.set_scope(db.session, actor=analyst, theme=new, in_scope=False)
    db.session.commit()
    assert book.version == 6
    assert [ch.version for ch in cb.history(db.session, book)] == [6, 5, 4, 3, 2, 1]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action.like("codebook.%"))) == 6

    for _ in range(5):
        cb.undo(db.session, actor=analyst, codebook=book)
        db.session.commit()
    db.session.expire_all()
    themes = {t.id: t for t in db.session.scalars(select(CodebookTheme))}
    a, b, c = (themes[i] for i in ids)
    assert new_id not in themes
    assert _members(themes[a.id]) == a_members and _members(themes[b.id]) == b_members
    assert _members(themes[c.id]) == c_members and themes[b.id].state == "active"
    assert themes[a.id].label == adopted["run"].result["themes"]["themes"][0]["label"]
    assert book.version == 11
    with pytest.raises(Conflict):
        cb.undo(db.session, actor=analyst, codebook=book)


def test_bad_changes_are_refused_with_a_message(adopted) -> None:
    book, analyst = adopted["book"], adopted["analyst"]
    a, b = book.themes[:2]
    with pytest.raises(Invalid):
        cb.rename(db.session, actor=analyst, theme=a, label="   ", summary="")
    with pytest.raises(Invalid):
        cb.merge(db.session, actor=analyst, target=a, other=a)
    with pytest.raises(Invalid):
        cb.split(db.session, actor=analyst, theme=a, contributions=sorted(_members(a)), label="All of it")
    with pytest.raises(Invalid):
        cb.split(db.session, actor=analyst, theme=a, contributions=["i999999"], label="Nothing")
    # Two themes of one name could not be told apart where the codebook is used (publishing, exports).
    with pytest.raises(Invalid) as renamed:
        cb.rename(db.session, actor=analyst, theme=a, label=b.label.upper(), summary="")
    assert "already called" in renamed.value.field_errors["label"]
    with pytest.raises(Invalid) as split:
        cb.split(db.session, actor=analyst, theme=a, contributions=sorted(_members(a))[:1], label=b.label)
    assert "already called" in split.value.field_errors["new_label"]
    assert book.version == 1
    assert cb.rename(db.session, actor=analyst, theme=a, label=a.label.upper(), summary="")  # its own name


def test_new_contributions_are_proposed_and_accepted_in_bulk(adopted, make) -> None:
    data, book, analyst = adopted, adopted["book"], adopted["analyst"]
    author = data["authors"][0]
    waiting, _ = contributions.post_idea(db.session, author, data["phase"].topics[0], "Waits for physio",
                                         "The waiting list for physio appointments is far too long")
    parking, _ = contributions.post_idea(db.session, author, data["phase"].topics[0], "Parking",
                                         "Hospital car parking charges are unfair")
    db.session.commit()
    rerun = finished_run(data["consultation"].id, analyst)
    found = {p.item: p for p in cb.proposals(db.session, book, rerun)}
    assert set(found) == {f"i{waiting.id}", f"i{parking.id}"}
    assert found[f"i{parking.id}"].verdict == "none"
    target = found[f"i{waiting.id}"].theme or book.themes[0].id
    assert cb.apply_proposals(db.session, actor=analyst, codebook=book,
                              choices={f"i{waiting.id}": str(target), f"i{parking.id}": "none"}) == 2
    db.session.commit()
    assert cb.proposals(db.session, book, rerun) == []
    assert f"i{waiting.id}" in _members(db.session.get(CodebookTheme, target))
    cb.undo(db.session, actor=analyst, codebook=book)
    db.session.commit()
    assert len(cb.proposals(db.session, book, rerun)) == 2


def test_a_second_analyst_codes_a_blind_sample_and_sees_kappa_and_disagreements(adopted, client, make) -> None:
    from consult.models import ConsultationAssignment
    from tests.conftest import login

    book, cid = adopted["book"], adopted["consultation"].id
    second = make.user(role="analyst", category="staff", email="second.coder@example.net")
    db.session.add(ConsultationAssignment(consultation_id=cid, user_id=second.id, role="analyst"))
    db.session.commit()
    login(client, second)
    assert "Start a blind sample" in client.get(f"/workspace/{cid}/blind").get_data(as_text=True)
    for wrong in ("abc", "4", "501"):
        refused = client.post(f"/workspace/{cid}/blind/start", data={"size": wrong})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and "Choose a sample of 5 to 500 contributions" in page
        assert f'value="{wrong}"' in page and "Start a blind sample" in page
    client.post(f"/workspace/{cid}/blind/start", data={"size": "10"})
    themes = {m.contribution: t.id for t in reversed(book.themes) for m in t.members}
    disagreed = None
    for n in range(10):
        page = client.get(f"/workspace/{cid}/blind").get_data(as_text=True)
        assert f"Contribution {n + 1} of 10" in page
        item = page.split('name="contribution" value="')[1].split('"')[0]
        # Agree on all but the first; on the first say "none of these".
        choice = "none" if n == 0 else str(themes[item])
        disagreed = disagreed or item
        client.post(f"/workspace/{cid}/blind/code", data={"contribution": item, "theme": choice})
    page = client.get(f"/workspace/{cid}/blind").get_data(as_text=True)
    assert "Same theme as the codebook</dt><dd class=\"nhsuk-summary-list__value\">9 of 10" in page
    assert "kappa" in page and disagreed + ": the codebook says" in page
    # The codebook's own analyst cannot see the second coder's sample: samples are per coder.
    client.post("/logout")
    login(client, adopted["analyst"])
    assert "Start a blind sample" in client.get(f"/workspace/{cid}/blind").get_data(as_text=True)


def test_adopting_takes_the_answers_the_analysis_set_aside_as_fitting_no_theme(app, make) -> None:
    data = seed(make)
    for n, text in enumerate(("Thanks", "Nothing to add", "Thank you")):
        contributions.post_comment(db.session, data["authors"][n], data["ideas"][n], text)
    db.session.commit()
    run = finished_run(data["consultation"].id, data["analyst"])
    aside = {c for bucket in run.result["themes"]["set_aside"] for c in bucket["contributions"]}
    assert len(aside) >= 2  # what the engine sets aside is its own call; this test is about adopting it
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    db.session.commit()
    # Not new, so not offered as "new contributions to code"; in no theme; and the history says so.
    assert cb.uncoded_count(db.session, book, run) == 0 and cb.proposals(db.session, book, run) == []
    assert not aside & {m.contribution for t in book.themes for m in t.members}
    history = db.session.scalars(select(CodebookChange).where(CodebookChange.codebook_id == book.id)).one()
    assert f"{len(aside)} contributions it set aside as saying nothing specific" in history.description
