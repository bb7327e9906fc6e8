"""Writing the audit log. Callers pass who acted and through which door.

Audit rows are only ever appended, and never read back by the transaction that writes
them, so they are written as plain inserts, at once, in the caller's transaction: no ORM
object for the session to track and flush (that bookkeeping was a tenth of a booking's
CPU). They commit or roll back with the change they record.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import AuditEntry, User

SOURCES = ("portal", "api", "admin", "cli", "system")
_INSERT = insert(AuditEntry.__table__)


@dataclass(frozen=True)
class Actor:
    """Who is making a change (None for the system itself) and from where."""

    user: User | None
    source: str

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown audit source {self.source!r}")

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


def record(session: Session, actor: Actor, action: str, entity_type: str, entity_id: int | None,
           **details: Any) -> None:
    """Write one audit row in the current transaction. Never put health details in ``details``."""
    write_row(session, actor.user_id, actor.source, action, entity_type, entity_id, details)


def record_many(session: Session, actor: Actor, action: str, entity_type: str,
                rows: list[tuple[int | None, dict[str, Any]]]) -> None:
    """:func:`record` for several entities at once (one insert): ``rows`` of (entity id, details)."""
    if rows:
        session.execute(_INSERT, [{"actor_id": actor.user_id, "source": actor.source, "action": action,
                                   "entity_type": entity_type, "entity_id": entity_id, "details": details}
                                  for entity_id, details in rows])


def write_row(session: Session, actor_id: int | None, source: str, action: str, entity_type: str,
              entity_id: int | None, details: dict[str, Any]) -> None:
    """:func:`record` with the actor given by id (for rows written after the request's objects are gone)."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}")
    session.execute(_INSERT, {"actor_id": actor_id, "source": source, "action": action,
                              "entity_type": entity_type, "entity_id": entity_id, "details": details})
