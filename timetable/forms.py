from functools import cached_property

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import TeacherProfile
from enrollment.forms import _InstituteForm
from enrollment.models import ClassSection, Subject, Term
from timetable.models import LessonRequirement, Room, TimeSlot, TimetableConfiguration, Unavailability, Weekday
from utils.forms import BoundedDateField, CsvUploadForm, IdModelMultipleChoiceField


class RoomForm(_InstituteForm):
    class Meta:
        model = Room
        fields = ["name", "building", "capacity", "kind"]


class TimeSlotForm(_InstituteForm):
    class Meta:
        model = TimeSlot
        fields = ["order", "starts_at", "ends_at", "is_break", "label"]
        widgets = {
            "starts_at": forms.TimeInput(attrs={"type": "time"}),
            "ends_at": forms.TimeInput(attrs={"type": "time"}),
        }


class ConfigurationForm(_InstituteForm):
    scoped_fields = {"term": Term, "slots": TimeSlot}
    days = forms.TypedMultipleChoiceField(
        label=_("Working days"), choices=Weekday.choices, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = TimetableConfiguration
        fields = ["term", "days", "slots"]
        field_classes = {"slots": IdModelMultipleChoiceField}  # a slot id past bigint is refused, not a 500
        widgets = {"slots": forms.CheckboxSelectMultiple}

    def clean_days(self):
        return sorted(set(self.cleaned_data["days"]))


class UnavailabilityForm(_InstituteForm):
    scoped_fields = {"teacher": TeacherProfile, "room": Room, "section": ClassSection, "term": Term, "slot": TimeSlot}

    class Meta:
        model = Unavailability
        fields = ["teacher", "room", "section", "term", "day", "slot", "reason"]

    def clean(self):
        cleaned = super().clean()
        targets = [cleaned.get(name) for name in ("teacher", "room", "section")]
        if sum(t is not None for t in targets) != 1:
            raise forms.ValidationError(_("Choose exactly one of teacher, room or section."))
        return cleaned


class LessonRequirementForm(_InstituteForm):
    scoped_fields = {"term": Term, "section": ClassSection, "subject": Subject}

    class Meta:
        model = LessonRequirement
        fields = ["term", "section", "subject", "lessons_per_week"]

    def clean(self):
        cleaned = super().clean()
        section, subject = cleaned.get("section"), cleaned.get("subject")
        if section and subject and (subject.programme_id, subject.year) != (section.programme_id, section.year):
            self.add_error("subject", _("%(s)s is not taught to %(c)s.") % {"s": subject, "c": section})
        return cleaned


class EntryForm(forms.Form):
    """Validates shape only (all of the institute's rows are accepted here) so that the service, not
    the form, explains why a lesson cannot go somewhere. The template offers only the valid choices."""

    subject = forms.ModelChoiceField(queryset=Subject.objects.none(), label=_("Subject"))
    teacher = forms.ModelChoiceField(queryset=TeacherProfile.objects.none(), label=_("Teacher"))
    room = forms.ModelChoiceField(queryset=Room.objects.none(), label=_("Room"))
    day = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label=_("Day"))
    slot = forms.ModelChoiceField(queryset=TimeSlot.objects.none(), label=_("Time"))

    def __init__(self, *args, choices: dict, term: Term, keep=None, **kwargs):
        super().__init__(*args, **kwargs)
        institute_id = term.institute_id
        self.choices = choices
        self.keep = keep
        self.fields["subject"].queryset = Subject.objects.filter(institute_id=institute_id)
        self.fields["teacher"].queryset = TeacherProfile.objects.filter(institute_id=institute_id).select_related(
            "user"
        )
        self.fields["room"].queryset = Room.objects.filter(institute_id=institute_id)
        self.fields["slot"].queryset = TimeSlot.objects.filter(institute_id=institute_id, is_break=False)

    def lesson_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("subject", "teacher", "room", "day", "slot")}

    def selected(self, name):
        """The value to pre-select: what was posted, else the initial value (a refresh passes the form's
        values as initial)."""
        value = self.data.get(name) if self.is_bound else self.initial.get(name)
        return str(value) if value is not None else ""

    @cached_property
    def picked(self) -> dict[str, str]:
        """`selected` for every field, for the template (which cannot pass `name` to a method)."""
        return {name: self.selected(name) for name in self.fields}

    def offered(self) -> dict:
        """Valid choices, plus the lesson's own teacher and room when editing (they are free for it)."""
        teachers, rooms = list(self.choices["teachers"]), list(self.choices["rooms"])
        keep = self.keep
        if keep is not None and (self.choices.get("day"), self.choices.get("slot_id")) == (keep.day, keep.slot_id):
            # Unchanged day and time: the lesson's own teacher (for its own subject) and room stay offered.
            if self.choices.get("subject_id") == keep.subject_id and keep.teacher not in teachers:
                teachers.insert(0, keep.teacher)
            if keep.room not in rooms:
                rooms.insert(0, keep.room)
        return {
            "subjects": self.choices["subjects"],
            "teachers": teachers,
            "rooms": rooms,
            "days": Weekday.choices,
            "slots": list(self.fields["slot"].queryset),
        }


def _effective_from_field():
    return BoundedDateField(
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Days before this date keep their lessons and registers."),
        error_messages={"required": _("Choose the date from which the change takes effect.")},
    )


class EffectiveFromForm(forms.Form):
    """The date a bulk change of the week takes effect (the service refuses today, the past, other terms)."""

    effective_from = _effective_from_field()


class EntriesUploadForm(CsvUploadForm):
    effective_from = _effective_from_field()


class CopyWeekForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Term.objects.none(), label=_("Copy this week into"))
    effective_from = _effective_from_field()

    def __init__(self, *args, institute, exclude=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Term.objects.filter(institute=institute)
        if exclude is not None:
            qs = qs.exclude(pk=exclude.pk)
        self.fields["target"].queryset = qs
