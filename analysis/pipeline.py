"""The whole analysis of one consultation (or some of its phases), as one JSON-serialisable result.

Stages, in order: index votes and views, time-adjusted support, sentiment, themes, group breakdowns, opinion
groups, saturation, time bias. From 20,000 contributions sentiment is scored in a second process while the
themes are found (``analysis.parallel``), so the analysis uses two cores. ``progress(fraction, message)`` is
called as they run, so the site and the command line can show a progress bar. ``analysis.result_files`` saves
the result as JSON and CSV files.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from analysis.aside import set_aside_summary
from analysis.events import about_items
from analysis.group_disclosure import disclosed_group_breakdown
from analysis.labels import flat
from analysis.opinion import opinion_groups
from analysis.parallel import Background, in_background
from analysis.records import Dataset, InputError, distinct, format_time, index_interactions, timestamps
from analysis.saturation import saturation_curve
from analysis.stance import describe, is_check_question, phase_comparison, phase_shares, response_kind, stance, wilson
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
SENTIMENT_SLICE = 25_000  # texts scored at a time
SCORE_FIELDS = ("up", "down", "voters", "impressions", "exposure", "support", "low", "high", "approval",
                "approval_low", "approval_high")
# The figures an offline contribution does not get: it is left out of vote-based support.
SUPPORT_FIELDS = ("support", "low", "high", "approval", "approval_low", "approval_high")
OFFLINE_NOTE = "gathered offline: left out of vote-based support"
OFFLINE_LABELS = {"workshop": "Workshop contribution", "paper": "Paper contribution", "phone": "Phone contribution"}


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


def score_in_slices(score: Callable[[list[str], list[str]], list[float | None]], texts: list[str],
                    questions: list[str]) -> list[float | None]:
    """``score(texts, questions)``, ``SENTIMENT_SLICE`` texts at a time."""
    # Each text is scored on its own, so slices give the same scores and bound what scoring allocates.
    return [value for start in range(0, len(texts), SENTIMENT_SLICE)
            for value in score(texts[start:start + SENTIMENT_SLICE], questions[start:start + SENTIMENT_SLICE])]


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


def offline_channel(contribution: Any) -> str | None:
    """How an offline contribution was gathered ("workshop", "paper", "phone"), or None for one made online.

    A contribution's ``groups["channel"]`` says; no channel, or "online", is online.
    """
    channel = contribution.groups.get("channel") if contribution.groups else None
    return channel if channel and channel != "online" else None


def without_offline_votes(dataset: Dataset) -> tuple[Dataset, int]:
    """The dataset with votes and views of offline contributions dropped, and how many votes that was.

    Ideas gathered at workshops, on paper or by phone are themed and quoted like any other, but left out of
    vote-based support: their support would measure how the online crowd reacted to a workshop's words, and
    ranking them beside online ideas would mix two ways of being heard.
    """
    offline = {c.id for c in dataset.contributions if offline_channel(c)}
    if not offline:
        return dataset, 0
    votes = about_items(dataset.votes, offline, inside=False)
    return replace(dataset, votes=votes, impressions=about_items(dataset.impressions, offline, inside=False)), \
        len(dataset.votes) - len(votes)


def time_bias(dataset: Dataset, scores: Mapping[str, SupportScore]) -> dict[str, Any]:
    """Spearman with posting time of raw up-votes, of people shown, and of time-adjusted support (online only)."""
    online = [c for c in dataset.contributions if not offline_channel(c)]
    posted = timestamps(c.visible_from for c in online)
    rows = [scores[c.id] for c in online]
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
        votes=about_items(dataset.votes, ids),
        impressions=about_items(dataset.impressions, ids),
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


def attribution(contribution: Any) -> str:
    """ "Anon, June 2021, <phase>": how the strategy credits a quote."""
    month = contribution.visible_from.strftime("%B %Y")
    return f"Anon, {month}, {contribution.phase}" if contribution.phase else f"Anon, {month}"


def _quote(item: str, by_id: Mapping[str, Any]) -> dict[str, Any]:
    """A quote with its attribution and, for a comment, the idea it answers."""
    c = by_id[item]
    parent = by_id.get(c.parent) if c.parent else None
    channel = offline_channel(c)
    return {"id": item, "text": c.text, "kind": c.kind, "attribution": attribution(c),
            "offline": OFFLINE_LABELS.get(channel, "Offline contribution") if channel else None,
            "context": {"id": parent.id, "text": parent.text} if parent is not None else None}


def _typical(theme: Any, by_id: Mapping[str, Any]) -> str | None:
    """The text an extractive description quotes: the theme's typical member, else its first quote; none when
    no member says enough on its own (a short reaction is never the typical example)."""
    typical = getattr(theme, "typical", None)
    for item in ([typical] if typical else []) + list(theme.quotes[:1]):
        return flat(by_id[item].text)
    return None


def _examples(members: list[str], labels: Mapping[str, str], quotes: list[str], by_id: Mapping[str, Any],
              ranked: list[str], nearby: Sequence[str] = ()) -> dict[str, str]:
    """One short example text per sentiment, preferring quotes, then substantive members near the centre,
    then the best supported."""
    examples: dict[str, str] = {}
    for item in [*quotes, *nearby, *ranked]:
        label = labels.get(item)
        if label in ("positive", "negative", "neutral") and label not in examples:
            words = flat(by_id[item].text).split()
            if len(words) >= 4:
                examples[label] = " ".join(words[:20]) + ("…" if len(words) > 20 else "")
    return examples


def _theme_summary(theme: Any, by_id: Mapping[str, Any], scores: Mapping[str, SupportScore],
                   sentiment: Mapping[str, float | None], labels: Mapping[str, str], context: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """One theme: label, description, size with interval, sentiment, support, stance, phases, quotes."""
    members = list(theme.members)
    # Most supported first; offline contributions (left out of support) after every online one.
    offline = context["offline"]
    ranked = sorted(members, key=lambda i: (i in offline, -scores[i].support if scores[i].voters else 1.0, i))
    compounds = [sentiment[i] for i in members if sentiment[i] is not None]
    counts = {name: 0 for name in ("positive", "neutral", "negative", "not scored")}
    for i in members:
        counts[labels[i]] = counts.get(labels[i], 0) + 1
    voted = [i for i in members if scores[i].voters]
    member_support = [scores[i].support for i in voted]
    people = len({by_id[i].author for i in members})
    total = context["total"]
    low, high = wilson(len(members), total)
    sub_themes = []
    for sub in getattr(theme, "sub_themes", []) or []:
        ids = list(sub["contributions"])
        sub_people = len({by_id[i].author for i in ids})
        sub_counts = {name: sum(labels[i] == name for i in ids) for name in ("positive", "neutral", "negative")}
        first = sub.get("typical") if "typical" in sub else next(
            (i for i in ids if len(by_id[i].text.split()) >= 4), ids[0] if ids else None)
        sub_themes.append({"id": int(sub["id"]), "label": sub["label"], "size": len(ids),
                           "description": describe(len(ids), len(members), sub_people, sub_counts,
                                                   sub.get("phrases", []), flat(by_id[first].text) if first else None)
                           .replace(f"({len(ids) / max(len(members), 1):.0%})",
                                    f"({len(ids) / max(len(members), 1):.0%} of the theme)", 1),
                           "contributions": ids})
    responses = {kind: 0 for kind in ("endorses", "challenges", "adds")}
    for i in members:
        kind = context["responses"].get(i)
        if kind:
            responses[kind] += 1
    quotes = list(theme.quotes)
    return {
        "id": int(theme.id),
        "label": theme.label,
        "terms": list(theme.terms),
        "phrases": list(getattr(theme, "phrases", []) or []),
        "description": describe(len(members), total, people, counts, getattr(theme, "phrases", []) or [],
                                _typical(theme, by_id)),
        "size": int(theme.size),
        "share": round(len(members) / total, 4) if total else 0.0,
        "share_low": low,
        "share_high": high,
        "participants": people,
        "sentiment": {"mean": round(float(np.mean(compounds)), 4) if compounds else None, **counts},
        "support": {
            "mean": round(float(np.mean(member_support)), 4) if member_support else None,
            "voted": len(voted),
            "up": int(sum(scores[i].up for i in members)),
            "down": int(sum(scores[i].down for i in members)),
            "note": None if member_support else "no votes yet",
        },
        "stance": stance(counts, [(scores[i].approval, scores[i].voters) for i in voted],
                         _examples(members, labels, quotes, by_id, ranked, getattr(theme, "examples", ())),
                         responses),
        "phase_shares": phase_shares(members, context["phase_of"], context["phase_totals"],
                                     {i: (scores[i].support if scores[i].voters else None) for i in members}),
        "sub_themes": sub_themes,
        "quotes": [_quote(q, by_id) for q in quotes],
        "contributions": ranked,
    }


def _quality(themes: Any, total: int, codes: Mapping[str, str] | None) -> dict[str, Any]:
    """The quality report: stability, share not clustered, k by seed, sizes, agreement with human codes."""
    clustered = sum(len(t.members) for t in themes.themes)
    report: dict[str, Any] = {
        "stability": None if themes.stability is None else round(float(themes.stability), 4),
        "stability_pairs": list(getattr(themes, "stability_pairs", []) or []),
        "stability_note": "Mean adjusted Rand index between runs with three seeds at the chosen number of "
                          "themes (1 = identical themes every run).",
        "k": int(themes.k),
        "k_by_seed": {str(s): v for s, v in (getattr(themes, "k_by_seed", {}) or {}).items()},
        "k_scores": {str(key): v for key, v in themes.k_scores.items()},
        "clustered": clustered,
        "not_clustered": total - clustered,
        "share_not_clustered": round((total - clustered) / total, 4) if total else 0.0,
        "sizes": [int(t.size) for t in themes.themes],
        "agreement": None,
    }
    if codes:
        from analysis.quality import agreement

        report["agreement"] = agreement(themes, codes)
    return report


def run_analysis(
    dataset: Dataset,
    *,
    k: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    scope: str | Sequence[str] | None = None,
    engines: TextEngines | None = None,
    codes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Analyse a consultation (or the phases in ``scope``) and return one JSON-serialisable result.

    ``codes`` (contribution id -> human code), when given, adds agreement with that coding to the quality
    report.
    """
    began = time.perf_counter()
    if scope is not None:
        dataset = select_phases(dataset, [scope] if isinstance(scope, str) else scope)
    if not dataset.contributions:
        raise InputError("nothing to analyse: the dataset has no contributions")
    dataset, offline_votes = without_offline_votes(dataset)
    offline = {c.id: channel for c in dataset.contributions if (channel := offline_channel(c))}
    engines = engines or default_engines()
    stages = _Stages(progress)
    contributions = dataset.contributions
    by_id = {c.id: c for c in contributions}

    seen = stages.run("index", lambda _: index_interactions(dataset))
    report: SupportReport = stages.run("support", lambda _: support_report(dataset, seen))
    scores = report.scores

    def sentiment_stage(_: Progress) -> Background[list[float | None]]:
        texts, questions = [c.text for c in contributions], [c.question for c in contributions]
        # Sentiment needs nothing the themes need: on a large consultation it is scored in a second process
        # while this one finds the themes (two cores), and collected after them.
        return in_background(score_in_slices, engines.score_sentiment, texts, questions, items=len(texts))

    scoring = stages.run("sentiment", sentiment_stage)

    def theme_stage(report_progress: Progress) -> Any:
        docs = []
        for c in contributions:
            text = theme_text(c, by_id)
            extra = {"own": c.text} if text != c.text else {}
            docs.append(engines.make_doc(id=c.id, text=text, weight=quote_weight(c, scores[c.id].support),
                                         question=c.question, **extra))
        return engines.find_themes(docs, k=k, seed=seed, progress=report_progress)

    themes = stages.run("themes", theme_stage)
    waited = time.perf_counter()
    compounds = scoring.result()
    stages.timings["sentiment"] = round(stages.timings["sentiment"] + time.perf_counter() - waited, 3)
    # None: not scored (text not in English).
    sentiment = {c.id: None if v is None else float(v) for c, v in zip(contributions, compounds, strict=True)}
    labels = {i: "not scored" if v is None else engines.sentiment_label(v) for i, v in sentiment.items()}
    theme_ids = [int(t.id) for t in themes.themes]
    # The site-wide disclosure rule (counts under 10, rounding, no small groups, no recovery by subtraction).
    groups = stages.run("groups", lambda _: disclosed_group_breakdown(dataset, themes.primary, theme_ids,
                                                                       seen=seen))
    opinion = stages.run("opinion", lambda _: opinion_groups(dataset, seen=seen, seed=seed))

    def saturation_stage(_: Progress) -> dict[str, Any]:
        phases = sorted({c.phase for c in contributions})
        by_phase = {p: saturation_curve([c for c in contributions if c.phase == p], themes.primary)
                    for p in phases} if len(phases) > 1 else {}
        return {"all": saturation_curve(contributions, themes.primary), "phases": by_phase}

    saturation = stages.run("saturation", saturation_stage)
    bias = time_bias(dataset, scores)
    stages.report(1.0, "Done")

    responses = {c.id: response_kind(c.text) for c in contributions if is_check_question(c.question)}
    phase_order = sorted({c.phase for c in contributions})
    phase_totals = {p: sum(c.phase == p for c in contributions) for p in phase_order}
    context = {"total": len(contributions), "responses": responses, "phase_of": {c.id: c.phase for c in contributions},
               "phase_totals": phase_totals, "offline": offline}
    theme_rows = [_theme_summary(t, by_id, scores, sentiment, labels, context) for t in themes.themes]
    set_aside_of = {i: name for name, ids in (getattr(themes, "set_aside", {}) or {}).items() for i in ids}
    rows = []
    for c in contributions:
        score = scores[c.id]
        rows.append({
            "id": c.id, "kind": c.kind, "parent": c.parent, "phase": c.phase, "topic": c.topic,
            "visible_from": format_time(c.visible_from), "text": c.text,
            "theme": themes.primary.get(c.id), "themes": list(themes.memberships.get(c.id, [])),
            "sentiment": None if sentiment[c.id] is None else round(sentiment[c.id], 4),
            "sentiment_label": labels[c.id], "set_aside": set_aside_of.get(c.id), "response": responses.get(c.id),
            **{name: None if c.id in offline and name in SUPPORT_FIELDS else getattr(score, name)
               for name in SCORE_FIELDS},
            "offline": offline.get(c.id),
            "support_note": OFFLINE_NOTE if c.id in offline else None if score.voters else "no votes yet",
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
                # Votes a facilitator excluded after an anomaly flag (left out before the analysis).
                "excluded_votes": int(dataset.meta.get("excluded_votes") or 0),
                # Votes on contributions gathered offline (left out of vote-based support).
                "offline": len(offline),
                "offline_votes_left_out": offline_votes,
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
            "themes": theme_rows,
            "statement": getattr(themes, "statement", ""),
            "set_aside": set_aside_summary(getattr(themes, "set_aside", {}) or {}, len(contributions)),
            "quality": _quality(themes, len(contributions), codes),
            "phases": phase_comparison(theme_rows, phase_order) if len(phase_order) > 1 else [],
        },
        "groups": groups,
        "opinion": opinion,
        "saturation": saturation,
        "time_bias": bias,
    }
