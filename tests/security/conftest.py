"""Fixtures for the security probes: one world per module, built outside any app context."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from consult.extensions import db
from tests.security.world import World, build_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Every persona and every kind of object, on a database the probe can restore after each request."""
    built = build_world(tmp_path_factory.mktemp("world"))
    yield built
    db.dispose()
