from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.models import ClassSection, Prerequisite, Programme, Subject, Term, Topic
from utils.forms import BoundedDateField


class _InstituteForm(forms.ModelForm):
    """A catalogue form whose choices come only from the admin's institute."""

    scoped_fields: dict = {}

    def __init__(self, *args, institute, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.institute = institute
        for field, model in self.scoped_fields.items():
            self.fields[field].queryset = model.objects.filter(institute=institute)


class ProgrammeForm(_InstituteForm):
    class Meta:
        model = Programme
        fields = ["code", "name", "years"]


class ClassSectionForm(_InstituteForm):
    scoped_fields = {"programme": Programme}

    class Meta:
        model = ClassSection
        fields = ["programme", "year", "name"]

    def clean(self):
        cleaned = super().clean()
        programme, year = cleaned.get("programme"), cleaned.get("year")
        if programme and year and year > programme.years:
            self.add_error("year", _("%(p)s runs for %(n)d years.") % {"p": programme.code, "n": programme.years})
        return cleaned


class TermForm(_InstituteForm):
    class Meta:
        model = Term
        fields = ["academic_year", "semester", "starts_on", "ends_on", "is_current"]
        field_classes = {"starts_on": BoundedDateField, "ends_on": BoundedDateField}
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }


class SubjectForm(_InstituteForm):
    scoped_fields = {"programme": Programme}

    class Meta:
        model = Subject
        fields = ["programme", "year", "code", "name", "weekly_lessons"]


class TopicForm(_InstituteForm):
    scoped_fields = {"subject": Subject}

    class Meta:
        model = Topic
        fields = ["subject", "order", "title"]


class PrerequisiteForm(_InstituteForm):
    scoped_fields = {"subject": Subject, "requires": Subject}

    class Meta:
        model = Prerequisite
        fields = ["subject", "requires"]
        labels = {"requires": _("Requires (passed earlier)")}
