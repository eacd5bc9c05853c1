"""Load benchmark: simulated participants against gunicorn on SQLite and PostgreSQL, and vote throughput.

`make bench` runs it (or `python -m tests.bench.load [--users 50 200] [--seconds S]`). For each database it
seeds the demo at the requested size, serves it with gunicorn on 127.0.0.1 as the README recommends
(2 processes x 8 threads), runs locust's simulated participants (tests/bench/participants.py: log in, then
browse topics, open ideas, vote, comment and post, pausing 0.5-2 s between actions) and prints

    load: 200 concurrent, N req/s, p50 X ms, p99 Y ms, E errors (sqlite)

then votes per second from 8 tight-loop voters beside the same clients against a bare Flask endpoint, the two
measured in turns straight after the loads:

    votes: N/s beside a bare endpoint's M/s, ratio R

Prints figures; asserts nothing; stops by itself.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from consult import migrate
from consult.demo import DEMO_PASSWORD, seed_demo
from consult.extensions import make_engine
from consult.models import Consultation, Idea, ParticipantProfile, Phase, Topic, User
from consult.services.contributions import recount
from tests.bench.cpu import group_cpu, own_cpu
from tests.bench.site import hammer
from tests.support.live import ROOT, LiveServer, csrf_token, live_server, logged_in_session
from tests.support.publicids import LIVE_PUBLIC_ID_KEY, pid

WORKERS, THREADS = 2, 8
# Simulated people pause up to 2 s between requests on a kept-alive connection; with gunicorn's default of 2 s
# the server closed connections just as the next request was sent, which locust counted as errors. (Behind
# nginx, as the README recommends, gunicorn's keep-alive never meets a browser.)
KEEPALIVE = 5
# The vote benchmark's 8 voters each vote hundreds of times a minute, past the per-person limit of 120 a minute
# that is there for real people: the limit is raised (its counters are still written on every vote).
SERVER_ENV = {"CONSULT_RATE_LIMIT_SCALE": "100"}


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """An empty database URL of this kind (PostgreSQL: a private throwaway cluster)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'load.sqlite3'}"
        return
    from tests.support.postgres import throwaway_cluster

    with throwaway_cluster() as url:
        yield url


def seed(url: str, ideas: int, votes: int) -> dict[str, object]:
    """Migrate, load the demo at this size, and return the plan's ids and accounts."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        counts = seed_demo(session, ideas=ideas, votes=votes, scale=max(1.0, ideas / 300))
        recount(session)
        session.commit()
        open_phase = session.scalar(select(Phase.id).where(Phase.state == "open").order_by(Phase.position))
        topics = session.scalars(select(Topic.id).join(Phase).join(Consultation)
                                 .where(Consultation.is_published.is_(True))).all()
        open_topics = session.scalars(select(Topic.id).where(Topic.phase_id == open_phase)).all()
        published = Idea.moderation_state == "published"
        # Only ideas posted online take votes: workshop, paper and phone ones are left out of vote-based support.
        open_ideas = session.scalars(select(Idea.id).where(Idea.phase_id == open_phase, published,
                                                           Idea.channel == "online")).all()
        all_ideas = session.scalars(select(Idea.id).where(published, Idea.topic_id.in_(topics))).all()
        accounts = session.scalars(select(User.email).join(ParticipantProfile).where(User.role == "participant")
                                   .order_by(User.id).limit(400)).all()
    with engine.begin() as connection:
        # Statistics for the query planner, as autovacuum (PostgreSQL) would gather within a minute of a bulk
        # load: measured straight after loading, PostgreSQL planned the comment queries without any and
        # spent ~0.5 ms on a query that takes 0.07 ms once analysed.
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    # Ideas as the live servers name them in pages and forms: by public id.
    return {"counts": counts, "topics": list(topics), "open_topics": list(open_topics),
            "ideas": [pid("idea", i, key=LIVE_PUBLIC_ID_KEY) for i in all_ideas],
            "open_ideas": [pid("idea", i, key=LIVE_PUBLIC_ID_KEY) for i in open_ideas],
            "accounts": list(accounts), "password": DEMO_PASSWORD}


def participants(server: LiveServer, database_url: str, plan: dict[str, object], users: int, seconds: float,
                 folder: Path) -> dict:
    """Run locust's simulated participants in their own process; its figures."""
    path = folder / f"plan-{users}.json"
    port = urlsplit(database_url).port if database_url.startswith("postgresql") else None
    path.write_text(json.dumps({**plan, "url": server.url, "server_pgid": server.process.pid, "users": users,
                                "seconds": seconds, "database_port": port}))
    done = subprocess.run([sys.executable, "-m", "tests.bench.participants", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=seconds + 600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def sessions_opened(url: str) -> int:
    """How many connections PostgreSQL has accepted on the database since it was created (pg_stat_database).

    A connection pool smaller than the server's threads closes connections and opens new ones under load, each
    a new PostgreSQL process that has lost the statements prepared on the last one: this shows it.
    """
    engine = make_engine(url, poolclass=NullPool)
    with engine.connect() as connection:
        opened = connection.exec_driver_sql(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()").scalar()
    engine.dispose()
    return int(opened or 0)


def cpu_of(server: LiveServer, run: Callable[[], tuple[int, int]]) -> tuple[int, int, tuple[float, float]]:
    """Run the vote hammer; its counts and the CPU seconds the server and this process (the voters) used."""
    server_cpu, client_cpu = group_cpu(server.process.pid), own_cpu()
    ok, bad = run()
    return ok, bad, (group_cpu(server.process.pid) - server_cpu, own_cpu() - client_cpu)


def in_turns(server: LiveServer, vote: Callable[[float], tuple[int, int]], bare: LiveServer,
             bare_vote: Callable[[float], tuple[int, int]], seconds: float
             ) -> tuple[tuple[int, int, tuple[float, float]], tuple[int, int, tuple[float, float]]]:
    """Votes against the app and against the bare endpoint in turns (app, bare, bare, app), ``seconds`` each in
    all; each one's summed counts and CPU seconds.

    In turns, because straight after a load this machine runs slower for a while, client as much as server
    (README, "Load and crash safety"): measured one after the other, the app met the slow machine and the bare
    endpoint, started later, a recovered one, so the ratio compared two machine states as well as two codes.
    """
    totals = {"app": [0, 0, 0.0, 0.0], "bare": [0, 0, 0.0, 0.0]}
    for name in ("app", "bare", "bare", "app"):
        target, run = (server, vote) if name == "app" else (bare, bare_vote)
        ok, bad, (server_cpu, client_cpu) = cpu_of(target, partial(run, seconds / 2))
        for i, value in enumerate((ok, bad, server_cpu, client_cpu)):
            totals[name][i] += value
    app, plain = totals["app"], totals["bare"]
    return ((int(app[0]), int(app[1]), (app[2], app[3])), (int(plain[0]), int(plain[1]), (plain[2], plain[3])))


def main() -> None:
    """Seed, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ideas", type=int, default=3000)
    parser.add_argument("--votes", type=int, default=30000)
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=30.0, help="measuring time of each load")
    parser.add_argument("--vote-seconds", type=float, default=10.0)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=THREADS, help="gunicorn threads per process")
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="consult-load-") as tmp:
        folder = Path(tmp)
        for kind in args.databases:
            with database(kind, folder) as url:
                began = time.perf_counter()
                plan = seed(url, args.ideas, args.votes)
                counts = plan.pop("counts")
                print(f"{kind}: seeded in {time.perf_counter() - began:.0f} s: "
                      + ", ".join(f"{v:,} {k}" for k, v in counts.items()), flush=True)
                with live_server(folder / "load.sqlite3", url=url, workers=args.workers, threads=args.threads,
                                 keepalive=KEEPALIVE, extra_env=SERVER_ENV) as server:
                    for users in args.users:
                        opened = sessions_opened(url) if kind == "postgresql" else 0
                        figures = participants(server, url, plan, users, args.seconds, folder)
                        line = (f"load: {users} concurrent, {figures['rps']:.0f} req/s, p50 {figures['p50']:.0f} ms, "
                                f"p99 {figures['p99']:.0f} ms, {figures['errors']} errors ({kind})")
                        lines.append(line)
                        print(line, flush=True)
                        slowest = sorted(figures["by_name"].items(), key=lambda kv: -kv[1]["p99"])
                        parts = [f"{name} n={s['n']} p50 {s['p50']:.0f} ms p99 {s['p99']:.0f} ms" for name, s in
                                 slowest]
                        print("  by request: " + "; ".join(parts), flush=True)
                        print(f"  CPU per request: server {figures['server_cpu_ms']:.1f} ms"
                              + (f", PostgreSQL {figures['database_cpu_ms']:.1f} ms" if kind != "sqlite" else "")
                              + f", locust {figures['client_cpu_ms']:.1f} ms", flush=True)
                        if kind == "postgresql":
                            # Less the one this count itself opened.
                            print(f"  PostgreSQL connections opened during the load: "
                                  f"{sessions_opened(url) - opened - 1}", flush=True)
                        if figures["error_kinds"]:
                            print(f"  errors: {figures['error_kinds']}", flush=True)
                    if kind == args.databases[0]:
                        voters = plan["accounts"][:8]
                        sessions = [logged_in_session(server.url, email, DEMO_PASSWORD) for email in voters]
                        tokens = [csrf_token(s, server.url + f"/ideas/{plan['open_ideas'][0]}") for s in sessions]
                        with live_server(folder / "load.sqlite3", url=url, workers=args.workers,
                                         threads=args.threads, app="tests.bench.bare_app:app") as bare:
                            plain = [requests.Session() for _ in voters]
                            vote = partial(hammer, server.url, sessions, tokens, plan["open_ideas"])
                            bare_vote = partial(hammer, bare.url, plain, ["-"] * len(plain), plan["open_ideas"])
                            (ok, bad, vote_cpu), (bare_ok, bare_bad, bare_cpu) = in_turns(
                                server, vote, bare, bare_vote, args.vote_seconds)
                        line = (f"votes: {ok / args.vote_seconds:.0f}/s beside a bare endpoint's "
                                f"{bare_ok / args.vote_seconds:.0f}/s, ratio {ok / max(bare_ok, 1):.2f} "
                                f"({len(voters)} voters, {bad} + {bare_bad} errors, {kind})")
                        lines.append(line)
                        print(line, flush=True)
                        print(f"  CPU per vote: server {vote_cpu[0] * 1000 / max(ok + bad, 1):.1f} ms, "
                              f"voters {vote_cpu[1] * 1000 / max(ok + bad, 1):.1f} ms; bare endpoint: server "
                              f"{bare_cpu[0] * 1000 / max(bare_ok + bare_bad, 1):.1f} ms, voters "
                              f"{bare_cpu[1] * 1000 / max(bare_ok + bare_bad, 1):.1f} ms", flush=True)
    print(f"\nSummary (gunicorn {args.workers} processes x {args.threads} threads, 127.0.0.1, "
          f"demo at {args.ideas:,} ideas):")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
