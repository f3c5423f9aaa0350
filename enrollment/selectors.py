from django.db.models import Q
from django.http import Http404

from enrollment.catalogue import KINDS, Kind
from enrollment.models import ClassSection, Programme, Subject, Term, Topic


def catalogue_counts(*, institute) -> dict:
    """How big the catalogue is: one COUNT per table, whatever its size."""
    return {
        "programmes": Programme.objects.filter(institute=institute).count(),
        "sections": ClassSection.objects.filter(institute=institute).count(),
        "terms": Term.objects.filter(institute=institute).count(),
        "subjects": Subject.objects.filter(institute=institute).count(),
        "topics": Topic.objects.filter(institute=institute).count(),
    }


def kind_get(*, key: str) -> Kind:
    kind = KINDS.get(key)
    if kind is None:
        raise Http404("No such catalogue list")
    return kind


def catalogue_list(*, institute, kind: Kind, filter_pk: str | None = None, search: str = ""):
    qs = kind.queryset(institute)
    if kind.filter_by and filter_pk and filter_pk.isdigit():
        qs = qs.filter(**{f"{kind.filter_by}_id": int(filter_pk)})
    if search:
        text_fields = [f.name for f in kind.model._meta.fields if f.get_internal_type() == "CharField"]
        query = Q()
        for name in text_fields:
            query |= Q(**{f"{name}__icontains": search})
        qs = qs.filter(query)
    return qs


def catalogue_get(*, institute, kind: Kind, pk: int):
    obj = kind.queryset(institute).filter(pk=pk).first()
    if obj is None:
        raise Http404("No such row")
    return obj


def current_term(*, institute) -> Term | None:
    return Term.objects.filter(institute=institute, is_current=True).first()
