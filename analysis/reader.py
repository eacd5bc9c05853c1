"""Reading a JSON-lines export (format in ``analysis.records``) into a Dataset, fast enough for millions of lines.

Lines are parsed by orjson (a third of the standard library's time per line). Vote and impression lines
become columns (``analysis.events``) every ``READ_CHUNK`` lines, so their raw values never pile up. An export
of ``PARALLEL_BYTES`` or more is read by two processes: this one reads the first half of the lines, a forked
one the second (``analysis.parallel``), and the halves are joined in file order, so the Dataset is the one a
single reader gives. Error messages name the line in the whole file either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from analysis.events import ImpressionTable, Names, VoteTable
from analysis.parallel import Background, workers
from analysis.records import VOTE_VALUES, Contribution, Dataset, InputError, contribution_from_dict

READ_CHUNK = 200_000  # event lines turned into columns at a time
BLOCK_BYTES = 1 << 24  # bytes read from the file at a time
PARALLEL_BYTES = 64 << 20  # from this size, two processes read half the file each


def _utc_seconds(value: str) -> float:
    """Seconds since the epoch of an ISO 8601 string (naive times are UTC), as ``records.timestamps`` gives."""
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class _EventLines:
    """The event lines of one type as they are read, turned into columns every ``READ_CHUNK`` lines."""

    def __init__(self, names: Names, time_field: str, values: bool) -> None:
        self.names, self.time_field = names, time_field
        self.item: list[Any] = []
        self.person: list[Any] = []
        self.at: list[Any] = []
        self.line: list[int] = []
        self.value: list[Any] | None = [] if values else None
        self.parts: list[tuple[np.ndarray, ...]] = []

    def flush(self, path: Path) -> None:
        """Turn the lines read so far into columns (checking their times) and start again."""
        if not self.line:
            return
        try:
            at = np.fromiter(map(_utc_seconds, self.at), dtype=np.float64, count=len(self.at))
        except (ValueError, TypeError):
            for number, value in zip(self.line, self.at, strict=True):
                try:
                    _utc_seconds(value)
                except (ValueError, TypeError):
                    raise InputError(f"{path}:{number}: expected an ISO 8601 time in {self.time_field!r}, "
                                     f"got {value!r}") from None
            raise
        # Exact: timestamp() is a correctly rounded division of whole microseconds.
        part = [self.names.encode(list(map(str, self.item))), self.names.encode(list(map(str, self.person))),
                np.rint(at * 1e6).astype(np.int64)]
        if self.value is not None:
            part.append(np.array(self.value, dtype=np.int8))
            self.value.clear()
        self.parts.append(tuple(part))
        for column in (self.item, self.person, self.at, self.line):
            column.clear()

    def columns(self, path: Path) -> list[np.ndarray]:
        """Everything read: item and person codes, microseconds, and values for votes."""
        self.flush(path)
        dtypes = (np.int32, np.int32, np.int64, np.int8)[: 3 if self.value is None else 4]
        return [np.concatenate([part[i] for part in self.parts]) if self.parts else np.zeros(0, dtype=dtype)
                for i, dtype in enumerate(dtypes)]


@dataclass
class _Part:
    """What one stretch of lines held, in file order."""

    contributions: list[Contribution] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    votes: list[np.ndarray] = field(default_factory=list)
    impressions: list[np.ndarray] = field(default_factory=list)


def _lines(path: Path, start: int, end: int) -> Iterator[list[bytes]]:
    """The lines of ``path`` between byte offsets ``start`` and ``end`` (both at line starts), a block at a time."""
    with path.open("rb") as handle:
        handle.seek(start)
        remaining, rest = end - start, b""
        while remaining > 0:
            data = handle.read(min(BLOCK_BYTES, remaining))
            if not data:
                break
            remaining -= len(data)
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            yield lines
        if rest:
            yield [rest]


def _line_number_at(path: Path, offset: int) -> int:
    """The number of the line that starts at byte ``offset`` (lines counted from 1)."""
    newlines = 0
    with path.open("rb") as handle:
        remaining = offset
        while remaining > 0:
            data = handle.read(min(BLOCK_BYTES, remaining))
            if not data:
                break
            remaining -= len(data)
            newlines += data.count(b"\n")
    return newlines + 1


def _parse(path: Path, start: int, end: int) -> _Part:
    """Read the lines between byte offsets ``start`` and ``end`` (see the module's docstring)."""
    part = _Part()
    contributions, meta = part.contributions, part.meta
    intern: dict[str, str] = {}
    names = Names()
    votes = _EventLines(names, "at", values=True)
    impressions = _EventLines(names, "first_seen", values=False)
    # Bound methods, looked up once: these lines run millions of times.
    vote_item, vote_voter, vote_at, vote_line = (votes.item.append, votes.person.append, votes.at.append,
                                                 votes.line.append)
    vote_value = votes.value.append  # type: ignore[union-attr]
    seen_item, seen_viewer, seen_at, seen_line = (impressions.item.append, impressions.person.append,
                                                  impressions.at.append, impressions.line.append)
    loads = orjson.loads
    number = _line_number_at(path, start) - 1
    for lines in _lines(path, start, end):
        for line in lines:
            number += 1
            try:
                row = loads(line)
            except orjson.JSONDecodeError as error:
                if not line.strip():
                    continue
                raise InputError(f"{path}:{number}: not valid JSON ({error})") from None
            if type(row) is not dict:
                raise InputError(f"{path}:{number}: expected a JSON object")
            kind = row.get("type")
            try:
                if kind == "impression":
                    seen_item(row["item"])
                    seen_viewer(row["viewer"])
                    seen_at(row["first_seen"])
                    seen_line(number)
                    if len(impressions.line) >= READ_CHUNK:
                        impressions.flush(path)
                elif kind == "vote":
                    value = row["value"]
                    if value not in VOTE_VALUES or isinstance(value, bool):
                        raise ValueError(f"vote value must be 1, -1 or 0, got {value!r}")
                    vote_item(row["item"])
                    vote_voter(row["voter"])
                    vote_at(row["at"])
                    vote_value(value)
                    vote_line(number)
                    if len(votes.line) >= READ_CHUNK:
                        votes.flush(path)
                elif kind == "contribution":
                    contributions.append(contribution_from_dict(row, intern))
                    if "meta" in row:
                        meta["meta_marked"] = True
                elif kind == "meta":
                    meta.update({k: v for k, v in row.items() if k != "type"})
                else:
                    raise ValueError(f"unknown type {kind!r} (expected contribution, vote, impression or meta)")
            except KeyError as error:
                raise InputError(f"{path}:{number}: {kind} line lacks {error.args[0]!r}") from None
            except (ValueError, TypeError) as error:
                raise InputError(f"{path}:{number}: {error}") from None
    part.votes, part.impressions = votes.columns(path), impressions.columns(path)
    part.names = names.names
    return part


def _middle(path: Path, size: int) -> int:
    """The offset of the first line that starts at or after the middle of the file (``size`` if none)."""
    with path.open("rb") as handle:
        handle.seek(max(size // 2 - 1, 0))
        handle.readline()  # the rest of the line the middle falls in
        return handle.tell()


def _join(first: _Part, second: _Part) -> _Part:
    """Two consecutive stretches as one: lists and columns in file order, the second's names recoded."""
    names = Names()
    names.encode(first.names)
    lookup = names.encode(second.names)

    def joined(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
        return [np.concatenate([x, lookup[y] if i < 2 else y]) for i, (x, y) in enumerate(zip(a, b, strict=True))]

    # Later meta lines win, as they do in one reader; "meta_marked" is only ever set to True.
    return _Part(first.contributions + second.contributions, {**first.meta, **second.meta}, names.names,
                 joined(first.votes, second.votes), joined(first.impressions, second.impressions))


def read_export(path: Path) -> Dataset:
    """Read a JSON-lines export into a Dataset (``analysis.records.read_jsonl``)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    size = path.stat().st_size
    middle = _middle(path, size) if size >= PARALLEL_BYTES and workers() >= 2 else size
    if middle < size:
        # The second half in a forked process; if it fails (an error in its lines), it is read again here, so
        # the error is raised here with its line number, after any error in the first half.
        second = Background(_parse, path, middle, size, parallel=True)
        try:
            first = _parse(path, 0, middle)
        except BaseException:
            second.cancel()
            raise
        part = _join(first, second.result())
    else:
        part = _parse(path, 0, size)
    if not part.contributions:
        raise InputError(f"{path}: no contribution lines; is this a consultation export?")
    ids = [c.id for c in part.contributions]
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: contribution ids are not unique")
    names = Names()
    names.encode(part.names)
    item, voter, at, value = part.votes
    votes = VoteTable(names, item, voter, value, at)
    impressions = ImpressionTable(names, *part.impressions)
    return Dataset(part.contributions, votes, impressions, part.meta)
