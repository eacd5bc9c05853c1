"""Save an analysis result as results.json and the CSV files an analyst opens in a spreadsheet."""

from __future__ import annotations

import csv
import json
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.groups import flatten_cells
from analysis.pipeline import SCORE_FIELDS


def _write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """One line per row, its values in ``columns`` ("" for None or missing)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)  # csv.DictWriter's bytes, without building a dict per row
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if (value := row.get(key)) is None else value for key in columns])


JSON_ROWS = 5_000  # rows of a long list encoded at a time


def _write_json(result: Mapping[str, Any], handle: Any) -> None:
    """``json.dump(result, handle)`` (the same bytes) through the C encoder, a slice of a long list at a time.

    ``json.dump`` streams through the pure-Python encoder, 4x slower than ``json.dumps``; encoding the
    whole result in one string would hold it twice in memory.
    """
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    handle.write("{")
    for position, (key, value) in enumerate(result.items()):
        handle.write((", " if position else "") + dumps(str(key)) + ": ")
        if isinstance(value, list) and len(value) > JSON_ROWS:
            handle.write("[")
            for start in range(0, len(value), JSON_ROWS):
                handle.write((", " if start else "") + dumps(value[start:start + JSON_ROWS])[1:-1])
            handle.write("]")
        else:
            handle.write(dumps(value))
    handle.write("}")


def write_results(result: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write results.json, support.csv, themes.csv, theme_members.csv and groups.csv; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in ("results.json", "support.csv", "themes.csv", "theme_members.csv",
                                     "groups.csv")]
    with paths[0].open("w", encoding="utf-8") as handle:
        _write_json(result, handle)
    contributions = result["contributions"]
    # The support ranking: online contributions only (offline ones are left out of vote-based support).
    _write_csv(paths[1], sorted((r for r in contributions if r.get("support") is not None),
                                key=lambda r: (-r["support"], r["id"])),
               ["id", "kind", "phase", "visible_from", "theme", *SCORE_FIELDS, "sentiment",
                "sentiment_label"])
    themes = result["themes"]["themes"]
    _write_csv(paths[2], [
        {"theme": t["id"], "label": t["label"], "description": t.get("description", ""),
         "terms": "; ".join(t["terms"]), "size": t["size"],
         "participants": t["participants"], "sentiment_mean": t["sentiment"]["mean"],
         "positive": t["sentiment"]["positive"], "neutral": t["sentiment"]["neutral"],
         "negative": t["sentiment"]["negative"], "support_mean": t["support"]["mean"],
         "quotes": " | ".join(q["text"] for q in t["quotes"])}
        for t in themes
    ], ["theme", "label", "description", "terms", "size", "participants", "sentiment_mean", "positive", "neutral",
        "negative", "support_mean", "quotes"])
    by_id = {row["id"]: row for row in contributions}
    # Each member's own row over its theme's id and label and its rank (the row's own keys win).
    members = (ChainMap(by_id[item], {"theme": t["id"], "label": t["label"], "rank": rank})
               for t in themes for rank, item in enumerate(t["contributions"], start=1))
    _write_csv(paths[3], members, ["theme", "label", "rank", "id", "kind", "phase", "support", "low", "high", "up",
                                   "down", "sentiment", "sentiment_label", "text"])
    _write_csv(paths[4], flatten_cells(result["groups"]),
               ["phase", "dimension", "theme", "group", "contributors", "contributions", "share", "ratio",
                "z", "voters", "support", "theme_consensus", "suppressed"])
    return paths
