"""Analysts choose each theme's quotes for the strategy: the evidence pack uses them, What we heard shows only them."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from markupsafe import escape
from sqlalchemy import select

from consult.extensions import db
from consult.models import CodebookMember, CodebookTheme, ConsultationAssignment, Idea
from consult.services import codebook as cb
from consult.services import codebook_quotes, contributions
from tests.conftest import login
from tests.integration.workspace_data import closed_phase, finished_run, seed

NAMES_SOMEONE = "My neighbour Zoë Quartermaine had exactly this problem with her physio last year."


@pytest.fixture()
def quoting(app, make, client):
    """A codebook whose largest theme has a well-supported reply naming a third party, and a logged-in analyst."""
    data = seed(make)
    run = finished_run(data["consultation"].id, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    theme = max((t for t in book.themes), key=lambda t: len(t.members))
    other = next(t for t in book.themes if t.id != theme.id)
    naming, _ = contributions.post_comment(db.session, data["authors"][7], data["ideas"][4], NAMES_SOMEONE)
    db.session.flush()
    naming.up_count = 90  # the best supported in its theme: an automatic pick would quote it
    other.members.append(CodebookMember(contribution=f"c{naming.id}", source="analyst"))
    facilitator = make.user(role="facilitator", category="staff", email="facilitator.q@example.net")
    db.session.add(ConsultationAssignment(consultation_id=data["consultation"].id, user_id=facilitator.id,
                                          role="facilitator"))
    db.session.commit()
    login(client, data["analyst"])
    return {**data, "book": book, "theme": theme, "other": other, "facilitator": facilitator}


def _page(client, data, theme) -> str:
    return client.get(f"/workspace/{data['consultation'].id}/themes/{theme.id}").get_data(as_text=True)


def _choose(client, data, theme, ids: list[str]):
    db.session.expire_all()
    return client.post(f"/workspace/{data['consultation'].id}/themes/{theme.id}/quotes",
                       data={"contributions": ids, "seen": cb.stamp(db.session.get(type(theme), theme.id))})


def _idea(item: str) -> Idea:
    return db.session.get(Idea, int(item[1:]))


def test_an_analyst_chooses_quotes_sees_them_with_attribution_and_can_undo(quoting, client) -> None:
    data, theme = quoting, quoting["theme"]
    assert "No quotes chosen yet" in _page(client, data, theme)
    idea = next(m.contribution for m in theme.members if m.contribution.startswith("i"))
    done = _choose(client, data, theme, [idea])
    assert done.status_code == 302 and done.headers["Location"].endswith("#quotes")
    page = _page(client, data, theme)
    body = _idea(idea).body
    assert "1 quote chosen" in page and str(escape(body)) in page
    assert f"Anon, {_idea(idea).created_at:%B %Y}, {data['phase'].title}" in page
    history = client.get(f"/workspace/{data['consultation'].id}/history").get_data(as_text=True)
    assert f"Chose {idea} to quote for" in history
    # Undo takes it back like any other change.
    book = cb.for_consultation(db.session, data["consultation"].id)
    client.post(f"/workspace/{data['consultation'].id}/undo", data={"version": book.version})
    assert "No quotes chosen yet" in _page(client, data, theme)
    # Choosing again, then stopping.
    _choose(client, data, theme, [idea])
    dropped = client.post(f"/workspace/{data['consultation'].id}/themes/{theme.id}/quotes/drop",
                          data={"contribution": idea})
    assert dropped.status_code == 302 and "No quotes chosen yet" in _page(client, data, theme)


def test_quotes_beyond_five_or_of_hidden_contributions_are_refused_and_nothing_is_saved(quoting, client) -> None:
    data, theme = quoting, quoting["theme"]
    members = [m.contribution for m in theme.members]
    assert len(members) >= 6
    version = cb.for_consultation(db.session, data["consultation"].id).version
    many = _choose(client, data, theme, members[:6])
    assert many.status_code == 400 and "up to 5 quotes" in many.get_data(as_text=True)
    ideas = [m for m in members if m.startswith("i")]
    _idea(ideas[0]).moderation_state = "hidden"
    db.session.commit()
    hidden = _choose(client, data, theme, ideas[:2])
    assert hidden.status_code == 400 and f"{ideas[0]} is not published" in hidden.get_data(as_text=True)
    db.session.expire_all()
    assert cb.for_consultation(db.session, data["consultation"].id).version == version


def test_the_evidence_pack_uses_the_chosen_quotes_and_says_where_none_were_chosen(quoting, client) -> None:
    data, theme = quoting, quoting["theme"]
    comment = next(c for c in data["comments"] if f"c{c.id}" in {m.contribution for m in theme.members})
    assert _choose(client, data, theme, [f"c{comment.id}"]).status_code == 302
    response = client.post(f"/workspace/{data['consultation'].id}/export", data={"format": "docx"})
    paragraphs = [p.text for p in Document(io.BytesIO(response.get_data())).paragraphs]
    start = paragraphs.index(theme.label)
    section = paragraphs[start:start + paragraphs[start + 1:].index("What people said") + 8]
    said = section[section.index("What people said"):]
    assert said[1] == "Quotes chosen by the strategy team."
    assert said[2] == f"In reply to the idea “{_idea(f'i{comment.idea_id}').title}”:"
    assert said[3] == f"“{comment.body}”"
    # The other themes have none chosen: the pack says its picks are automatic.
    assert "Chosen automatically (the best supported on the theme's topic): no analyst has chosen quotes for " \
           "this theme yet." in paragraphs


def test_what_we_heard_publishes_only_quotes_an_analyst_chose(quoting, client) -> None:
    data, theme, other = quoting, quoting["theme"], quoting["other"]
    idea = next(m.contribution for m in theme.members if m.contribution.startswith("i"))
    assert _choose(client, data, theme, [idea]).status_code == 302
    closed_phase(data["phase"])
    client.post("/logout")
    login(client, data["facilitator"])
    editor = client.get(f"/facilitate/phases/{data['phase'].id}/what-we-heard").get_data(as_text=True)
    assert "1 quote chosen" in editor and "no quotes chosen yet, so it shows none" in editor
    client.post(f"/facilitate/phases/{data['phase'].id}/what-we-heard",
                data={"introduction": "We asked.", "themes": [theme.id, other.id], "publish": "y"})
    client.post("/logout")
    page = client.get(f"/phases/{data['phase'].id}/what-we-heard").get_data(as_text=True)
    assert str(escape(_idea(idea).body)) in page
    # The best-supported reply of the other theme names someone: nobody chose it, so it is not public.
    assert "Zoë" not in page and "Quartermaine" not in page
    assert page.count("Anon, ") == 1


# Chosen quotes follow their contributions when themes are merged, split or moved between; undo restores them.


def _two(quoting) -> tuple[CodebookTheme, CodebookTheme]:
    """The two largest themes (each with plenty of published contributions to quote)."""
    book = cb.for_consultation(db.session, quoting["consultation"].id)
    first, second = sorted(book.themes, key=lambda t: -len(t.members))[:2]
    assert len(first.members) >= 5 and len(second.members) >= 3
    return first, second


def _quotes(quoting) -> dict[int, list[str]]:
    db.session.expire_all()
    return codebook_quotes.chosen(db.session, cb.for_consultation(db.session, quoting["consultation"].id))


def _undo(client, quoting) -> str:
    db.session.expire_all()
    book = cb.for_consultation(db.session, quoting["consultation"].id)
    done = client.post(f"/workspace/{quoting['consultation'].id}/undo", data={"version": book.version},
                       follow_redirects=True)
    assert done.status_code == 200
    return done.get_data(as_text=True)


def _quoted_on_page(page: str) -> list[str]:
    """The contribution ids the page's "Quotes for the strategy" list offers to stop quoting."""
    return re.findall(r'name="contribution" value="([ic]\d+)"', page)


def test_a_merge_brings_the_other_themes_quotes_and_undo_gives_them_back(quoting, client) -> None:
    keep, gone = _two(quoting)
    mine = [m.contribution for m in keep.members if m.contribution not in {g.contribution for g in gone.members}][:2]
    theirs = [m.contribution for m in gone.members if m.contribution not in mine][:2]
    assert _choose(client, quoting, keep, mine).status_code == 302
    assert _choose(client, quoting, gone, theirs).status_code == 302
    db.session.expire_all()
    merged = client.post(f"/workspace/{quoting['consultation'].id}/themes/{keep.id}/merge",
                         data={"other": gone.id, "seen": cb.stamp(db.session.get(CodebookTheme, keep.id))},
                         follow_redirects=True)
    page = merged.get_data(as_text=True)
    assert f"now quotes {', '.join(mine + theirs[:1])} and {theirs[1]}" in page  # the message says where they went
    assert _quoted_on_page(page) == mine + theirs
    _undo(client, quoting)
    assert _quotes(quoting)[keep.id] == mine and _quotes(quoting)[gone.id] == theirs
    assert _quoted_on_page(_page(client, quoting, keep)) == mine


def test_a_merge_past_five_quotes_says_which_were_not_kept_and_undo_restores_them(quoting, client) -> None:
    keep, gone = _two(quoting)
    others = {m.contribution for m in gone.members}
    mine = [m.contribution for m in keep.members if m.contribution not in others][:4]
    theirs = [m.contribution for m in gone.members if m.contribution not in mine][:3]
    assert len(mine) == 4 and len(theirs) == 3
    _choose(client, quoting, keep, mine)
    _choose(client, quoting, gone, theirs)
    db.session.expire_all()
    page = client.post(f"/workspace/{quoting['consultation'].id}/themes/{keep.id}/merge",
                       data={"other": gone.id, "seen": cb.stamp(db.session.get(CodebookTheme, keep.id))},
                       follow_redirects=True).get_data(as_text=True)
    assert _quotes(quoting)[keep.id] == mine + theirs[:1]
    said = f"{theirs[1]} and {theirs[2]} are no longer quoted, as a theme has up to 5"
    assert said in page and "Undo this change to quote them again." in page
    history = client.get(f"/workspace/{quoting['consultation'].id}/history").get_data(as_text=True)
    assert said in history
    assert "The chosen quotes are back with the themes they were chosen for." in _undo(client, quoting)
    assert _quotes(quoting)[keep.id] == mine and _quotes(quoting)[gone.id] == theirs


def test_a_split_takes_its_quotes_to_the_new_theme_and_a_move_takes_them_along(quoting, client) -> None:
    theme, other = _two(quoting)
    members = [m.contribution for m in theme.members if m.contribution not in {o.contribution for o in other.members}]
    quoted = members[:3]
    _choose(client, quoting, theme, quoted)
    db.session.expire_all()
    split = client.post(f"/workspace/{quoting['consultation'].id}/themes/{theme.id}/split",
                        data={"contributions": quoted[1:] + members[3:4], "new_label": "Split off",
                              "seen": cb.stamp(db.session.get(CodebookTheme, theme.id))})
    assert split.status_code == 302
    new = db.session.scalar(select(CodebookTheme).where(CodebookTheme.label == "Split off"))
    assert _quotes(quoting)[new.id] == quoted[1:] and _quotes(quoting)[theme.id] == quoted[:1]
    assert _quoted_on_page(_page(client, quoting, new)) == quoted[1:]
    _undo(client, quoting)
    assert _quotes(quoting)[theme.id] == quoted
    # Moved (not added as well), a quoted contribution is quoted where it lands.
    db.session.expire_all()
    moved = client.post(f"/workspace/{quoting['consultation'].id}/themes/{theme.id}/move",
                        data={"contributions": quoted[:1], "target": other.id,
                              "seen": cb.stamp(db.session.get(CodebookTheme, theme.id))})
    assert moved.status_code == 302
    assert _quotes(quoting)[other.id] == quoted[:1] and _quotes(quoting)[theme.id] == quoted[1:]
