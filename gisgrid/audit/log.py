"""One function every state change calls, so the audit trail has a single shape."""

from __future__ import annotations

from typing import Any

from .models import AuditEntry


def record(actor, action: str, obj: Any = None, *, object_type: str = "", object_id: str = "", **data) -> AuditEntry:
    """Append an audit entry. `actor` may be a user, None (system) or an anonymous user."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEntry.objects.create(
        actor=user,
        actor_name=(user.get_username() if user else (str(actor) if actor else "system")),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        data=data,
    )
