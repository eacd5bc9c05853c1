"""Disclosure control for the site: the policy from configuration, and helpers pages, API and exports use.

The rules themselves live in analysis/disclosure.py so the analysis engine applies exactly the same ones.
Thresholds come from CONSULT_DISCLOSURE_MIN_COUNT, _ROUNDING, _MIN_GROUP and _PROTECTION; they can only
be raised above the defaults (a lower value stops the site at the first page that needs them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.disclosure import DEFAULT, WITHHELD, Cell, Policy, Release, one_way, round_count, share

__all__ = ["WITHHELD", "Cell", "Policy", "Release", "one_way", "policy_from", "round_count", "share",
           "describe_policy"]


def policy_from(config: Mapping[str, Any]) -> Policy:
    """The disclosure policy configured for this site (defaults unless raised)."""
    values = {}
    for name in ("min_count", "rounding", "min_group", "protection"):
        raw = config.get(f"DISCLOSURE_{name.upper()}")
        values[name] = int(raw) if raw not in (None, "") else getattr(DEFAULT, name)
    return Policy(**values)


def describe_policy(policy: Policy) -> str:
    """The rule in plain words, for the foot of every table that shows groups."""
    return (f"To protect people, counts under {policy.min_count} are shown as \u201c{policy.small_label}\u201d, "
            f"other counts are rounded to the nearest {policy.rounding}, groups of fewer than "
            f"{policy.min_group} people are not broken down, and a figure is withheld where it would let a "
            "small one be worked out. Percentages are worked out from the rounded counts.")
