"""Abstract bases every domain app builds on."""

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class InstituteQuerySet(models.QuerySet):
    def for_institute(self, institute):
        return self.filter(institute=institute)


class InstituteOwned(TimeStampedModel):
    """A row that belongs to one institute; selectors always filter on this key."""

    institute = models.ForeignKey("accounts.Institute", on_delete=models.CASCADE, related_name="+")

    objects = InstituteQuerySet.as_manager()

    class Meta:
        abstract = True
