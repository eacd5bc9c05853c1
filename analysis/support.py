"""Time-adjusted support: of the people shown a contribution, how many supported it (ANALYSIS.md section 1).

Early contributions collect more votes just by being visible for longer, so raw counts mostly measure age.
The score here is the posterior mean of a Beta-Binomial, up-votes per impression, shrunk towards the
consultation's overall rate when few people have seen the item, with an 80% credible interval. The prior is
fitted by the method of moments over all contributions analysed together (a weak fixed prior of
``WEAK_PRIOR_STRENGTH`` pseudo-impressions when there are fewer than ``MIN_ITEMS_FOR_FIT`` items).

When a dataset has no impressions at all (imported data such as Pol.is), the number shown is replaced by
an exposure estimate ``X_i`` built from when people voted (``exposure_estimates``: ANALYSIS.md's
``sum over hours h >= t_i of A_h / V_h``, refined so people are not counted as seeing items they already
voted on) and the score by a Gamma-Poisson posterior ``(u_i + a) / (X_i + b)``. Exposure is rescaled so its
total equals the number of (item, person) votes, passes and withdrawals included, which puts it on the
scale of "people shown" without changing any ranking.

One deliberate difference from ANALYSIS.md: the noise term in the method of moments. With a
trials-weighted variance, binomial noise contributes ``m(1-m) * items / sum(n)``; the ``m(1-m) mean(1/n)``
written there belongs with the unweighted variance and over-shrinks (see ``fit_beta_prior``).

Every signal: besides up-votes, what the people who were shown an item and did not support it did says
something in many consultations (an idea most people reject is often worse than one they pass over). The
score therefore also reads the *down share*, ``r_i = d_i / (n_i - u_i)``: of those shown who did not
up-vote, the share who down-voted (with exposure: ``d_i / (d_i + passes_i)``). Given the up-votes, that
share is binomial noise around the item's true down share, independent of the up-vote noise, so the
covariance between items' support rates and down shares is estimated without a noise correction. When it
is clearly non-zero (``fit_side_evidence``: 0 within 1.96 standard errors, shrunk beyond) each item's prior
is moved by a linear regression on its own down share, weighted by how many people it rests on
(``shifted_prior``), and then updated with its up-votes and impressions as before. When down-votes say
nothing about appeal (the ANALYSIS.md simulation: P(down | not up) is 0.3 whatever the idea), the
covariance shrinks to 0 and the score is exactly the Beta-Binomial one, with every property ANALYSIS.md
asks for. Where down-votes do carry information the score still rises with up-votes at fixed impressions
and down-votes, and equal counts get equal scores whatever the time; but one more person who passes
(rather than opposes) can raise it slightly, since passing is then better news than opposing.

Raw counts are reported beside every score; ranking by them is exactly what this module exists to avoid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from analysis.records import Dataset, Interactions, distinct, index_interactions, timestamps

MIN_ITEMS_FOR_FIT = 20
WEAK_PRIOR_STRENGTH = 10.0
INTERVAL = 0.8
# Bounds on the prior's strength (pseudo-observations): below 1 the prior stops pulling sparse items in;
# above 10,000 it would erase real differences if the between-item variance estimate comes out near zero.
MIN_STRENGTH = 1.0
MAX_STRENGTH = 10_000.0
SECONDS_PER_HOUR = 3600.0
SIGNIFICANT = 1.96  # standard errors a covariance must clear before down-votes move anything
MAX_SHIFT = 2.0  # how far (in prior standard deviations) an item's down share may move its prior

Method = Literal["impressions", "exposure"]


@dataclass(frozen=True)
class Prior:
    """A fitted prior: Beta(a, b) for rates per impression, Gamma(shape a, rate b) for rates per exposure."""

    family: Literal["beta", "gamma"]
    a: float
    b: float
    fitted: bool
    items: int

    @property
    def mean(self) -> float:
        """The rate an item with no data gets."""
        return self.a / (self.a + self.b) if self.family == "beta" else self.a / self.b

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for results."""
        return {**asdict(self), "mean": self.mean}


@dataclass(frozen=True)
class SideEvidence:
    """How an item's down share moves the prior on its support rate (covariance 0: not at all)."""

    mean: float
    variance: float
    covariance: float
    raw_covariance: float
    standard_error: float
    items: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for results."""
        return asdict(self)


NO_SIDE_EVIDENCE = SideEvidence(0.0, 0.0, 0.0, 0.0, 0.0, 0)


@dataclass(frozen=True, slots=True)
class SupportScore:
    """Support for one contribution, with its interval and the raw counts behind it."""

    item: str
    up: int
    down: int
    voters: int
    impressions: int | None
    exposure: float | None
    support: float
    low: float
    high: float
    approval: float
    approval_low: float
    approval_high: float
    method: Method

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for results."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True)
class SupportReport:
    """Scores per item id, the method used and the priors fitted."""

    scores: dict[str, SupportScore]
    method: Method
    prior: Prior
    approval_prior: Prior
    ignored_votes: int
    side: SideEvidence = NO_SIDE_EVIDENCE

    def to_dict(self) -> dict[str, Any]:
        """Summary for results (the per-item scores are reported separately)."""
        return {
            "method": self.method,
            "prior": self.prior.to_dict(),
            "approval_prior": self.approval_prior.to_dict(),
            "down_share_evidence": self.side.to_dict(),
            "ignored_votes": self.ignored_votes,
        }


def _strength_bounded(k: float) -> float:
    return float(np.clip(k, MIN_STRENGTH, MAX_STRENGTH))


def fit_beta_prior(successes: np.ndarray, trials: np.ndarray) -> Prior:
    """Beta prior for per-item rates by trials-weighted method of moments (weak prior if few items)."""
    successes = np.asarray(successes, dtype=np.float64)
    trials = np.asarray(trials, dtype=np.float64)
    observed = trials > 0
    items = int(observed.sum())
    # Half a pseudo-success keeps the mean strictly inside (0, 1) so the prior is proper.
    m = (successes[observed].sum() + 0.5) / (trials[observed].sum() + 1.0)
    if items < MIN_ITEMS_FOR_FIT:
        return Prior("beta", m * WEAK_PRIOR_STRENGTH, (1 - m) * WEAK_PRIOR_STRENGTH, False, items)
    n, r = trials[observed], successes[observed] / trials[observed]
    spread = float(np.sum(n * (r - m) ** 2) / n.sum())
    # Binomial noise in a trials-weighted variance is m(1-m) * items / sum(n). ANALYSIS.md writes
    # m(1-m) * mean(1/n), which belongs with the unweighted variance; paired with the weighted one it
    # over-shrinks (simulation: prior strength 18 for a true 10, interval coverage 0.77 instead of 0.78).
    binomial_noise = m * (1 - m) * items / float(n.sum())
    v = max(spread - binomial_noise, m * (1 - m) / (MAX_STRENGTH + 1))
    k = _strength_bounded(m * (1 - m) / v - 1)
    return Prior("beta", m * k, (1 - m) * k, True, items)


def fit_gamma_prior(counts: np.ndarray, exposure: np.ndarray) -> Prior:
    """Gamma prior for per-item rates per unit exposure by the method of moments (weak prior if few items)."""
    counts = np.asarray(counts, dtype=np.float64)
    exposure = np.asarray(exposure, dtype=np.float64)
    observed = exposure > 0
    items = int(observed.sum())
    total = exposure[observed].sum()
    m = (counts[observed].sum() + 0.5) / total if total > 0 else 0.5
    if items < MIN_ITEMS_FOR_FIT:
        return Prior("gamma", m * WEAK_PRIOR_STRENGTH, WEAK_PRIOR_STRENGTH, False, items)
    x, r = exposure[observed], counts[observed] / exposure[observed]
    spread = float(np.sum(x * (r - m) ** 2) / x.sum())
    # Poisson noise in an exposure-weighted variance: m * items / sum(x) (see fit_beta_prior).
    poisson_noise = m * items / float(x.sum())
    v = max(spread - poisson_noise, m * m / MAX_STRENGTH)
    # Gamma(a, rate b) has mean a/b = m and variance a/b^2 = v; b is the prior's pseudo-exposure.
    b = m / v
    a = float(np.clip(m * b, 1.0 / MAX_STRENGTH, MAX_STRENGTH))
    return Prior("gamma", a, a / m, True, items)


def fit_side_evidence(rate_deviation: np.ndarray, rate_noise: np.ndarray, rate_variance: float,
                      down: np.ndarray, others: np.ndarray) -> SideEvidence:
    """Between-item covariance of the support rate and the down share, shrunk towards 0 by its standard error.

    ``rate_deviation`` is each item's observed support rate less the prior mean, ``rate_noise`` its sampling
    variance and ``rate_variance`` the prior's (between-item) variance; ``down`` of ``others`` people who did not
    support the item opposed it. Items nobody but supporters saw carry no down share and are left out.
    """
    down = np.asarray(down, dtype=np.float64)
    others = np.asarray(others, dtype=np.float64)
    observed = (others > 0) & np.isfinite(rate_noise)
    share = fit_beta_prior(down[observed], others[observed])
    strength = share.a + share.b
    if int(observed.sum()) < MIN_ITEMS_FOR_FIT or not share.fitted or strength >= MAX_STRENGTH:
        return NO_SIDE_EVIDENCE  # too few items, or the down share does not vary between items
    m, variance = share.mean, share.mean * (1 - share.mean) / (strength + 1)
    x = rate_deviation[observed]
    y = down[observed] / others[observed] - m
    share_noise = (m * (1 - m) - variance) / others[observed]
    # Weights: the inverse of each product's variance when the two deviations are independent.
    weight = 1.0 / ((rate_variance + rate_noise[observed]) * (variance + share_noise))
    raw = float(np.sum(weight * x * y) / weight.sum())
    error = float(np.sqrt(np.sum(weight**2 * (x * y - raw) ** 2)) / weight.sum())
    # Positive-part shrinkage: a covariance within SIGNIFICANT standard errors of 0 counts for nothing, so
    # down-votes that say nothing (the simulation as specified) leave the score alone 95% of the time.
    shrunk = raw * max(0.0, 1 - (SIGNIFICANT * error / raw) ** 2) if raw != 0 else 0.0
    bound = 0.95 * float(np.sqrt(rate_variance * variance))
    return SideEvidence(float(m), float(variance), float(np.clip(shrunk, -bound, bound)), raw, error,
                        int(observed.sum()))


def shifted_prior(side: SideEvidence, down: np.ndarray, others: np.ndarray, mean: float,
                  variance: float) -> tuple[np.ndarray, np.ndarray]:
    """Each item's prior mean and variance of its support rate, given its own down share (linear regression)."""
    down = np.asarray(down, dtype=np.float64)
    others = np.asarray(others, dtype=np.float64)
    gain = np.zeros(down.size)
    deviation = np.zeros(down.size)
    observed = others > 0
    noise = (side.mean * (1 - side.mean) - side.variance) / others[observed]
    # The less a down share rests on, the less it moves the prior: gain = cov / (var + its noise).
    gain[observed] = side.covariance / (side.variance + noise)
    deviation[observed] = down[observed] / others[observed] - side.mean
    # A straight line fitted on typical items must not be stretched to extreme ones ("77 of 78 opposed"):
    # the prior moves at most MAX_SHIFT standard deviations of the population's spread.
    limit = MAX_SHIFT * np.sqrt(variance)
    return mean + np.clip(gain * deviation, -limit, limit), variance - side.covariance * gain


def _beta_item_prior(prior: Prior, side: SideEvidence, down: np.ndarray,
                     others: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-item Beta(a, b) given the down shares, or None when they carry no information."""
    if side.covariance == 0.0:
        return None
    strength = prior.a + prior.b
    means, variances = shifted_prior(side, down, others, prior.mean,
                                     prior.mean * (1 - prior.mean) / (strength + 1))
    means = np.clip(means, 1e-3, 1 - 1e-3)
    k = np.clip(means * (1 - means) / np.maximum(variances, 1e-12) - 1, MIN_STRENGTH, MAX_STRENGTH)
    # No item's prior is more lopsided than the population's: a prior Beta(0.001, ...) would put the
    # posterior mean above its own 80% interval.
    return np.maximum(means * k, min(prior.a, 1.0)), np.maximum((1 - means) * k, min(prior.b, 1.0))


def _gamma_item_prior(prior: Prior, side: SideEvidence, down: np.ndarray,
                      others: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-item Gamma(shape, rate) given the down shares, or None when they carry no information."""
    if side.covariance == 0.0:
        return None
    means, variances = shifted_prior(side, down, others, prior.mean, prior.a / prior.b**2)
    means = np.maximum(means, prior.mean / MAX_STRENGTH)
    shape = np.clip(means**2 / np.maximum(variances, 1e-12), min(prior.a, 1.0), MAX_STRENGTH)
    return shape, shape / means


def beta_posterior(successes: np.ndarray, trials: np.ndarray, prior: Prior,
                   item_prior: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """Posterior mean and central 80% interval of each rate under a Beta prior (or one per item)."""
    from scipy import stats  # imported here: page queries use this module, and scipy is slow to load
    successes = np.asarray(successes, dtype=np.float64)
    # More supporters than people recorded as shown (impressions lost or logged late) counts as all shown.
    trials = np.maximum(np.asarray(trials, dtype=np.float64), successes)
    prior_a, prior_b = item_prior if item_prior is not None else (prior.a, prior.b)
    a = prior_a + successes
    b = prior_b + trials - successes
    tail = (1 - INTERVAL) / 2
    return a / (a + b), stats.beta.ppf(tail, a, b), stats.beta.ppf(1 - tail, a, b)


def gamma_posterior(counts: np.ndarray, exposure: np.ndarray, prior: Prior,
                    item_prior: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, ...]:
    """Posterior mean and central 80% interval of each rate under a Gamma prior (or one per item), capped at 100%.

    Support is a share of the people shown, so it cannot pass 1 even when the exposure estimate falls short
    of the votes (a theme page once showed "149%").
    """
    from scipy import stats  # imported here: page queries use this module, and scipy is slow to load
    prior_a, prior_b = item_prior if item_prior is not None else (prior.a, prior.b)
    shape = prior_a + np.asarray(counts, dtype=np.float64)
    rate = prior_b + np.asarray(exposure, dtype=np.float64)
    tail = (1 - INTERVAL) / 2
    return (
        np.minimum(shape / rate, 1.0),
        np.minimum(stats.gamma.ppf(tail, shape, scale=1 / rate), 1.0),
        np.minimum(stats.gamma.ppf(1 - tail, shape, scale=1 / rate), 1.0),
    )


def _within_runs(values: np.ndarray, run_id: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For values grouped in contiguous runs: the sum of earlier and of later values in the same run."""
    total = np.cumsum(values)
    starts = np.flatnonzero(np.concatenate([[True], run_id[1:] != run_id[:-1]]))
    ends = np.flatnonzero(np.concatenate([run_id[1:] != run_id[:-1], [True]]))
    positions = np.arange(values.size)
    run_start = starts[np.searchsorted(starts, positions, side="right") - 1]
    run_end = ends[np.searchsorted(ends, positions, side="left")]
    before = total - values - (total[run_start] - values[run_start])
    after = total[run_end] - total
    return before, after


def exposure_estimates(dataset: Dataset, seen: Interactions) -> np.ndarray:
    """Estimated people shown each item, from when people voted, for data without impressions.

    ANALYSIS.md's ``X_i = sum over hours h >= t_i of A_h / V_h`` spreads each active person evenly over all
    visible items. This refines it with what the votes also tell us: in each hour, a person who voted on
    ``k`` items is taken to have been shown items at random among the ``U`` visible ones they had not voted
    on yet, so each of those had a chance ``k / U`` of being shown to them, and an item stops collecting
    chances from a person once they have voted on it. On Pol.is, which shows people only comments they have
    not voted on, the plain formula left support correlated with posting time (+0.86 on one conversation);
    this one agrees with scoring by votes including passes (Spearman 0.88-0.99 on the four conversations,
    against 0.32-0.97 for the plain formula).
    """
    n_items = len(dataset.contributions)
    visible = timestamps(c.visible_from for c in dataset.contributions)
    item, person, voted_at = seen.vote_item, seen.vote_person, seen.vote_first_at
    if item.size == 0:
        return np.zeros(n_items)
    start = min(visible.min(), voted_at.min())
    item_hour = np.floor((visible - start) / SECONDS_PER_HOUR).astype(np.int64)
    vote_hour = np.floor((voted_at - start) / SECONDS_PER_HOUR).astype(np.int64)
    hours = int(max(item_hour.max(), vote_hour.max())) + 2
    visible_count = np.cumsum(np.bincount(item_hour, minlength=hours)).astype(np.float64)
    # One cell per (person, hour) with votes, sorted by person then hour.
    key = person * hours + vote_hour
    cells = distinct(key)
    cell_of_vote = np.searchsorted(cells, key)
    cell_person, cell_hour = cells // hours, cells % hours
    voted = np.bincount(cell_of_vote, minlength=cells.size).astype(np.float64)
    voted_before, _ = _within_runs(voted, cell_person)
    not_yet_voted = np.maximum(visible_count[cell_hour] - voted_before, voted)
    chance = voted / not_yet_voted
    _, chance_later = _within_runs(chance, cell_person)
    per_hour = np.bincount(cell_hour, weights=chance, minlength=hours)
    from_hour = np.concatenate([np.cumsum(per_hour[::-1])[::-1], [0.0]])
    # An item posted part-way through an hour only gets the rest of that hour's share.
    elapsed = (visible - start) / SECONDS_PER_HOUR - item_hour
    exposure = (1 - elapsed) * per_hour[item_hour] + from_hour[item_hour + 1]
    exposure -= np.bincount(item, weights=chance_later[cell_of_vote], minlength=n_items)
    exposure = np.maximum(exposure, 0.0)
    # Put exposure on the scale of people shown: its total equals the (item, person) pairs with a vote.
    if exposure.sum() > 0:
        exposure *= seen.seen_item.size / exposure.sum()
    return exposure


def support_report(dataset: Dataset, seen: Interactions | None = None) -> SupportReport:
    """Support, approval and intervals for every contribution, with the priors used."""
    ids = [c.id for c in dataset.contributions]
    seen = seen if seen is not None else index_interactions(dataset)
    n_items = len(ids)
    up = np.bincount(seen.vote_item[seen.vote_value == 1], minlength=n_items)
    down = np.bincount(seen.vote_item[seen.vote_value == -1], minlength=n_items)
    method: Method = "impressions" if seen.has_impressions else "exposure"
    if not ids:
        empty = Prior("beta", 0.5 * WEAK_PRIOR_STRENGTH, 0.5 * WEAK_PRIOR_STRENGTH, False, 0)
        return SupportReport({}, method, empty, empty, seen.ignored_votes)
    if method == "impressions":
        shown = np.bincount(seen.seen_item, minlength=n_items)
        prior = fit_beta_prior(up, shown)
        # Of the people shown who did not up-vote, how many down-voted (the rest passed or just looked).
        others = np.maximum(shown - up, 0)
        strength = prior.a + prior.b
        trials = np.maximum(shown, up).astype(np.float64)
        noise = np.divide(prior.mean * (1 - prior.mean) * strength / (strength + 1), trials,
                          out=np.full(n_items, np.inf), where=trials > 0)
        rates = np.divide(up, trials, out=np.zeros(n_items), where=trials > 0)
        side = fit_side_evidence(rates - prior.mean, noise, prior.mean * (1 - prior.mean) / (strength + 1),
                                 down, others)
        support, low, high = beta_posterior(up, shown, prior, _beta_item_prior(prior, side, down, others))
        exposure = None
    else:
        exposure = exposure_estimates(dataset, seen)
        prior = fit_gamma_prior(up, exposure)
        # Among the voters who did not agree, how many disagreed rather than passed.
        others = down + np.bincount(seen.vote_item[seen.vote_value == 0], minlength=n_items)
        noise = np.divide(prior.mean, exposure, out=np.full(n_items, np.inf), where=exposure > 0)
        rates = np.divide(up, exposure, out=np.zeros(n_items), where=exposure > 0)
        side = fit_side_evidence(rates - prior.mean, noise, prior.a / prior.b**2, down, others)
        support, low, high = gamma_posterior(up, exposure, prior, _gamma_item_prior(prior, side, down, others))
        shown = None
    approval_prior = fit_beta_prior(up, up + down)
    approval, approval_low, approval_high = beta_posterior(up, up + down, approval_prior)
    scores = {
        item: SupportScore(
            item=item,
            up=int(up[i]),
            down=int(down[i]),
            voters=int(up[i] + down[i]),
            impressions=None if shown is None else int(shown[i]),
            exposure=None if exposure is None else float(exposure[i]),
            support=float(support[i]),
            low=float(low[i]),
            high=float(high[i]),
            approval=float(approval[i]),
            approval_low=float(approval_low[i]),
            approval_high=float(approval_high[i]),
            method=method,
        )
        for i, item in enumerate(ids)
    }
    return SupportReport(scores, method, prior, approval_prior, seen.ignored_votes, side)


def compute_support(dataset: Dataset) -> dict[str, SupportScore]:
    """Time-adjusted support for every contribution, keyed by contribution id."""
    return support_report(dataset).scores
