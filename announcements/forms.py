from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from announcements.audience import viewer_sections
from announcements.models import Announcement, Audience
from enrollment.models import ClassSection, Programme
from utils.forms import BoundedDateTimeField

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


class AnnouncementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Message"),
        max_length=Announcement._meta.get_field("body").max_length,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("You can use **bold**, *italic*, lists and links."),
    )
    audience = forms.ChoiceField(label=_("Who is it for?"), choices=Audience.choices)
    target_role = forms.ChoiceField(label=_("Role"), choices=[("", "—")] + list(Role.choices), required=False)
    target_programme = forms.ModelChoiceField(label=_("Course"), queryset=Programme.objects.none(), required=False)
    target_year = forms.IntegerField(label=_("Year"), min_value=1, max_value=12, required=False)
    target_section = forms.ModelChoiceField(
        label=_("Class section"), queryset=ClassSection.objects.none(), required=False
    )
    urgent = forms.BooleanField(label=_("Urgent (shown first, also emailed)"), required=False)
    publish_at = BoundedDateTimeField(
        label=_("Publish at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave empty to publish now."),
    )
    expire_at = BoundedDateTimeField(
        label=_("Hide after"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    attachment = forms.FileField(
        label=_("Attachment"), required=False, help_text=_("PDF, image, Word, Excel, text or CSV; at most 5 MB.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.role == Role.TEACHER:
            # A teacher posts to a section they teach or its guardians: role, course and year are not theirs.
            for name in ("target_role", "target_programme", "target_year"):
                del self.fields[name]
            self.fields["audience"].choices = [
                (a.value, a.label) for a in (Audience.SECTION, Audience.SECTION_GUARDIANS)
            ]
            self.fields["target_section"].queryset = ClassSection.objects.filter(
                pk__in=[s.pk for s in viewer_sections(user)]
            ).select_related("programme")
        else:
            self.fields["target_programme"].queryset = Programme.objects.filter(institute=user.institute)
            self.fields["target_section"].queryset = ClassSection.objects.filter(
                institute=user.institute
            ).select_related("programme")

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload and upload.size > MAX_ATTACHMENT_BYTES:
            raise forms.ValidationError(_("The attachment is larger than 5 MB."))
        return upload

    def clean(self):
        cleaned = super().clean()
        audience = cleaned.get("audience")
        needs = {
            Audience.ROLE: ["target_role"],
            Audience.PROGRAMME_YEAR: ["target_programme", "target_year"],
            Audience.SECTION: ["target_section"],
            Audience.SECTION_GUARDIANS: ["target_section"],
        }
        for name in needs.get(audience, []):
            if not cleaned.get(name):
                self.add_error(name, _("Choose this for the audience you picked."))
        if not cleaned.get("publish_at"):
            cleaned["publish_at"] = timezone.now()
        expire = cleaned.get("expire_at")
        if expire and expire <= cleaned["publish_at"]:
            self.add_error("expire_at", _("It must hide after it is published."))
        return cleaned

    def values(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "attachment"}
        if self.cleaned_data.get("attachment"):
            data["attachment"] = self.cleaned_data["attachment"]
        return data
