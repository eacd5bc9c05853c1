"""When and by whom: visit densities over time, counts drawn from them and pools of people."""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .settings import DIURNAL


def _floor(moment: datetime) -> datetime:
    """Drop the microseconds: stored times are whole seconds."""
    return moment.replace(microsecond=0)


class _Density:
    """A rate that is constant within each hour, sampled by inverting its running total."""

    def __init__(self, start: datetime, weights: Sequence[float]) -> None:
        self.start = start
        self.weights = list(weights)
        self.cum = [0.0]
        for weight in self.weights:
            self.cum.append(self.cum[-1] + weight)

    def position(self, moment: datetime) -> float:
        """The running total of the rate up to this moment."""
        x = (moment - self.start).total_seconds() / 3600
        hour = min(max(int(x), 0), len(self.weights) - 1)
        return self.cum[hour] + (x - hour) * self.weights[hour]

    def at(self, position: float) -> datetime:
        """The moment at which the running total reaches this position."""
        hour = min(max(bisect.bisect_right(self.cum, position) - 1, 0), len(self.weights) - 1)
        return self.start + timedelta(hours=hour + (position - self.cum[hour]) / self.weights[hour])

    def sample(self, rng: random.Random, low: datetime, high: datetime) -> datetime:
        """A moment between low and high (whole seconds), more likely where the rate is high."""
        a, b = self.position(low), self.position(high)
        return min(max(_floor(self.at(a + rng.random() * (b - a))), low), high)


def _activity(start: datetime, hours: int, *, closing: bool) -> list[float]:
    """Visits per hour: a launch peak that fades over a week, a reminder email, a last-chance push."""
    weights = []
    for hour in range(hours):
        moment = start + timedelta(hours=hour)
        rate = 40 * math.exp(-hour / 168) + 5
        if hour >= 168:
            rate += 25 * math.exp(-(hour - 168) / 36)
        if closing:
            rate += 15 * math.exp(-(hours - hour) / 48)
        # The sixth and seventh days of each week of a phase are quieter (a weekend after a weekday launch),
        # counted from the launch day rather than the calendar, so the demo is the same on any day it is seeded.
        weekend = (moment.date() - start.date()).days % 7 >= 5
        weights.append(rate * DIURNAL[moment.hour] * (0.8 if weekend else 1.0))
    return weights


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (normal approximation for large means)."""
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Share a whole number out in proportion to weights (largest remainder)."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --- people -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _Person:
    """A registrant: account, declared category and profession, and how active they are."""

    email: str
    role: str
    category: str
    profession: str | None
    created_at: datetime
    weight: float = 1.0
    id: int = 0


class _Pool:
    """The registrants who may contribute to a phase, in order of registration, weighted by activity."""

    def __init__(self, people: Iterable[_Person], engagement: dict[str, float]) -> None:
        self.members = sorted(people, key=lambda p: (p.created_at, p.email))
        self.joined = [p.created_at for p in self.members]
        self.cum: list[float] = []
        total = 0.0
        for person in self.members:
            total += person.weight * engagement.get(person.category, 1.0)
            self.cum.append(total)

    def size_at(self, moment: datetime) -> int:
        """How many members had registered by this moment."""
        return bisect.bisect_right(self.joined, moment)

    def pick(self, rng: random.Random, moment: datetime, *, exclude: set[int] | None = None,
             allowed: frozenset[str] | None = None) -> _Person | None:
        """A member registered by this moment, not excluded, of an allowed category; None if none is."""
        size = self.size_at(moment)
        if size == 0:
            return None

        def ok(person: _Person) -> bool:
            if exclude is not None and person.id in exclude:
                return False
            return allowed is None or person.category in allowed

        total = self.cum[size - 1]
        for _ in range(16):
            person = self.members[min(bisect.bisect_right(self.cum, rng.random() * total), size - 1)]
            if ok(person):
                return person
        # Rare: most eligible members are excluded. Walk the list from a random point instead.
        start = rng.randrange(size)
        for step in range(size):
            person = self.members[(start + step) % size]
            if ok(person):
                return person
        return None
