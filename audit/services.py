from django.db import models

from audit.models import AuditEvent
from utils.masking import mask_changes


def audit_record(
    *, institute, actor, action: str, obj: models.Model | None = None, summary: str, changes: dict | None = None
) -> AuditEvent:
    """Write an audit row; call it inside the service's transaction so both commit or neither."""
    return AuditEvent.objects.create(
        institute=institute,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        summary=summary[:300],
        changes=mask_changes(changes or {}),
    )
