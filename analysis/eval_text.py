"""Quality of themes and sentiment against human coding of NHS patient-experience text (pxtext).

The pxtext files (MIT, NHS England; see SOURCE.md and LICENSE-pxtextmining beside them) carry human theme
codes and sentiment. The labels are used here for evaluation only: nothing in ``themes`` or ``sentiment`` is
fitted to them. Row selection reproduces the baselines in ANALYSIS.md, which were measured with pandas:
texts that pandas reads as missing ("", "None", "N/A", ...) are dropped.
"""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PHASE1_FILE = "phase1_text_data.shared30.csv"
V6_FILE = "v6framework_230831.shared30.csv"
REFERENCE_FILE = Path(__file__).parent / "reference" / "embedding_reference.json"

# pandas' default missing-value strings: the ANALYSIS.md baselines dropped rows whose text is one of them.
_PANDAS_MISSING = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
     "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)
# The v6 one-hot columns start after the sentiment column.
_V6_FIRST_CATEGORY = "Not assigned"
_V6_UNLABELLED = "Labelling not possible"
_V6_MIN_CLASS_SIZE = 15


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with one human theme code each, and the question each text answered."""

    name: str
    texts: list[str]
    labels: list[str]
    questions: list[str]

    @property
    def k(self) -> int:
        """Number of distinct human codes."""
        return len(set(self.labels))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load_phase1(data_dir: Path) -> LabelledTexts:
    """Phase-1 pxtext: one of 9 human labels per text (n = 3,095 on the shared file)."""
    rows = [r for r in _read_csv(data_dir / PHASE1_FILE) if r["feedback"] not in _PANDAS_MISSING]
    return LabelledTexts(
        name="pxtext phase-1",
        texts=[r["feedback"] for r in rows],
        labels=[r["label"] for r in rows],
        questions=[r["question"] for r in rows],
    )


def load_v6_single_label(data_dir: Path) -> LabelledTexts:
    """v6 pxtext rows with exactly one framework category, minus "Labelling not possible" and rare classes."""
    rows = _read_csv(data_dir / V6_FILE)
    columns = list(rows[0])
    categories = columns[columns.index(_V6_FIRST_CATEGORY) :]
    picked: list[tuple[dict[str, str], str]] = []
    for row in rows:
        codes = [c for c in categories if row[c].strip()]
        if len(codes) == 1 and codes[0] != _V6_UNLABELLED and row["FFT answer"] not in _PANDAS_MISSING:
            picked.append((row, codes[0]))
    counts = Counter(code for _, code in picked)
    picked = [(row, code) for row, code in picked if counts[code] >= _V6_MIN_CLASS_SIZE]
    return LabelledTexts(
        name="pxtext v6 single-label",
        texts=[row["FFT answer"] for row, _ in picked],
        labels=[code for _, code in picked],
        questions=[row["FFT question"] for row, _ in picked],
    )


def load_v6_sentiment(data_dir: Path) -> tuple[list[str], list[str], list[int]]:
    """v6 pxtext texts with a human sentiment (1 very positive .. 5 very negative): texts, questions, scores."""
    rows = [
        r
        for r in _read_csv(data_dir / V6_FILE)
        if r["Comment sentiment"].strip() and r["FFT answer"] not in _PANDAS_MISSING
    ]
    return (
        [r["FFT answer"] for r in rows],
        [r["FFT question"] for r in rows],
        [int(r["Comment sentiment"]) for r in rows],
    )


def without_duplicate_texts(data: LabelledTexts) -> LabelledTexts:
    """Keep the first row of each exact (whitespace-trimmed) text."""
    seen: set[str] = set()
    keep: list[int] = []
    for i, text in enumerate(data.texts):
        if text.strip() not in seen:
            seen.add(text.strip())
            keep.append(i)
    return LabelledTexts(
        name=data.name + " (no duplicate texts)",
        texts=[data.texts[i] for i in keep],
        labels=[data.labels[i] for i in keep],
        questions=[data.questions[i] for i in keep],
    )


def theme_datasets(data_dir: Path) -> list[LabelledTexts]:
    """Both pxtext files, each with and without exact duplicate texts."""
    sets: list[LabelledTexts] = []
    for data in (load_phase1(data_dir), load_v6_single_label(data_dir)):
        sets.extend((data, without_duplicate_texts(data)))
    return sets
