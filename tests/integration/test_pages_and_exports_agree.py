"""Pages and exports agree: phases named by their titles, intervals saying their level, groups by name."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from docx import Document
from openpyxl import load_workbook

from consult.extensions import db
from consult.models import Idea
from consult.services import codebook as cb
from consult.services import codebook_quotes
from consult.services.phase_names import attribution, engine_attribution, phase_name
from tests.conftest import login
from tests.integration.workspace_data import finished_run, seed

TITLE = "Online conversation three"
NUMBERED = f"Phase 1: {TITLE}"  # how the analysis engine is handed the phase, never how a reader sees it


def test_one_rule_names_a_phase_and_attributes_a_quote() -> None:
    phase = SimpleNamespace(position=3, title=TITLE)
    assert phase_name(phase) == TITLE and phase_name(f"Phase 3: {TITLE}") == TITLE
    # Posted late on 30 June 2021 UTC is July in the UK: the month is the UK one, as beside every idea.
    assert attribution(datetime(2021, 6, 15, 9), phase) == f"Anon, June 2021, {TITLE}"
    assert attribution(datetime(2021, 6, 30, 23, 30), phase) == f"Anon, July 2021, {TITLE}"
    assert engine_attribution(f"Anon, June 2021, Phase 3: {TITLE}") == f"Anon, June 2021, {TITLE}"


@pytest.fixture()
def named(app, make, client):
    """A consultation whose phase the facilitator called "Online conversation three", a codebook and a quote."""
    data = seed(make)
    data["phase"].title = TITLE
    db.session.commit()
    run = finished_run(data["consultation"].id, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    theme = max(book.themes, key=lambda t: len(t.members))
    idea = next(m.contribution for m in theme.members if m.contribution.startswith("i"))
    codebook_quotes.choose(db.session, actor=data["analyst"], theme=theme, contributions=[idea], seen=cb.stamp(theme))
    db.session.commit()
    login(client, data["analyst"])
    return {**data, "run": run, "theme": theme, "quoted": idea}


def _download(client, cid: int, fmt: str) -> bytes:
    response = client.post(f"/workspace/{cid}/export", data={"format": fmt})
    assert response.status_code == 200
    return response.get_data()


def test_pages_and_exports_name_the_phase_by_its_title(named, client) -> None:
    cid = named["consultation"].id
    pages = [client.get(f"/workspace/{cid}/themes/{named['theme'].id}").get_data(as_text=True),
             client.get(f"/analyse/runs/{named['run'].id}").get_data(as_text=True),
             client.get(f"/analyse/runs/{named['run'].id}/themes/0").get_data(as_text=True)]
    for page in pages:
        assert TITLE in page and NUMBERED not in page
    # The chosen quote's attribution, as the pack and What we heard give it.
    quoted = db.session.get(Idea, int(named["quoted"][1:]))
    assert attribution(quoted.created_at, named["phase"]) in pages[0]

    rows = list(csv.DictReader(io.StringIO(_download(client, cid, "csv").decode("utf-8-sig"))))
    assert {r["phase"] for r in rows} == {TITLE} and {r["phase_number"] for r in rows} == {"1"}
    everything = json.loads(_download(client, cid, "json"))
    assert {r["phase"] for r in everything["contributions"]} == {TITLE}
    assert NUMBERED not in json.dumps(everything)

    book = load_workbook(io.BytesIO(_download(client, cid, "xlsx")), read_only=True)
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert TITLE in cells and not any(NUMBERED in c for c in cells)
    ideas = list(book["Ideas"].iter_rows(values_only=True))
    assert [dict(zip(ideas[0], r, strict=True))["phase_number"] for r in ideas[1:]] == [1] * (len(ideas) - 1)
    groups = list(book["Groups"].iter_rows(values_only=True))
    assert {r[0] for r in groups[1:]} <= {"All phases", TITLE}

    doc = Document(io.BytesIO(_download(client, cid, "docx")))
    text = [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert not any(NUMBERED in t for t in text)
    quoted = [t for t in text if t.startswith("— Anon")]
    assert quoted and all(t.endswith(f", {TITLE}") for t in quoted)
    assert any(t == f"{TITLE}: {len(named['theme'].members)}" for t in text)


def test_every_interval_says_its_level_and_the_pack_matches_the_pages(named, client) -> None:
    run = named["run"]
    theme_page = client.get(f"/analyse/runs/{run.id}/themes/0").get_data(as_text=True)
    # A contribution's support gives its interval's level in words, as the theme's share does.
    assert re.search(r"support \d+% \(80% interval \d+% to \d+%\)", theme_page)
    assert not re.search(r"support \d+% \(\d+%–\d+%\)", theme_page)
    assert "(80% interval " in theme_page
    doc = Document(io.BytesIO(_download(client, named["consultation"].id, "docx")))
    heads = [r.cells[2].text for t in doc.tables for r in t.rows[:1] if len(r.cells) >= 3]
    assert "Share of the phase (80% interval)" in heads and not any("95%" in h for h in heads)
    rows = list(csv.DictReader(io.StringIO(_download(client, named["consultation"].id, "csv").decode("utf-8-sig"))))
    assert {"support_low_80", "support_high_80"} <= set(rows[0])


def test_the_workbook_names_groups_as_people_chose_them_with_codes_beside(named, client) -> None:
    book = load_workbook(io.BytesIO(_download(client, named["consultation"].id, "xlsx")), read_only=True)
    rows = list(book["Groups"].iter_rows(values_only=True))
    head = rows[0]
    table = [dict(zip(head, r, strict=True)) for r in rows[1:]]
    carers = [r for r in table if r["group_code"] == "carer"]
    assert carers and {r["group"] for r in carers} == {"A carer"}
    assert {r["dimension"] for r in carers} == {"What people told us they are"}
    assert not any(r["group"] in ("carer", "service_user", "undeclared") for r in table)
