"""Inclusion page benchmark: a facilitator's first and repeat views of /facilitate/consultations/<id>/inclusion.

Run with `make bench` (or `python -m tests.bench.inclusion [--repeats N]`). Loads the demo exactly as
`make run` does (init-db --demo-if-empty), serves it with gunicorn on 127.0.0.1 (2 processes x 4 threads) and
prints the app's own time (Server-Timing) and the client's time for every scope the page offers: the whole
consultation and each phase, registrants and active contributors. Each scope's first view is cold (nothing
computed for it yet); repeat views show what the page costs once its figures are known. Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from consult.demo import DEMO_PASSWORD
from tests.support.live import flask_command, live_server, logged_in_session

FACILITATOR = "facilitator@demo.consult.test"


def timed(session, url: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Server and client milliseconds for one GET (which must succeed)."""
    began = time.perf_counter()
    response = session.get(url, timeout=120)
    client = (time.perf_counter() - began) * 1000
    assert response.status_code == 200, (url, response.status_code)
    header = response.headers.get("Server-Timing", "")
    return (float(header.split("dur=")[1]) if "dur=" in header else float("nan")), client


def main() -> None:
    """Seed the demo, serve it, time the page, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10, help="repeat views per scope")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consult-bench-inclusion-") as tmp:
        database = Path(tmp) / "demo.sqlite3"
        flask_command(database, "init-db", "--demo-if-empty")
        with sqlite3.connect(database) as db:
            consultation = db.execute("SELECT id FROM consultation ORDER BY id LIMIT 1").fetchone()[0]
            phases = [r[0] for r in db.execute("SELECT id FROM phase WHERE consultation_id = ? ORDER BY position",
                                               (consultation,))]
            people = db.execute("SELECT count(*) FROM participant_profile").fetchone()[0]
            answers = db.execute("SELECT count(*) FROM equality_response").fetchone()[0]
        base = f"/facilitate/consultations/{consultation}/inclusion?who="
        scopes = [(label, base + who + (f"&phase={p}" if p else ""))
                  for who in ("registrants", "contributors")
                  for label, p in [(f"{who}, all phases", None), *((f"{who}, phase {n}", p)
                                                                    for n, p in enumerate(phases, start=1))]]
        with live_server(database, workers=2, threads=4) as server:
            session = logged_in_session(server.url, FACILITATOR, DEMO_PASSWORD)
            session.get(server.url + "/about", timeout=30)
            rows = []
            for label, path in scopes:
                first = timed(session, server.url + path)
                # Both worker processes serve repeats, so each sees the scope at least once before these.
                for _ in range(2):
                    timed(session, server.url + path)
                repeat = [timed(session, server.url + path) for _ in range(args.repeats)]
                rows.append((label, first, statistics.median(r[0] for r in repeat),
                             statistics.median(r[1] for r in repeat)))
    load = os.getloadavg()
    print(f"Inclusion page on the demo ({people:,} registrants, {answers:,} with equality answers; SQLite, "
          f"gunicorn 2 processes x 4 threads, 127.0.0.1). Load average at the end: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores.")
    print(f"{'scope':<28}{'first: server':>15}{'client':>10}{'repeat p50: server':>21}{'client':>10}")
    for label, first, server_ms, client_ms in rows:
        print(f"{label:<28}{first[0]:>13.0f}ms{first[1]:>8.0f}ms{server_ms:>19.0f}ms{client_ms:>8.0f}ms")
    firsts = [r[1][0] for r in rows]
    print(f"\nFirst views: median {statistics.median(firsts):.0f} ms, worst {max(firsts):.0f} ms (server time).")


if __name__ == "__main__":
    main()
