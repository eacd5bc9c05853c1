"""Exports: formula-safe, anonymous, streamed and audited; XLSX, .docx and Pol.is read back and checked."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from consult.extensions import db
from consult.models import AuditEvent, CodebookTheme, Comment, Idea, Vote
from consult.services import codebook as cb
from consult.services import contributions, exports
from tests.conftest import login
from tests.integration.workspace_data import FORMULAS, finished_run, seed

ROOT = Path(__file__).resolve().parents[2]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture()
def exported(app, make, client):
    """A consultation with a codebook (one theme renamed to a formula), and a logged-in analyst."""
    data = seed(make)
    # A comment that is nothing but a formula, and a formula in a theme's name and summary.
    contributions.post_comment(db.session, data["authors"][1], data["ideas"][2], "@SUM(1+1)*cmd|' /C calc'!A0")
    db.session.commit()
    run = finished_run(data["consultation"].id, data["analyst"])
    book = cb.adopt(db.session, actor=data["analyst"], consultation=data["consultation"], run=run)
    cb.rename(db.session, actor=data["analyst"], theme=book.themes[0], label="=cmd|' /C calc'!A0",
              summary="-2+3 said people")
    db.session.commit()
    login(client, data["analyst"])
    return data


def _download(client, cid: int, fmt: str) -> bytes:
    response = client.post(f"/workspace/{cid}/export", data={"format": fmt})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    # The file says what it is and when it was made; the type is declared once.
    words = {"xlsx": "workbook", "docx": "evidence-pack", "csv": "contributions", "json": "everything",
             "polis": "polis-open-data"}[fmt]
    assert re.search(rf'filename=".+-{words}-\d{{4}}-\d\d-\d\d\.\w+"', response.headers["Content-Disposition"])
    assert response.headers["Content-Type"].count("charset") <= 1
    return response.get_data()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _assert_inert(cells: list[object], where: str) -> int:
    """Text cells (numbers such as -1 are numbers, not formulas) start with nothing a spreadsheet runs."""
    texts = [c for c in cells if isinstance(c, str) and c and not _is_number(c)]
    for text in texts:
        assert not text.startswith(DANGEROUS), f"live formula in {where}: {text!r}"
    return len(texts)


def test_every_export_is_formula_safe_anonymous_and_audited(exported, client, promise) -> None:
    cid = exported["consultation"].id
    emails = [a.email for a in exported["authors"]] + [exported["analyst"].email]
    checked = 0
    bodies = {}
    for fmt in exports.FORMATS:
        body = _download(client, cid, fmt)
        bodies[fmt] = body
        raw = body if fmt == "csv" or fmt == "json" else b""
        texts = [body.decode("utf-8")] if raw else []
        if fmt in ("xlsx", "docx", "polis"):
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                texts = [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
        for text in texts:
            for email in emails:
                assert email not in text and email.split("@")[0] not in text, f"{fmt} leaks {email}"
            assert "registrant-secret" not in text
    # CSV: every text column, every row.
    rows = list(csv.reader(io.StringIO(bodies["csv"].decode("utf-8-sig"))))
    assert rows[0] == exports.CONTRIBUTION_COLUMNS
    for row in rows[1:]:
        checked += _assert_inert(row, "csv")
    payloads = [r[exports.CONTRIBUTION_COLUMNS.index("text")] for r in rows[1:]]
    for start in FORMULAS:
        assert any(p.startswith("'" + start) for p in payloads), start
    assert any(r[exports.CONTRIBUTION_COLUMNS.index("themes")].startswith("'=cmd") for r in rows[1:])
    # XLSX: every sheet, every cell.
    book = load_workbook(io.BytesIO(bodies["xlsx"]), read_only=True)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            checked += _assert_inert(list(row), f"xlsx {sheet.title}")
    # Pol.is: every file.
    with zipfile.ZipFile(io.BytesIO(bodies["polis"])) as archive:
        for name in archive.namelist():
            for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8"))):
                checked += _assert_inert(row, f"polis {name}")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")) == 5
    promise(f"exports formula-safe: {checked} text cells in csv, xlsx and polis, 0 live formulas; "
            f"{len(emails)} seeded emails in 5 formats, 0 found")


def test_pseudonyms_differ_between_exports(exported, client) -> None:
    cid = exported["consultation"].id
    first = list(csv.DictReader(io.StringIO(_download(client, cid, "csv").decode("utf-8-sig"))))
    second = list(csv.DictReader(io.StringIO(_download(client, cid, "csv").decode("utf-8-sig"))))
    assert {r["author"] for r in first}.isdisjoint({r["author"] for r in second})
    # Within one export the same person keeps one pseudonym.
    assert len({r["author"] for r in first}) < len(first)


def test_xlsx_workbook_has_every_sheet_with_the_right_figures(exported, client) -> None:
    cid = exported["consultation"].id
    book = load_workbook(io.BytesIO(_download(client, cid, "xlsx")), read_only=True)
    assert book.sheetnames == ["Ideas", "Comments", "Vote totals", "Themes", "Membership", "Groups", "Reweighted",
                              "Method"]
    ideas = list(book["Ideas"].iter_rows(values_only=True))
    assert len(ideas) - 1 == db.session.scalar(select(func.count()).select_from(Idea))
    comments = list(book["Comments"].iter_rows(values_only=True))
    header = comments[0]
    assert len(comments) - 1 == db.session.scalar(select(func.count()).select_from(Comment))
    parent = comments[1][header.index("parent_idea")]
    assert parent.startswith("i") and comments[1][header.index("parent_idea_title")]
    totals = {r[0]: r for r in list(book["Vote totals"].iter_rows(values_only=True))[1:]}
    idea = exported["ideas"][0]
    assert totals[f"i{idea.id}"][2] == idea.up_count and 0 < totals[f"i{idea.id}"][5] <= 1
    assert totals[f"i{idea.id}"][6] <= totals[f"i{idea.id}"][5] <= totals[f"i{idea.id}"][7]
    themes = list(book["Themes"].iter_rows(values_only=True))
    assert themes[1][1] == "'=cmd|' /C calc'!A0"
    membership = list(book["Membership"].iter_rows(values_only=True))
    assert len(membership) - 1 == sum(r[5] for r in themes[1:])
    method = {r[0]: r[1] for r in book["Method"].iter_rows(values_only=True)}
    assert "codebook, version 2" in method["Themes"]
    # The group and reweighted figures join to the Themes sheet by "theme": the codebook theme adopted from the
    # analysis theme they describe, never the analysis's own number (which counts from 0 and means another).
    adopted = {t.origin_theme + 1: t.id for t in db.session.scalars(select(CodebookTheme))
               if t.state == "active" and t.origin_theme is not None}
    for sheet in ("Groups", "Reweighted"):
        rows = list(book[sheet].iter_rows(values_only=True))
        head = rows[0]
        linked = [(r[head.index("theme")], r[head.index("analysis_theme")]) for r in rows[1:]
                  if r[head.index("analysis_theme")] not in (None, "")]
        assert linked, sheet
        assert all(theme == adopted.get(number, None) or (theme in (None, "") and number not in adopted)
                   for theme, number in linked), sheet


def test_docx_evidence_pack_has_themes_quotes_method_and_tracing(exported, client) -> None:
    cid = exported["consultation"].id
    doc = Document(io.BytesIO(_download(client, cid, "docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    book = cb.for_consultation(db.session, cid)
    for theme in book.themes:
        assert theme.label in text
    assert "-2+3 said people" in text
    month = exported["ideas"][0].created_at.strftime("%B %Y")
    assert f"— Anon, {month}, {exported['phase'].title}" in text
    assert "Method and quality" in text and "Tracing themes to contributions" in text
    trace = doc.tables[-1]
    traced = {row.cells[0].text: row.cells[2].text for row in trace.rows[1:]}
    first = book.themes[0]
    assert set(traced[first.label].split(", ")) == {m.contribution for m in first.members}
    facts = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert facts["Contributions"] == str(len(first.members)) and int(facts["People"]) >= 1
    # Stance reads the votes as well as the sentiment, as the theme's page does.
    items = [db.session.get(Idea if m.contribution[0] == "i" else Comment, int(m.contribution[1:]))
             for m in first.members]
    votes = sum(item.up_count + item.down_count for item in items)
    assert votes >= 5
    assert re.search(rf"\b\d+% of {votes:,} votes in favour", facts["Where people agree and divide"])



def test_docx_quotes_a_comment_with_the_idea_it_answers(exported, client) -> None:
    from consult.models import CodebookMember

    cid = exported["consultation"].id
    idea = exported["ideas"][3]
    reply, _ = contributions.post_comment(db.session, exported["authors"][4], idea,
                                          "Digital first shouldn't mean digital only, for anyone at all.")
    db.session.flush()
    book = cb.for_consultation(db.session, cid)
    theme = book.themes[1]
    theme.members.append(CodebookMember(contribution=f"c{reply.id}", source="analyst"))
    db.session.flush()
    # A theme of the reply alone, so the reply is its quote.
    cb.split(db.session, actor=exported["analyst"], theme=theme, contributions=[f"c{reply.id}"],
             label="Digital only worries")
    db.session.commit()
    doc = Document(io.BytesIO(_download(client, cid, "docx")))
    paragraphs = [p.text for p in doc.paragraphs]
    quoted = paragraphs.index("“Digital first shouldn't mean digital only, for anyone at all.”")
    assert paragraphs[quoted - 1] == f"In reply to the idea “{idea.title}”:"

def test_polis_export_reads_back_with_the_same_vote_totals(exported, tmp_path: Path) -> None:
    folder = tmp_path / "polis"
    exports.write(db.session, consultation=exported["consultation"], fmt="polis", key="k", out=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["comments.csv", "participants-votes.csv", "summary.csv",
                                                         "votes.csv"]
    out = tmp_path / "results"
    subprocess.run([sys.executable, "-m", "analysis", "run", str(folder), "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    result = json.loads((out / "results.json").read_text())
    consult_id = {r["comment-id"]: r["consult-id"] for r in csv.DictReader((folder / "comments.csv").open())}
    read_back = {consult_id[r["id"]]: (r["up"], r["down"]) for r in result["contributions"]}
    expected = {}
    for vote in db.session.scalars(select(Vote)):
        item = f"i{vote.idea_id}" if vote.idea_id else f"c{vote.comment_id}"
        up, down = expected.get(item, (0, 0))
        expected[item] = (up + (vote.value > 0), down + (vote.value < 0))
    assert expected and all(read_back[item] == totals for item, totals in expected.items())
    assert sum(u + d for u, d in read_back.values()) == sum(u + d for u, d in expected.values())
    participants = list(csv.DictReader((folder / "participants-votes.csv").open()))
    assert sum(int(p["n-votes"]) for p in participants) == sum(u + d for u, d in expected.values())
    # Times to the hour only: beside an author number, a time to the second could be matched with a person.
    for name in ("comments.csv", "votes.csv"):
        rows = list(csv.DictReader((folder / name).open()))
        assert rows and all(int(r["timestamp"]) % 3_600_000 == 0 and r["datetime"].endswith(":00:00") for r in rows)


def test_export_command_writes_each_format_with_a_progress_bar(exported, app, tmp_path: Path) -> None:
    slug = exported["consultation"].slug
    runner = app.test_cli_runner()
    for fmt, name in (("xlsx", "x.xlsx"), ("docx", "x.docx"), ("csv", "x.csv"), ("json", "x.json"),
                      ("polis", "polis.zip")):
        result = runner.invoke(args=["export", slug, "--format", fmt, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "Exporting" in result.output and "Wrote" in result.output
        assert (tmp_path / name).stat().st_size > 0
    data = json.loads((tmp_path / "x.json").read_text())
    assert data["codebook"]["version"] == 2 and len(data["contributions"]) > 20
    missing = runner.invoke(args=["export", "no-such", "--format", "csv", "--out", str(tmp_path / "n.csv")])
    assert missing.exit_code != 0 and "No consultation" in missing.output
