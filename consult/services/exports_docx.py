"""The Word evidence pack: per theme its summary, size, people, support, sentiment and quotes; method; tracing."""

from __future__ import annotations

import heapq
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any

from docx import Document
from docx.shared import Pt
from sqlalchemy.orm import Session

from analysis.stance import is_check_question, response_kind, stance

from ..models import utcnow
from . import codebook_quotes, phase_names
from .exports import ExportContext, Progress, contribution_rows, counted
from .exports_groups import Tally, differences, person_key, write_section
from .exports_xlsx import method_notes
from .quotes import on_topic, same_words, topic_words

QUOTES = 3
# Candidates kept per theme while streaming, so the same words posted again (a repeated comment) still leave
# three different quotes.
CANDIDATES = 12
QUOTE_MAX = 600
RESPONSE_KINDS = ("endorses", "challenges", "adds")  # in the order the analysis page gives them


def attribution(row: dict[str, Any], ctx: ExportContext) -> str:
    """ "Anon, June 2021, The professional community": month and phase, never the person (phase_names' rule)."""
    return phase_names.attribution(row["_at"], ctx.phases.get(row["_phase_id"]))


def _clean(text: str) -> str:
    """Text Word can hold (no control characters), shortened for a quote."""
    text = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32).strip()
    return text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX - 1].rstrip() + "…"


def _gather(session: Session, ctx: ExportContext, progress: Progress | None,
            tally: Tally) -> dict[int, dict[str, Any]]:
    """One pass over the contributions: per theme its people, support, sentiment, phases and best quotes."""
    themes = [t for t in ctx.themes if t["state"] in ("active", "engine")]
    owners: dict[str, list[int]] = {}
    for t in themes:
        for member in t["contributions"]:
            owners.setdefault(member, []).append(t["id"])
    stats = {t["id"]: {"people": set(), "support": [], "sentiment": Counter(), "phases": Counter(), "quotes": [],
                       "size": 0, "approvals": [], "responses": Counter(dict.fromkeys(RESPONSE_KINDS, 0))}
             for t in themes}
    checks = {pid for pid, phase in ctx.phases.items() if is_check_question(phase.question)}
    words = {t["id"]: topic_words(t) for t in themes}
    for row in counted(contribution_rows(session, ctx), progress):
        tally.add(row, owners.get(row["id"], []))
        for theme_id in owners.get(row["id"], ()):
            entry = stats[theme_id]
            entry["size"] += 1
            entry["people"].add(person_key(row))
            if row["support"] is not None:
                entry["support"].append(row["support"])
            entry["sentiment"][row["sentiment"] or "not scored"] += 1
            if row["up"] + row["down"]:
                entry["approvals"].append((row["up"] / (row["up"] + row["down"]), row["up"] + row["down"]))
            if row["_phase_id"] in checks:
                # A reply to "have we got it right?" endorses, challenges or adds; its sentiment says little.
                entry["responses"][response_kind(row["text"])] += 1
            entry["phases"][row["_phase_id"]] += 1
            # Best-supported quotes, substantial ones on the theme's topic first (a bare "agree", or an idea the
            # clustering put here by its neighbours, is no evidence for the theme).
            weight = ((row["support"] or 0.0) + (1.0 if len(row["text"]) >= 40 else 0.0)
                      + (1.0 if on_topic(row["text"], words[theme_id]) else 0.0), row["id"])
            # A comment is quoted with the idea it answers: "Digital first shouldn't mean digital only" says little
            # to a strategy writer who cannot see what it replied to.
            context = _clean(row["parent_idea_title"]) if row["kind"] == "comment" else ""
            quote = (weight, _clean(row["text"]), attribution(row, ctx), row["id"], context)
            if len(entry["quotes"]) < CANDIDATES:
                heapq.heappush(entry["quotes"], quote)
            else:
                heapq.heappushpop(entry["quotes"], quote)
    return stats


def distinct_quotes(candidates: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The best QUOTES candidates, each saying something different (case and spacing aside)."""
    chosen, seen = [], set()
    for quote in sorted(candidates, reverse=True):
        words = same_words(quote[1])
        if words not in seen:
            seen.add(words)
            chosen.append(quote)
    return chosen[:QUOTES]


def write_docx(session: Session, ctx: ExportContext, out: Path, progress: Progress | None = None) -> None:
    """Write the evidence pack for drafting the strategy."""
    tally = Tally()
    stats = _gather(session, ctx, progress, tally)
    differ = differences(session, ctx, tally, list(stats))
    doc = Document()
    # The blank template's own properties say python-docx wrote it in 2013: say what this file is instead.
    properties = doc.core_properties
    properties.author = properties.last_modified_by = "consult"
    properties.title = f"{ctx.consultation.title}: evidence pack"
    properties.created = properties.modified = utcnow().replace(tzinfo=UTC)
    properties.revision = 1
    doc.styles["Normal"].font.size = Pt(11)
    doc.add_heading(f"{ctx.consultation.title}: evidence pack", level=0)
    version = f"codebook version {ctx.codebook.version}" if ctx.codebook else "the analysis engine's themes"
    doc.add_paragraph(f"Themes from {version}, with {ctx.total:,} published contributions. Quotes are anonymous: "
                      "each gives only the month and the conversation it came from.")
    themes = [t for t in ctx.themes if t["id"] in stats]
    # The quotes analysts chose for their codebook's themes; a theme with none gets the best supported.
    picked = codebook_quotes.quotes(session, ctx.codebook, {t["id"]: t["contributions"] for t in themes
                                                            if t["state"] == "active"}) if ctx.codebook else {}
    if not themes:
        doc.add_paragraph("There are no themes yet: run an analysis and adopt its themes as the codebook.")
    for t in themes:
        entry = stats[t["id"]]
        doc.add_heading(t["label"], level=1)
        doc.add_paragraph(t["summary"] or "No summary has been written for this theme yet.")
        support = entry["support"]
        mean = f"{100 * sum(support) / len(support):.0f}%" if support else "not measured"
        sentiment = ", ".join(f"{n} {label}" for label, n in sorted(entry["sentiment"].items()))
        facts = [("Contributions", f"{entry['size']:,}"), ("People", f"{len(entry['people']):,}"),
                 ("Average support", mean), ("Sentiment", sentiment or "none"),
                 ("Where people agree and divide", stance(entry["sentiment"], entry["approvals"], {},
                                                          entry["responses"])["summary"]),
                 ("By phase", "; ".join(f"{ctx.phase_name(pid)}: {n}" for pid, n in sorted(
                     entry["phases"].items(), key=lambda item: ctx.phase_number(item[0]) or 0)) or "none")]
        table = doc.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for key, value in facts:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = key, value
        write_section(doc, ctx, differ[t["id"]], entry["size"])
        doc.add_heading("What people said", level=2)
        quotes = [(None, _clean(q["text"]), q["who"], q["id"], _clean(q["context"])) for q in picked.get(t["id"], [])]
        if quotes:
            doc.add_paragraph("Quotes chosen by the strategy team.")
        else:
            quotes = distinct_quotes(entry["quotes"])
            doc.add_paragraph("Chosen automatically (the best supported on the theme's topic): no analyst has chosen "
                              "quotes for this theme yet." if quotes else "No contributions to quote.")
        for _, text, who, _item, *context in quotes:
            if context and context[0]:
                doc.add_paragraph(f"In reply to the idea “{context[0]}”:")
            paragraph = doc.add_paragraph(style="Quote")
            paragraph.add_run(f"“{text}”")
            doc.add_paragraph(f"— {who}")
    doc.add_heading("Method and quality", level=1)
    for topic, note in method_notes(ctx):
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{topic}: ").bold = True
        paragraph.add_run(note)
    doc.add_heading("Tracing themes to contributions", level=1)
    doc.add_paragraph("Every theme and the contributions coded to it (i = idea, c = comment), so each statement "
                      "in the strategy can be traced back to what people said.")
    trace = doc.add_table(rows=1, cols=3)
    trace.style = "Table Grid"
    trace.rows[0].cells[0].text, trace.rows[0].cells[1].text, trace.rows[0].cells[2].text = (
        "Theme", "State", "Contribution ids")
    for t in ctx.themes:
        cells = trace.add_row().cells
        cells[0].text, cells[1].text = t["label"], t["state"].replace("_", " ")
        cells[2].text = ", ".join(t["contributions"]) or "none"
    doc.save(str(out))
