"""Plain records the analysis takes in, and the JSON-lines format the site exports them in.

Format: UTF-8, one JSON object per line, each with a ``"type"``. Blank lines are ignored. Times are ISO 8601
strings; a time without an offset is read as UTC. Unknown keys are ignored, so the format can grow.

``{"type": "meta", ...}``
    At most one line. Any keys; the analysis reads ``"name"`` (shown in reports) and ``"voters"``: a map from
    voter pseudonym to that person's declared groups, e.g. ``{"p7": {"role": "participant", "profession":
    "physiotherapist", "region": "North"}}``, used to split votes by group. Contributions carry their author's
    groups themselves.
``{"type": "contribution", "id": "i12", "kind": "idea" | "comment", "parent": "i3" | null, "text": "...",
"phase": "1", "topic": "...", "question": "...", "visible_from": "2021-03-01T09:30:00+00:00",
"author": "p7", "author_role": "participant", "groups": {"profession": "physiotherapist"}}``
    One per idea or comment. ``visible_from`` is when participants could first see it (after any moderation
    hold). ``parent`` is the idea a comment belongs to. ``groups`` holds the author's declared groups, one
    value per dimension; ``author_role`` is the author's role on the site. ``groups["channel"]`` other than
    ``"online"`` ("workshop", "paper", "phone") marks a contribution gathered offline: it is themed and
    quoted, but its votes and views are left out and it gets no support score. An optional ``"meta": true``
    marks a statement about the speaker rather than an opinion (Pol.is "meta", e.g. "I am over 55"); when
    any contribution carries the key, the marks decide which statements are meta (see ``analysis.meta``).
``{"type": "vote", "item": "i12", "voter": "p9", "value": 1 | -1 | 0, "at": "..."}``
    Every vote event, including changes: the analysis keeps each person's last vote on an item. ``0`` means
    the vote was withdrawn (in Pol.is data: "pass").
``{"type": "impression", "item": "i12", "viewer": "p9", "first_seen": "..."}``
    The first time a person was shown an item. One line per (item, viewer); repeats are harmless.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from analysis.events import Impression, ImpressionTable, Vote, VoteTable, as_tables, first_appearance, seconds

__all__ = ["Contribution", "Dataset", "Impression", "ImpressionTable", "InputError", "Interactions", "Vote",
           "VoteTable", "distinct", "format_time", "index_interactions", "parse_time", "read_jsonl",
           "timestamps", "write_jsonl"]

KINDS = ("idea", "comment")
VOTE_VALUES = (1, -1, 0)


class InputError(ValueError):
    """The input cannot be read as a consultation export; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Contribution:
    """An idea or a comment, with when it became visible and who wrote it (pseudonymously)."""

    id: str
    kind: Literal["idea", "comment"]
    parent: str | None
    text: str
    phase: str
    topic: str
    question: str
    visible_from: datetime
    author: str
    author_role: str
    groups: Mapping[str, str] = field(default_factory=dict)
    meta: bool = False  # a Pol.is-style "meta" statement about the speaker ("I am over 55"), not an opinion


@dataclass(frozen=True)
class Dataset:
    """Everything one analysis reads: contributions, vote events, impressions and free-form metadata.

    ``votes`` and ``impressions`` are lists of records, or tables (``analysis.events``) when read from an
    export; either is a sequence of ``Vote`` or ``Impression``.
    """

    contributions: list[Contribution]
    votes: Sequence[Vote]
    impressions: Sequence[Impression]
    meta: dict[str, Any] = field(default_factory=dict)

    def voter_groups(self) -> dict[str, dict[str, str]]:
        """Declared groups per person: ``meta["voters"]``, completed by the groups on their contributions."""
        groups: dict[str, dict[str, str]] = {}
        for c in self.contributions:
            person = groups.setdefault(c.author, {})
            if c.author_role:
                person.setdefault("role", c.author_role)
            for dim, value in c.groups.items():
                person.setdefault(dim, value)
        for voter, declared in (self.meta.get("voters") or {}).items():
            groups.setdefault(voter, {}).update({str(k): str(v) for k, v in declared.items()})
        return groups


def distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values of an integer array.

    ``np.unique`` in numpy 2.4 hashes integer arrays and measured 27x slower than sorting here (18 s against
    0.7 s for 6 million pair keys), so every stage uses this instead.
    """
    ordered = np.sort(values, kind="stable")
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def parse_time(value: Any) -> datetime:
    """An ISO 8601 string (or datetime) as an aware UTC datetime; naive times are taken as UTC."""
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
    elif isinstance(value, datetime):
        moment = value
    else:
        raise ValueError(f"expected an ISO 8601 time, got {value!r}")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """ISO 8601 with an explicit UTC offset."""
    return parse_time(moment).isoformat()


def timestamps(moments: Iterable[datetime]) -> np.ndarray:
    """Seconds since the epoch as float64 (aware datetimes; naive ones are taken as UTC)."""
    return np.fromiter(
        ((m if m.tzinfo else m.replace(tzinfo=UTC)).timestamp() for m in moments), dtype=np.float64
    )


def contribution_from_dict(row: dict[str, Any], intern: dict[str, str]) -> Contribution:
    """A contribution from its JSON-lines object (``intern`` shares one string per repeated id)."""
    kind = row.get("kind", "idea")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    groups = row.get("groups") or {}
    if not isinstance(groups, dict):
        raise ValueError("groups must be an object of dimension -> value")
    parent = row.get("parent")
    author = str(row.get("author") or "")
    return Contribution(
        id=intern.setdefault(str(row["id"]), str(row["id"])),
        kind=kind,
        parent=None if parent is None else str(parent),
        text=str(row.get("text") or ""),
        phase=str(row.get("phase") or ""),
        topic=str(row.get("topic") or ""),
        question=str(row.get("question") or ""),
        visible_from=parse_time(row["visible_from"]),
        author=intern.setdefault(author, author),
        author_role=str(row.get("author_role") or ""),
        groups={str(k): str(v) for k, v in groups.items()},
        meta=row.get("meta") is True,
    )


def read_jsonl(path: Path | str) -> Dataset:
    """Read a JSON-lines export (format in this module's docstring) into a Dataset.

    Votes and impressions come back as tables (``analysis.events``); a large export is read by two processes,
    half each (``analysis.reader``).
    """
    from analysis.reader import read_export

    return read_export(Path(path))


def contribution_to_dict(c: Contribution) -> dict[str, Any]:
    """A contribution as its JSON-lines object."""
    return {
        "type": "contribution", "id": c.id, "kind": c.kind, "parent": c.parent, "text": c.text,
        "phase": c.phase, "topic": c.topic, "question": c.question,
        "visible_from": format_time(c.visible_from), "author": c.author, "author_role": c.author_role,
        "groups": dict(c.groups), **({"meta": True} if c.meta else {}),
    }


def write_jsonl(dataset: Dataset, path: Path | str) -> None:
    """Write a Dataset in the JSON-lines format that ``read_jsonl`` reads."""
    with Path(path).open("w", encoding="utf-8") as handle:
        if dataset.meta:
            handle.write(json.dumps({"type": "meta", **dataset.meta}) + "\n")
        for c in dataset.contributions:
            handle.write(json.dumps(contribution_to_dict(c)) + "\n")
        for v in dataset.votes:
            handle.write(
                json.dumps({"type": "vote", "item": v.item, "voter": v.voter, "value": v.value,
                            "at": format_time(v.at)}) + "\n"
            )
        for i in dataset.impressions:
            handle.write(
                json.dumps({"type": "impression", "item": i.item, "viewer": i.viewer,
                            "first_seen": format_time(i.first_seen)}) + "\n"
            )


@dataclass(frozen=True)
class Interactions:
    """Who voted on and who was shown each item, as parallel integer arrays (built once, used by every stage).

    Items index ``Dataset.contributions``; people index ``people``. ``vote_*`` hold each person's current
    vote per item (the last vote event wins; 0 = withdrawn or pass, kept because that person still saw
    the item) and when they first voted on it (seconds since the epoch). ``seen_*`` hold the distinct
    (item, person) pairs of people shown each item: logged impressions plus everyone who voted, since a
    vote implies a view. An impression logged before the item's ``visible_from`` (a moderation preview,
    say) counts as if it happened at ``visible_from``: the person still saw the item, so it counts once.
    """

    vote_item: np.ndarray
    vote_person: np.ndarray
    vote_value: np.ndarray
    vote_first_at: np.ndarray
    seen_item: np.ndarray
    seen_person: np.ndarray
    people: list[str]
    has_impressions: bool
    ignored_votes: int


def _first_and_last_per_pair(item: np.ndarray, person: np.ndarray, at: np.ndarray,
                             people: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the first and the last event per (item, person) by time (ties: input order)."""
    pair = item * max(people, 1) + person
    # lexsort sorts by the last key first: pair, then time, then input order.
    rows = np.lexsort((np.arange(item.size), at, pair))
    ordered = pair[rows]
    last = np.ones(ordered.size, dtype=bool)
    last[:-1] = ordered[1:] != ordered[:-1]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = last[:-1]
    return rows[first], rows[last]


def index_interactions(dataset: Dataset) -> Interactions:
    """Current votes and distinct (item, person) views as arrays; those of unknown items are dropped."""
    votes, impressions = as_tables(dataset.votes, dataset.impressions)
    names = votes.names
    # Item index per name code (-1: not a contribution); people numbered in the order they first appear
    # among votes, then among impressions.
    item_of = np.full(len(names), -1, dtype=np.int64)
    for i, c in enumerate(dataset.contributions):
        code = names.codes.get(c.id)
        if code is not None:
            item_of[code] = i
    voters = first_appearance(votes.person, len(names))
    viewers = first_appearance(impressions.person, len(names))
    rank = np.full(len(names), -1, dtype=np.int64)
    rank[voters] = np.arange(voters.size)
    viewers = viewers[rank[viewers] < 0]
    rank[viewers] = np.arange(voters.size, voters.size + viewers.size)
    people = [names.names[code] for code in np.concatenate([voters, viewers]).tolist()]
    n = len(votes)
    item, person, value, at = item_of[votes.item], rank[votes.person], votes.value, seconds(votes.at)
    known = item >= 0
    item, person, value, at = item[known], person[known], value[known], at[known]
    viewed, viewer = item_of[impressions.item], rank[impressions.person]
    first, keep = _first_and_last_per_pair(item, person, at, len(people))
    item, person, value, first_at = item[keep], person[keep], value[keep], at[first]
    width = max(len(people), 1)
    logged = viewed >= 0
    pairs = distinct(
        np.concatenate([viewed[logged], item]) * width + np.concatenate([viewer[logged], person])
    )
    return Interactions(
        vote_item=item, vote_person=person, vote_value=value, vote_first_at=first_at,
        seen_item=pairs // width, seen_person=pairs % width,
        people=people, has_impressions=len(impressions) > 0, ignored_votes=int(n - known.sum()),
    )
