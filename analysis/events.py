"""Vote and impression events: one record each, or millions of them as columns.

A large consultation has millions of events. As Python objects they cost about 150 bytes and a microsecond
each to make, so exports are read into ``VoteTable`` and ``ImpressionTable``: numpy columns of codes into one
pool of names (item and person ids) and times in microseconds. Both are read-only sequences of ``Vote`` and
``Impression``, so code that loops over ``Dataset.votes`` works the same on a list of records or a table;
the stages that need speed read the columns (``as_tables``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Vote:
    """One vote event: +1 up, -1 down, 0 withdrawn."""

    item: str
    voter: str
    value: int
    at: datetime


@dataclass(frozen=True, slots=True)
class Impression:
    """The first time a person was shown an item."""

    item: str
    viewer: str
    first_seen: datetime


class Names:
    """A pool of distinct strings, each with an integer code (numbered in the order first seen)."""

    __slots__ = ("codes", "names")

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.names)

    def encode(self, values: Sequence[str]) -> np.ndarray:
        """The codes of ``values``, adding the ones not seen before."""
        codes = self.codes
        found = list(map(codes.get, values))  # a list, then an array: twice as fast as np.fromiter here
        if None in found:
            new = [value for value in dict.fromkeys(values) if value not in codes]
            codes.update(zip(new, range(len(self.names), len(self.names) + len(new)), strict=True))
            self.names.extend(new)
            found = list(map(codes.__getitem__, values))
        return np.array(found, dtype=np.int32)


def microseconds(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (a naive one is taken as UTC)."""
    delta = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def moment(us: int) -> datetime:
    """The aware UTC datetime of microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=int(us))


def seconds(us: np.ndarray) -> np.ndarray:
    """Seconds since the epoch as float64, the same values ``datetime.timestamp()`` gives."""
    return us / 1e6


Table = TypeVar("Table", bound="_Events")


class _Events(Sequence[Any]):
    """Events of one kind as parallel columns: item and person codes into ``names``, times in microseconds."""

    __slots__ = ("at", "item", "names", "person")
    __hash__ = None  # type: ignore[assignment]  # mutable-looking, like the list it stands for

    def __init__(self, names: Names, item: np.ndarray, person: np.ndarray, at: np.ndarray) -> None:
        self.names, self.item, self.person, self.at = names, item, person, at

    def __len__(self) -> int:
        return int(self.item.size)

    def _record(self, i: int) -> Any:
        raise NotImplementedError

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._record(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("event index out of range")
        return self._record(index)

    def __iter__(self) -> Iterator[Any]:
        return map(self._record, range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (_Events, list, tuple)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self):,} events)"

    def _columns(self, keep: np.ndarray) -> tuple[np.ndarray, ...]:
        return self.item[keep], self.person[keep], self.at[keep]

    def where(self: Table, keep: np.ndarray) -> Table:
        """The events where ``keep`` (a boolean array) is true."""
        raise NotImplementedError


class VoteTable(_Events):
    """Vote events as columns; ``value`` is +1, -1 or 0 per event."""

    __slots__ = ("value",)

    def __init__(self, names: Names, item: np.ndarray, voter: np.ndarray, value: np.ndarray,
                 at: np.ndarray) -> None:
        super().__init__(names, item, voter, at)
        self.value = value

    def _record(self, i: int) -> Vote:
        names = self.names.names
        return Vote(names[self.item[i]], names[self.person[i]], int(self.value[i]), moment(self.at[i]))

    def where(self, keep: np.ndarray) -> VoteTable:
        """The votes where ``keep`` is true."""
        item, person, at = self._columns(keep)
        return VoteTable(self.names, item, person, self.value[keep], at)


class ImpressionTable(_Events):
    """Impressions as columns."""

    __slots__ = ()

    def _record(self, i: int) -> Impression:
        names = self.names.names
        return Impression(names[self.item[i]], names[self.person[i]], moment(self.at[i]))

    def where(self, keep: np.ndarray) -> ImpressionTable:
        """The impressions where ``keep`` is true."""
        return ImpressionTable(self.names, *self._columns(keep))


def _recode(table: Any, names: Names) -> tuple[np.ndarray, np.ndarray]:
    """A table's item and person codes in another pool of names."""
    if table.names is names:
        return table.item, table.person
    lookup = names.encode(table.names.names)
    return lookup[table.item], lookup[table.person]


def as_tables(votes: Sequence[Vote], impressions: Sequence[Impression]) -> tuple[VoteTable, ImpressionTable]:
    """Votes and impressions as tables over one pool of names (records are converted; tables kept)."""
    if isinstance(votes, VoteTable) and isinstance(impressions, ImpressionTable) and votes.names is impressions.names:
        return votes, impressions
    names = votes.names if isinstance(votes, VoteTable) else Names()
    if isinstance(votes, VoteTable):
        vote_table = votes
    else:
        vote_table = VoteTable(
            names, names.encode([v.item for v in votes]), names.encode([v.voter for v in votes]),
            np.fromiter((v.value for v in votes), dtype=np.int8, count=len(votes)),
            np.fromiter((microseconds(v.at) for v in votes), dtype=np.int64, count=len(votes)),
        )
    if isinstance(impressions, ImpressionTable):
        item, person = _recode(impressions, names)
        impression_table = ImpressionTable(names, item, person, impressions.at)
    else:
        impression_table = ImpressionTable(
            names, names.encode([i.item for i in impressions]), names.encode([i.viewer for i in impressions]),
            np.fromiter((microseconds(i.first_seen) for i in impressions), dtype=np.int64,
                        count=len(impressions)),
        )
    return vote_table, impression_table


def about_items(events: Sequence[Any], ids: set[str] | frozenset[str], *, inside: bool = True) -> Sequence[Any]:
    """The events about an item in ``ids`` (or, with ``inside=False``, about any other item), same form."""
    if isinstance(events, _Events):
        codes = [events.names.codes[i] for i in ids if i in events.names.codes]
        chosen = np.zeros(len(events.names), dtype=bool)
        chosen[codes] = True
        return events.where(chosen[events.item] == inside)
    return [e for e in events if (e.item in ids) == inside]


def first_appearance(codes: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of ``codes`` (integers below ``size``) in the order they first appear."""
    first = np.full(size, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(codes.size, dtype=np.int64))
    present = np.flatnonzero(first < codes.size)
    return present[np.argsort(first[present], kind="stable")]
