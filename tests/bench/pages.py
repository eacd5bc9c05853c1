"""The demo's participant pages as five viewers see them, for byte-for-byte comparisons of two checkouts.

`python -m tests.bench.pages DEMO.sqlite3 OUT.txt` renders, on a copy of a demo database, the home page, the
consultation, every phase, every topic (each order, pages 1-3 and no arguments) and every idea (and its second
page of comments) as a visitor and four logged-in people, with CSRF tokens masked, into one file; `diff` two
files to check a change left the HTML alone. Run it from the checkout to render (`cd CHECKOUT &&
/path/to/.venv/bin/python -m tests.bench.pages ...`). The shuffle seed is fixed, and the first sights are
not written, so the most supported order is the same in both runs. Prints the CPU time of the rendering pass.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

TOKEN = re.compile(r'(name="csrf_token" value=")[^"]+(")')
VIEWERS = (None, "public", "service-user", "physio", "facilitator")
ORDERS = ("random", "newest", "discussed", "supported")


def main() -> None:
    """Render every page for every viewer into one file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("database", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="consult-pages-") as tmp:
        copy = Path(tmp) / "demo.sqlite3"
        shutil.copy(args.database, copy)
        os.environ.update({"CONSULT_DATABASE_URL": f"sqlite:///{copy}", "CONSULT_INSTANCE_PATH": tmp,
                           "CONSULT_ANALYSIS_WORKER": "false", "CONSULT_RATE_LIMIT_SCALE": "1000",
                           # Fixed keys: the public ids in the pages are the same in both runs.
                           "CONSULT_SECRET_KEY": "pages", "CONSULT_PUBLIC_ID_KEY": "pages"})
        from sqlalchemy import text

        from consult import create_app, publicids
        from consult.extensions import db
        from consult.services import impressions

        impressions.note = lambda *a, **k: None  # what a page showed would move the most supported order
        app = create_app()
        with app.app_context():
            slugs = db.session.scalars(text("SELECT slug FROM consultation ORDER BY id")).all()
            phases = db.session.scalars(text("SELECT id FROM phase ORDER BY id")).all()
            topics = db.session.scalars(text("SELECT id FROM topic ORDER BY id")).all()
            ideas = db.session.scalars(text("SELECT id FROM idea ORDER BY id")).all()
            key = str(app.config["PUBLIC_ID_KEY"])
        paths = ["/", *(f"/c/{s}" for s in slugs), *(f"/phases/{p}" for p in phases)]
        for topic in topics:
            paths.append(f"/topics/{topic}")
            paths += [f"/topics/{topic}?order={o}&page={n}" for o in ORDERS for n in (1, 2, 3)]
        for idea in ideas:
            pid = publicids.encode("idea", idea, key=key)
            paths += [f"/ideas/{pid}", f"/ideas/{pid}?page=2"]
        pages = 0
        cpu = 0.0
        with args.out.open("w") as out:
            for viewer in VIEWERS:
                client = app.test_client()
                if viewer:
                    login = client.get("/login").get_data(as_text=True)
                    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
                    done = client.post("/login", data={"email": f"{viewer}@demo.consult.test",
                                                       "password": "ahp-demo-2021", "csrf_token": token})
                    assert done.status_code == 302, (viewer, done.status_code)
                with client.session_transaction() as session:
                    session["order_seed"] = 12345
                for path in paths:
                    start = time.process_time()
                    response = client.get(path)
                    body = response.get_data(as_text=True)
                    cpu += time.process_time() - start
                    out.write(f"==== {viewer or 'visitor'} {path} {response.status_code}\n")
                    out.write(TOKEN.sub(r"\1-\2", body))
                    out.write("\n")
                    pages += 1
    print(f"{pages} pages, {cpu * 1000 / pages:.2f} ms CPU per page")


if __name__ == "__main__":
    main()
