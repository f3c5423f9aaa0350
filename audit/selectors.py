from datetime import date

from audit.models import AuditEvent
from utils.params import to_id


def audit_recent(*, institute, limit: int = 10):
    return AuditEvent.objects.for_institute(institute).select_related("actor")[:limit]


def audit_list(
    *,
    institute,
    action: str = "",
    actor_id: str = "",
    object_type: str = "",
    since: date | None = None,
    until: date | None = None,
):
    qs = AuditEvent.objects.for_institute(institute).select_related("actor")
    if action:
        qs = qs.filter(action__startswith=action)
    if actor := to_id(actor_id):
        qs = qs.filter(actor_id=actor)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs


def audit_filter_choices(*, institute) -> dict:
    # order_by(): the model's ordering (-at, -id) would join the DISTINCT and fetch every row of the log.
    qs = AuditEvent.objects.for_institute(institute).order_by()
    return {
        "object_types": sorted(set(qs.values_list("object_type", flat=True).distinct()) - {""}),
    }
