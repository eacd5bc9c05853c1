"""A seeded simulated consultation with known true appeal, to check that support removes time bias.

As in ANALYSIS.md: 300 ideas with true appeal ``q ~ Beta(2, 8)`` posted uniformly over the first 90% of a
28-day window; front-loaded traffic (hourly visitors ``Poisson(40 exp(-h/168) + 5 + 10 in the evening)``);
each visitor is shown 5 visible ideas at random, up-votes with probability ``q`` and down-votes with
probability ``0.3 (1 - q)``. Every scoring rule is then compared with the truth and with posting time.

As specified, down-votes carry no information: someone who does not up-vote down-votes with probability 0.3
whatever the idea, so (up-votes, impressions) hold everything the data says about ``q`` and the posterior
mean under the true prior Beta(2, 8) is the best any score can do (the "ceiling" rows). Two other down-vote
models (``DOWN_MODELS``) check that the score uses down-votes where they do say something: "informative"
(``0.6 (1 - q)^2``: the less appealing an idea, the more of those who do not support it oppose it) and
"controversial" (``(1 - q)(0.1 + 0.8 q)``: popular ideas also draw more opposition). Their ceiling is the
posterior mean under the true prior and the true down-vote model, by numerical integration.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import stats

from analysis.records import Contribution, Dataset, Impression, Vote
from analysis.support import beta_posterior, compute_support, fit_beta_prior

IDEAS = 300
DAYS = 28
SHOWN_PER_VISITOR = 5
DOWN_FACTOR = 0.3
SPECIFIED = "as specified"
# P(down-vote) given true appeal q; P(up-vote) is q in every model.
DOWN_MODELS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    SPECIFIED: lambda q: DOWN_FACTOR * (1 - q),
    "informative": lambda q: 0.6 * (1 - q) ** 2,
    "controversial": lambda q: (1 - q) * (0.1 + 0.8 * q),
}
EVENING_HOURS = range(18, 22)
START = datetime(2021, 3, 1, tzinfo=UTC)
GRID = 2000  # points of the numerical integral over q


@dataclass(frozen=True)
class Simulation:
    """A simulated dataset with each idea's true appeal and the window's end."""

    dataset: Dataset
    quality: dict[str, float]
    end: datetime
    down: str = SPECIFIED


def simulate(seed: int, *, ideas: int = IDEAS, days: int = DAYS, down: str = SPECIFIED) -> Simulation:
    """Simulate one consultation (ANALYSIS.md section 1) with impressions logged."""
    rng = np.random.default_rng(seed)
    hours = days * 24
    quality = rng.beta(2, 8, size=ideas)
    posted = np.sort(rng.uniform(0, 0.9 * hours, size=ideas))
    hour = np.arange(hours)
    rate = 40 * np.exp(-hour / 168) + 5 + 10 * np.isin(hour % 24, EVENING_HOURS)
    arrivals = np.repeat(hour, rng.poisson(rate)).astype(np.float64)
    arrivals = np.sort(arrivals + rng.uniform(0, 1, size=arrivals.size))
    visible = np.searchsorted(posted, arrivals, side="right")
    arrivals, visible = arrivals[visible > 0], visible[visible > 0]
    # Random keys, with not-yet-posted ideas pushed to the end, pick a uniform sample of visible ideas.
    keys = rng.random((arrivals.size, ideas))
    keys[np.arange(ideas)[None, :] >= visible[:, None]] = np.inf
    shown_count = np.minimum(visible, SHOWN_PER_VISITOR)
    picks = np.argpartition(keys, SHOWN_PER_VISITOR - 1, axis=1)[:, :SHOWN_PER_VISITOR]
    keep = np.arange(SHOWN_PER_VISITOR)[None, :] < shown_count[:, None]
    # argpartition leaves the smallest keys first but unordered; sort them so kept columns are visible ideas.
    picks = np.take_along_axis(picks, np.argsort(np.take_along_axis(keys, picks, axis=1), axis=1), axis=1)
    visitor = np.broadcast_to(np.arange(arrivals.size)[:, None], picks.shape)[keep]
    item = picks[keep]
    at = np.broadcast_to(arrivals[:, None], picks.shape)[keep]
    draw = rng.random(item.size)
    q = quality[item]
    value = np.where(draw < q, 1, np.where(draw < q + DOWN_MODELS[down](q), -1, 0))

    ids = [f"s{i}" for i in range(ideas)]
    moments = [START + timedelta(hours=float(h)) for h in posted]
    contributions = [
        Contribution(
            id=ids[i], kind="idea", parent=None, text=f"Simulated idea {i}", phase="1", topic="simulation",
            question="What should change?", visible_from=moments[i], author=f"author{i}",
            author_role="participant", groups={},
        )
        for i in range(ideas)
    ]
    seen_at = [START + timedelta(hours=float(h)) for h in at]
    visitors = [f"v{v}" for v in range(arrivals.size)]
    impressions = [Impression(ids[i], visitors[v], t) for i, v, t in zip(item, visitor, seen_at, strict=True)]
    votes = [
        Vote(ids[i], visitors[v], int(x), t)
        for i, v, x, t in zip(item, visitor, value, seen_at, strict=True)
        if x != 0
    ]
    dataset = Dataset(contributions, votes, impressions, {"name": f"simulation seed {seed}"})
    return Simulation(dataset, dict(zip(ids, quality.tolist(), strict=True)), START + timedelta(hours=hours), down)


def wilson_lower(up: np.ndarray, down: np.ndarray, z: float = stats.norm.ppf(0.9)) -> np.ndarray:
    """Wilson score lower bound of up/(up+down) (80% two-sided by default); 0 with no votes."""
    n = up + down
    p = np.divide(up, n, out=np.zeros(n.shape), where=n > 0)
    centre = p + z * z / (2 * np.maximum(n, 1))
    margin = z * np.sqrt(p * (1 - p) / np.maximum(n, 1) + z * z / (4 * np.maximum(n, 1) ** 2))
    return np.where(n > 0, (centre - margin) / (1 + z * z / np.maximum(n, 1)), 0.0)


def true_posterior_mean(up: np.ndarray, down: np.ndarray, shown: np.ndarray, model: str) -> np.ndarray:
    """Posterior mean of q under the true prior Beta(2, 8) and the true down-vote model (numerical)."""
    grid = (np.arange(GRID) + 0.5) / GRID
    # Of those shown who did not up-vote, the share who down-voted, given q.
    share = DOWN_MODELS[model](grid) / (1 - grid)
    log = (stats.beta.logpdf(grid, 2, 8)[None, :] + up[:, None] * np.log(grid)
           + (shown - up)[:, None] * np.log1p(-grid)
           + down[:, None] * np.log(share) + (shown - up - down)[:, None] * np.log1p(-share))
    weight = np.exp(log - log.max(axis=1, keepdims=True))
    return (weight @ grid) / weight.sum(axis=1)


def score_simulation(sim: Simulation) -> dict[str, dict[str, float]]:
    """Spearman with true quality and with posting time for each scoring rule, and interval coverage."""
    ids = list(sim.quality)
    truth = np.array([sim.quality[i] for i in ids])
    by_id = {c.id: c for c in sim.dataset.contributions}
    posted = np.array([by_id[i].visible_from.timestamp() for i in ids])
    hours_visible = (sim.end.timestamp() - posted) / 3600
    scores = compute_support(sim.dataset)
    fallback = compute_support(replace(sim.dataset, impressions=[]))
    up = np.array([scores[i].up for i in ids], dtype=float)
    down = np.array([scores[i].down for i in ids], dtype=float)
    shown = np.array([scores[i].impressions for i in ids], dtype=float)
    # The previous score: the Beta-Binomial posterior of up-votes per impression, down-votes unused.
    previous = beta_posterior(up, shown, fit_beta_prior(up, shown))
    intervals = {
        "support (impressions)": (np.array([scores[i].low for i in ids]), np.array([scores[i].high for i in ids])),
        "support, up-votes only (previous)": previous[1:],
    }
    rules = {
        "raw up-votes": up,
        "Hacker News gravity": (up - 1) / (hours_visible + 2) ** 1.8,
        "up-votes per hour visible": up / hours_visible,
        "Wilson 80% lower bound": wilson_lower(up, down),
        "up-votes per impression": np.divide(up, shown, out=np.zeros(up.shape), where=shown > 0),
        "support, up-votes only (previous)": previous[0],
        "support (impressions)": np.array([scores[i].support for i in ids]),
        # The best a score of (up-votes, impressions) can do: the posterior mean under the true prior.
        "ceiling, up-votes only: true prior": (up + 2) / (shown + 10),
        # The best any score can do: the posterior mean under the true prior and down-vote model. As
        # specified, down-votes carry no information, so the two ceilings are equal.
        "ceiling, every signal: true model": true_posterior_mean(up, down, shown, sim.down),
        "support (exposure fallback)": np.array([fallback[i].support for i in ids]),
    }
    figures = {
        name: {
            "spearman_quality": float(stats.spearmanr(values, truth).statistic),
            "spearman_time": float(stats.spearmanr(values, posted).statistic),
        }
        for name, values in rules.items()
    }
    for name, (low, high) in intervals.items():
        figures[name]["coverage_80"] = float(np.mean((low <= truth) & (truth <= high)))
    return figures


def simulation_summary(seeds: Iterable[int] = range(5), *,
                       down: str = SPECIFIED) -> dict[str, dict[str, dict[str, float]]]:
    """Mean, lowest and highest over seeds of every figure of ``score_simulation``."""
    runs = [score_simulation(simulate(seed, down=down)) for seed in seeds]
    return {
        name: {
            metric: {"mean": float(np.mean(values)), "min": float(np.min(values)), "max": float(np.max(values))}
            for metric in runs[0][name]
            for values in [[run[name][metric] for run in runs]]
        }
        for name in runs[0]
    }


def simulation_figures(seeds: Iterable[int] = range(5), *, down: str = SPECIFIED) -> dict[str, dict[str, float]]:
    """Means over seeds of ``score_simulation``: the figures the seeded test and ``eval`` report."""
    summary = simulation_summary(seeds, down=down)
    return {name: {metric: spread["mean"] for metric, spread in figures.items()} for name, figures in summary.items()}
