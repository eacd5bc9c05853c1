"""The XLSX workbook export, written row by row with openpyxl's write-only mode (never the whole book in memory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.orm import Session

from .exports import ExportContext, Progress, contribution_rows, counted, safe_cell
from .group_names import dimension_title, group_label
from .phase_names import phase_name
from .results import method_text

IDEA_COLUMNS = ["id", "phase", "phase_number", "topic", "month", "channel", "title", "text", "up", "down",
                "impressions", "support", "support_low_80", "support_high_80", "sentiment", "themes"]
COMMENT_COLUMNS = ["id", "parent_idea", "parent_idea_title", "reply_to", "phase", "phase_number", "topic", "month",
                   "channel", "text", "up", "down", "impressions", "support", "support_low_80", "support_high_80",
                   "sentiment", "themes"]
VOTE_COLUMNS = ["id", "kind", "up", "down", "impressions", "support", "support_low_80", "support_high_80"]


def cell(value: Any) -> Any:
    """A value Excel stores as it is: formulas neutralised, characters XML cannot hold removed."""
    if isinstance(value, str):
        return safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _sheet(book: Workbook, title: str, columns: list[str]) -> Any:
    """A write-only sheet with its header row."""
    sheet = book.create_sheet(title)
    sheet.append(columns)
    return sheet


def write_xlsx(session: Session, ctx: ExportContext, out: Path, progress: Progress | None = None) -> None:
    """One sheet each: ideas, comments, vote totals, themes, membership, groups, reweighted shares, method."""
    book = Workbook(write_only=True)
    ideas = _sheet(book, "Ideas", IDEA_COLUMNS)
    comments = _sheet(book, "Comments", COMMENT_COLUMNS)
    votes = _sheet(book, "Vote totals", VOTE_COLUMNS)
    # Each contribution is read once and written to its own sheet and to the vote totals as it goes.
    for row in counted(contribution_rows(session, ctx), progress):
        target, columns = (ideas, IDEA_COLUMNS) if row["kind"] == "idea" else (comments, COMMENT_COLUMNS)
        target.append([cell(row[c]) for c in columns])
        votes.append([cell(row[c]) for c in VOTE_COLUMNS])
    themes = _sheet(book, "Themes", ["theme", "label", "summary", "state", "merged_into", "contributions",
                                     "terms"])
    for t in ctx.themes:
        themes.append([t["id"], cell(t["label"]), cell(t["summary"]), t["state"], t["merged_into"],
                       len(t["contributions"]), cell("; ".join(t["terms"] or []))])
    membership = _sheet(book, "Membership", ["theme", "label", "contribution"])
    for t in ctx.themes:
        for member in t["contributions"]:
            membership.append([t["id"], cell(t["label"]), member])
    _groups(book, ctx)
    _reweighted(book, session, ctx)
    method = _sheet(book, "Method", ["topic", "note"])
    for topic, note in method_notes(ctx):
        method.append([cell(topic), cell(note)])
    book.save(out)


def _adopted(ctx: ExportContext) -> dict[int, int]:
    """The Themes sheet's number of each theme of the analysis these figures come from (a codebook theme adopted
    from it and still in use, or the analysis's own theme when there is no codebook)."""
    run_id = ctx.run.id if ctx.run else None
    return {t["adopted_from"]["theme"]: t["id"] for t in ctx.themes
            if t["adopted_from"]["analysis"] == run_id and t["state"] in ("active", "engine")}


def _groups(book: Workbook, ctx: ExportContext) -> None:
    """The analysis's group breakdowns, as it withheld them (disclosure control), with theme labels."""
    # "theme" joins to the Themes sheet; "analysis_theme" is the number the analysis pages give it.
    # Groups and dimensions by the names people chose ("A carer"); the analysis's codes ("carer") follow at the
    # end for anyone joining the sheet to the analysis's own files.
    sheet = _sheet(book, "Groups", ["phase", "dimension", "group", "theme", "analysis_theme", "label",
                                    "contributors", "contributions", "share", "ratio", "voters", "support",
                                    "withheld", "dimension_code", "group_code"])
    result = (ctx.run.result or {}) if ctx.run else {}
    labels = {t["id"]: t["label"] for t in result.get("themes", {}).get("themes", [])}
    adopted = _adopted(ctx)
    for table in result.get("groups", {}).get("tables", []):
        dimension = str(table.get("dimension") or "")
        names = [cell(phase_name(table.get("phase")) or "All phases"), cell(dimension_title(dimension))]

        for group in table.get("groups", []):
            code = str(group.get("group") or "")
            sheet.append([*names, cell(group_label(code, dimension)), "", "", "", group.get("contributors"),
                          group.get("contributions"), None, None, group.get("voters"), group.get("support"),
                          cell(group.get("suppressed") or ""), cell(dimension), cell(code)])
        for row in table.get("themes", []):
            engine = row.get("theme")
            for cell_row in row.get("cells", []) if isinstance(row.get("cells"), list) else []:
                code = str(cell_row.get("group") or "")
                sheet.append([*names, cell(group_label(code, dimension)), adopted.get(engine, ""),
                              "" if engine is None else engine + 1, cell(labels.get(engine, "")),
                              cell_row.get("contributors"), cell_row.get("contributions"), cell_row.get("share"),
                              cell_row.get("ratio"), cell_row.get("voters"), cell_row.get("support"),
                              cell(cell_row.get("suppressed") or ""), cell(dimension), cell(code)])


def _reweighted(book: Workbook, session: Session, ctx: ExportContext) -> None:
    """Each theme's raw share and its share reweighted by age band to the reference population (disclosure control)."""
    from flask import current_app, has_app_context

    from . import disclosure, reweighting

    sheet = _sheet(book, "Reweighted", ["dimension", "theme", "analysis_theme", "label", "raw_share",
                                        "reweighted_share_low", "reweighted_share_high", "groups_used",
                                        "groups_left_out", "note"])
    if ctx.run is None or not (ctx.run.result or {}).get("themes", {}).get("themes"):
        return
    choices = {d.key for d in reweighting.dimensions(session, ctx.consultation.id)}
    if reweighting.DEFAULT_DIMENSION not in choices:
        return
    policy = disclosure.policy_from(current_app.config) if has_app_context() else disclosure.Policy()
    report = reweighting.theme_shares(session, ctx.run, dimension=reweighting.DEFAULT_DIMENSION,
                                      secret=str(ctx.extra.get("key", "")), policy=policy)
    used = "; ".join(g["label"] for g in report["groups"] if g["used"])
    left_out = "; ".join(f"{g['label']} ({g['why']})" for g in report["groups"] if not g["used"])
    adopted = _adopted(ctx)
    for row in report["themes"]:
        low, high = row["reweighted"] or (None, None)
        sheet.append([cell(report["dimension"].title), adopted.get(row["theme"], ""), row["theme"] + 1,
                      cell(row["label"]), row["raw_share"], low, high, cell(used), cell(left_out),
                      cell(report["explanation"] if row is report["themes"][0] else "")])


def method_notes(ctx: ExportContext) -> list[tuple[str, str]]:
    """Plain-English notes on how the figures were made (shared with the evidence pack)."""
    result = (ctx.run.result or {}) if ctx.run else {}
    meta = result.get("meta", {})
    themes = result.get("themes", {})
    min_cell = result.get("groups", {}).get("min_cell", 5)
    notes = [
        ("Consultation", ctx.consultation.title),
        ("Contributions", f"{ctx.total:,} published ideas and comments; held, hidden and withdrawn ones are left out."),
        ("Support", "Of the people shown a contribution, the share who supported it, as a Beta-Binomial posterior "
                    "mean with an 80% interval (support_low_80 to support_high_80, the level the analysis pages "
                    "show), shrunk towards the consultation's rate when few people saw it, so early posts are not "
                    "favoured for being seen longer."),
        ("People", "Authors appear only as pseudonyms made for this export; they match within this file and "
                   "nowhere else. No names, emails or demographic answers are included."),
        ("Groups", f"Group figures come from the analysis; cells of fewer than {min_cell} people are withheld, "
                   "with the reason given. Their 'theme' is the Themes sheet's number of the theme adopted from "
                   "that analysis theme (blank when none is in use), and 'analysis_theme' the number the "
                   "analysis pages give it. The Reweighted sheet numbers its themes the same way."),
        ("Reweighted", "Each theme's share of contributions as they came, and reweighted by age band so each "
                       "group counts as its share of the reference population (what a sample shaped like "
                       "England's population would have said). Worked out from disclosure-controlled counts; "
                       "groups of fewer than 20 people are left out, and a hidden figure gives a range "
                       "(reweighted_share_low to reweighted_share_high: every value the hidden figures allow, not a "
                       "statistical interval)."),
    ]
    if ctx.codebook is not None:
        notes.append(("Themes", f"The analysts' codebook, version {ctx.codebook.version}: themes adopted from the "
                                "analysis engine, then named, merged, split and checked by analysts."))
    elif ctx.run is not None:
        notes.append(("Themes", "The analysis engine's themes, not yet reviewed by analysts."))
    else:
        notes.append(("Themes", "No analysis has been run yet, so there are no themes or support scores."))
    if ctx.run is not None:
        notes.append(("Analysis", f"Analysis {ctx.run.id}, finished {ctx.run.finished_at:%d %B %Y}; method: "
                                  f"{method_text(themes.get('method'))}; {themes.get('k', '?')} themes; "
                                  f"stability {themes.get('stability', 'not measured')}."))
        counts = meta.get("counts", {})
        if counts:
            notes.append(("Analysed", f"{counts.get('contributions', 0):,} contributions from "
                                      f"{counts.get('authors', 0):,} people; {counts.get('current_votes', 0):,} "
                                      f"votes from {counts.get('voters', 0):,} people."))
    return notes
