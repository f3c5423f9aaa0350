from django.core.validators import FileExtensionValidator, MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from utils.models import InstituteOwned


class Audience(models.TextChoices):
    ALL = "all", _("Everyone")
    ROLE = "role", _("Everyone in one role")
    PROGRAMME_YEAR = "programme_year", _("A course and year")
    SECTION = "section", _("A class section (students and their guardians)")
    SECTION_GUARDIANS = "section_guardians", _("The guardians of a class section")


ATTACHMENT_TYPES = ["pdf", "png", "jpg", "jpeg", "docx", "xlsx", "txt", "csv"]


class AnnouncementQuerySet(models.QuerySet):
    def live(self, now=None):
        now = now or timezone.now()
        return self.filter(publish_at__lte=now).filter(Q(expire_at__isnull=True) | Q(expire_at__gt=now))


class Announcement(InstituteOwned):
    author = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, related_name="announcements")
    title = models.CharField(max_length=200)
    body = models.TextField(
        max_length=20000,
        validators=[MaxLengthValidator(20000)],
        help_text=_("Markdown: **bold**, *italic*, lists, links."),
    )
    body_html = models.TextField(editable=False)
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.ALL)
    target_role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    target_programme = models.ForeignKey(
        "enrollment.Programme", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    target_year = models.PositiveSmallIntegerField(null=True, blank=True)
    target_section = models.ForeignKey(
        "enrollment.ClassSection", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    urgent = models.BooleanField(default=False)
    publish_at = models.DateTimeField(default=timezone.now)
    expire_at = models.DateTimeField(null=True, blank=True)
    attachment = models.FileField(
        upload_to="announcements/%Y/%m/", blank=True, validators=[FileExtensionValidator(ATTACHMENT_TYPES)]
    )
    fanned_out_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AnnouncementQuerySet.as_manager()

    class Meta:
        ordering = ["-urgent", "-publish_at", "-id"]
        indexes = [models.Index(fields=["institute", "publish_at"], name="announcement_feed_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(audience="all")
                    | Q(audience="role", target_role__gt="")
                    | Q(audience="programme_year", target_programme__isnull=False, target_year__isnull=False)
                    | Q(audience__in=["section", "section_guardians"], target_section__isnull=False)
                ),
                name="announcement_target_matches_audience",
            ),
            models.CheckConstraint(
                condition=Q(expire_at__isnull=True) | Q(expire_at__gt=models.F("publish_at")),
                name="announcement_expires_after_publish",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def audience_label(self) -> str:
        if self.audience == Audience.ROLE:
            return f"All {Role(self.target_role).label.lower()}s"
        if self.audience == Audience.PROGRAMME_YEAR:
            return f"{self.target_programme.code} year {self.target_year}"
        if self.audience == Audience.SECTION:
            return f"Class {self.target_section}"
        if self.audience == Audience.SECTION_GUARDIANS:
            return f"Guardians of {self.target_section}"
        return "Everyone"


class AnnouncementRead(models.Model):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["announcement", "user"], name="announcement_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.announcement_id}"
