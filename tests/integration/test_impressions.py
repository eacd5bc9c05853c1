"""First sights written off the request path: pages note them, a thread writes them in batches, nothing is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask, g
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from consult.extensions import db
from consult.models import Comment, Idea, Impression
from consult.services import impressions
from tests.conftest import login, make_app
from tests.support.publicids import idea_url


@pytest.fixture()
def buffered(tmp_path) -> Iterator[Flask]:
    """An app whose pages buffer first sights as production does (a long interval: the test flushes)."""
    application = make_app(tmp_path, IMPRESSION_FLUSH_SECONDS=3600.0)
    with application.app_context():
        yield application
    application.extensions["consult_impressions"]._stop.set()
    db.dispose()


def _ideas(client, topic_id: int, n: int) -> list[Idea]:
    for i in range(n):
        assert client.post(f"/topics/{topic_id}/ideas/new", data={"title": f"Idea {i}", "body": f"Body {i}"}
                           ).status_code == 302
    return db.session.scalars(select(Idea).order_by(Idea.id)).all()


def _posted(app: Flask, make, n: int):
    """A participant who posted n ideas in a new open phase; the participant, the ideas and the app's buffer."""
    phase = make.phase()
    person = make.user()
    client = app.test_client()
    login(client, person)
    return person, _ideas(client, phase.topics[0].id, n), app.extensions["consult_impressions"]


def _switch() -> None:
    """The next request is another person's (requests in one test share the app context, and so flask-login's g)."""
    g.pop("_login_user", None)


def _counts() -> list[int]:
    db.session.commit()  # end the test's own read, so it sees what the buffer wrote since
    return db.session.scalars(select(Idea.impression_count).order_by(Idea.id)).all()


def test_pages_note_sights_and_a_flush_writes_each_once(buffered, make) -> None:
    phase = make.phase()
    author, reader = make.user(), make.user()
    author_client, reader_client = buffered.test_client(), buffered.test_client()
    login(author_client, author)
    ideas = _ideas(author_client, phase.topics[0].id, 3)
    author_client.post(f"{idea_url(ideas[0].id)}/comments", data={"body": "A first comment"})
    _switch()
    login(reader_client, reader)

    for _ in range(2):  # the same pages twice before the buffer is written
        assert reader_client.get(f"/topics/{phase.topics[0].id}").status_code == 200
        assert reader_client.get(idea_url(ideas[0].id)).status_code == 200
    assert _counts() == [0, 0, 0]  # nothing written inside the requests

    assert impressions.flush(buffered) == 4  # three ideas and one comment, once each
    assert _counts() == [1, 1, 1]
    assert db.session.scalar(select(Comment.impression_count)) == 1

    reader_client.get(f"/topics/{phase.topics[0].id}")
    assert impressions.flush(buffered) == 0  # seen before: recorded once per person and item
    second = buffered.test_client()
    _switch()
    login(second, make.user())
    second.get(f"/topics/{phase.topics[0].id}")
    assert impressions.flush(buffered) == 3
    assert _counts() == [2, 2, 2]


def test_one_write_counts_an_item_first_seen_by_several_people(buffered, make) -> None:
    author, ideas, buffer = _posted(buffered, make, 2)
    people = [author, make.user(), make.user()]
    for person in people:
        buffer.note(person.id, idea_ids=[ideas[0].id])
    buffer.note(people[0].id, idea_ids=[ideas[1].id])
    assert buffer.flush() == 4
    assert _counts() == [3, 1]


def test_a_busy_database_keeps_the_sights_for_the_next_write(buffered, make, monkeypatch) -> None:
    reader, ideas, buffer = _posted(buffered, make, 2)
    buffer.note(reader.id, idea_ids=[i.id for i in ideas])
    real = impressions.write

    def locked(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(impressions, "write", locked)
    assert buffer.flush() == 0
    monkeypatch.setattr(impressions, "write", real)
    assert buffer.flush() == 2
    assert _counts() == [1, 1]


def test_sights_of_an_item_removed_meanwhile_do_not_stop_the_rest(buffered, make) -> None:
    reader, ideas, buffer = _posted(buffered, make, 1)
    buffer.note(reader.id, idea_ids=[ideas[0].id, 999_999], comment_ids=[888_888])
    buffer.note(999_777, idea_ids=[ideas[0].id])  # an account erased since its page was shown
    assert buffer.flush() == 1
    assert _counts() == [1]
    assert db.session.scalar(select(func.count()).select_from(Impression)) == 1


def test_the_thread_writes_by_itself_and_a_graceful_stop_writes_the_rest(tmp_path, make) -> None:
    application = make_app(tmp_path, IMPRESSION_FLUSH_SECONDS=0.05)
    with application.app_context():
        phase = make.phase()
        reader = make.user()
        client = application.test_client()
        login(client, reader)
        ideas = _ideas(client, phase.topics[0].id, 2)
        client.get(f"/topics/{phase.topics[0].id}")
        deadline = time.monotonic() + 10
        while _counts() != [1, 1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _counts() == [1, 1]

        buffer = application.extensions["consult_impressions"]
        buffer.interval = 3600.0  # as if the next write were far off: only the stop can write this one
        time.sleep(0.1)
        other = make.user()
        buffer.note(other.id, idea_ids=[ideas[1].id])
        buffer.stop()
        assert _counts() == [1, 2]
    db.dispose()
