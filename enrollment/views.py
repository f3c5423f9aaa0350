from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from enrollment import selectors, services
from enrollment.catalogue import KINDS, attribute
from utils.forms import attach_errors
from utils.params import parse_id, parse_page
from utils.permissions import role_required


@role_required(Role.ADMIN)
def index(request):
    counts = selectors.catalogue_counts(institute=request.user.institute)
    kinds = [(kind, counts.get(kind.key)) for kind in KINDS.values()]
    return render(request, "enrollment/index.html", {"kinds": kinds})


def _m2m(form) -> dict:
    """Many-to-many values of a model form, saved by the service after the row itself."""
    names = [f.name for f in form._meta.model._meta.many_to_many]
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


def _rows(kind, objects):
    return [(obj, [attribute(obj, path) for _h, path in kind.columns]) for obj in objects]


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def entity_list(request, key):
    institute = request.user.institute
    kind = selectors.kind_get(key=key)
    form = kind.form(request.POST or None, institute=institute)
    if request.method == "POST" and form.is_valid():
        try:
            obj = services.catalogue_save(
                kind=kind, instance=form.instance, institute=institute, actor=request.user, m2m=_m2m(form)
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Added {kind.singular} {obj}.")
            if not request.htmx:
                return redirect("enrollment:list", key=key)
            form = kind.form(institute=institute)
    filter_pk = parse_id(request, kind.filter_by, fallback="showing every row") if kind.filter_by else None
    search = request.GET.get("q", "").strip()[:100]
    page = Paginator(
        selectors.catalogue_list(institute=institute, kind=kind, filter_pk=filter_pk, search=search), 50
    ).get_page(parse_page(request))
    context = {"kind": kind, "form": form, "page": page, "rows": _rows(kind, page.object_list), "q": search}
    fragment = request.htmx and not request.htmx.boosted
    return render(request, "enrollment/list.html#catalogue-section" if fragment else "enrollment/list.html", context)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def entity_edit(request, key, pk):
    institute = request.user.institute
    kind = selectors.kind_get(key=key)
    obj = selectors.catalogue_get(institute=institute, kind=kind, pk=pk)
    form = kind.form(request.POST or None, instance=obj, institute=institute)
    if request.method == "POST" and form.is_valid():
        try:
            services.catalogue_save(
                kind=kind, instance=form.instance, institute=institute, actor=request.user, m2m=_m2m(form)
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, f"Saved {kind.singular} {obj}.")
            return redirect("enrollment:list", key=key)
    return render(request, "enrollment/edit.html", {"kind": kind, "form": form, "obj": obj})


@role_required(Role.ADMIN)
@require_POST
def entity_delete(request, key, pk):
    institute = request.user.institute
    kind = selectors.kind_get(key=key)
    obj = selectors.catalogue_get(institute=institute, kind=kind, pk=pk)
    try:
        services.catalogue_delete(kind=kind, instance=obj, institute=institute, actor=request.user)
        messages.success(request, f"Deleted {kind.singular} {obj}.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("enrollment:list", key=key)
