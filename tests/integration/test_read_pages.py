"""Pages that only read: on PostgreSQL they skip BEGIN and COMMIT, and their pooled connection goes back to
writing in transactions afterwards."""

from __future__ import annotations

from typing import Any

from flask import template_rendered

from consult.extensions import db
from tests.conftest import login


def _page_connection(app, client, url: str) -> tuple[Any, bool]:
    """The DBAPI connection the request session held while the page rendered, and whether it was in autocommit."""
    seen: list[tuple[Any, bool]] = []

    def note(_sender: Any, **_extra: Any) -> None:
        raw = db.session.connection().connection.dbapi_connection
        seen.append((raw, bool(getattr(raw, "autocommit", False))))

    template_rendered.connect(note, app)
    try:
        assert client.get(url).status_code == 200
    finally:
        template_rendered.disconnect(note, app)
    return seen[0]


def test_a_topic_page_reads_outside_a_transaction_on_postgresql_then_its_connection_writes_atomically_again(
        app, client, make) -> None:
    phase = make.phase()
    raw, autocommit = _page_connection(app, client, f"/topics/{phase.topics[0].id}")
    if db.single_writer:
        assert not autocommit  # SQLite: BEGIN and COMMIT cost no round trip, so pages keep their transaction
        return
    assert autocommit, "a page that only reads sends no BEGIN and no COMMIT"
    assert raw.autocommit is False, "back in the pool in the default mode: the next request's writes are atomic"


def test_a_page_not_marked_as_only_reading_keeps_its_transaction(app, client, make) -> None:
    login(client, make.user())
    _raw, autocommit = _page_connection(app, client, "/me/contributions")
    assert not autocommit
