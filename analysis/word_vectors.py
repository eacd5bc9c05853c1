"""Static word vectors distilled from all-MiniLM-L6-v2, and each text's damped-idf weighted sum of them.

``reference/word_vectors.npz`` holds one float32 vector per word; a word it lacks falls back to the mean
of the words with its stem. ``static_parts`` gives the texts x words weight matrix and the words' vectors,
and ``fill_static`` writes their normalised product a slice of texts at a time, so the float temporaries
stay small whatever the number of texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from analysis.corpus import Corpus, first_occurrences
from analysis.text import stem

WORD_VECTORS = Path(__file__).parent / "reference" / "word_vectors.npz"
STATIC_ROWS = 20_000  # texts whose word vectors are summed at a time (bounds the float32 temporaries)


@dataclass(frozen=True)
class WordVectors:
    """Each word's row, and the vectors (float32, one row per word)."""

    index: dict[str, int]
    vectors: np.ndarray


@lru_cache(maxsize=1)
def load_word_vectors(path: Path) -> WordVectors | None:
    """The distilled static word vectors, or None when the file is absent (TF-IDF features only)."""
    if not path.exists():
        return None
    with np.load(path) as data:
        words = str(data["words"]).split("\n")
        vectors = data["vectors"].astype(np.float32) * data["scales"][:, None]
    return WordVectors({w: i for i, w in enumerate(words)}, vectors)


@lru_cache(maxsize=1)
def stem_index(path: Path) -> dict[str, list[int]]:
    """Rows of the word vectors grouped by stem, for words the vocabulary lacks (plurals, -ing forms)."""
    table = load_word_vectors(path)
    groups: dict[str, list[int]] = {}
    if table is not None:
        for word, row in table.index.items():
            groups.setdefault(stem(word), []).append(row)
    return groups


def fill_static(weights: sp.csr_matrix, vectors: np.ndarray, out: np.ndarray, factor: float) -> None:
    """``out = factor * normalize(weights @ vectors)``, a slice of rows at a time (each row on its own)."""
    for start in range(0, weights.shape[0], STATIC_ROWS):
        rows = slice(start, start + STATIC_ROWS)
        summed = normalize(weights[rows] @ vectors, copy=False)
        if factor == 1.0:
            out[rows] = summed
        else:
            np.multiply(summed, np.float32(factor), out=out[rows])


def static_parts(corpus: Corpus, tone_weight: float, idf_power: float) -> tuple[sp.csr_matrix, np.ndarray] | None:
    """The texts x words weights and the words' vectors whose normalised product is each text's vector.

    A word's weight in a text is its count (a tone word's counts ``tone_weight`` each) times the damped idf
    (``idf ** idf_power``) of its stem, idf counting each distinct word of a text once. Words are numbered in
    the order first met reading text by text, each text's topical words before its tone words, as the
    per-text word lists this replaced did (the order fixes the order of every sum, so every figure).
    """
    table = load_word_vectors(WORD_VECTORS)
    if table is None:
        return None
    stems = stem_index(WORD_VECTORS)
    n, width = len(corpus), len(corpus.vocabulary)
    tokens = corpus.tokens
    pairs, first, which = first_occurrences(tokens.row_of_each() * width + tokens.values)
    count = np.bincount(which, minlength=pairs.size)
    del which
    row, word = pairs // width, pairs % width
    del pairs
    word_stem = corpus.stem_code[word]
    document_frequency = np.bincount(word_stem, minlength=len(corpus.stems))
    tone = corpus.is_tone[word]
    idf_factor = np.zeros(len(corpus.stems), dtype=np.float64)
    for s in np.flatnonzero(document_frequency).tolist():
        # Python's expression, value for value: np.log of a float, max with 0.0, then the power.
        idf_factor[s] = max(np.log((n + 1) / (int(document_frequency[s]) + 1)), 0.0) ** idf_power
    known = np.zeros(width, dtype=bool)
    for w, spelling in enumerate(corpus.vocabulary):
        known[w] = spelling in table.index or corpus.stems[corpus.stem_code[w]] in stems
    use = known[word] if tone_weight > 0 else known[word] & ~tone
    # Reading order: text by text, its topical words before its tone words, each by first occurrence.
    order = np.lexsort((first, tone, row))
    order = order[use[order]]
    del first
    if order.size == 0:
        return sp.csr_matrix((n, 0), dtype=np.float32), np.zeros((0, table.vectors.shape[1]), dtype=np.float32)
    met, met_first, _ = first_occurrences(word[order])
    columns = met[np.argsort(met_first, kind="stable")]
    column = np.full(width, -1, dtype=np.int64)
    column[columns] = np.arange(columns.size)
    vectors = np.vstack([_word_vector(corpus.vocabulary[w], table, stems) for w in columns.tolist()])
    # A tone word's weight is tone_weight added once per use, as the per-text Counter added it.
    tone_sums = [0.0]
    for _ in range(int(count.max())):
        tone_sums.append(tone_sums[-1] + tone_weight)
    weight = np.where(tone, np.array(tone_sums, dtype=np.float64)[count], count.astype(np.float64))
    weight *= idf_factor[word_stem]
    kept = np.flatnonzero(use)
    entry_row, entry_column = row[kept], column[word[kept]]
    canonical = np.lexsort((entry_column, entry_row))
    indptr = np.concatenate(([0], np.cumsum(np.bincount(entry_row, minlength=n))))
    matrix = sp.csr_matrix((weight[kept][canonical].astype(np.float32), entry_column[canonical].astype(np.int32),
                            indptr.astype(np.int32)), shape=(n, columns.size))
    return matrix, vectors


def _word_vector(word: str, table: WordVectors, stems: dict[str, list[int]]) -> np.ndarray:
    """A word's vector, or the mean of its stem group's when the vocabulary lacks it."""
    if word in table.index:
        return table.vectors[table.index[word]]
    return table.vectors[stems[stem(word)]].mean(axis=0)
