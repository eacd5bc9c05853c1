"""Opinion groups against Pol.is's own grouping, and the meta statements left out, on each Pol.is export.

Pol.is writes each participant's group (``group-id`` in participants-votes.csv) for people it grouped. The
adjusted Rand index compares our groups with it on the people both grouped. Two principal components of the
vote matrix rarely explain much (10-20% here), so "where the vote structure is clear" is read from the
silhouette of our own groups, printed beside it. The same run also groups with meta statements kept in the
matrix (the previous behaviour), so the effect of leaving them out is seen in one table.
"""

from __future__ import annotations

import csv
import time
from dataclasses import replace
from pathlib import Path

from sklearn.metrics import adjusted_rand_score

from analysis.meta import meta_statements
from analysis.opinion import opinion_groups, opinion_labels
from analysis.polis import read_polis
from analysis.records import Dataset


def polis_groups(folder: Path) -> dict[str, str]:
    """Pol.is's own group per participant (only the participants it grouped)."""
    with (folder / "participants-votes.csv").open(encoding="utf-8", newline="") as handle:
        return {r["participant"]: r["group-id"] for r in csv.DictReader(handle) if r.get("group-id", "") != ""}


def _without_meta_marks(dataset: Dataset) -> Dataset:
    """The dataset with every statement treated as an opinion (no marks, no detection)."""
    contributions = [replace(c, meta=False) for c in dataset.contributions]
    return replace(dataset, contributions=contributions, meta={**dataset.meta, "meta_marked": True})


def _ari(ours: dict[str, int], theirs: dict[str, str]) -> tuple[float, int]:
    common = sorted(set(ours) & set(theirs))
    return adjusted_rand_score([theirs[p] for p in common], [ours[p] for p in common]), len(common)


def polis_opinion_rows(data_dir: Path) -> list[dict[str, object]]:
    """Rows of data, method, metric and value: ARI with Pol.is's groups, with and without meta statements."""
    rows: list[dict[str, object]] = []
    folders = sorted(p for p in (data_dir / "polis").glob("*") if (p / "participants-votes.csv").is_file())
    for folder in folders:
        dataset = read_polis(folder)
        theirs = polis_groups(folder)
        meta, found = meta_statements(dataset)
        data = f"polis {folder.name} ({len(theirs)} grouped by Pol.is into {len(set(theirs.values()))})"
        for method, variant in ((f"meta statements left out ({len(meta)} {found})", dataset),
                                ("meta statements kept (previous)", _without_meta_marks(dataset))):
            started = time.perf_counter()
            result = opinion_groups(variant)
            labels = opinion_labels(variant)
            seconds = time.perf_counter() - started
            ari, common = _ari(labels, theirs)
            for metric, value in (("ari_vs_polis", ari), ("people_compared", common), ("k", result.get("k", 0)),
                                  ("silhouette", result.get("silhouette", 0.0)),
                                  ("pc1+pc2_variance", sum(result.get("explained_variance", [0.0]))),
                                  ("seconds", seconds)):
                rows.append({"data": data, "method": method, "metric": metric, "value": round(float(value), 4)})
    return rows
