"""Shape a stored analysis result for the analysts' pages and downloads (plain dicts in, plain dicts out)."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from analysis.stance import SUPPORT_SHIFT
from analysis.support import INTERVAL as SUPPORT_LEVEL

from .phase_names import phase_name

# Spreadsheet programs run cells that start with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00")
STABLE_ENOUGH = 0.7
# How a contribution gathered offline is marked (the analysis records the channel on each row).
OFFLINE_LABELS = {"workshop": "Workshop contribution", "paper": "Paper contribution", "phone": "Phone contribution"}


def theme(result: dict[str, Any], theme_id: int) -> dict[str, Any] | None:
    """One theme of a result, or None."""
    return next((t for t in result["themes"]["themes"] if t["id"] == theme_id), None)


def contributions_by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Contribution rows keyed by id ("i12", "c40")."""
    return {row["id"]: row for row in result["contributions"]}


def chart_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Themes with bar widths (percent of the largest) for the size chart."""
    themes = result["themes"]["themes"]
    largest = max((t["size"] for t in themes), default=1) or 1
    return [{"id": t["id"], "label": t["label"], "size": t["size"], "width": round(100 * t["size"] / largest, 1)}
            for t in themes]


def stability_reading(stability: float | None) -> str:
    """A plain-English reading of theme stability across seeds and subsamples."""
    if stability is None:
        return "Not measured."
    if stability >= 0.85:
        return "Stable: rerunning finds much the same themes."
    if stability >= STABLE_ENOUGH:
        return "Fairly stable: the main themes hold when rerun, the edges move."
    return ("Not stable enough to rely on: rerunning gives noticeably different themes. "
            "Read the quotes before using them.")


def percent(value: float | None) -> str:
    """0.234 -> "23%"; a share above 0 that rounds to 0 is "<1%", not "0%"."""
    if value is None:
        return "–"
    whole = f"{100 * value:.0f}"
    return "<1%" if whole == "0" and value > 0 else f"{whole}%"


def safe_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (a leading apostrophe)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _gathered(row: dict[str, Any]) -> str:
    """"online", or how an offline contribution was gathered (it has no support figures)."""
    return OFFLINE_LABELS.get(row["offline"], "Offline contribution") if row.get("offline") else "online"


def themes_csv(result: dict[str, Any]) -> str:
    """Themes and their members as CSV (RFC 4180 quoting, formula-safe); no author or account identifiers."""
    rows = contributions_by_id(result)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(["theme", "theme_label", "rank", "contribution", "kind", "phase", "topic", "month", "text",
                     "sentiment", "support", "support_low_80", "support_high_80", "up", "down", "impressions",
                     "gathered"])
    for t in result["themes"]["themes"]:
        for rank, item in enumerate(t["contributions"], start=1):
            row = rows.get(item)
            if row is None:
                continue
            writer.writerow([safe_cell(v) for v in (
                t["id"], t["label"], rank, row["id"], row["kind"], phase_name(row["phase"]), row["topic"],
                row["visible_from"][:7], row["text"], row["sentiment_label"],
                *(_round(v) for v in support_figures(row)), row.get("up"), row.get("down"),
                row.get("impressions"), _gathered(row),
            )])
    # Answers set aside before theming are listed too, under their bucket, so nothing goes missing.
    for bucket in result["themes"].get("set_aside") or []:
        for rank, item in enumerate(bucket["contributions"], start=1):
            row = rows.get(item)
            if row is None:
                continue
            writer.writerow([safe_cell(v) for v in (
                "", f"Set aside: {bucket['label']}", rank, row["id"], row["kind"], phase_name(row["phase"]),
                row["topic"],
                row["visible_from"][:7], row["text"], row["sentiment_label"],
                *(_round(v) for v in support_figures(row)), row.get("up"), row.get("down"),
                row.get("impressions"), _gathered(row),
            )])
    return out.getvalue()


def _round(value: float | None) -> float | None:
    """Four decimals for CSV."""
    return None if value is None else round(value, 4)


def group_tables(result: dict[str, Any], phase: str | None) -> list[dict[str, Any]]:
    """The group breakdown tables for one phase (None = the whole scope), with theme labels attached."""
    labels = {t["id"]: t["label"] for t in result["themes"]["themes"]}
    tables = []
    for table in result.get("groups", {}).get("tables", []):
        if table["phase"] != phase:
            continue
        tables.append({**table, "themes": [{**row, "label": labels.get(row["theme"], f"Theme {row['theme']}")}
                                           for row in table["themes"]]})
    return tables


def phases(result: dict[str, Any]) -> list[str]:
    """Phase names present in the group breakdowns."""
    seen: list[str] = []
    for table in result.get("groups", {}).get("tables", []):
        if table["phase"] is not None and table["phase"] not in seen:
            seen.append(table["phase"])
    return seen


def method_text(method: str | None) -> str:
    """The theme method's id ("minilm-static-words+tfidf-lsa20 | knn-spectral consensus k-means") in words, the
    id kept in brackets for anyone reproducing the run."""
    if not method:
        return "not recorded"
    compared = []
    if "minilm-static-words" in method:
        compared.append("what their words mean (MiniLM word vectors shipped with consult)")
    lsa = re.search(r"tfidf-lsa(\d+)", method)
    if lsa:
        compared.append(f"which words they share (TF-IDF, reduced to {lsa.group(1)} dimensions)")
    grouped = ("grouped by spectral clustering of each one's nearest neighbours, several k-means runs combined "
               "into one answer" if "knn-spectral consensus" in method else "grouped by clustering")
    return f"contributions compared by {' and '.join(compared) or 'their words'}, {grouped} ({method})"


def support_figures(row: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Support, low and high as exports give them: blank where the pages say "no votes yet" or offline (the
    stored figures are then the prior's, which would rank unvoted items above voted ones in a spreadsheet)."""
    if row.get("offline") or not row.get("voters"):
        return None, None, None
    return row.get("support"), row.get("low"), row.get("high")


def support_text(row: dict[str, Any]) -> str:
    """A contribution's support as shown: "no votes yet" rather than the prior's 50%; offline ones say why none."""
    if row.get("offline"):
        label = OFFLINE_LABELS.get(row["offline"], "Offline contribution")
        return f"{label}: left out of vote-based support"
    if not row.get("voters"):
        return "no votes yet"
    return f"{percent(row.get('support'))} ({interval_words(row.get('low'), row.get('high'))})"


def interval_words(low: float | None, high: float | None, level: float = SUPPORT_LEVEL) -> str:
    """An interval that says its level: "80% interval 41% to 58%" (the engine's support and shares are 80%)."""
    return f"{level:.0%} interval {percent(low)} to {percent(high)}"


def contribution_groups(session: Any, ids: list[str]) -> dict[str, str]:
    """The declared category of each contribution's author, as stamped when it was written."""
    from sqlalchemy import select

    from ..models import Comment, Idea

    ideas = [int(i[1:]) for i in ids if i.startswith("i") and i[1:].isdigit()]
    comments = [int(i[1:]) for i in ids if i.startswith("c") and i[1:].isdigit()]
    found: dict[str, str] = {}
    if ideas:
        for key, category in session.execute(select(Idea.id, Idea.author_category).where(Idea.id.in_(ideas))):
            found[f"i{key}"] = category or "unknown"
    if comments:
        for key, category in session.execute(select(Comment.id, Comment.author_category)
                                             .where(Comment.id.in_(comments))):
            found[f"c{key}"] = category or "unknown"
    return found


def theme_filters(result: dict[str, Any], found: dict[str, Any], categories: dict[str, str],
                  min_cell: int = 5, phase: str | None = None) -> dict[str, list[str]]:
    """Phases and groups a theme's contributions can be filtered by: groups with fewer than ``min_cell`` of them
    (in ``phase``, when one is chosen, as the two filters combine) are left out."""
    rows = contributions_by_id(result)
    phase_counts: dict[str, int] = {}
    group_counts: dict[str, int] = {}
    for item in found["contributions"]:
        if item in rows:
            phase_counts[rows[item]["phase"]] = phase_counts.get(rows[item]["phase"], 0) + 1
        group = categories.get(item)
        if group and (phase is None or (item in rows and rows[item]["phase"] == phase)):
            group_counts[group] = group_counts.get(group, 0) + 1
    return {"phases": sorted(phase_counts),
            "groups": sorted(g for g, n in group_counts.items() if n >= min_cell and g != "unknown")}


def filter_contributions(result: dict[str, Any], found: dict[str, Any], categories: dict[str, str],
                         phase: str | None, group: str | None) -> list[str]:
    """A theme's contribution ids (most supported first) in ``phase`` and by ``group`` when given."""
    rows = contributions_by_id(result)
    return [i for i in found["contributions"] if i in rows
            and (phase is None or rows[i]["phase"] == phase)
            and (group is None or categories.get(i) == group)]


def set_aside(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers set aside before theming (older results have none)."""
    return list(result["themes"].get("set_aside") or [])


def quality(result: dict[str, Any]) -> dict[str, Any] | None:
    """The quality report of a result (None for results made before it existed)."""
    return result["themes"].get("quality")


def phase_comparison(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Each theme's share per phase (rows) for the comparison table, with new and faded themes by phase."""
    return list(result["themes"].get("phases") or [])


def support_shift_points() -> int:
    """How many percentage points a theme's average support must move between phases to be reported."""
    return round(SUPPORT_SHIFT * 100)
