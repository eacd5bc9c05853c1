"""Propose where new contributions fit an existing codebook, with a confidence.

Pure: texts in, proposals out. Each theme is represented by the texts of its members; a new contribution is
compared with every theme by TF-IDF cosine similarity over stemmed content words (``analysis.text.analyse``),
as the mean of its similarity to the theme's centroid and to its three nearest members (the centroid alone
under-rates themes with several strands). Two different doubts are kept apart:

- "none": it shares next to no words with any theme (best below ``NONE_BELOW``): it fits none of these as they
  stand, and the analyst should consider a new theme or leave it uncoded;
- "unsure": it resembles some theme, but weakly (below ``SURE_FROM``) or nearly as much as another (the runner-up
  within ``CLOSE_MARGIN`` of the best): the analyst should choose;
- "fits": a clear best theme.

``confidence`` (0 to 1) grows with the best similarity and with its lead over the runner-up; it orders the
proposals for review and is not a calibrated probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from .text import analyse

# Chosen by cross-validation on human-coded NHS patient feedback: `python -m analysis eval --only proposals`
# (analysis/eval_proposals.py). Chosen on pxtext phase-1 for at least 80% of "fits" right; on pxtext v6, which
# they never saw, 77% of "fits" were right (72-82% over 5 seeds), 46% of contributions were "fits", 54% "not
# sure" (50-58%) and 0.5% "none". (Chosen on v6 instead, 0.18 / 0.30 gave 82% right and 69% not sure on phase-1.)
SURE_FROM = 0.22
CLOSE_MARGIN = 0.25
# A low best score does not tell a contribution of a missing theme from others on that data ("none" was right
# 10-25% of the time at thresholds from 0.005 to 0.2, against 10% by chance), so "none" means only "shares next
# to no word with any theme", and it is not accepted in bulk: the analyst decides each one.
NONE_BELOW = 0.005
NONE_ACCEPTED_IN_BULK = False
NEAREST = 3


@dataclass(frozen=True)
class Proposal:
    """Where one contribution seems to fit: the best theme (None when it fits none), the runner-up, how sure.

    For "none", ``runner_up`` is the nearest theme, offered in case the analyst disagrees.
    """

    item: str
    theme: int | None
    verdict: str  # "fits", "unsure" or "none"
    confidence: float
    score: float
    runner_up: int | None
    runner_up_score: float
    # The analysis's bucket label when it set the contribution aside as saying nothing specific ("Thanks").
    set_aside: str = ""


def _analyser(text: str) -> list[str]:
    """Stemmed content tokens, with a fallback so an empty text still has a feature row."""
    return analyse(text) or ["_"]


@dataclass(frozen=True)
class Scores:
    """How close each item is to its best and second-best theme (indices into ``theme_ids``)."""

    theme_ids: list[int]
    best: np.ndarray
    second: np.ndarray
    best_index: np.ndarray
    second_index: np.ndarray

    @property
    def lead(self) -> np.ndarray:
        """The best theme's lead over the runner-up, as a share of the best score (0 when nothing is close)."""
        return np.where(self.best > 0, (self.best - self.second) / np.where(self.best > 0, self.best, 1), 0.0)


def score(themes: dict[int, Sequence[str]], items: Sequence[str]) -> Scores:
    """Each item's similarity to its nearest and second-nearest non-empty theme (item order kept)."""
    theme_ids = [t for t, texts in themes.items() if texts]
    n = len(items)
    if not theme_ids or not n:
        zeros = np.zeros(n)
        return Scores(theme_ids, zeros, zeros, np.zeros(n, dtype=int), np.full(n, -1))
    member_texts = [text for t in theme_ids for text in themes[t]]
    owners = np.array([n for n, t in enumerate(theme_ids) for _ in themes[t]])
    vectorizer = TfidfVectorizer(analyzer=_analyser, sublinear_tf=True, min_df=1)
    members = vectorizer.fit_transform(member_texts)
    queries = vectorizer.transform(list(items))
    # Rows are L2-normalised, so dot products are cosines.
    member_sims = (queries @ members.T).toarray()
    centroids = np.vstack([np.asarray(members[owners == t].mean(axis=0)) for t in range(len(theme_ids))])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = centroids / np.where(norms == 0, 1, norms)
    centroid_sims = np.asarray(queries @ centroids.T)
    scores = np.empty((n, len(theme_ids)))
    for t in range(len(theme_ids)):
        own = -np.sort(-member_sims[:, owners == t], axis=1)[:, :NEAREST]
        scores[:, t] = 0.5 * centroid_sims[:, t] + 0.5 * own.mean(axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    rows = np.arange(n)
    best = scores[rows, order[:, 0]]
    if len(theme_ids) > 1:
        second_index = order[:, 1]
        second = scores[rows, second_index]
    else:
        second_index, second = np.full(n, -1), np.zeros(n)
    return Scores(theme_ids, best, second, order[:, 0], second_index)


def verdicts(best: np.ndarray, lead: np.ndarray, none_below: float = NONE_BELOW, sure_from: float = SURE_FROM,
             close_margin: float = CLOSE_MARGIN) -> np.ndarray:
    """"fits", "unsure" or "none" for each item from its best score and lead (the thresholds can be varied)."""
    return np.where(best < none_below, "none",
                    np.where((best < sure_from) | (lead < close_margin), "unsure", "fits"))


def propose(themes: dict[int, Sequence[str]], items: dict[str, str]) -> list[Proposal]:
    """Proposals for each item (id -> text) among themes (id -> member texts), in the order the items came."""
    if not items:
        return []
    found = score(themes, list(items.values()))
    if not found.theme_ids:
        return [Proposal(i, None, "none", 0.0, 0.0, None, 0.0) for i in items]
    ids, leads = found.theme_ids, found.lead
    kinds = verdicts(found.best, leads)
    proposals = []
    for row, item in enumerate(items):
        best, second, lead = float(found.best[row]), float(found.second[row]), float(leads[row])
        nearest = ids[int(found.best_index[row])]
        runner_up = ids[int(found.second_index[row])] if found.second_index[row] >= 0 else None
        if kinds[row] == "none":
            # How sure we are that it fits none; the nearest theme is offered as the runner-up.
            sure = round(1 - best / NONE_BELOW, 3) if NONE_BELOW > 0 else 0.0
            proposals.append(Proposal(item, None, "none", sure, round(best, 4), nearest, round(best, 4)))
            continue
        confidence = round(min(1.0, best / (2 * SURE_FROM)) * min(1.0, lead / max(2 * CLOSE_MARGIN, 1e-9)), 3)
        proposals.append(Proposal(item, nearest, str(kinds[row]), confidence, round(best, 4), runner_up,
                                  round(second, 4)))
    return proposals


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa between two coders' labels for the same items (None when it is undefined)."""
    if len(first) != len(second):
        raise ValueError("both coders must code the same items")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    labels = set(first) | set(second)
    expected = sum((list(first).count(label) / n) * (list(second).count(label) / n) for label in labels)
    if expected >= 1.0:
        return None  # both coders used one and the same label throughout: agreement beyond chance is undefined
    return round((observed - expected) / (1 - expected), 4)
