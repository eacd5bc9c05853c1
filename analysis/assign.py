"""Propose where new contributions fit an existing codebook, with a confidence.

Pure: texts in, proposals out. Each theme is represented by the texts of its members; a new contribution is
compared with every theme by TF-IDF cosine similarity over stemmed content words (``analysis.text.analyse``),
as the mean of its similarity to the theme's centroid and to its three nearest members (the centroid alone
under-rates themes with several strands). Two different doubts are kept apart:

- "none": the best theme is barely similar at all (below ``NONE_BELOW``): it probably fits none of these, and
  the analyst should consider a new theme or leave it uncoded;
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

NONE_BELOW = 0.06
SURE_FROM = 0.15
CLOSE_MARGIN = 0.25
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


def _analyser(text: str) -> list[str]:
    """Stemmed content tokens, with a fallback so an empty text still has a feature row."""
    return analyse(text) or ["_"]


def propose(themes: dict[int, Sequence[str]], items: dict[str, str]) -> list[Proposal]:
    """Proposals for each item (id -> text) among themes (id -> member texts), in the order the items came."""
    theme_ids = [t for t, texts in themes.items() if texts]
    if not items:
        return []
    if not theme_ids:
        return [Proposal(i, None, "none", 0.0, 0.0, None, 0.0) for i in items]
    member_texts = [text for t in theme_ids for text in themes[t]]
    owners = np.array([n for n, t in enumerate(theme_ids) for _ in themes[t]])
    vectorizer = TfidfVectorizer(analyzer=_analyser, sublinear_tf=True, min_df=1)
    members = vectorizer.fit_transform(member_texts)
    queries = vectorizer.transform(list(items.values()))
    # Rows are L2-normalised, so dot products are cosines.
    member_sims = (queries @ members.T).toarray()
    centroids = np.vstack([np.asarray(members[owners == n].mean(axis=0)) for n in range(len(theme_ids))])
    norms = np.linalg.norm(centroids, axis=1, keepdims=True)
    centroids = centroids / np.where(norms == 0, 1, norms)
    centroid_sims = np.asarray(queries @ centroids.T)
    proposals = []
    for row, item in enumerate(items):
        scores = np.empty(len(theme_ids))
        for n in range(len(theme_ids)):
            own = np.sort(member_sims[row, owners == n])[::-1][:NEAREST]
            scores[n] = 0.5 * centroid_sims[row, n] + 0.5 * float(own.mean())
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        second = float(scores[order[1]]) if len(order) > 1 else 0.0
        lead = (best - second) / best if best > 0 else 0.0
        if best < NONE_BELOW:
            verdict = "none"
        elif best < SURE_FROM or lead < CLOSE_MARGIN:
            verdict = "unsure"
        else:
            verdict = "fits"
        confidence = round(min(1.0, best / (2 * SURE_FROM)) * min(1.0, lead / (2 * CLOSE_MARGIN)), 3)
        if verdict == "none":
            # How sure we are that it fits none; the nearest theme is offered as the runner-up.
            proposals.append(Proposal(item, None, verdict, round(1 - best / NONE_BELOW, 3), round(best, 4),
                                      theme_ids[order[0]], round(best, 4)))
            continue
        proposals.append(Proposal(item, theme_ids[order[0]], verdict, confidence, round(best, 4),
                                  theme_ids[order[1]] if len(order) > 1 else None, round(second, 4)))
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
