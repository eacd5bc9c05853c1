"""Benchmark: wall and CPU time and peak memory of the full analysis on synthetic consultations.

``python -m analysis.bench`` generates two consultations (21,000 contributions with 200,000 votes, the 2021
AHP consultation's scale, and 500,000 with 5,000,000 votes and 10,000,000 impressions) as JSON-lines exports,
then analyses each in its own process (so memory peaks do not mix) exactly as ``python -m analysis run``
does: read the export, run every stage, write the results. It prints wall and CPU seconds and peak resident
memory per stage against the targets (30 s / 2 GB and 5 min / 4 GB end to end on 2 cores). ``--quick`` runs
one small size instead; ``--only large`` (or ``2021``) one of the two.

The synthetic text is built from templates over an allied-health vocabulary of twelve themes, so themes have
something real to find, with a sentence of particulars in most of them, so that texts are mostly distinct
(92% at 500,000) as real answers are. Traffic is front-loaded over three two-week phases; each vote comes
with an impression and people are shown as many items again without voting, so impressions are exactly
twice the votes. The export is written a chunk at a time (1.3 GB at the large size).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

TOPICS: dict[str, tuple[str, ...]] = {
    "workforce": ("staff shortages", "recruitment", "retention", "vacancies", "unfilled posts",
                  "agency staff"),
    "training": ("training", "CPD time", "apprenticeships", "student placements", "preceptorship",
                 "supervision"),
    "digital": ("digital tools", "IT systems", "electronic records", "video consultations", "data sharing",
                "laptops that work"),
    "leadership": ("AHP leadership", "board representation", "a chief AHP", "a voice at the top",
                   "senior AHP roles"),
    "pay": ("pay banding", "band 5 to 6 progression", "fair pay", "recognition", "career progression"),
    "access": ("waiting lists", "self-referral", "access to services", "community clinics",
               "faster assessment"),
    "inclusion": ("diversity", "inclusion", "race equality", "disabled staff", "representative boards"),
    "research": ("research time", "clinical academic careers", "evidence-based practice", "innovation",
                 "quality improvement"),
    "wellbeing": ("staff wellbeing", "burnout", "rest breaks", "flexible working", "mental health support"),
    "integration": ("multidisciplinary teams", "integrated care", "primary care", "social care",
                    "joined-up services"),
    "public": ("public awareness", "what AHPs do", "the AHP brand", "visibility", "explaining our roles"),
    "environment": ("net zero", "travel between sites", "greener care", "less paper", "sustainable practice"),
}
TEMPLATES: tuple[str, ...] = (
    "We need more {a} and better {b}.",
    "{A} is the biggest problem in my service right now.",
    "Please invest in {a} for {roles}.",
    "Without {a} we will never sort out {b}.",
    "I think {a} should be a priority for the next five years.",
    "As {a_role}, {a} matters most to me, then {b}.",
    "Not enough {a}. Nothing has changed in years.",
    "Good {a} would make a huge difference to patients.",
    "{A} and {b} go together: fix both.",
    "Our team has no {a}; it affects {b} too.",
)
COMMENT_TEMPLATES: tuple[str, ...] = (
    "Agree, {a} is key.",
    "Yes, and {a} as well.",
    "Not sure about this; {a} matters more.",
    "This is so true for {roles}.",
)
# A second sentence of particulars (where, how long, which team), so that texts differ as real answers do:
# without it a large export repeats a few tens of thousands of distinct texts, which flatters every stage
# that works per distinct text.
DETAILS: tuple[str, ...] = (
    "In {place} we have waited {n} months for {a}.",
    "I have worked as {a_role} in {place} for {n} years.",
    "Our {team} team in {place} sees this every week.",
    "{N} of us in {place} raised it with our {team} lead.",
    "It came up again at the {team} meeting in {place}.",
    "Since {year} nothing in {place} has changed.",
)
DETAIL_SHARE = 0.95
PLACES = ("Leeds", "Bristol", "Norwich", "Truro", "Carlisle", "Derby", "Hull", "Exeter", "Luton", "Bolton",
          "Wigan", "Durham", "Lincoln", "Ipswich", "Reading", "Swindon", "Preston", "Salford", "Gateshead",
          "Sheffield", "York", "Bath", "Oxford", "Cambridge", "Leicester", "Coventry", "Stoke", "Telford",
          "Worcester", "Hereford", "Chester", "Crewe", "Blackpool", "Barnsley", "Doncaster", "Grimsby",
          "Scunthorpe", "Kendal", "Penrith", "Whitby", "Harrogate", "Dover", "Margate", "Brighton", "Hastings",
          "Portsmouth", "Southampton", "Poole", "Weymouth", "Plymouth")
TEAMS = ("community", "acute", "stroke", "paediatric", "mental health", "outpatient", "rehabilitation",
         "orthopaedic", "neuro", "cardiac", "respiratory", "falls", "frailty", "learning disability")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
ROLES = ("physiotherapist", "occupational therapist", "podiatrist", "paramedic", "radiographer", "dietitian",
         "speech and language therapist", "orthoptist", "art therapist", "prosthetist", "osteopath",
         "operating department practitioner", "music therapist", "drama therapist")
REGIONS = ("North East and Yorkshire", "North West", "Midlands", "East of England", "London", "South East",
           "South West")
SITE_ROLES = ("participant",) * 20 + ("facilitator",)
PHASE_DAYS = 14
PHASES = 3
QUESTIONS = ("What should AHPs achieve by 2026?", "What gets in the way?", "What would help most?")
START = np.datetime64("2021-03-01T09:00:00", "s")


@dataclass(frozen=True)
class Size:
    """One benchmark size and its targets."""

    name: str
    contributions: int
    votes: int
    seconds: float
    gigabytes: float


SIZES = (Size("2021 scale", 21_000, 200_000, 30, 2), Size("large", 500_000, 5_000_000, 300, 4))
QUICK = Size("quick", 2_000, 20_000, 30, 2)
# Events generated and written at a time: bounds the generator's memory whatever the size.
CHUNK = 250_000


def _times(seconds: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC strings for offsets in seconds from START."""
    return np.datetime_as_string(START + seconds.astype("timedelta64[s]"), unit="s", timezone="UTC")


def _pick(rng: np.random.Generator, options: Sequence[tuple[str, ...]], rows: np.ndarray) -> list[str]:
    """One uniformly chosen string from ``options[row]`` for each row (all drawn at once)."""
    lengths = np.array([len(o) for o in options])[rows]
    position = (rng.random(rows.size) * lengths).astype(np.int64)
    return [options[r][p] for r, p in zip(rows.tolist(), position.tolist(), strict=True)]


def _write_contributions(out: TextIO, rng: np.random.Generator, n: int, people: int) -> tuple[np.ndarray, ...]:
    """The contribution lines; returns each contribution's phase, posting offset and appeal."""
    topics = list(TOPICS)
    phase_seconds = PHASE_DAYS * 86_400
    phase = np.sort(rng.integers(0, PHASES, size=n))
    # Front-loaded posting within each phase, as traffic is.
    posted = phase * phase_seconds + (rng.beta(1, 2.5, size=n) * 0.9 * phase_seconds).astype(np.int64)
    order = np.argsort(posted, kind="stable")
    phase, posted = phase[order], posted[order]
    author = rng.integers(0, people, size=n)
    theme = rng.integers(0, len(topics), size=n)
    second = np.where(rng.random(n) < 0.4, rng.integers(0, len(topics), size=n), theme)
    is_comment = rng.random(n) < 0.3
    appeal = rng.beta(2, 8, size=n)
    profession = rng.integers(0, len(ROLES), size=people)
    region = rng.integers(0, len(REGIONS), size=people)
    site_role = rng.integers(0, len(SITE_ROLES), size=people)
    voters = {f"p{p}": {"profession": ROLES[profession[p]], "region": REGIONS[region[p]]} for p in range(people)}
    out.write(json.dumps({"type": "meta", "name": f"synthetic consultation, {n:,} contributions",
                          "voters": voters}) + "\n")
    del voters
    first_words = _pick(rng, [TOPICS[t] for t in topics], theme)
    second_words = _pick(rng, [TOPICS[t] for t in topics], second)
    idea_template = (rng.random(n) * len(TEMPLATES)).astype(np.int64).tolist()
    comment_template = (rng.random(n) * len(COMMENT_TEMPLATES)).astype(np.int64).tolist()
    detail = np.where(rng.random(n) < DETAIL_SHARE, rng.integers(0, len(DETAILS), size=n), -1).tolist()
    place, team = rng.integers(0, len(PLACES), size=n).tolist(), rng.integers(0, len(TEAMS), size=n).tolist()
    count = rng.integers(0, len(NUMBERS), size=n).tolist()
    visible = _times(posted)
    last_idea_in_phase: dict[int, int] = {}
    lines = []
    for i in range(n):
        a, b = first_words[i], second_words[i]
        role = ROLES[profession[author[i]]]
        parent = last_idea_in_phase.get(int(phase[i])) if is_comment[i] else None
        template = COMMENT_TEMPLATES[comment_template[i]] if parent is not None else TEMPLATES[idea_template[i]]
        a_role = ("an " if role[0] in "aeiou" else "a ") + role
        text = template.format(a=a, b=b, A=a[0].upper() + a[1:], roles=role + "s", a_role=a_role)
        if detail[i] >= 0:
            number = NUMBERS[count[i]]
            text += " " + DETAILS[detail[i]].format(place=PLACES[place[i]], n=number, N=number.capitalize(),
                                                    a=a, a_role=a_role, team=TEAMS[team[i]], year=2008 + count[i])
        if parent is None:
            last_idea_in_phase[int(phase[i])] = i
        lines.append(json.dumps({
            "type": "contribution", "id": f"c{i}", "kind": "comment" if parent is not None else "idea",
            "parent": None if parent is None else f"c{parent}", "text": text, "phase": str(phase[i] + 1),
            "topic": topics[theme[i]], "question": QUESTIONS[phase[i]], "visible_from": str(visible[i]),
            "author": f"p{author[i]}", "author_role": SITE_ROLES[site_role[author[i]]],
            "groups": {"profession": role, "region": REGIONS[region[author[i]]]},
        }))
        if len(lines) == CHUNK // 10:
            out.write("\n".join(lines) + "\n")
            lines = []
    if lines:
        out.write("\n".join(lines) + "\n")
    return phase, posted, appeal


def _write_events(out: TextIO, rng: np.random.Generator, n_votes: int, people: int, phase: np.ndarray,
                  posted: np.ndarray, appeal: np.ndarray) -> None:
    """Exactly ``2 * n_votes`` impression lines, ``n_votes`` of them followed by a vote, in chunks."""
    phase_seconds = PHASE_DAYS * 86_400
    events = 2 * n_votes
    # Which events are votes: exactly n_votes of them, spread at random.
    voted_all = np.zeros(events, dtype=bool)
    voted_all[:n_votes] = True
    rng.shuffle(voted_all)
    written = 0
    while written < events:
        # Each event: a person, a moment (front-loaded within its phase) and a uniformly chosen item among
        # those already visible in that phase; events before anything is visible in their phase are drawn
        # again, so the counts are exact.
        draw = min(CHUNK, events - written) + 1_000
        event_phase = rng.integers(0, PHASES, size=draw)
        moment = event_phase * phase_seconds + (rng.beta(1, 3, size=draw) * phase_seconds).astype(np.int64)
        first = np.searchsorted(phase, event_phase, side="left")
        visible_count = np.searchsorted(posted, moment, side="right") - first
        keep = np.flatnonzero(visible_count > 0)[: events - written]
        first, visible_count, moment = first[keep], visible_count[keep], moment[keep]
        item = first + (rng.random(keep.size) * visible_count).astype(np.int64)
        person = rng.integers(0, people, size=keep.size)
        voted = voted_all[written:written + keep.size]
        # Up with probability q and down with 0.3 (1 - q), as in the simulation, given that the person voted.
        q = appeal[item]
        value = np.where(rng.random(keep.size) < q / (q + 0.3 * (1 - q)), 1, -1)
        stamps = _times(moment)
        lines = []
        for i, p, v, t, is_vote in zip(item.tolist(), person.tolist(), value.tolist(), stamps.tolist(),
                                       voted.tolist(), strict=True):
            lines.append(f'{{"type":"impression","item":"c{i}","viewer":"p{p}","first_seen":"{t}"}}')
            if is_vote:
                lines.append(f'{{"type":"vote","item":"c{i}","voter":"p{p}","value":{v},"at":"{t}"}}')
        out.write("\n".join(lines) + "\n")
        written += keep.size


def generate(size: Size, path: Path, seed: int = 0) -> None:
    """Write a synthetic consultation export of the given size to ``path`` (JSON lines), a chunk at a time."""
    rng = np.random.default_rng(seed)
    people = max(size.votes // 40, 200)
    with path.open("w", encoding="utf-8") as out:
        phase, posted, appeal = _write_contributions(out, rng, size.contributions, people)
        _write_events(out, rng, size.votes, people, phase, posted, appeal)


class _Memory:
    """The most memory seen: this process's resident pages plus its helper processes' own pages (Linux).

    A helper forked by ``analysis.parallel`` shares this process's pages until it writes them, so only its
    private pages are added. Sampled every 0.2 s by a thread; ``ru_maxrss`` covers this process between samples.
    """

    def __init__(self) -> None:
        self.peak_kb = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    @staticmethod
    def _fields(path: str, names: tuple[str, ...]) -> int:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            return 0
        return sum(int(line.split()[1]) for line in lines if line.split(":")[0] in names)

    def sample(self) -> int:
        """This process's resident kB plus its children's private kB, now."""
        pid = os.getpid()
        total = self._fields(f"/proc/{pid}/status", ("VmRSS",))
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        own = _statm(pid)
        for child in children:
            # A spawned helper starts as a vfork child sharing this process's memory until it execs: its
            # "private" pages then are this process's, counted twice (3.5 GB for 2 GB at 500,000). Sharing
            # the memory, it has this process's total and data sizes; a forked helper that allocates does not.
            if own and _statm(int(child)) == own:
                continue
            total += self._fields(f"/proc/{child}/smaps_rollup", ("Private_Clean", "Private_Dirty"))
        return total

    def _watch(self) -> None:
        while not self.stop.wait(0.2):
            self.peak_kb = max(self.peak_kb, self.sample())

    def peak_mb(self) -> float:
        """The largest total so far, in MB (at least this process's own peak)."""
        return max(self.peak_kb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def _statm(pid: int) -> str:
    """The process's total and data sizes in pages (``/proc/PID/statm``), or "" when it has gone."""
    try:
        sizes = Path(f"/proc/{pid}/statm").read_text().split()
    except OSError:
        return ""
    return f"{sizes[0]} {sizes[5]}" if len(sizes) > 5 else ""


def _cpu() -> float:
    """CPU seconds of this process and of the helper processes it has waited for (``analysis.parallel``)."""
    return time.process_time() + _helpers_cpu()


def _helpers_cpu() -> float:
    """CPU seconds of the helper processes this one has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def measure(path: Path, out_dir: Path) -> dict[str, Any]:
    """Read, analyse and write one export: wall and CPU seconds per stage, and peak memory as each stage ends.

    CPU seconds (every thread of this process and of its helper processes) are the fair figure on a shared
    machine; wall seconds are only fair when it is quiet. A large consultation's sentiment is scored in a
    forked helper process while themes are found (``analysis.parallel``): the helper's CPU seconds are counted
    under "sentiment", and the wall seconds of "sentiment" are only the wait for it after the themes. Peak
    memory is this process's plus its helpers' own pages (``_Memory``).
    """
    from analysis.pipeline import STAGES, run_analysis
    from analysis.records import read_jsonl
    from analysis.result_files import write_results

    memory = _Memory()
    stage_of = {message: name for name, message, _ in STAGES}
    stage_of["Done"] = "summarise"
    peaks: dict[str, float] = {}
    cpu: dict[str, float] = {}
    current: list[tuple[str, float]] = []

    def end_stage() -> None:
        name, cpu_began = current[-1]
        peaks[name] = memory.peak_mb()
        cpu[name] = round(cpu.get(name, 0.0) + time.process_time() - cpu_began, 2)

    def progress(_: float, message: str) -> None:
        name = stage_of.get(message.split(":", 1)[0])
        if name and (not current or current[-1][0] != name):
            if current:
                end_stage()
            current.append((name, time.process_time()))

    began, cpu_began, helpers_before = time.perf_counter(), _cpu(), _helpers_cpu()
    current.append(("read", time.process_time()))
    dataset = read_jsonl(path)
    read_seconds = time.perf_counter() - began
    end_stage()
    cpu["read"] = round(cpu["read"] + _helpers_cpu() - helpers_before, 2)  # a helper reading half the file
    current.clear()
    helpers_before = _helpers_cpu()
    result = run_analysis(dataset, progress=progress)
    del dataset
    if current:
        end_stage()
    cpu["sentiment"] = round(cpu.get("sentiment", 0.0) + _helpers_cpu() - helpers_before, 2)
    summarised = time.perf_counter()
    current.append(("write", time.process_time()))
    write_results(result, out_dir)
    end_stage()
    memory.stop.set()
    stage_wall = {k: v for k, v in result["meta"]["timings"].items() if k != "total"}
    timings = {"read": round(read_seconds, 2), **stage_wall, "write": round(time.perf_counter() - summarised, 2)}
    counts = result["meta"]["counts"]
    return {
        "timings": timings,
        "cpu": cpu,
        "analysis": result["meta"]["timings"]["total"],
        "peaks_mb": {k: round(v) for k, v in peaks.items()},
        "end_to_end": round(time.perf_counter() - began, 2),
        "end_to_end_cpu": round(_cpu() - cpu_began, 2),
        "counts": {k: counts[k] for k in ("contributions", "vote_events", "impressions", "voters")},
        "themes": len(result["themes"]["themes"]),
        "theme_method": result["themes"]["method"],
    }


def _subprocess(args: list[str]) -> str:
    done = subprocess.run([sys.executable, "-m", "analysis.bench", *args], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark step {args[0]} failed:\n{done.stderr}")
    return done.stdout


def report(size: Size, figures: dict[str, Any]) -> str:
    """The printed table for one size: wall and CPU seconds and peak memory per stage, and the verdict."""
    timings, cpu, peaks = figures["timings"], figures["cpu"], figures["peaks_mb"]
    counts = figures["counts"]
    lines = [
        f"{size.name}: {counts['contributions']:,} contributions, {counts['vote_events']:,} votes, "
        f"{counts['impressions']:,} impressions, {counts['voters']:,} voters; {figures['themes']} themes "
        f"({figures['theme_method']})",
        f"  {'stage':<12}{'wall s':>10}{'CPU s':>10}{'peak MB so far':>16}",
    ]
    lines += [f"  {s:<12}{timings.get(s, 0):>10.2f}{cpu.get(s, 0):>10.2f}{peaks.get(s, 0):>16,}" for s in cpu]
    peak_gb = max(peaks.values()) / 1024
    wall, cpu_total = figures["end_to_end"], figures["end_to_end_cpu"]
    memory_ok = peak_gb <= size.gigabytes
    verdict = "within" if wall <= size.seconds and memory_ok else "OVER"
    # Most stages run on one core, so on a busy machine CPU seconds are the fair stand-in for quiet wall time.
    cpu_verdict = "within" if cpu_total <= size.seconds and memory_ok else "OVER"
    lines += [
        f"  {'analysis':<12}{figures['analysis']:>10.2f}   (pipeline stages only, wall)",
        f"  {'end to end':<12}{wall:>10.2f}{cpu_total:>10.2f}   (read export + analysis + write results)",
        f"  peak memory {peak_gb:.2f} GB; target {size.seconds:.0f} s / {size.gigabytes:.0f} GB on 2 cores: "
        f"{verdict} target by wall time ({wall:.1f} s), {cpu_verdict} by CPU time ({cpu_total:.1f} s); load "
        f"average {os.getloadavg()[0]:.1f} (wall time is fair only on a quiet machine)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, internally, one of its steps in a child process)."""
    parser = argparse.ArgumentParser(prog="python -m analysis.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"one small size ({QUICK.contributions:,} "
                        f"contributions, {QUICK.votes:,} votes)")
    parser.add_argument("--only", choices=("2021", "large"), default=None, help="run one of the two sizes")
    parser.add_argument("--generate", nargs=3, metavar=("CONTRIBUTIONS", "VOTES", "PATH"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        contributions, votes, path = args.generate
        generate(Size("synthetic", int(contributions), int(votes), 0, 0), Path(path))
        return 0
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]))))
        return 0
    print(f"analysis benchmark on {os.cpu_count()} cores (targets are for 2 cores)")
    with tempfile.TemporaryDirectory(prefix="analysis-bench-") as tmp:
        sizes = (QUICK,) if args.quick else SIZES if args.only is None else SIZES[args.only == "large":][:1]
        for size in sizes:
            path = Path(tmp) / f"{size.contributions}.jsonl"
            began = time.perf_counter()
            _subprocess(["--generate", str(size.contributions), str(size.votes), str(path)])
            print(f"\ngenerated {size.name} export ({path.stat().st_size / 1e6:,.0f} MB) in "
                  f"{time.perf_counter() - began:.1f} s", flush=True)
            figures = json.loads(_subprocess(["--measure", str(path), str(Path(tmp) / "out")]))
            print(report(size, figures), flush=True)
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
