"""The names people chose for the analysis's groups and dimensions, read wherever a code would otherwise show."""

from __future__ import annotations

from ..models import CATEGORY_LABELS, GATHERED, PROFESSION_LABELS

# What a group means where it is not a declared category or profession, by the dimension it is in.
_GROUP_WORDS = {
    "claim": {"verified": "Checked by work email or a facilitator", "self-declared": "Said so themselves",
              "undeclared": "Not staff or students"},
    "channel": {"online": "Online", "undeclared": "Voted only"},
}
# The analysis's dimensions ("role" and "category" are both what people told us they are).
DIMENSION_TITLES = {"role": "What people told us they are", "category": "What people told us they are",
                    "profession": "Profession", "channel": "How it was gathered",
                    "claim": "Whether a staff or student claim was checked"}


def group_label(group: str, dimension: str = "") -> str:
    """An analysis group's name: "A carer", "Physiotherapist", "Gathered at a workshop", "Did not say"."""
    words = _GROUP_WORDS.get(dimension, {})
    if group in words:
        return words[group]
    if group in GATHERED:
        return f"Gathered {GATHERED[group]}"
    return {"undeclared": "Did not say", "unknown": "Group not known"}.get(group) or CATEGORY_LABELS.get(group) \
        or PROFESSION_LABELS.get(group, group)


def dimension_title(dimension: str) -> str:
    """A dimension's name: "Profession" for "profession", an unknown code with a capital."""
    return DIMENSION_TITLES.get(dimension, dimension.replace("_", " ").capitalize())
