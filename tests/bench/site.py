"""Site benchmark: page server times and vote throughput on the demo scaled to 20,000 ideas and 200,000 votes.

Run with `make bench` (or `python -m tests.bench.site [--ideas N --votes N --seconds S]`). Prints figures;
asserts nothing. The server is gunicorn on 127.0.0.1 (2 processes x 4 threads), as `make run` serves it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from consult import migrate
from consult.demo import DEMO_PASSWORD, seed_demo
from consult.extensions import make_engine
from consult.models import Consultation, Idea, ParticipantProfile, Phase, Topic, User
from consult.services.contributions import recount
from tests.support.live import csrf_token, live_server, logged_in_session
from tests.support.publicids import LIVE_PUBLIC_ID_KEY, pid


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def server_ms(response: requests.Response) -> float:
    """The app's own time for the request, from its Server-Timing header."""
    header = response.headers.get("Server-Timing", "")
    return float(header.split("dur=")[1]) if "dur=" in header else float("nan")


def seed(database: Path, ideas: int, votes: int) -> dict[str, int]:
    """A migrated database with the demo at the requested size."""
    engine = make_engine(f"sqlite:///{database}")
    migrate.upgrade(engine)
    with Session(engine) as session:
        counts = seed_demo(session, ideas=ideas, votes=votes, scale=max(1.0, ideas / 300))
        recount(session)
        session.commit()
    engine.dispose()
    return counts


def page_times(url: str, session: requests.Session, paths: list[str]) -> tuple[list[float], list[float]]:
    """Server and client milliseconds for each path."""
    server, client = [], []
    for path in paths:
        began = time.perf_counter()
        response = session.get(url + path, timeout=60)
        client.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, response.status_code)
        server.append(server_ms(response))
    return server, client


def hammer(url: str, sessions: list[requests.Session], tokens: list[str], ideas: list[str], seconds: float
           ) -> tuple[int, int]:
    """POST votes from one thread per session for `seconds`; returns (successes, failures)."""
    stop = time.monotonic() + seconds
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()

    def worker(index: int) -> None:
        rng = random.Random(index)
        session, token = sessions[index], tokens[index]
        ok = bad = 0
        value = 1
        while time.monotonic() < stop:
            value = -value
            response = session.post(url + "/vote", timeout=30, headers={"Accept": "application/json"},
                                    data={"kind": "idea", "id": rng.choice(ideas), "value": value,
                                          "csrf_token": token})
            if response.status_code == 200:
                ok += 1
            else:
                bad += 1
        with lock:
            counts["ok"] += ok
            counts["bad"] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["ok"], counts["bad"]


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ideas", type=int, default=20_000)
    parser.add_argument("--votes", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per page kind")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each vote run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent voters")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="consult-bench-") as tmp:
        database = Path(tmp) / "bench.sqlite3"
        began = time.perf_counter()
        counts = seed(database, args.ideas, args.votes)
        print(f"Seeded in {time.perf_counter() - began:.0f} s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))

        engine = make_engine(f"sqlite:///{database}")
        with Session(engine) as db:
            open_phase = db.scalar(select(Phase.id).where(Phase.state == "open").order_by(Phase.position))
            topics = db.scalars(select(Topic.id).join(Phase).join(Consultation)
                                .where(Consultation.is_published.is_(True))).all()
            # Only ideas posted online take votes (offline ones are left out of vote-based support).
            open_ideas = db.scalars(select(Idea.id).where(Idea.phase_id == open_phase, Idea.channel == "online",
                                                          Idea.moderation_state == "published")).all()
            all_ideas = db.scalars(select(Idea.id).where(Idea.moderation_state == "published",
                                                         Idea.topic_id.in_(topics))).all()
            voters = db.scalars(select(User.email).join(ParticipantProfile).where(User.role == "participant")
                                .order_by(User.id).limit(args.clients)).all()
        engine.dispose()
        # Ideas as the live server names them in pages and forms: by public id.
        open_ideas = [pid("idea", i, key=LIVE_PUBLIC_ID_KEY) for i in open_ideas]
        all_ideas = [pid("idea", i, key=LIVE_PUBLIC_ID_KEY) for i in all_ideas]
        rng = random.Random(1)
        orders = ["random", "newest", "discussed", "supported"]
        topic_paths = [f"/topics/{rng.choice(topics)}?order={rng.choice(orders)}&page={rng.randint(1, 5)}"
                       for _ in range(args.requests)]
        idea_paths = [f"/ideas/{rng.choice(all_ideas)}" for _ in range(args.requests)]

        # The 8 voters vote far faster than the per-person limit of 120 a minute allows real people: raise it
        # (its counters are still written on every vote), as tests/bench/load.py does.
        with live_server(database, workers=2, threads=4, extra_env={"CONSULT_RATE_LIMIT_SCALE": "100"}) as server:
            reader = logged_in_session(server.url, voters[0], DEMO_PASSWORD)
            page_times(server.url, reader, topic_paths[:20] + idea_paths[:20])  # warm up caches
            topic_server, topic_client = page_times(server.url, reader, topic_paths)
            idea_server, idea_client = page_times(server.url, reader, idea_paths)
            sessions = [logged_in_session(server.url, email, DEMO_PASSWORD) for email in voters]
            tokens = [csrf_token(s, server.url + f"/ideas/{open_ideas[0]}") for s in sessions]
            ok, bad = hammer(server.url, sessions, tokens, open_ideas, args.seconds)
        with live_server(database, workers=2, threads=4, app="tests.bench.bare_app:app") as bare:
            plain = [requests.Session() for _ in voters]
            bare_ok, bare_bad = hammer(bare.url, plain, ["-"] * len(plain), open_ideas, args.seconds)

    print(f"\nDemo scaled to {counts.get('ideas', 0):,} ideas and {counts.get('votes', 0):,} votes "
          f"(SQLite, gunicorn 2 processes x 4 threads, 127.0.0.1, {args.requests} requests each)")
    print(f"{'page':<12}{'server p50':>12}{'server p95':>12}{'client p50':>12}{'client p95':>12}")
    for name, server_t, client_t in (("topic", topic_server, topic_client), ("idea", idea_server, idea_client)):
        print(f"{name:<12}{statistics.median(server_t):>10.1f}ms{percentile(server_t, 95):>10.1f}ms"
              f"{statistics.median(client_t):>10.1f}ms{percentile(client_t, 95):>10.1f}ms")
    print(f"\nVotes through gunicorn: {ok / args.seconds:,.0f} per second "
          f"({ok:,} in {args.seconds:.0f} s, {bad} errors, {len(voters)} concurrent voters)")
    print(f"Bare Flask endpoint:    {bare_ok / args.seconds:,.0f} per second "
          f"({bare_ok:,} in {args.seconds:.0f} s, {bare_bad} errors) - same machine, same run, same clients")


if __name__ == "__main__":
    main()
