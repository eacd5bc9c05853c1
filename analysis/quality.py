"""Agreement of the themes with a human-coded sample (a CSV of contribution id and code).

NMI and ARI compare the two groupings directly; Cohen's kappa needs the themes matched to codes first, which
is done one-to-one by the Hungarian method on the contingency table (unmatched themes count as
disagreements). Answers the engine set aside count as the groups the analysis page shows them in, one per
named bucket ("set aside: Nothing to add or change").
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, cohen_kappa_score, normalized_mutual_info_score

from analysis.aside import BUCKET_LABELS
from analysis.records import InputError

SET_ASIDE = "set aside"


def read_codes(path: Path | str) -> dict[str, str]:
    """A human coding: CSV with columns ``id`` (or ``contribution``) and ``code``; clear errors otherwise."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = [f.strip().lower() for f in reader.fieldnames or []]
            id_field = next((f for f in ("id", "contribution", "contribution_id") if f in fields), None)
            if id_field is None or "code" not in fields:
                raise InputError(f"{path}: needs columns 'id' and 'code' (found: {', '.join(fields) or 'none'})")
            codes = {}
            for row in reader:
                row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                if row.get(id_field) and row.get("code"):
                    codes[row[id_field]] = row["code"]
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not codes:
        raise InputError(f"{path}: no coded rows")
    return codes


def agreement(themes: Any, codes: Mapping[str, str]) -> dict[str, Any]:
    """NMI, ARI and Cohen's kappa (after one-to-one matching) between themes and human codes."""
    assigned = dict(themes.primary)
    for name, ids in (getattr(themes, "set_aside", {}) or {}).items():
        for i in ids:
            assigned[i] = f"{SET_ASIDE}: {BUCKET_LABELS.get(name, name)}"
    common = [i for i in codes if i in assigned]
    if len(common) < 2:
        return {"coded": len(codes), "matched": len(common), "nmi": None, "ari": None, "kappa": None,
                "note": "Fewer than two coded contributions are in this analysis."}
    ours = [str(assigned[i]) for i in common]
    human = [codes[i] for i in common]
    theirs_index = {c: n for n, c in enumerate(sorted(set(human)))}
    ours_index = {c: n for n, c in enumerate(sorted(set(ours)))}
    table = np.zeros((len(ours_index), len(theirs_index)))
    for a, b in zip(ours, human, strict=True):
        table[ours_index[a], theirs_index[b]] += 1
    rows, cols = linear_sum_assignment(-table)
    names = {n: c for c, n in theirs_index.items()}
    mapping = {o: names[cols[list(rows).index(ours_index[o])]] if ours_index[o] in rows else f"unmatched {o}"
               for o in ours_index}
    matched = [mapping[o] for o in ours]
    return {
        "coded": len(codes),
        "matched": len(common),
        "nmi": round(float(normalized_mutual_info_score(human, ours)), 4),
        "ari": round(float(adjusted_rand_score(human, ours)), 4),
        "kappa": round(float(cohen_kappa_score(human, matched)), 4),
        "note": "Kappa after matching each theme to at most one code (Hungarian method).",
    }
