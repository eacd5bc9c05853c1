"""Texts as integer codes, so the theme engine's memory stays small at any scale.

A Python list of strings per text costs about 60 bytes a word (each token its own string object, each bigram
a new string): at 500,000 texts the theme engine's words, stems and bigrams held about a gigabyte that way.
Here each distinct word is stored once, each text is a run of 32-bit word codes in one flat array
(``Ragged``), and per-word facts (stem, tone) are arrays indexed by code. ``term_counts`` builds the
texts x terms count matrix from the codes with numpy, exactly as scikit-learn's ``CountVectorizer`` would
from the lists (same columns, same order of entries, same values), and ``Corpus.words``, ``.tone``,
``.terms`` and ``.surface`` give the old per-text lists and spellings on demand for code that reads them.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from analysis.aside import is_tone_word
from analysis.text import content_tokens, stem


@dataclass(frozen=True)
class Ragged:
    """Rows of integers of different lengths: one flat array, and where each row starts (``len + 1`` offsets)."""

    values: np.ndarray
    starts: np.ndarray

    @classmethod
    def build(cls, rows: Iterable[Iterable[int]], typecode: str = "i") -> Ragged:
        """Rows from an iterable of integer iterables (collected in typed arrays, never as Python lists)."""
        values, starts = array(typecode), array("q", [0])
        for row in rows:
            values.extend(row)
            starts.append(len(values))
        return cls(np.frombuffer(values, dtype=values.typecode), np.frombuffer(starts, dtype=np.int64))

    def __len__(self) -> int:
        return self.starts.size - 1

    def row(self, i: int) -> np.ndarray:
        """The values of row ``i``."""
        return self.values[self.starts[i]:self.starts[i + 1]]

    def lengths(self) -> np.ndarray:
        """How many values each row has."""
        return np.diff(self.starts)

    def row_of_each(self) -> np.ndarray:
        """The row every value belongs to (int64, one per value)."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.lengths())

    def positions(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Indices into ``values`` of every value of the given rows, row after row."""
        rows = np.asarray(rows, dtype=np.int64)
        begin, length = self.starts[rows], self.starts[rows + 1] - self.starts[rows]
        total = int(length.sum())
        # Each value's index: its row's start plus its place in the row.
        shift = np.repeat(begin - np.concatenate(([0], np.cumsum(length)[:-1])), length)
        return np.arange(total, dtype=np.int64) + shift


def first_occurrences(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct values of ``codes`` (sorted), the index of each one's first occurrence, and each entry's
    distinct index (so ``distinct[inverse] == codes``)."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    new = np.ones(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(codes.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], order[new], inverse


def _numbering() -> dict[str, int]:
    """A dictionary that gives each new key the next number (as scikit-learn's vectorizers build vocabularies)."""
    from collections import defaultdict

    codes: defaultdict[str, int] = defaultdict()
    codes.default_factory = codes.__len__
    return codes


class Corpus:
    """Every text's content words (stop words and one-letter words left out, tone words kept) as codes."""

    def __init__(self, texts: Iterable[str]) -> None:
        """Read each text's content words once (``analysis.text.content_tokens``)."""
        codes = _numbering()
        lookup = codes.__getitem__
        self.tokens = Ragged.build(map(lookup, content_tokens(text)) for text in texts)
        self.vocabulary: list[str] = list(codes)  # distinct words, numbered in the order first seen
        stems = _numbering()
        self.stem_code = np.array([stems[stem(w)] for w in self.vocabulary], dtype=np.int32)
        self.stem_codes: dict[str, int] = dict(stems)
        self.stems: list[str] = list(self.stem_codes)
        # Sentiment, politeness and generic words ("great", "thanks", "service"): see ``aside.is_tone_word``.
        self.is_tone = np.array([is_tone_word(w) for w in self.vocabulary], dtype=bool)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def words(self) -> Sequence[list[str]]:
        """Each text's topical content words, unstemmed (tone words left out), decoded on demand."""
        return _Rows(self, lambda row: [self.vocabulary[c] for c in row.tolist() if not self.is_tone[c]])

    @property
    def tone(self) -> Sequence[list[str]]:
        """Each text's sentiment, politeness and generic words, decoded on demand."""
        return _Rows(self, lambda row: [self.vocabulary[c] for c in row.tolist() if self.is_tone[c]])

    @property
    def terms(self) -> Sequence[list[str]]:
        """Each text's stems followed by the bigrams of consecutive stems, decoded on demand."""
        def decode(row: np.ndarray) -> list[str]:
            stems = [self.stems[s] for s in self.stem_code[row].tolist()]
            return stems + [f"{a} {b}" for a, b in zip(stems, stems[1:], strict=False)]

        return _Rows(self, decode)

    def topical_counts(self) -> np.ndarray:
        """How many topical (not tone) content words each text has."""
        topical = ~self.is_tone[self.tokens.values]
        return np.bincount(self.tokens.row_of_each()[topical], minlength=len(self))

    @cached_property
    def surface(self) -> Mapping[str, Counter[str]]:
        """Stem term ("staff shortag") -> the spellings it was written in, counted, in the order first seen."""
        return _Surface(self)

    @cached_property
    def stem_sequence(self) -> np.ndarray:
        """The stem code of every word of every text, in order (int32)."""
        return self.stem_code[self.tokens.values]

    @cached_property
    def bigram_starts(self) -> np.ndarray:
        """Indices of the words that begin a bigram (every word but the last of its text)."""
        ends = self.tokens.starts[1:] - 1
        keep = np.ones(self.tokens.values.size, dtype=bool)
        keep[ends[self.tokens.lengths() > 0]] = False
        return np.flatnonzero(keep)


class _Rows(Sequence[list[str]]):
    """A read-only sequence that decodes one text's row when asked for it."""

    def __init__(self, corpus: Corpus, decode: Callable[[np.ndarray], list[str]]) -> None:
        self.corpus, self.decode = corpus, decode

    def __len__(self) -> int:
        return len(self.corpus)

    def __getitem__(self, i: int) -> list[str]:  # type: ignore[override]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        return self.decode(self.corpus.tokens.row(i % len(self)))

    def __iter__(self) -> Iterator[list[str]]:
        return (self[i] for i in range(len(self)))


class _Surface(Mapping[str, Counter[str]]):
    """Spellings of a stem term, found in the codes when asked for (only a theme's top terms ever are)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    def __getitem__(self, term: str) -> Counter[str]:
        corpus = self.corpus
        parts = term.split(" ")
        if len(parts) > 2 or any(p not in corpus.stem_codes for p in parts):
            raise KeyError(term)
        codes = [corpus.stem_codes[p] for p in parts]
        sequence = corpus.stem_sequence
        if len(codes) == 1:
            where = np.flatnonzero(sequence == codes[0])
            spelt = corpus.tokens.values[where].astype(np.int64)
        else:
            starts = corpus.bigram_starts
            where = starts[(sequence[starts] == codes[0]) & (sequence[starts + 1] == codes[1])]
            width = len(corpus.vocabulary)
            spelt = corpus.tokens.values[where].astype(np.int64) * width + corpus.tokens.values[where + 1]
        if not spelt.size:
            raise KeyError(term)
        distinct, first, inverse = first_occurrences(spelt)
        counts = np.bincount(inverse, minlength=distinct.size)
        words = corpus.vocabulary
        spellings: Counter[str] = Counter()
        for j in np.argsort(first, kind="stable").tolist():  # in the order first seen, as a Counter fills
            code = int(distinct[j])
            spelling = words[code] if len(codes) == 1 else f"{words[code // width]} {words[code % width]}"
            spellings[spelling] = int(counts[j])
        return spellings

    def __iter__(self) -> Iterator[str]:
        raise TypeError("the spellings of a corpus are looked up by term, not listed")

    def __len__(self) -> int:
        raise TypeError("the spellings of a corpus are looked up by term, not counted")

    def get(self, term: str, default: Counter[str] | None = None) -> Counter[str] | None:  # type: ignore[override]
        """The spellings of ``term``, or ``default`` when no text has it."""
        try:
            return self[term]
        except KeyError:
            return default


def term_counts(corpus: Corpus, min_df: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Texts x terms counts of each text's stems and bigrams of consecutive stems, and the terms.

    The same matrix, entry for entry, as ``CountVectorizer(analyzer=lambda t: t, min_df=min_df)`` fitted on
    ``corpus.terms``: columns are the terms used by at least ``min_df`` texts in alphabetical order, and
    each row's entries are in the order the terms were first seen in the whole corpus (scikit-learn sorts
    by that before renumbering). Downstream sums run in that order, so keeping it keeps every figure.
    """
    tokens, n = corpus.tokens, len(corpus)
    stems = len(corpus.stems)
    lengths = tokens.lengths()
    # Each text's terms, laid out as the lists were: its stems in order, then its bigrams in order. A bigram
    # (a, b) is coded stems + a * stems + b, above every unigram's code.
    per_text = lengths + np.maximum(lengths - 1, 0)
    term_starts = np.concatenate(([0], np.cumsum(per_text)))
    row = tokens.row_of_each()
    place = np.arange(tokens.values.size, dtype=np.int64) - tokens.starts[row]
    sequence = corpus.stem_sequence.astype(np.int64)
    flat = np.empty(int(term_starts[-1]), dtype=np.int64)
    flat[term_starts[row] + place] = sequence
    first = corpus.bigram_starts
    flat[term_starts[row[first]] + lengths[row[first]] + place[first]] = stems + sequence[first] * stems + \
        sequence[first + 1]
    del place, sequence
    if flat.size == 0:
        return sp.csr_matrix((n, 0)), np.array([], dtype=object)
    # Number the distinct terms in the order first seen (scikit-learn's vocabulary before sorting).
    distinct, first_at, inverse = first_occurrences(flat)
    seen_order = np.empty(distinct.size, dtype=np.int64)
    seen_order[np.argsort(first_at, kind="stable")] = np.arange(distinct.size)
    by_seen = distinct[np.argsort(seen_order)]
    del first_at
    # Counts of each (text, term); entries sorted by text, then by term number.
    term_row = np.repeat(np.arange(n, dtype=np.int64), per_text)
    keys = term_row * distinct.size + seen_order[inverse]
    del term_row, inverse, flat
    pairs, _, which = first_occurrences(keys)
    del keys
    counts = np.bincount(which, minlength=pairs.size)
    del which
    pair_row, pair_term = pairs // distinct.size, pairs % distinct.size
    del pairs
    frequency = np.bincount(pair_term, minlength=distinct.size)
    kept = frequency >= min_df
    if not kept.any():
        return sp.csr_matrix((n, 0)), np.array([], dtype=object)
    names = [_term_name(int(code), corpus.stems) for code in by_seen[kept].tolist()]
    alphabetical = np.empty(len(names), dtype=np.int64)
    alphabetical[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    column = np.full(distinct.size, -1, dtype=np.int64)
    column[np.flatnonzero(kept)] = alphabetical
    entries = kept[pair_term]
    indices = column[pair_term[entries]].astype(np.int32)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(pair_row[entries], minlength=n)))).astype(np.int32)
    matrix = sp.csr_matrix((counts[entries].astype(np.int64), indices, indptr), shape=(n, len(names)))
    vocabulary = np.empty(len(names), dtype=object)
    vocabulary[alphabetical] = names
    return matrix, vocabulary


def _term_name(code: int, stems: list[str]) -> str:
    """The term a code stands for: a stem, or two stems joined by a space."""
    if code < len(stems):
        return stems[code]
    first, second = divmod(code - len(stems), len(stems))
    return f"{stems[first]} {stems[second]}"
