"""Append-only audit log of privileged actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent, User, utcnow


def record(
    session: Session, actor: User | None, action: str, target_type: str, target_id: int | None, **detail: Any
) -> AuditEvent:
    """Add an audit event to the session (committed with the action it records)."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail,
        at=utcnow(),
    )
    session.add(event)
    return event
