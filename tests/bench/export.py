"""Benchmark the exports: time and peak memory to export a consultation of 200,000 contributions.

    .venv/bin/python -m tests.bench.export [--contributions 200000] [--formats xlsx,docx,csv,json,polis]

Builds a throwaway SQLite database (a quarter ideas, the rest comments, one vote per contribution on
average, a 20-theme codebook covering every contribution, participant categories and an age answer for most
people, so the evidence pack's group figures are worked out), then runs each export in a fresh process and
prints its wall time, output size and the process's peak resident memory (which includes the ~200 MB the
app and scikit-learn take to import). No analysis run is stored, so support columns are empty: the engine
itself is benchmarked by `python -m analysis.bench`.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import resource, sys, time
from pathlib import Path
from consult import create_app
from consult.extensions import db
from consult.models import Consultation
from consult.services import exports
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "bench", "ANALYSIS_WORKER": False})
with app.app_context():
    start = time.perf_counter()
    item = db.session.query(Consultation).one()
    exports.write(db.session, consultation=item, fmt=sys.argv[2], key="bench", out=Path(sys.argv[3]))
    took = time.perf_counter() - start
print(f"{took:.1f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
"""


def build(url: str, contributions: int) -> None:
    """A migrated database with one consultation of `contributions` ideas and comments, votes and a codebook."""
    from sqlalchemy import insert

    from consult import migrate
    from consult.extensions import make_engine
    from consult.models import (
        CATEGORIES,
        Codebook,
        CodebookMember,
        CodebookTheme,
        Comment,
        Consultation,
        EqualityResponse,
        Idea,
        ParticipantProfile,
        Phase,
        Topic,
        User,
        Vote,
    )
    from consult.services.equality import AGE_BANDS, respondent_key

    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(7)
    words = ("waiting times physio appointment online video carers staff training home visits children "
             "therapy speech podiatry dietitian hospital discharge community funding research leadership").split()
    start = datetime(2021, 5, 1)
    people = 5000
    ideas = contributions // 4
    with engine.begin() as connection:
        connection.execute(insert(User), [{"id": n, "email": f"bench{n}@example.org", "password_hash": "x",
                                           "role": "participant"} for n in range(1, people + 1)])
        connection.execute(insert(ParticipantProfile), [{"user_id": n, "category": rng.choice(CATEGORIES)}
                                                        for n in range(1, people + 1)])
        # Equality answers under the key the export is run with ("bench"), as the site stores them.
        connection.execute(insert(EqualityResponse), [
            {"respondent_key": respondent_key(n, "bench"), "age_band": rng.choice(AGE_BANDS)[0],
             "updated_on": start.date()} for n in range(1, people + 1) if rng.random() < 0.8])
        connection.execute(insert(Consultation), [{"id": 1, "slug": "bench", "title": "Benchmark"}])
        connection.execute(insert(Phase), [{"id": p, "consultation_id": 1, "position": p, "title": f"Phase {p}",
                                            "question": "How could care be better?", "state": "closed"}
                                           for p in (1, 2, 3)])
        connection.execute(insert(Topic), [{"id": t, "phase_id": (t - 1) // 4 + 1, "position": (t - 1) % 4 + 1,
                                            "title": f"Topic {t}"} for t in range(1, 13)])
        for first in range(1, ideas + 1, 10_000):
            rows = []
            for n in range(first, min(ideas, first + 9_999) + 1):
                topic = rng.randint(1, 12)
                text = " ".join(rng.choices(words, k=rng.randint(8, 40)))
                rows.append({"id": n, "topic_id": topic, "phase_id": (topic - 1) // 4 + 1, "title": text[:60],
                             "body": text, "author_id": rng.randint(1, people), "created_at": start,
                             "visible_from": start + timedelta(minutes=n), "up_count": 1})
            connection.execute(insert(Idea), rows)
        for first in range(1, contributions - ideas + 1, 10_000):
            rows = []
            for n in range(first, min(contributions - ideas, first + 9_999) + 1):
                idea = rng.randint(1, ideas)
                rows.append({"id": n, "idea_id": idea, "phase_id": 1, "body": " ".join(rng.choices(words, k=12)),
                             "author_id": rng.randint(1, people), "created_at": start,
                             "visible_from": start + timedelta(minutes=n)})
            connection.execute(insert(Comment), rows)
        votes, seen = [], set()
        for _ in range(ideas):
            pair = (rng.randint(1, people), rng.randint(1, ideas))
            if pair not in seen:
                seen.add(pair)
                votes.append({"voter_id": pair[0], "idea_id": pair[1], "value": rng.choice((1, 1, -1)),
                              "created_at": start, "updated_at": start})
        connection.execute(insert(Vote), votes)
        connection.execute(insert(Codebook), [{"id": 1, "consultation_id": 1, "version": 1}])
        connection.execute(insert(CodebookTheme), [{"id": t, "codebook_id": 1, "position": t, "label": f"Theme {t}",
                                                    "summary": "People said this.", "state": "active", "terms": []}
                                                   for t in range(1, 21)])
        members = [{"theme_id": rng.randint(1, 20), "contribution": f"i{n}", "source": "engine"}
                   for n in range(1, ideas + 1)]
        members += [{"theme_id": rng.randint(1, 20), "contribution": f"c{n}", "source": "engine"}
                    for n in range(1, contributions - ideas + 1)]
        for first in range(0, len(members), 20_000):
            connection.execute(insert(CodebookMember), members[first:first + 20_000])
    engine.dispose()


def main() -> None:
    """Build the data once, then time each export in its own process."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contributions", type=int, default=200_000)
    parser.add_argument("--formats", default="csv,json,xlsx,docx,polis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        began = time.perf_counter()
        build(url, args.contributions)
        print(f"built {args.contributions:,} contributions in {time.perf_counter() - began:.0f}s")
        for fmt in args.formats.split(","):
            out = Path(folder) / f"export.{'zip' if fmt == 'polis' else fmt}"
            result = subprocess.run([sys.executable, "-c", CHILD, url, fmt, str(out)], cwd=ROOT, check=True,
                                    capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            took, peak = result.stdout.split()[-2:]
            print(f"export {fmt:5}: {args.contributions:,} contributions in {took}s, "
                  f"{out.stat().st_size / 1e6:.1f} MB written, peak memory {peak} MB")


if __name__ == "__main__":
    main()
