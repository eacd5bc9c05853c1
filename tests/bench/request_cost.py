"""CPU per request, in-process: `python -m tests.bench.request_cost [--database postgresql] [--profile vote]`.

Seeds the load benchmark's demo (tests/bench/load.py) into a throwaway SQLite file (or a private PostgreSQL
cluster, whose own CPU is then given for the mix as a whole), builds the app as the live servers configure
it, logs simulated participants in through the real form, then sends the load mix (topic pages, idea pages,
votes, comments, posts, in tests/bench/participants.py's proportions) through the WSGI app and prints the CPU
time (time.process_time) the app spent on each request type. Then a tight vote loop (the vote benchmark's
path) and the bare endpoint's vote (tests/bench/bare_app.py) on the same measure.

CPU time, not wall time: it moves far less than wall time when other processes load the machine (on a
heavily loaded machine it still rises by a fifth or more, so compare runs taken back to back). The Python
function calls per request, counted in a second pass, do not move with load at all. It covers the app only
(not gunicorn's HTTP parsing, nor the client), the same for every request type and for the bare endpoint.
`--profile TYPE` adds a cProfile of that request type. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import re
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient

from tests.bench.cpu import postgres_cpu
from tests.bench.load import SERVER_ENV, database, seed
from tests.support.live import server_env

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# The locust mix's task weights (tests/bench/participants.py); a post is sent on 3 draws in 10.
MIX = (("topic", 4), ("idea", 4), ("vote", 3), ("comment", 1), ("post", 1))
POST_CHANCE = 0.3


class CpuMeter:
    """WSGI middleware that adds each request's CPU and wall time to the current request type's tally.

    With count_calls set it instead counts the Python function calls of each request type under cProfile: a
    figure that does not move at all with the machine's load (only with the code and the data).
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.kind = "other"
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.profile_kind: str | None = None
        self.profiler = cProfile.Profile()
        self.count_calls = False
        self.counters: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
        self.counted: dict[str, int] = defaultdict(int)

    def calls_per_request(self, kind: str) -> float:
        """The mean number of Python function calls per counted request of this type."""
        counter = self.counters.get(kind)
        if counter is None or not self.counted[kind]:
            return float("nan")
        return pstats.Stats(counter).total_calls / self.counted[kind]  # type: ignore[attr-defined]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """Run the app and read its whole body, timed (or with its calls counted)."""
        if self.count_calls:
            self.counted[self.kind] += 1
            counter = self.counters[self.kind]
            counter.enable()
            try:
                return self._run(environ, start_response)
            finally:
                counter.disable()
        return self._run(environ, start_response)

    def _run(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """The app's response body, with its time added to the tally (unless counting calls)."""
        profiling = self.kind == self.profile_kind and not self.count_calls
        if profiling:
            self.profiler.enable()
        wall, cpu = time.perf_counter(), time.process_time()
        result = self.app(environ, start_response)
        try:
            body = list(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        if not self.count_calls:
            self.cpu[self.kind].append((time.process_time() - cpu) * 1000)
            self.wall[self.kind].append((time.perf_counter() - wall) * 1000)
        if profiling:
            self.profiler.disable()
        return body


def build_app(folder: Path, url: str) -> Flask:
    """The app configured as the load benchmark's server (no background worker)."""
    os.environ.update(server_env(folder / "load.sqlite3", folder, url))
    # The vote benchmark's raised rate limits: without them the tight vote loop measured 429 answers.
    os.environ.update(SERVER_ENV)
    os.environ["CONSULT_ANALYSIS_WORKER"] = "false"  # its polling thread would be counted in process_time
    from consult import create_app

    return create_app()


def log_in(client: FlaskClient, email: str, password: str, meter: CpuMeter) -> str:
    """Log in through the real form; returns a CSRF token from an idea page as locust's participants keep it."""
    meter.kind = "login page"
    page = client.get("/login")
    token = TOKEN.search(page.get_data(as_text=True))
    assert token, "no CSRF token on the login page"
    meter.kind = "login"
    done = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
    assert done.status_code == 302, done.status_code
    return token.group(1)


def run_mix(clients: list[tuple[FlaskClient, str]], plan: dict[str, Any], meter: CpuMeter, count: int,
            rng: random.Random, only: str | None = None) -> dict[str, int]:
    """Send `count` requests in the locust mix (or of one type) from random participants; the statuses seen."""
    kinds = [kind for kind, weight in MIX for _ in range(weight) if only in (None, kind)]
    statuses: dict[str, int] = defaultdict(int)
    sent = 0
    while sent < count:
        client, token = rng.choice(clients)
        kind = rng.choice(kinds)
        if kind == "post" and rng.random() > POST_CHANCE:
            continue
        meter.kind = kind
        response = send(client, token, kind, plan, rng)
        statuses[f"{kind} {response.status_code}"] += 1
        sent += 1
    return dict(statuses)


def send(client: FlaskClient, token: str, kind: str, plan: dict[str, Any], rng: random.Random) -> Any:
    """One request of this kind, as tests/bench/participants.py sends it."""
    if kind == "topic":
        order = rng.choice(["random", "newest", "discussed", "supported"])
        return client.get(f"/topics/{rng.choice(plan['topics'])}?order={order}&page={rng.randint(1, 3)}")
    if kind == "idea":
        return client.get(f"/ideas/{rng.choice(plan['ideas'])}")
    if kind == "vote":
        return client.post("/vote", headers={"Accept": "application/json"}, data={
            "kind": "idea", "id": rng.choice(plan["open_ideas"]), "value": rng.choice([1, 1, -1, 0]),
            "csrf_token": token})
    if kind == "comment":
        return client.post(f"/ideas/{rng.choice(plan['open_ideas'])}/comments", data={
            "body": f"I agree with this, it matters to my family ({rng.randint(1, 10**9)})", "csrf_token": token})
    return client.post(f"/topics/{rng.choice(plan['open_topics'])}/ideas/new", data={
        "title": f"Idea {rng.randint(1, 10**9)}", "body": "Evening and weekend appointments for people who work.",
        "csrf_token": token})


def vote_loop(client: FlaskClient, token: str, ideas: list[str], meter: CpuMeter, count: int, kind: str) -> None:
    """The vote benchmark's loop: one voter alternating support and opposition on random open ideas."""
    rng = random.Random(7)
    meter.kind = kind
    value = 1
    for _ in range(count):
        value = -value
        client.post("/vote", headers={"Accept": "application/json"},
                    data={"kind": "idea", "id": rng.choice(ideas), "value": value, "csrf_token": token})


def report(meter: CpuMeter, kinds: Iterable[str]) -> None:
    """Print CPU ms per request (mean, median, p90), in-process wall ms and Python calls, one line per type."""
    print(f"{'request':<14}{'n':>6}{'cpu mean':>11}{'cpu p50':>10}{'cpu p90':>10}{'wall p50':>11}{'py calls':>10}")
    for kind in kinds:
        cpu = meter.cpu.get(kind)
        if not cpu:
            continue
        ordered = sorted(cpu)
        print(f"{kind:<14}{len(cpu):>6}{statistics.fmean(cpu):>9.2f}ms{statistics.median(cpu):>8.2f}ms"
              f"{ordered[int(0.9 * (len(ordered) - 1))]:>8.2f}ms{statistics.median(meter.wall[kind]):>9.2f}ms"
              f"{meter.calls_per_request(kind):>10.0f}")


def measure_app(url: str, folder: Path, args: argparse.Namespace) -> tuple[CpuMeter, dict[str, int], float]:
    """Seed, log in, warm up, then send the mix and the vote loop; the meter, statuses and database CPU."""
    plan = seed(url, args.ideas, args.votes)
    app = build_app(folder, url)
    meter = CpuMeter(app.wsgi_app)
    meter.profile_kind = args.profile
    app.wsgi_app = meter  # type: ignore[method-assign]
    clients = []
    for email in plan["accounts"][:args.people]:
        client = app.test_client()
        log_in(client, email, plan["password"], meter)
        meter.kind = "idea"
        page = client.get(f"/ideas/{plan['open_ideas'][0]}")
        clients.append((client, TOKEN.search(page.get_data(as_text=True)).group(1)))
    rng = random.Random(1)
    run_mix(clients, plan, meter, min(200, args.requests // 5), rng)  # warm caches, compile templates
    logins = (meter.cpu.pop("login", []), meter.wall.pop("login", []))
    meter.cpu.clear()
    meter.wall.clear()
    meter.cpu["login"], meter.wall["login"] = logins
    port = urlsplit(url).port if url.startswith("postgresql") else None
    database_cpu = postgres_cpu(port) if port else 0.0
    statuses = run_mix(clients, plan, meter, args.requests, rng, args.only)
    database_cpu = postgres_cpu(port) - database_cpu if port else 0.0
    vote_loop(*clients[0], plan["open_ideas"], meter, args.vote_loop, "vote loop")
    if args.calls:
        # The same mix again, counting Python calls instead of timing (the profiler slows every call).
        meter.count_calls = True
        run_mix(clients, plan, meter, args.calls, random.Random(2), args.only)
        vote_loop(*clients[0], plan["open_ideas"], meter, max(50, args.calls // 4), "vote loop")
        meter.count_calls = False
    # The first sights still waiting are written now, while the database is up: at exit it has gone.
    app.extensions["consult_impressions"].stop()
    return meter, statuses, database_cpu * 1000 / max(sum(statuses.values()), 1)


def measure_bare(ideas: list[str], args: argparse.Namespace) -> CpuMeter:
    """The bare endpoint's vote on the same measure."""
    from tests.bench.bare_app import app as bare

    meter = CpuMeter(bare.wsgi_app)
    meter.profile_kind = args.profile
    bare.wsgi_app = meter  # type: ignore[method-assign]
    vote_loop(bare.test_client(), "-", ideas, meter, 50, "bare vote")  # warm up
    meter.cpu.clear()
    meter.wall.clear()
    vote_loop(bare.test_client(), "-", ideas, meter, args.vote_loop, "bare vote")
    if args.calls:
        meter.count_calls = True
        vote_loop(bare.test_client(), "-", ideas, meter, 50, "bare vote")
        meter.count_calls = False
    return meter


def main() -> None:
    """Measure the app and the bare endpoint; print CPU (and Python calls) per request type."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--ideas", type=int, default=3000)
    parser.add_argument("--votes", type=int, default=30000)
    parser.add_argument("--people", type=int, default=20, help="participants logged in")
    parser.add_argument("--requests", type=int, default=1300, help="requests of the mix")
    parser.add_argument("--vote-loop", type=int, default=400, help="votes in the tight loop")
    parser.add_argument("--profile", help="cProfile this request type (topic, idea, vote, comment, post, login,"
                                          " vote loop, bare vote)")
    parser.add_argument("--profile-lines", type=int, default=35)
    parser.add_argument("--calls", type=int, default=300,
                        help="requests of the mix sent again to count Python calls per request (0: none)")
    parser.add_argument("--only", help="send only this request type of the mix (for a sampling profiler)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consult-cost-") as tmp, database(args.database, Path(tmp)) as url:
        meter, statuses, database_ms = measure_app(url, Path(tmp), args)
    bare = measure_bare(["-"], args)
    meter.cpu.update(bare.cpu)
    meter.wall.update(bare.wall)
    meter.counters["bare vote"], meter.counted["bare vote"] = bare.counters["bare vote"], bare.counted["bare vote"]

    print(f"\nApp CPU per request, in-process on {args.database} (demo at {args.ideas:,} ideas; {args.people} "
          f"participants; {args.requests} requests of the load mix; time.process_time)")
    report(meter, ["topic", "idea", "vote", "comment", "post", "login", "vote loop", "bare vote"])
    weights = {kind: len(meter.cpu.get(kind, [])) for kind, _ in MIX}
    total = sum(weights.values())
    mix_cpu = sum(statistics.fmean(meter.cpu[k]) * n for k, n in weights.items() if n) / max(total, 1)
    print(f"mix: {mix_cpu:.2f} ms CPU per request on average"
          + (f", and {database_ms:.2f} ms of PostgreSQL's" if args.database == "postgresql" else "")
          + f"; statuses {statuses}")
    ratio = statistics.fmean(meter.cpu["vote loop"]) / statistics.fmean(meter.cpu["bare vote"])
    print(f"vote loop / bare vote CPU: {ratio:.1f}x")
    if args.profile:
        profiler = bare.profiler if args.profile == "bare vote" else meter.profiler
        print(f"\ncProfile of '{args.profile}' requests (cumulative):")
        stats = pstats.Stats(profiler).strip_dirs().sort_stats("cumulative")
        stats.print_stats(args.profile_lines)
        print(f"\ncProfile of '{args.profile}' requests (own time):")
        stats.sort_stats("tottime").print_stats(args.profile_lines)


if __name__ == "__main__":
    main()
