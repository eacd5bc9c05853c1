"""Choose the codebook-proposal thresholds by cross-validation on human-coded NHS text, and report them honestly.

A re-run proposes where each new contribution fits the analysts' codebook (``analysis.assign``): "fits" (accepted
in bulk unless the analyst changes it), "not sure" (left for the analyst) or "none of these" (also accepted in
bulk, as "fits none"). The thresholds that split the three are chosen here, on one pxtext file, and reported on
the other, which they never saw.

Simulation, per file and seed: the human codes are the codebook. One code is held out entirely (it stands for a
theme the codebook does not have yet); 70% of every other code's texts are the codebook's members; the other 30%,
plus as many of the held-out code's texts as make a tenth of them, are the "new contributions". A "fits"
proposal is right when its theme is the text's human code; a "none" is right when the text's code was held out.

Rule for choosing (on the tuning file, over all seeds pooled): the most proposals decided for the analyst
(fits + none) such that at least ``TARGET`` of the "fits" are right and at least ``TARGET`` of the "none" are
right. When no "none" threshold reaches the target, "none" keeps its floor (``NONE_FLOOR``: the text shares next
to no word with any theme, a fact rather than a guess) and is not decided for the analyst: the page shows it
apart from "not sure" but leaves the choice to them. ``python -m analysis eval`` prints the figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.assign import score, verdicts
from analysis.eval_text import LabelledTexts, load_phase1, load_v6_single_label

SEEDS = (0, 1, 2, 3, 4)
TARGET = 0.80
MEMBER_SHARE = 0.7
HELD_OUT_SHARE = 0.10
NONE_FLOOR = 0.005
NONE_GRID = (NONE_FLOOR, *(round(x, 3) for x in np.arange(0.01, 0.16, 0.01)))
SURE_GRID = tuple(round(x, 3) for x in np.arange(0.0, 0.61, 0.02))
MARGIN_GRID = tuple(round(x, 3) for x in np.arange(0.0, 0.81, 0.05))


@dataclass(frozen=True)
class Trial:
    """One simulated re-run: each new text's best score, lead, proposed code, and its true code (None = held out)."""

    best: np.ndarray
    lead: np.ndarray
    proposed: np.ndarray
    truth: np.ndarray


def simulate(data: LabelledTexts, seed: int) -> Trial:
    """A codebook from the file's human codes with one code held out, and proposals for the held-back texts."""
    rng = np.random.default_rng(seed)
    labels = np.array(data.labels)
    codes = sorted(set(data.labels))
    held_out = codes[seed % len(codes)]
    members: dict[int, list[str]] = {}
    new_texts: list[str] = []
    truth: list[int] = []
    for n, code in enumerate(codes):
        if code == held_out:
            continue
        rows = rng.permutation(np.flatnonzero(labels == code))
        cut = int(round(MEMBER_SHARE * len(rows)))
        members[n] = [data.texts[i] for i in rows[:cut]]
        new_texts.extend(data.texts[i] for i in rows[cut:])
        truth.extend([n] * (len(rows) - cut))
    unseen = rng.permutation(np.flatnonzero(labels == held_out))
    take = min(len(unseen), int(round(len(new_texts) * HELD_OUT_SHARE / (1 - HELD_OUT_SHARE))))
    new_texts.extend(data.texts[i] for i in unseen[:take])
    truth.extend([-1] * take)
    found = score(members, new_texts)
    ids = np.array(found.theme_ids)
    return Trial(found.best, found.lead, ids[found.best_index], np.array(truth))


@dataclass(frozen=True)
class Outcome:
    """What one set of thresholds does on some trials."""

    fits_accuracy: float | None
    none_accuracy: float | None
    share_fits: float
    share_unsure: float
    share_none: float
    n: int


def outcome(trials: Sequence[Trial], none_below: float, sure_from: float, close_margin: float) -> Outcome:
    """Accuracy of "fits" and "none" proposals and the share of each verdict, pooled over the trials."""
    kinds = np.concatenate([verdicts(t.best, t.lead, none_below, sure_from, close_margin) for t in trials])
    proposed = np.concatenate([t.proposed for t in trials])
    truth = np.concatenate([t.truth for t in trials])
    fits, none = kinds == "fits", kinds == "none"
    n = len(kinds)
    return Outcome(
        fits_accuracy=float((proposed[fits] == truth[fits]).mean()) if fits.any() else None,
        none_accuracy=float((truth[none] == -1).mean()) if none.any() else None,
        share_fits=float(fits.mean()), share_unsure=float((kinds == "unsure").mean()), share_none=float(none.mean()),
        n=n)


def choose(trials: Sequence[Trial], target: float = TARGET) -> tuple[float, float, float]:
    """Thresholds (none_below, sure_from, close_margin) deciding the most proposals at the target accuracy."""
    best_key, chosen = None, (NONE_FLOOR, max(SURE_GRID), max(MARGIN_GRID))
    for none_below, sure_from, close_margin in itertools.product(NONE_GRID, SURE_GRID, MARGIN_GRID):
        if sure_from < none_below:
            continue
        found = outcome(trials, none_below, sure_from, close_margin)
        if found.fits_accuracy is not None and found.fits_accuracy < target:
            continue
        if none_below > NONE_FLOOR and found.none_accuracy is not None and found.none_accuracy < target:
            continue
        decided = found.share_fits + (found.share_none if none_below > NONE_FLOOR else 0.0)
        # Most decided; among ties, the stricter (higher) thresholds, so the choice does not rest on noise.
        key = (round(decided, 4), sure_from, close_margin, none_below)
        if best_key is None or key > best_key:
            best_key, chosen = key, (none_below, sure_from, close_margin)
    return chosen


def _fmt(value: float | None) -> str:
    """A share as a percentage, or a dash."""
    return "–" if value is None else f"{100 * value:.0f}%"


def _per_seed(trials: Sequence[Trial], thresholds: tuple[float, float, float]) -> tuple[str, str]:
    """The fits accuracy and not-sure share, as mean ± spread (min to max) over the seeds."""
    each = [outcome([t], *thresholds) for t in trials]
    acc = [o.fits_accuracy for o in each if o.fits_accuracy is not None]
    unsure = [o.share_unsure for o in each]
    acc_s = f"{100 * np.mean(acc):.0f}% ({100 * min(acc):.0f}-{100 * max(acc):.0f})" if acc else "–"
    return acc_s, f"{100 * np.mean(unsure):.0f}% ({100 * min(unsure):.0f}-{100 * max(unsure):.0f})"


def evaluate_proposals(data_dir: Path, seeds: Sequence[int] = SEEDS) -> list[str]:
    """Lines of the report: thresholds chosen on each file and what they do on the other."""
    data_dir = data_dir / "pxtext" if (data_dir / "pxtext").is_dir() else data_dir
    files = {"phase-1": load_phase1(data_dir), "v6": load_v6_single_label(data_dir)}
    trials = {name: [simulate(data, seed) for seed in seeds] for name, data in files.items()}
    lines = [f"Codebook proposals: thresholds chosen on one pxtext file (target {100 * TARGET:.0f}% right for "
             f"'fits' and 'none'), reported on the other; seeds {', '.join(map(str, seeds))}",
             f"{'chosen on':<10} {'reported on':<12} {'none_below':>10} {'sure_from':>9} {'margin':>6}  "
             f"{'fits right':>16} {'none right':>10} {'fits':>5} {'not sure':>16} {'none':>5} {'n':>6}"]
    for tune, report in (("phase-1", "v6"), ("v6", "phase-1")):
        chosen = choose(trials[tune])
        for name in (tune, report):
            found = outcome(trials[name], *chosen)
            acc, unsure = _per_seed(trials[name], chosen)
            lines.append(f"{tune:<10} {name + (' (tuned)' if name == tune else ''):<12} {chosen[0]:>10.3f} "
                         f"{chosen[1]:>9.2f} {chosen[2]:>6.2f}  {acc:>16} {_fmt(found.none_accuracy):>10} "
                         f"{_fmt(found.share_fits):>5} {unsure:>16} {100 * found.share_none:>4.1f}% {found.n:>6}")
    lines.append(f"('none right' = share of 'none' proposals whose code the codebook lacked; "
                 f"{100 * HELD_OUT_SHARE:.0f}% of new texts are such.)")
    return lines
