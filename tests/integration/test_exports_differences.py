"""The evidence pack says, per theme, how groups and phases differ: figures match the data, small groups are
withheld, and no contribution is joined to a person's email, category or equality answer."""

from __future__ import annotations

import io
import re

import pytest
from docx import Document

from analysis.disclosure import round_count
from analysis.intervals import wilson
from analysis.stance import Z80
from consult.extensions import db
from consult.models import CodebookTheme, Comment, Idea
from consult.services import codebook as cb
from consult.services import contributions, equality, manage
from tests.conftest import login
from tests.integration.workspace_data import finished_run

SERVICES = ("physio", "speech therapy", "podiatry", "dietetics", "occupational therapy")
WAITING = "I waited {n} months for {s}. The waiting list for {s} appointments is far too long"
DIGITAL = "Online video appointments for {s} would save a drive; let me book {s} online with an app {n}"


@pytest.fixture()
def pack(app, make, client, request):
    """Two phases; 25 people aged 75 and over write only about waits, 50 others mostly about digital care; 5 carers.

    With the parameter "changed", the 15 younger members of the public then say they use services instead.
    """
    first = make.phase()
    consultation = first.consultation
    secret = app.config["PSEUDONYM_KEY"]
    older = [make.user(category="public", email=f"older{n}@registrant-secret.test") for n in range(25)]
    public = [make.user(category="public", email=f"public{n}@registrant-secret.test") for n in range(15)]
    staff = [make.user(role="participant", category="staff", email=f"staff{n}@registrant-secret.test")
             for n in range(30)]
    carers = [make.user(category="carer", email=f"carer{n}@registrant-secret.test") for n in range(5)]
    for person in older:
        equality.save_answers(db.session, user_id=person.id, secret=secret, category="public",
                              values={"age_band": "75_plus"}, consent=False)
    for person in public + staff:
        equality.save_answers(db.session, user_id=person.id, secret=secret, category=person.profile.category,
                              values={"age_band": "35_44"}, consent=False)
    topic = first.topics[0]
    for n, person in enumerate(older):
        for k in range(2):
            s = SERVICES[(n + k) % len(SERVICES)]
            contributions.post_idea(db.session, person, topic, f"Waits for {s}", WAITING.format(n=n + k + 2, s=s))
    for n, person in enumerate(public + carers):
        s = SERVICES[n % len(SERVICES)]
        contributions.post_idea(db.session, person, topic, f"Book {s} online", DIGITAL.format(n=n, s=s))
        if n < 10:
            contributions.post_idea(db.session, person, topic, f"Waits for {s}", WAITING.format(n=n + 3, s=s))
    db.session.commit()
    first.state = "closed"
    db.session.commit()
    second = make.phase(consultation=consultation)
    for n, person in enumerate(staff):
        s = SERVICES[n % len(SERVICES)]
        for k in range(2):
            contributions.post_idea(db.session, person, second.topics[0], f"Video {s}",
                                    DIGITAL.format(n=n * 2 + k, s=s))
    if getattr(request, "param", None) == "changed":
        from consult.services import participation

        for person in public:
            participation.change_participation(db.session, person, "service_user", None, secret=secret)
        db.session.commit()
    analyst = make.user(role="analyst", category="staff", email="analyst.pack@example.net")
    make.assign(analyst, consultation, role="analyst")
    run = finished_run(consultation.id, analyst, k=2)
    book = cb.adopt(db.session, actor=analyst, consultation=consultation, run=run)
    db.session.commit()
    login(client, analyst)
    response = client.post(f"/workspace/{consultation.id}/export", data={"format": "docx"})
    assert response.status_code == 200
    return {"doc": Document(io.BytesIO(response.get_data())), "book": book, "phases": [first, second],
            "older": older, "carers": carers, "everyone": older + public + staff + carers}


def _sections(doc) -> dict[str, list]:
    """Each theme heading's paragraphs and tables, in document order."""
    body = doc.element.body
    sections: dict[str, list] = {}
    current = None
    paragraphs = {p._p: p for p in doc.paragraphs}
    tables = {t._tbl: t for t in doc.tables}
    for child in body.iterchildren():
        if child in paragraphs:
            p = paragraphs[child]
            if p.style.name == "Heading 1":
                current = p.text
                sections[current] = []
            elif current is not None:
                sections[current].append(p)
        elif child in tables and current is not None:
            sections[current].append(tables[child])
    return sections


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def test_each_theme_says_how_groups_and_phases_differ_with_figures_from_the_data(pack) -> None:
    doc, book = pack["doc"], pack["book"]
    sections = _sections(doc)
    authors = {f"i{i.id}": i.author_id for i in db.session.query(Idea)}
    phase_of = {f"i{i.id}": i.phase_id for i in db.session.query(Idea)}
    older = {p.id for p in pack["older"]}
    total = len(authors)
    said = 0
    for theme in db.session.query(CodebookTheme).filter_by(codebook_id=book.id, state="active"):
        parts = sections[theme.label]
        texts = [p.text for p in parts if hasattr(p, "text")]
        assert "How groups and phases differ" in texts
        members = {m.contribution for m in theme.members}
        phase_table, group_table = [t for t in parts if hasattr(t, "rows")][1:3]
        # Phases, named by their titles: the theme's share of each phase's contributions, with its 80% interval
        # (the level the analysis pages show for the same figure).
        for row, phase in zip(phase_table.rows[1:], pack["phases"], strict=True):
            n = sum(1 for c in members if phase_of[c] == phase.id)
            size = sum(1 for c in phase_of.values() if c == phase.id)
            low, high = wilson(n, size, Z80)
            assert [c.text for c in row.cells] == [phase.title, f"{n:,} of {size:,}",
                                                   f"{_pct(n / size)} ({_pct(low)} to {_pct(high)})"]
        rows = {row.cells[0].text: [c.text for c in row.cells[1:]] for row in group_table.rows[1:]}
        overall = len(members) / total
        assert rows["Everyone"][-1] == _pct(overall)
        # Participant category, members of the public: counts rounded to 5, share from the rounded counts.
        public_ids = {p.id for p in pack["everyone"] if p.profile.category == "public"}
        mine = [c for c, a in authors.items() if a in public_ids]
        in_theme = [c for c in mine if c in members]
        people_in = {authors[c] for c in in_theme}
        shown = rows["Participant category: A member of the public"]
        assert shown[0] == str(round_count(len(public_ids), 5))
        assert shown[1] == str(round_count(len(people_in), 5))
        assert shown[2] == str(round_count(len(in_theme), 5))
        assert shown[3] == _pct(round_count(len(in_theme), 5) / round_count(len(mine), 5))
        # Five carers: a group of fewer than 20 people is not broken down.
        carers = rows["Participant category: A carer"]
        assert carers[0] == "<10" and carers[1] in ("withheld", "<10") and carers[2] == "withheld"
        assert carers[3].startswith("not broken down")
        waiting = sum(1 for c in members if authors[c] in older) > len(members) / 2
        if waiting:
            n_older = round_count(sum(1 for c in members if authors[c] in older), 5)
            share = n_older / round_count(50, 5)
            expected = (f"People aged 75 and over (age) raised this more often: {_pct(share)} of their "
                        f"contributions against {_pct(overall)} overall.")
            assert expected in texts
            assert rows["Age: 75 and over"][3] == _pct(share)
            said += 1
    assert said == 1  # the waiting theme, which the older people raised


@pytest.mark.parametrize("pack", ["changed"], indirect=True)
def test_groups_count_people_in_the_category_they_posted_under(pack) -> None:
    # Fifteen members of the public later said they use services: what they said stays the public's.
    rows = {}
    for table in pack["doc"].tables:
        for row in table.rows:
            rows.setdefault(row.cells[0].text, [c.text for c in row.cells[1:]])
    assert rows["Participant category: A member of the public"][0] == str(round_count(40, 5))
    assert "Participant category: A person who uses health or care services" not in rows
    text = "\n".join(p.text for p in pack["doc"].paragraphs)
    assert "each person in the category and profession they posted under" in text


def test_the_pack_joins_no_contribution_to_an_email_category_or_equality_answer(pack) -> None:
    doc = pack["doc"]
    everything = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]
    text = "\n".join(everything)
    assert "@registrant-secret.test" not in text and "75_plus" not in text
    # Quotes are attributed by month and phase only; the tracing table names themes and contribution ids only.
    for paragraph in doc.paragraphs:
        if paragraph.text.startswith("— Anon"):
            assert re.fullmatch(r"— Anon, \w+ \d{4}, Phase \d+", paragraph.text), paragraph.text
    trace = doc.tables[-1]
    for row in trace.rows[1:]:
        assert re.fullmatch(r"(?:[ic]\d+(?:, )?)*|none", row.cells[2].text)
        assert "75 and over" not in row.cells[0].text + row.cells[1].text
    # No group row of any table carries a contribution id.
    for table in doc.tables[:-1]:
        for row in table.rows:
            if row.cells[0].text.startswith(("Participant category:", "Age:")):
                assert not any(re.search(r"\b[ic]\d+\b", c.text) for c in row.cells)
    assert db.session.query(Comment).count() == 0  # the pack's figures above are over ideas only


def test_the_pack_counts_people_as_the_analysis_page_does(app, make, client) -> None:
    """Each idea entered from a workshop is one person of the group recorded, on the page and in the pack alike."""
    phase = make.phase()
    consultation, topic = phase.consultation, phase.topics[0]
    facilitator = make.user(role="facilitator", category="staff", email="facilitator.pack@example.net")
    make.assign(facilitator, consultation, role="facilitator")
    for n in range(27):
        person = make.user(category="public", email=f"public{n}@registrant-secret.test")
        s = SERVICES[n % len(SERVICES)]
        contributions.post_idea(db.session, person, topic, f"Waits for {s}", WAITING.format(n=n + 2, s=s))
    for n in range(21):
        s = SERVICES[n % len(SERVICES)]
        manage.enter_on_behalf(db.session, facilitator, topic, title=f"Book {s} online",
                               body=DIGITAL.format(n=n, s=s), channel="workshop", category="carer")
    analyst = make.user(role="analyst", category="staff", email="analyst.same@example.net")
    make.assign(analyst, consultation, role="analyst")
    db.session.commit()
    run = finished_run(consultation.id, analyst, k=2)
    cb.adopt(db.session, actor=analyst, consultation=consultation, run=run)
    db.session.commit()
    login(client, analyst)
    page = client.get(f"/analyse/runs/{run.id}/groups").get_data(as_text=True)
    doc = Document(io.BytesIO(client.post(f"/workspace/{consultation.id}/export", data={"format": "docx"})
                              .get_data()))
    assert "A carer <span class=\"consult-muted\">(20 people)</span>" in page
    assert "A member of the public <span class=\"consult-muted\">(25 people)</span>" in page
    rows = [[c.text for c in row.cells] for table in doc.tables if table.rows[0].cells[1].text == "People"
            for row in table.rows[1:]]
    people = {row[0]: row[1] for row in rows if row[0].startswith("Participant category:")}
    assert people == {"Participant category: A carer": "20", "Participant category: A member of the public": "25",
                      "Participant category: Not answered": "<10"}
