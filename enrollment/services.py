"""Writes to the catalogue: validated against every constraint, audited, one transaction each."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.forms.models import model_to_dict

from audit.services import audit_record
from enrollment.catalogue import Kind
from enrollment.models import Term


def _diff(before: dict, after: dict) -> dict:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _jsonable(values: dict) -> dict:
    return {k: (str(v) if not isinstance(v, int | bool | type(None) | str) else v) for k, v in values.items()}


@transaction.atomic
def catalogue_save(*, kind: Kind, instance: models.Model, institute, actor) -> models.Model:
    """Create or update one catalogue row; every model constraint is checked before the write."""
    if instance.pk and instance.institute_id != institute.pk:
        raise ValidationError("This row belongs to another institute.")
    instance.institute = institute
    creating = instance.pk is None
    fields = [f.name for f in kind.model._meta.concrete_fields if f.name not in ("id", "created_at", "updated_at")]
    before = {} if creating else _jsonable(model_to_dict(kind.model.objects.get(pk=instance.pk), fields=fields))
    if isinstance(instance, Term) and instance.is_current:
        # One current term per institute: the new one takes over.
        Term.objects.filter(institute=institute, is_current=True).exclude(pk=instance.pk).update(is_current=False)
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationError(f"This {kind.singular} clashes with one that exists already.") from None
    after = _jsonable(model_to_dict(instance, fields=fields))
    audit_record(
        institute=institute,
        actor=actor,
        action=f"catalogue.{kind.key}.{'created' if creating else 'updated'}",
        obj=instance,
        summary=f"{'Added' if creating else 'Changed'} {kind.singular} {instance}",
        changes=_diff(before, after),
    )
    return instance


@transaction.atomic
def catalogue_delete(*, kind: Kind, instance: models.Model, institute, actor) -> None:
    if instance.institute_id != institute.pk:
        raise ValidationError("This row belongs to another institute.")
    label = str(instance)
    pk = instance.pk
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError:
        raise ValidationError(
            f"{label} is still in use (students, sections or subjects point to it). Move those first."
        ) from None
    audit_record(
        institute=institute,
        actor=actor,
        action=f"catalogue.{kind.key}.deleted",
        obj=None,
        summary=f"Deleted {kind.singular} {label} (#{pk})",
    )
