"""The whole analysis of one consultation (or some of its phases), as one JSON-serialisable result.

Stages, in order: index votes and views, time-adjusted support, sentiment, themes, group breakdowns, opinion
groups, saturation, time bias. ``progress(fraction, message)`` is called as they run, so the site and the
command line can show a progress bar. ``write_results`` saves the result as JSON and CSV files.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from analysis.groups import flatten_cells, group_breakdown
from analysis.opinion import opinion_groups
from analysis.records import Dataset, InputError, distinct, format_time, index_interactions, timestamps
from analysis.saturation import saturation_curve
from analysis.support import SupportReport, SupportScore, support_report

Progress = Callable[[float, str], None]

# Stage name, what the progress bar says, and its share of the bar (roughly its share of run time).
STAGES: tuple[tuple[str, str, float], ...] = (
    ("index", "Reading votes and views", 0.05),
    ("support", "Scoring support", 0.05),
    ("sentiment", "Scoring sentiment", 0.15),
    ("themes", "Finding themes", 0.55),
    ("groups", "Breaking down by group", 0.08),
    ("opinion", "Finding opinion groups", 0.07),
    ("saturation", "Checking saturation", 0.05),
)
SCORE_FIELDS = ("up", "down", "voters", "impressions", "exposure", "support", "low", "high", "approval",
                "approval_low", "approval_high")


@dataclass(frozen=True)
class TextEngines:
    """The theme and sentiment functions the pipeline calls (from ``analysis.themes``, ``.sentiment``)."""

    make_doc: Callable[..., Any]
    find_themes: Callable[..., Any]
    score_sentiment: Callable[[list[str], list[str]], list[float]]
    sentiment_label: Callable[[float], str]


def default_engines() -> TextEngines:
    """The package's own theme finder and question-aware sentiment."""
    from analysis.sentiment import score_sentiment, sentiment_label
    from analysis.themes import ThemeDoc, find_themes

    return TextEngines(ThemeDoc, find_themes, score_sentiment, sentiment_label)


def _spearman(values: np.ndarray, other: np.ndarray) -> float | None:
    """Spearman's rho, or None when either side is constant or there are fewer than 3 items."""
    if values.size < 3 or np.ptp(values) == 0 or np.ptp(other) == 0:
        return None
    return round(float(stats.spearmanr(values, other).statistic), 4)


# A comment this short ("Couldn't agree more.") is about its idea: read it with the idea's words.
BRIEF_COMMENT_WORDS = 12


def theme_text(contribution: Any, by_id: Mapping[str, Any]) -> str:
    """The text a contribution is themed by: brief comments carry their idea's text as context."""
    parent = by_id.get(contribution.parent) if contribution.parent else None
    if contribution.kind == "comment" and parent is not None and is_brief(contribution):
        return f"{contribution.text}\n{parent.text}"
    return contribution.text


def is_brief(contribution: Any) -> bool:
    """A short reaction rather than a point of its own."""
    return len(contribution.text.split()) < BRIEF_COMMENT_WORDS


def quote_weight(contribution: Any, support: float) -> float:
    """How strongly to prefer a contribution as a quote: by support, and brief reactions after everything else."""
    return support - 1.0 if contribution.kind == "comment" and is_brief(contribution) else support


def time_bias(dataset: Dataset, scores: Mapping[str, SupportScore]) -> dict[str, Any]:
    """Spearman with posting time of raw up-votes, of people shown, and of time-adjusted support."""
    posted = timestamps(c.visible_from for c in dataset.contributions)
    rows = [scores[c.id] for c in dataset.contributions]
    up = np.array([s.up for s in rows], dtype=np.float64)
    shown = np.array([s.impressions if s.impressions is not None else s.exposure or 0.0 for s in rows])
    support = np.array([s.support for s in rows])
    return {
        "items": len(rows),
        "raw_up_votes": _spearman(up, posted),
        "people_shown": _spearman(shown, posted),
        "support": _spearman(support, posted),
        "note": "Spearman correlation with the time each contribution became visible; near 0 means the "
                "score does not favour early (or late) contributions.",
    }


def select_phases(dataset: Dataset, phases: Iterable[str]) -> Dataset:
    """The part of a dataset that belongs to the given phases (votes and views of other items dropped)."""
    wanted = set(phases)
    contributions = [c for c in dataset.contributions if c.phase in wanted]
    if not contributions:
        raise InputError(f"no contributions in phase(s) {', '.join(sorted(wanted))}")
    ids = {c.id for c in contributions}
    return replace(
        dataset,
        contributions=contributions,
        votes=[v for v in dataset.votes if v.item in ids],
        impressions=[i for i in dataset.impressions if i.item in ids],
    )


class _Stages:
    """Progress reporting and timing, one stage after another."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self.done = 0.0
        self.stages = {name: (message, width) for name, message, width in STAGES}

    def report(self, fraction: float, message: str) -> None:
        if self.progress is not None:
            self.progress(min(max(fraction, 0.0), 1.0), message)

    def run(self, name: str, work: Callable[[Progress], Any]) -> Any:
        """Run one stage, passing it a progress callback scaled to its share of the bar."""
        message, width = self.stages[name]
        start = self.done
        self.report(start, message)
        began = time.perf_counter()
        value = work(lambda f, m: self.report(start + width * min(max(f, 0.0), 1.0), f"{message}: {m}"))
        self.timings[name] = round(time.perf_counter() - began, 3)
        self.done = start + width
        return value


def _theme_summary(theme: Any, by_id: Mapping[str, Any], scores: Mapping[str, SupportScore],
                   sentiment: Mapping[str, float], labels: Mapping[str, str]) -> dict[str, Any]:
    """One theme: label, size, participants, sentiment, support, quotes, members by support."""
    members = list(theme.members)
    ranked = sorted(members, key=lambda i: (-scores[i].support, i))
    compounds = [sentiment[i] for i in members]
    counts = {name: 0 for name in ("positive", "neutral", "negative")}
    for i in members:
        counts[labels[i]] = counts.get(labels[i], 0) + 1
    member_support = [scores[i].support for i in members]
    return {
        "id": int(theme.id),
        "label": theme.label,
        "terms": list(theme.terms),
        "size": int(theme.size),
        "participants": len({by_id[i].author for i in members}),
        "sentiment": {"mean": round(float(np.mean(compounds)), 4) if compounds else None, **counts},
        "support": {
            "mean": round(float(np.mean(member_support)), 4) if member_support else None,
            "up": int(sum(scores[i].up for i in members)),
            "down": int(sum(scores[i].down for i in members)),
        },
        "quotes": [{"id": q, "text": by_id[q].text} for q in theme.quotes],
        "contributions": ranked,
    }


def run_analysis(
    dataset: Dataset,
    *,
    k: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    scope: str | Sequence[str] | None = None,
    engines: TextEngines | None = None,
) -> dict[str, Any]:
    """Analyse a consultation (or the phases in ``scope``) and return one JSON-serialisable result."""
    began = time.perf_counter()
    if scope is not None:
        dataset = select_phases(dataset, [scope] if isinstance(scope, str) else scope)
    if not dataset.contributions:
        raise InputError("nothing to analyse: the dataset has no contributions")
    engines = engines or default_engines()
    stages = _Stages(progress)
    contributions = dataset.contributions
    by_id = {c.id: c for c in contributions}

    seen = stages.run("index", lambda _: index_interactions(dataset))
    report: SupportReport = stages.run("support", lambda _: support_report(dataset, seen))
    scores = report.scores

    def sentiment_stage(_: Progress) -> tuple[dict[str, float], dict[str, str]]:
        texts, questions = [c.text for c in contributions], [c.question for c in contributions]
        compounds = engines.score_sentiment(texts, questions)
        values = {c.id: float(v) for c, v in zip(contributions, compounds, strict=True)}
        return values, {i: engines.sentiment_label(v) for i, v in values.items()}

    sentiment, labels = stages.run("sentiment", sentiment_stage)

    def theme_stage(report_progress: Progress) -> Any:
        docs = [engines.make_doc(id=c.id, text=theme_text(c, by_id), weight=quote_weight(c, scores[c.id].support),
                                 question=c.question)
                for c in contributions]
        return engines.find_themes(docs, k=k, seed=seed, progress=report_progress)

    themes = stages.run("themes", theme_stage)
    theme_ids = [int(t.id) for t in themes.themes]
    groups = stages.run("groups", lambda _: group_breakdown(dataset, themes.primary, theme_ids, seen=seen))
    opinion = stages.run("opinion", lambda _: opinion_groups(dataset, seen=seen, seed=seed))

    def saturation_stage(_: Progress) -> dict[str, Any]:
        phases = sorted({c.phase for c in contributions})
        by_phase = {p: saturation_curve([c for c in contributions if c.phase == p], themes.primary)
                    for p in phases} if len(phases) > 1 else {}
        return {"all": saturation_curve(contributions, themes.primary), "phases": by_phase}

    saturation = stages.run("saturation", saturation_stage)
    bias = time_bias(dataset, scores)
    stages.report(1.0, "Done")

    rows = []
    for c in contributions:
        score = scores[c.id]
        rows.append({
            "id": c.id, "kind": c.kind, "parent": c.parent, "phase": c.phase, "topic": c.topic,
            "visible_from": format_time(c.visible_from), "text": c.text,
            "theme": themes.primary.get(c.id), "themes": list(themes.memberships.get(c.id, [])),
            "sentiment": round(sentiment[c.id], 4), "sentiment_label": labels[c.id],
            **{name: getattr(score, name) for name in SCORE_FIELDS},
        })
    timings = {**stages.timings, "total": round(time.perf_counter() - began, 3)}
    return {
        "meta": {
            "name": dataset.meta.get("name"),
            "source": dataset.meta.get("source"),
            "scope": None if scope is None else ([scope] if isinstance(scope, str) else list(scope)),
            "seed": seed,
            "k_requested": k,
            "counts": {
                "contributions": len(contributions),
                "ideas": sum(c.kind == "idea" for c in contributions),
                "comments": sum(c.kind == "comment" for c in contributions),
                "vote_events": len(dataset.votes),
                "current_votes": int(np.count_nonzero(seen.vote_value)),
                "voters": int(distinct(seen.vote_person[seen.vote_value != 0]).size),
                "impressions": len(dataset.impressions),
                "authors": len({c.author for c in contributions}),
                "phases": sorted({c.phase for c in contributions}),
            },
            "support": report.to_dict(),
            "timings": timings,
        },
        "contributions": rows,
        "themes": {
            "method": themes.method,
            "k": int(themes.k),
            "stability": None if themes.stability is None else round(float(themes.stability), 4),
            "duplicates": [list(group) for group in themes.duplicates],
            "themes": [_theme_summary(t, by_id, scores, sentiment, labels) for t in themes.themes],
        },
        "groups": groups,
        "opinion": opinion,
        "saturation": saturation,
        "time_bias": bias,
    }


def _write_csv(path: Path, rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})


def write_results(result: Mapping[str, Any], out_dir: Path | str) -> list[Path]:
    """Write results.json, support.csv, themes.csv, theme_members.csv and groups.csv; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in ("results.json", "support.csv", "themes.csv", "theme_members.csv",
                                     "groups.csv")]
    with paths[0].open("w", encoding="utf-8") as handle:
        json.dump(result, handle, ensure_ascii=False, allow_nan=False)
    contributions = result["contributions"]
    _write_csv(paths[1], sorted(contributions, key=lambda r: (-r["support"], r["id"])),
               ["id", "kind", "phase", "visible_from", "theme", *SCORE_FIELDS, "sentiment",
                "sentiment_label"])
    themes = result["themes"]["themes"]
    _write_csv(paths[2], [
        {"theme": t["id"], "label": t["label"], "terms": "; ".join(t["terms"]), "size": t["size"],
         "participants": t["participants"], "sentiment_mean": t["sentiment"]["mean"],
         "positive": t["sentiment"]["positive"], "neutral": t["sentiment"]["neutral"],
         "negative": t["sentiment"]["negative"], "support_mean": t["support"]["mean"],
         "quotes": " | ".join(q["text"] for q in t["quotes"])}
        for t in themes
    ], ["theme", "label", "terms", "size", "participants", "sentiment_mean", "positive", "neutral",
        "negative", "support_mean", "quotes"])
    by_id = {row["id"]: row for row in contributions}
    members = [
        {"theme": t["id"], "label": t["label"], "rank": rank, **by_id[item]}
        for t in themes
        for rank, item in enumerate(t["contributions"], start=1)
    ]
    _write_csv(paths[3], members, ["theme", "label", "rank", "id", "kind", "phase", "support", "low", "high",
                                   "up", "down", "sentiment", "sentiment_label", "text"])
    _write_csv(paths[4], flatten_cells(result["groups"]),
               ["phase", "dimension", "theme", "group", "contributors", "contributions", "share", "ratio",
                "z", "voters", "support", "theme_consensus", "suppressed"])
    return paths
