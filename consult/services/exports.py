"""Exports for the strategy team: CSV, JSON, an XLSX workbook, a Word evidence pack and Pol.is open data.

Every export is read from the database in batches and written as it goes (CSV and JSON are yielded line by
line; XLSX, .docx and the Pol.is zip are written to a temporary file on disk and then streamed), so a large
consultation is never held in memory. What an export may contain:

- contributions, their parent idea, phase, topic, month, vote totals and the newest analysis's
  time-adjusted support, and the codebook's themes;
- authors and voters only as per-export pseudonyms (an HMAC of a random per-export value, the consultation
  and the account), so two exports, of the same or of different consultations, cannot be joined on people;
- never an email, a name, or a declared category, profession or equality answer beside a contribution:
  group figures appear only as the analysis's disclosure-controlled tables.

Text cells are formula-safe (a leading apostrophe before = + - @ tab CR NUL) and CSV is RFC 4180.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (
    AnalysisRun,
    Codebook,
    CodebookMember,
    CodebookTheme,
    Comment,
    Consultation,
    Idea,
    Phase,
    Topic,
    User,
    utcnow,
)
from . import audit
from .phase_names import phase_name
from .results import safe_cell, support_figures
from .typed_time import UK

FORMATS: dict[str, dict[str, str]] = {
    "xlsx": {"label": "the workbook (XLSX)", "ext": "xlsx",
             "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    "docx": {"label": "the evidence pack (Word)", "ext": "docx",
             "mimetype": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    # werkzeug adds "; charset=utf-8" to text types itself.
    "csv": {"label": "the contributions (CSV)", "ext": "csv", "mimetype": "text/csv"},
    "json": {"label": "everything (JSON)", "ext": "json", "mimetype": "application/json"},
    "polis": {"label": "open data in the Pol.is layout (zip)", "ext": "zip", "mimetype": "application/zip"},
}
BATCH = 2000
CHUNK = 64 * 1024
Progress = Callable[[int], None]

CONTRIBUTION_COLUMNS = ["id", "kind", "parent_idea", "parent_idea_title", "reply_to", "phase", "phase_number", "topic",
                        "month",
                        "channel", "title", "text", "up", "down", "impressions", "support", "support_low_80",
                        "support_high_80", "sentiment", "themes", "author"]


# What each download is, in its file name, so a folder of them reads at a glance.
FILE_WORDS = {"xlsx": "workbook", "docx": "evidence-pack", "csv": "contributions", "json": "everything",
              "polis": "polis-open-data"}


def filename(consultation: Consultation, fmt: str, now: datetime | None = None) -> str:
    """The download's file name: the consultation, what it is and the day it was made (UK date)."""
    day = (now or utcnow()).replace(tzinfo=UTC).astimezone(UK).date().isoformat()
    return f"{consultation.slug}-{FILE_WORDS[fmt]}-{day}.{FORMATS[fmt]['ext']}"


def record(session: Session, *, actor: User | None, consultation: Consultation, fmt: str, via: str) -> None:
    """Audit an export (who, which consultation, which format, from where)."""
    audit.record(session, actor, "export", "consultation", consultation.id, format=fmt, via=via)


# ---------------------------------------------------------------------------------------------- context


class Pseudonyms:
    """Per-export pseudonyms: the same person within one export, unlinkable between exports."""

    def __init__(self, key: str, consultation_id: int) -> None:
        self._key = f"{key}:{secrets.token_hex(16)}:{consultation_id}".encode()
        self._cache: dict[int, str] = {}

    def __call__(self, user_id: int | None) -> str:
        """A pseudonym for an account ("" for none)."""
        if user_id is None:
            return ""
        found = self._cache.get(user_id)
        if found is None:
            found = "p" + hmac.new(self._key, str(user_id).encode(), hashlib.sha256).hexdigest()[:12]
            self._cache[user_id] = found
        return found

    def number(self, user_id: int | None) -> int:
        """The pseudonym as a whole number, for layouts (Pol.is) that expect numeric ids."""
        return int(self(user_id)[1:], 16) if user_id is not None else 0


@dataclass
class ExportContext:
    """What every export format shares: names, the codebook, the newest analysis's scores, pseudonyms."""

    consultation: Consultation
    phases: dict[int, Phase]
    topics: dict[int, str]
    idea_titles: dict[int, str]
    themes: list[dict[str, Any]]
    theme_labels: dict[str, list[str]]
    scores: dict[str, tuple[Any, ...]]
    run: AnalysisRun | None
    codebook: Codebook | None
    people: Pseudonyms
    total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def phase_name(self, phase_id: int) -> str:
        """ "The professional community": the phase's own title, as every page names it (phase_names)."""
        return phase_name(self.phases.get(phase_id))

    def phase_number(self, phase_id: int) -> int | str:
        """The phase's number in its consultation (a column of its own, to sort by)."""
        phase = self.phases.get(phase_id)
        return phase.position if phase else ""


def build_context(session: Session, consultation: Consultation, key: str) -> ExportContext:
    """Load the small things every export needs (never the contributions themselves)."""
    from .codebook import for_consultation, latest_run

    phases = {p.id: p for p in session.scalars(select(Phase).where(Phase.consultation_id == consultation.id))}
    topics = dict(session.execute(select(Topic.id, Topic.title).where(Topic.phase_id.in_(list(phases)))).all())
    idea_titles = dict(session.execute(select(Idea.id, Idea.title).where(Idea.phase_id.in_(list(phases)),
                                                                          Idea.moderation_state == "published")).all())
    book = for_consultation(session, consultation.id)
    themes: list[dict[str, Any]] = []
    labels: dict[str, list[str]] = {}
    if book is not None:
        for theme in session.scalars(select(CodebookTheme).where(CodebookTheme.codebook_id == book.id)
                                     .order_by(CodebookTheme.position)):
            members = list(session.scalars(select(CodebookMember.contribution)
                                           .where(CodebookMember.theme_id == theme.id).order_by(CodebookMember.id)))
            themes.append({"id": theme.id, "label": theme.label, "summary": theme.summary, "state": theme.state,
                           "merged_into": theme.merged_into_id, "terms": theme.terms, "contributions": members,
                           "adopted_from": {"analysis": theme.origin_run_id, "theme": theme.origin_theme}})
            if theme.state == "active":
                for member in members:
                    labels.setdefault(member, []).append(theme.label)
    run = latest_run(session, consultation.id)
    scores: dict[str, tuple[Any, ...]] = {}
    if run is not None and run.result:
        for row in run.result.get("contributions", []):
            scores[row["id"]] = (*support_figures(row), row.get("sentiment_label"), row.get("sentiment"))
        if book is None:
            # No codebook yet: the newest analysis's themes stand in, marked as the engine's.
            for t in run.result["themes"]["themes"]:
                themes.append({"id": t["id"], "label": t["label"], "summary": t.get("description", ""),
                               "state": "engine", "merged_into": None, "terms": t.get("terms", []),
                               "contributions": list(t["contributions"]),
                               "adopted_from": {"analysis": run.id, "theme": t["id"]}})
                for member in t["contributions"]:
                    labels.setdefault(member, []).append(t["label"])
    total = (session.scalar(select(func.count()).select_from(Idea).where(
        Idea.phase_id.in_(list(phases)), Idea.moderation_state == "published")) or 0) + (session.scalar(
            select(func.count()).select_from(Comment).where(Comment.phase_id.in_(list(phases)),
                                                            Comment.moderation_state == "published")) or 0)
    return ExportContext(consultation=consultation, phases=phases, topics=topics, idea_titles=idea_titles,
                         themes=themes, theme_labels=labels, scores=scores, run=run, codebook=book,
                         people=Pseudonyms(key, consultation.id), total=total,
                         # The server key also keys equality answers: the pack's group figures and the workbook's
                         # reweighted shares need it (aggregates only).
                         extra={"key": key})


def _month(moment: datetime | None) -> str:
    """2021-06 (months, not times, so a contribution cannot be matched to a moment someone was online)."""
    return moment.strftime("%Y-%m") if moment else ""


def _round(value: Any) -> Any:
    """Four decimals for scores."""
    return round(value, 4) if isinstance(value, float) else value


def contribution_rows(session: Session, ctx: ExportContext, kind: str | None = None) -> Iterator[dict[str, Any]]:
    """Published ideas, then comments, as plain rows, read in batches."""
    phase_ids = list(ctx.phases)
    if kind in (None, "idea"):
        query = (select(Idea.id, Idea.title, Idea.body, Idea.phase_id, Idea.topic_id, Idea.channel,
                        Idea.visible_from, Idea.created_at, Idea.up_count, Idea.down_count, Idea.impression_count,
                        Idea.author_id, Idea.author_category, Idea.author_profession)
                 .where(Idea.phase_id.in_(phase_ids), Idea.moderation_state == "published").order_by(Idea.id))
        for row in session.execute(query.execution_options(yield_per=BATCH)):
            yield _row(ctx, f"i{row.id}", "idea", None, None, row.phase_id, ctx.topics.get(row.topic_id, ""),
                       row, row.title, f"{row.title}\n{row.body}")
    if kind in (None, "comment"):
        query = (select(Comment.id, Comment.idea_id, Comment.parent_id, Comment.body, Comment.phase_id,
                        Comment.channel, Comment.visible_from, Comment.created_at, Comment.up_count,
                        Comment.down_count, Comment.impression_count, Comment.author_id, Comment.author_category,
                        Comment.author_profession, Idea.topic_id)
                 .join(Idea, Idea.id == Comment.idea_id)
                 .where(Comment.phase_id.in_(phase_ids), Comment.moderation_state == "published",
                        Idea.moderation_state == "published").order_by(Comment.id))
        for row in session.execute(query.execution_options(yield_per=BATCH)):
            yield _row(ctx, f"c{row.id}", "comment", row.idea_id, row.parent_id, row.phase_id,
                       ctx.topics.get(row.topic_id, ""), row, "", row.body)


def _row(ctx: ExportContext, item: str, kind: str, idea_id: int | None, parent_id: int | None, phase_id: int,
         topic: str, row: Any, title: str, text: str) -> dict[str, Any]:
    """One export row."""
    score = ctx.scores.get(item, (None, None, None, None, None))
    return {
        "id": item, "kind": kind, "parent_idea": f"i{idea_id}" if idea_id else "",
        "parent_idea_title": ctx.idea_titles.get(idea_id, "") if idea_id else "",
        "reply_to": f"c{parent_id}" if parent_id else "", "phase": ctx.phase_name(phase_id),
        "phase_number": ctx.phase_number(phase_id), "topic": topic,
        "month": _month(row.visible_from or row.created_at), "channel": row.channel, "title": title, "text": text,
        "up": row.up_count, "down": row.down_count, "impressions": row.impression_count,
        "support": _round(score[0]), "support_low_80": _round(score[1]), "support_high_80": _round(score[2]),
        "sentiment": score[3] or "", "themes": "; ".join(ctx.theme_labels.get(item, [])),
        "author": ctx.people(row.author_id), "_at": row.visible_from or row.created_at,
        "_author_id": row.author_id, "_author_category": row.author_category,
        "_author_profession": row.author_profession, "_phase_id": phase_id, "_sentiment_score": score[4],
    }


def counted(rows: Iterator[dict[str, Any]], progress: Progress | None) -> Iterator[dict[str, Any]]:
    """Pass rows through, telling `progress` how many went by (in batches, then the rest)."""
    n = 0
    for n, row in enumerate(rows, start=1):
        yield row
        if progress and n % BATCH == 0:
            progress(BATCH)
    if progress and n % BATCH:
        progress(n % BATCH)


# ---------------------------------------------------------------------------------------------- CSV, JSON


def csv_line(values: list[Any]) -> str:
    """One RFC 4180 line (CRLF, quotes doubled), formula-safe."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return out.getvalue()


def stream_csv(session: Session, ctx: ExportContext, progress: Progress | None = None) -> Iterator[str]:
    """The contributions as CSV, a line at a time."""
    yield "\ufeff" + csv_line(CONTRIBUTION_COLUMNS)  # the byte-order mark makes Excel read UTF-8
    for row in counted(contribution_rows(session, ctx), progress):
        yield csv_line([row[c] for c in CONTRIBUTION_COLUMNS])


def stream_json(session: Session, ctx: ExportContext, progress: Progress | None = None) -> Iterator[str]:
    """The consultation, its phases, the codebook and every contribution, as one JSON document, in pieces."""
    head = {
        "consultation": {"slug": ctx.consultation.slug, "title": ctx.consultation.title},
        "phases": [{"position": p.position, "title": p.title, "question": p.question}
                   for p in sorted(ctx.phases.values(), key=lambda p: p.position)],
        "codebook": {"version": ctx.codebook.version if ctx.codebook else None, "themes": ctx.themes},
        "analysis": {"run": ctx.run.id if ctx.run else None,
                     "method": (ctx.run.result or {}).get("themes", {}).get("method") if ctx.run else None},
        "pseudonyms": "per export: the same author id means the same person within this file only",
        "phases_named": "each contribution's phase is the phase's own title; phase_number is its place in order",
        "support": "support is a Beta-Binomial posterior mean of the share of people shown a contribution who "
                   "supported it; support_low_80 to support_high_80 is its 80% interval (blank with no votes)",
    }
    text = json.dumps(head, ensure_ascii=False, default=str)
    yield text[:-1] + ', "contributions": [\n'
    for n, row in enumerate(counted(contribution_rows(session, ctx), progress)):
        public = {k: v for k, v in row.items() if not k.startswith("_")}
        yield ("" if n == 0 else ",\n") + json.dumps(public, ensure_ascii=False)
    yield "\n]}\n"


# --------------------------------------------------------------------------------------------- dispatch


def write(session: Session, *, consultation: Consultation, fmt: str, key: str, out: Path,
          progress: Progress | None = None, ctx: ExportContext | None = None) -> ExportContext:
    """Write an export to a file (for the Pol.is layout: a folder, or a .zip file)."""
    ctx = ctx or build_context(session, consultation, key)
    if fmt in ("csv", "json"):
        pieces = stream_csv(session, ctx, progress) if fmt == "csv" else stream_json(session, ctx, progress)
        with out.open("w", encoding="utf-8", newline="") as handle:
            for piece in pieces:
                handle.write(piece)
    elif fmt == "xlsx":
        from .exports_xlsx import write_xlsx

        write_xlsx(session, ctx, out, progress)
    elif fmt == "docx":
        from .exports_docx import write_docx

        write_docx(session, ctx, out, progress)
    elif fmt == "polis":
        from .exports_polis import write_polis

        write_polis(session, ctx, out, progress, as_zip=out.suffix.lower() == ".zip")
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    return ctx


def stream(session: Session, *, consultation: Consultation, fmt: str, key: str) -> Iterator[bytes | str]:
    """An export as a stream of pieces for a web response."""
    if fmt in ("csv", "json"):
        ctx = build_context(session, consultation, key)
        yield from (stream_csv(session, ctx) if fmt == "csv" else stream_json(session, ctx))
        return
    handle, name = tempfile.mkstemp(suffix="." + FORMATS[fmt]["ext"])
    os.close(handle)
    path = Path(name)
    try:
        write(session, consultation=consultation, fmt=fmt, key=key, out=path)
        session.rollback()  # end the long read before the (possibly slow) download
        with path.open("rb") as data:
            while chunk := data.read(CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)
