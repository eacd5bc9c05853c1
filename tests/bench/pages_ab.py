"""An interleaved A/B of two checkouts' CPU per request: `python -m tests.bench.pages_ab BEFORE AFTER DEMO.sqlite3`.

The machine this runs on changes speed by up to a half from minute to minute, so two runs of
tests/bench/request_cost.py taken one after the other compare the machine as much as the code. Here each checkout
runs in its own process on its own copy of a demo database (`flask --app wsgi init-db --demo-if-empty`), with a
participant logged in, and the two take turns every few hundred milliseconds: a batch of topic pages (every order,
pages 1-3), idea pages or votes in one, then the same batch in the other (the order swapped each round). Prints
each request type's CPU per request (time.process_time, median of the rounds' batch means) in both, and the
change. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KINDS = ("topic", "idea", "vote")


def worker(checkout: str, database: str, pipe: Any) -> None:
    """Serve batches of requests from one checkout's app until told to stop; answer each with its CPU seconds."""
    os.chdir(checkout)
    sys.path.insert(0, checkout)
    tmp = tempfile.mkdtemp(prefix="consult-ab-")
    copy = Path(tmp) / "demo.sqlite3"
    shutil.copy(database, copy)
    os.environ.update({"CONSULT_DATABASE_URL": f"sqlite:///{copy}", "CONSULT_INSTANCE_PATH": tmp,
                       "CONSULT_ANALYSIS_WORKER": "false", "CONSULT_RATE_LIMIT_SCALE": "1000",
                       "CONSULT_SECRET_KEY": "pages", "CONSULT_PUBLIC_ID_KEY": "pages"})
    from sqlalchemy import text

    from consult import create_app, publicids

    app = create_app()
    assert str(Path(sys.modules["consult"].__file__).parents[1]) == checkout, "imported the wrong checkout"
    with app.app_context():
        from consult.extensions import db

        topics = db.session.scalars(text("SELECT t.id FROM topic t JOIN phase p ON p.id = t.phase_id "
                                         "WHERE p.state = 'open' ORDER BY t.id")).all()
        ideas = db.session.scalars(text("SELECT i.id FROM idea i JOIN topic t ON t.id = i.topic_id "
                                        "JOIN phase p ON p.id = t.phase_id WHERE p.state = 'open' "
                                        "AND i.moderation_state = 'published' AND i.channel = 'online' "
                                        "ORDER BY i.id")).all()
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
    assert client.post("/login", data={"email": "public@demo.consult.test", "password": "ahp-demo-2021",
                                       "csrf_token": token}).status_code == 302
    page = client.get(f"/ideas/{publicids.encode('idea', ideas[0], key='pages')}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    rng = random.Random(1)
    while True:
        message = pipe.recv()
        if message is None:
            break
        kind, count = message
        cpu = 0.0
        for _ in range(count):
            if kind == "topic":
                order = rng.choice(("random", "newest", "discussed", "supported"))
                path, data = f"/topics/{rng.choice(topics)}?order={order}&page={rng.randint(1, 3)}", None
            elif kind == "idea":
                path, data = f"/ideas/{publicids.encode('idea', rng.choice(ideas), key='pages')}", None
            else:
                path, data = "/vote", {"kind": "idea", "id": publicids.encode("idea", rng.choice(ideas), key="pages"),
                                       "value": rng.choice([1, 1, -1, 0]), "csrf_token": token}
            start = time.process_time()
            if data is None:
                response = client.get(path)
            else:
                response = client.post(path, data=data, headers={"Accept": "application/json"})
            response.get_data()
            cpu += time.process_time() - start
            assert response.status_code == 200, (path, response.status_code)
        pipe.send(cpu / count)


def main() -> None:
    """Start both checkouts, alternate batches, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("database")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=30, help="requests per batch")
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    pipes = {}
    for name, checkout in (("before", args.before), ("after", args.after)):
        mine, theirs = context.Pipe()
        context.Process(target=worker, args=(str(Path(checkout).resolve()), args.database, theirs)).start()
        pipes[name] = mine
    results: dict[tuple[str, str], list[float]] = {(n, k): [] for n in pipes for k in KINDS}
    for kind in KINDS:  # warm up: templates compiled, statements prepared, caches filled
        for pipe in pipes.values():
            pipe.send((kind, 20))
            pipe.recv()
    for round_ in range(args.rounds):
        for kind in KINDS:
            for name in (("before", "after") if round_ % 2 == 0 else ("after", "before")):
                pipes[name].send((kind, args.batch))
                results[name, kind].append(pipes[name].recv() * 1000)
    for pipe in pipes.values():
        pipe.send(None)
    print(f"CPU per request, ms (median of {args.rounds} interleaved batches of {args.batch}; spread of the "
          f"batches' after/before ratios, 10th to 90th percentile)")
    for kind in KINDS:
        before, after = results["before", kind], results["after", kind]
        ratios = sorted(a / b for a, b in zip(after, before, strict=True))
        low, high = ratios[len(ratios) // 10], ratios[-1 - len(ratios) // 10]
        b, a = statistics.median(before), statistics.median(after)
        print(f"{kind:<6} before {b:6.2f}  after {a:6.2f}  change {100 * (a / b - 1):+6.1f}%  "
              f"(ratio median {statistics.median(ratios):.3f}, {low:.3f}-{high:.3f})")


if __name__ == "__main__":
    main()
