"""Simulated participants (locust, headless, in-process): `python -m tests.bench.participants PLAN.json`.

Each simulated person logs in once, then browses topic pages, opens ideas, votes, comments and now and
then posts an idea, pausing between actions as a person reading would. The plan file gives the server,
the accounts, the ids to visit, the number of people and the measuring time; one JSON line of figures is
printed at the end. Started by tests/bench/load.py; it runs in its own process because locust needs
gevent's monkey-patching.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from locust import FastHttpUser, between, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

from tests.bench.cpu import group_cpu, own_cpu, postgres_cpu  # noqa: E402

PLAN: dict = {}
_ACCOUNTS = itertools.count()
READY = {"n": 0}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Participant(FastHttpUser):
    """One person taking part: reads far more than they write.

    FastHttpUser (geventhttpclient) rather than HttpUser (requests): the same requests, cookies and kept-alive
    connections for a fraction of the load generator's CPU, which shares the cores with the server.
    """

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        """Log in through the real form (trying again after a 503, as a person would) and keep a CSRF token."""
        self.rng = random.Random(id(self))
        self.comments = 0
        self.token = ""
        email = PLAN["accounts"][next(_ACCOUNTS) % len(PLAN["accounts"])]
        try:
            for attempt in range(20):
                page = self.client.get("/login", name="login")
                found = TOKEN.search(page.text)
                if found:
                    done = self.client.post("/login", name="login", allow_redirects=False, data={
                        "email": email, "password": PLAN["password"], "csrf_token": found.group(1)})
                    if done.status_code == 302:
                        break
                gevent.sleep(0.5 + attempt * 0.5)
            page = self.client.get(f"/ideas/{PLAN['open_ideas'][0]}", name="idea")
            found = TOKEN.search(page.text)
            self.token = found.group(1) if found else ""
        finally:
            READY["n"] += 1

    @task(4)
    def browse_topic(self) -> None:
        """A topic page in one of its orders."""
        order = self.rng.choice(["random", "newest", "discussed", "supported"])
        self.client.get(f"/topics/{self.rng.choice(PLAN['topics'])}?order={order}&page={self.rng.randint(1, 3)}",
                        name="topic")

    @task(4)
    def open_idea(self) -> None:
        """An idea with its comments."""
        self.client.get(f"/ideas/{self.rng.choice(PLAN['ideas'])}", name="idea")

    @task(3)
    def vote(self) -> None:
        """Support, oppose or withdraw, as the page's script sends it."""
        self.client.post("/vote", name="vote", headers={"Accept": "application/json"}, data={
            "kind": "idea", "id": self.rng.choice(PLAN["open_ideas"]), "value": self.rng.choice([1, 1, -1, 0]),
            "csrf_token": self.token})

    @task(1)
    def comment(self) -> None:
        """A comment on an open idea (the server redirects back to it)."""
        self.comments += 1
        with self.client.post(f"/ideas/{self.rng.choice(PLAN['open_ideas'])}/comments", name="comment",
                              allow_redirects=False, catch_response=True, data={
                                  "body": f"I agree with this, it matters to my family ({id(self)}-{self.comments})",
                                  "csrf_token": self.token}) as response:
            if response.status_code != 302:
                response.failure(f"comment: {response.status_code}")

    @task(1)
    def post_idea(self) -> None:
        """Now and then, a new idea under an open topic."""
        if self.rng.random() > 0.3:
            return
        with self.client.post(f"/topics/{self.rng.choice(PLAN['open_topics'])}/ideas/new", name="post idea",
                              allow_redirects=False, catch_response=True, data={
                                  "title": f"Idea {id(self)} {self.rng.randint(1, 10**9)}",
                                  "body": "Evening and weekend appointments for people who work.",
                                  "csrf_token": self.token}) as response:
            if response.status_code != 302:
                response.failure(f"post idea: {response.status_code}")


def main(path: str) -> None:
    """Run the plan and print the figures as one JSON line."""
    PLAN.update(json.loads(open(path).read()))  # noqa: SIM115
    env = Environment(user_classes=[Participant], host=PLAN["url"], events=events)
    runner = env.create_local_runner()
    users = PLAN["users"]
    runner.start(users, spawn_rate=10)  # people arrive over seconds, not all in one instant
    # Measure only once everyone has logged in (logins are a start-up cost, not the steady load).
    deadline = time.monotonic() + 300
    while READY["n"] < users and time.monotonic() < deadline:
        gevent.sleep(0.2)
    gevent.sleep(2)
    env.stats.reset_all()
    port = PLAN.get("database_port")
    server_cpu, client_cpu = group_cpu(PLAN["server_pgid"]), own_cpu()
    database_cpu = postgres_cpu(port) if port else 0.0
    gevent.sleep(PLAN["seconds"])
    server_cpu, client_cpu = group_cpu(PLAN["server_pgid"]) - server_cpu, own_cpu() - client_cpu
    database_cpu = postgres_cpu(port) - database_cpu if port else 0.0
    total = env.stats.total
    figures = {
        "requests": total.num_requests, "rps": total.num_requests / PLAN["seconds"],
        "p50": total.get_response_time_percentile(0.5), "p99": total.get_response_time_percentile(0.99),
        "errors": total.num_failures,
        # CPU per request of the server (all its processes), of PostgreSQL (its backends; SQLite's work is in
        # the server's) and of locust itself, which all share the cores.
        "server_cpu_ms": server_cpu * 1000 / max(total.num_requests, 1),
        "database_cpu_ms": database_cpu * 1000 / max(total.num_requests, 1),
        "client_cpu_ms": client_cpu * 1000 / max(total.num_requests, 1),
        "by_name": {name: {"n": s.num_requests, "p50": s.get_response_time_percentile(0.5),
                           "p99": s.get_response_time_percentile(0.99), "errors": s.num_failures}
                    for (name, _method), s in env.stats.entries.items()},
        "error_kinds": {str(e.error)[:120]: e.occurrences for e in env.stats.errors.values()},
    }
    runner.quit()
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1])
