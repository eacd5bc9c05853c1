"""Command line: ``python -m analysis run INPUT --out DIR`` and ``python -m analysis eval``.

``run`` analyses a JSON-lines export (see ``analysis.records``) or a Pol.is export folder and writes
results.json plus CSV files, with a progress bar on stderr. ``eval`` prints the quality table: themes and
sentiment against human coding (``analysis.eval_text``), opinion groups against Pol.is's own grouping with
meta statements left out (``analysis.eval_polis``), time bias before and after adjustment on each Pol.is
conversation, the simulation figures, and the codebook-proposal thresholds chosen by cross-validation
(``analysis.eval_proposals``); ``eval --only text|polis|support|proposals`` prints one part.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from analysis.polis import read_polis
from analysis.records import Dataset, Impression, InputError, read_jsonl, timestamps
from analysis.simulate import DOWN_MODELS, SPECIFIED, simulation_summary
from analysis.support import compute_support

_REPO = Path(__file__).resolve().parents[1]
# The shared evaluation data beside the repository, else the copy kept with the tests.
DEFAULT_DATA = next((d for d in (_REPO.parent / "shared" / "data", _REPO / "tests" / "data") if d.is_dir()),
                    _REPO / "tests" / "data")
SIMULATION_SEEDS = range(5)


class ProgressBar:
    """A one-line text progress bar (redrawn in place on a terminal, one line per step otherwise)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.live = self.stream.isatty()
        self.last = ""

    def __call__(self, fraction: float, message: str) -> None:
        """Draw the bar at ``fraction`` (0..1) with ``message`` beside it."""
        filled = int(round(fraction * self.width))
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%} {message}"
        if self.live:
            self.stream.write("\r" + line[:120].ljust(len(self.last[:120])))
            self.stream.flush()
        elif message != self.last.split("% ", 1)[-1]:
            self.stream.write(line + "\n")
        self.last = line

    def close(self) -> None:
        """End the bar's line."""
        if self.live and self.last:
            self.stream.write("\n")


def load_input(path: Path) -> Dataset:
    """A Pol.is folder or a JSON-lines export, whichever ``path`` is."""
    if path.is_dir():
        return read_polis(path)
    if path.is_file():
        return read_jsonl(path)
    raise InputError(f"{path}: no such file or folder (expected a .jsonl export or a Pol.is folder)")


def _run(args: argparse.Namespace) -> int:
    from analysis.pipeline import run_analysis
    from analysis.result_files import write_results

    dataset = load_input(Path(args.input))
    codes = None
    if args.codes:
        from analysis.quality import read_codes

        codes = read_codes(args.codes)
    bar = ProgressBar()
    try:
        result = run_analysis(dataset, k=args.k, seed=args.seed, progress=bar, scope=args.phase or None,
                              codes=codes)
    finally:
        bar.close()
    paths = write_results(result, Path(args.out))
    meta, counts, themes = result["meta"], result["meta"]["counts"], result["themes"]
    print(f"Analysed {counts['contributions']:,} contributions and {counts['current_votes']:,} "
          f"votes: {len(themes['themes'])} themes ({themes['method']}), support by "
          f"{meta['support']['method']}, in {meta['timings']['total']:.1f} s.")
    print(result["saturation"]["all"]["statement"])
    for line in quality_lines(result["themes"]):
        print(line)
    for path in paths:
        print(f"  wrote {path}")
    return 0


def quality_lines(themes: dict[str, Any]) -> list[str]:
    """The quality report in plain lines for the terminal."""
    q = themes["quality"]
    lines = [themes.get("statement") or ""]
    if q["stability"] is not None and q["stability_pairs"]:
        lines.append(f"Run-to-run agreement (ARI between seeds at k = {q['k']}): {q['stability']:.2f} "
                     f"(pairs {', '.join(f'{v:.2f}' for v in q['stability_pairs'])}).")
    if q["k_by_seed"]:
        lines.append("Themes by seed: " + ", ".join(f"seed {s}: {k}" for s, k in q["k_by_seed"].items())
                     + " (the choice of k does not depend on the seed).")
    lines.append(f"Not clustered: {q['not_clustered']:,} ({q['share_not_clustered']:.0%}); theme sizes: "
                 + ", ".join(str(n) for n in q["sizes"]) + ".")
    for bucket in themes["set_aside"]:
        lines.append(f"  set aside: {bucket['label']}: {bucket['count']:,}")
    agreement = q.get("agreement")
    if agreement and agreement.get("nmi") is not None:
        lines.append(f"Agreement with the human codes ({agreement['matched']:,} coded): NMI {agreement['nmi']:.3f}, "
                     f"ARI {agreement['ari']:.3f}, Cohen's kappa {agreement['kappa']:.3f} after matching.")
    elif agreement:
        lines.append(agreement["note"])
    return [line for line in lines if line]


def polis_time_bias_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Time bias on each Pol.is conversation, before and after adjustment (Spearman with posting time)."""
    rows: list[dict[str, Any]] = []
    folders = sorted(p for p in (data_dir / "polis").glob("*") if (p / "comments.csv").is_file())
    for folder in folders:
        dataset = read_polis(folder)
        # In Pol.is every comment shown gets agree, disagree or pass, so votes including passes are close to
        # true impressions: scoring with them is the reference the exposure fallback should approach.
        shown = replace(dataset, impressions=[Impression(v.item, v.voter, v.at) for v in dataset.votes])
        fallback, reference = compute_support(dataset), compute_support(shown)
        ids = [c.id for c in dataset.contributions]
        posted = timestamps(c.visible_from for c in dataset.contributions)
        columns = {
            "raw agree count": np.array([fallback[i].up for i in ids], dtype=float),
            "people shown (votes incl. passes)": np.array([reference[i].impressions for i in ids], float),
            "support, exposure fallback (used)": np.array([fallback[i].support for i in ids]),
            "support per person shown (reference)": np.array([reference[i].support for i in ids]),
        }
        data = f"polis {folder.name} (n={len(ids)})"
        for method, values in columns.items():
            rows.append({"data": data, "method": method, "metric": "Spearman with posting time",
                         "value": _spearman(values, posted)})
        rows.append({"data": data, "method": "support, exposure fallback (used)",
                     "metric": "Spearman with reference support",
                     "value": _spearman(columns["support, exposure fallback (used)"],
                                        columns["support per person shown (reference)"])})
    return rows


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    return float(stats.spearmanr(a, b).statistic)


def simulation_rows(seeds: Sequence[int] = SIMULATION_SEEDS) -> list[dict[str, Any]]:
    """The simulation's figures as table rows: mean over seeds ± half their range, per down-vote model.

    The model as specified first, every rule; then the two models where down-votes say something about
    appeal, only the rules that read down-votes, the previous score and the ceilings.
    """
    names = {"spearman_quality": "Spearman with true quality", "spearman_time": "Spearman with posting time",
             "coverage_80": "80% interval coverage"}
    reads_down = ("Wilson 80% lower bound", "support, up-votes only (previous)", "support (impressions)",
                  "ceiling, up-votes only: true prior", "ceiling, every signal: true model")
    rows = []
    for model in DOWN_MODELS:
        data = f"simulation, down-votes {model} ({len(seeds)} seeds, 300 ideas)"
        for method, figures in simulation_summary(seeds, down=model).items():
            if model != SPECIFIED and method not in reads_down:
                continue
            for metric, spread in figures.items():
                half = (spread["max"] - spread["min"]) / 2
                rows.append({"data": data, "method": method, "metric": names[metric],
                             "value": f"{spread['mean']:.3f} ± {half:.3f}"})
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of data/method/metric/value as a plain aligned text table."""
    columns = ("data", "method", "metric", "value")
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _eval(args: argparse.Namespace) -> int:
    data_dir = Path(args.data)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data folder not found (pass --data DIR)")
    from analysis.eval_polis import polis_opinion_rows
    from analysis.eval_text import THEME_NOTES, evaluate_text
    from analysis.eval_text import format_table as pivot_table

    parts = [args.only] if args.only else ["text", "polis", "support", "proposals"]
    if "text" in parts:
        # Themes and sentiment pivoted (one line per method, a column per metric).
        print(pivot_table(evaluate_text(data_dir)))
        print()
        print(THEME_NOTES)
        print()
    if "polis" in parts:
        # Opinion groups against Pol.is's own, meta statements left out.
        print(pivot_table(polis_opinion_rows(data_dir)))
        print()
    if "support" in parts:
        print(format_table([*polis_time_bias_rows(data_dir), *simulation_rows()]))
        print()
    if "proposals" in parts:
        from analysis.eval_proposals import evaluate_proposals

        print("\n".join(evaluate_proposals(data_dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m analysis`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="analyse a JSON-lines export or a Pol.is folder")
    run.add_argument("input", help="a .jsonl export or a Pol.is export folder")
    run.add_argument("--out", required=True, help="folder for results.json and the CSV files")
    run.add_argument("--k", type=int, default=None, help="number of themes (default: chosen automatically)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--phase", action="append", help="analyse only this phase (repeatable)")
    run.add_argument("--codes", default=None,
                     help="CSV of human codes (columns id, code): adds agreement to the quality report")
    run.set_defaults(handler=_run)
    evaluate = commands.add_parser("eval", help="print the quality table on the shared data")
    evaluate.add_argument("--data", default=str(DEFAULT_DATA), help=f"data folder (default {DEFAULT_DATA})")
    evaluate.add_argument("--only", choices=("text", "polis", "support", "proposals"), default=None,
                          help="print only themes and sentiment, opinion groups, support, or codebook proposals")
    evaluate.set_defaults(handler=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse arguments, run the command, turn input problems into a clear message."""
    args = build_parser().parse_args(argv)
    if getattr(args, "k", None) is not None and args.k < 2:
        print("error: --k must be at least 2", file=sys.stderr)
        return 2
    try:
        return args.handler(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
