from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.models import Role
from audit.forms import AuditFilterForm
from audit.selectors import audit_filter_choices, audit_list
from utils.params import parse_page
from utils.permissions import role_required


@role_required(Role.ADMIN)
def log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_list(
        institute=request.user.institute,
        action=filters.get("action") or "",
        actor_id=filters.get("actor") or "",
        object_type=filters.get("object_type") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(events, 50).get_page(parse_page(request))
    context = {"form": form, "page": page, **audit_filter_choices(institute=request.user.institute)}
    fragment = request.htmx and not request.htmx.boosted
    return render(request, "audit/log.html#audit-table" if fragment else "audit/log.html", context)
