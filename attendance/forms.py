"""Reading a submitted register: shape only (the service checks the rules)."""

import datetime
import json

from django import forms
from django.utils.translation import gettext_lazy as _

from attendance.models import AttendanceRecord, AttendanceStatus, ClassSession
from attendance.services import Mark
from utils.forms import BoundedDateField
from utils.params import to_id, to_int

NOTE_MAX_LENGTH = AttendanceRecord._meta.get_field("note").max_length


class RegisterForm(forms.Form):
    understanding = forms.TypedChoiceField(
        label=_("How well did the class follow? (1–5)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—")] + [(i, str(i)) for i in range(1, 6)],
    )
    notes = forms.CharField(
        label=_("Session notes"),
        required=False,
        max_length=ClassSession._meta.get_field("notes").max_length,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reason = forms.CharField(
        label=_("Reason for the change (needed once the register is locked)"), required=False, max_length=200
    )

    def __init__(self, *args, topics, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"] = forms.MultipleChoiceField(
            label=_("Topics covered"),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            choices=[(t.pk, str(t)) for t in topics],
        )

    def marks(self) -> list[Mark]:
        """One mark per posted student row, in order; a repeated row is kept so the service refuses it."""
        marks, problems = [], []
        for raw in self.data.getlist("student"):
            sid = to_id(raw)
            if sid is None:
                problems.append(_("The register was changed in an unexpected way. Reload the page."))
                continue
            mark, row_problems = self._mark(sid)
            problems += row_problems
            marks.append(mark)
        if problems:
            raise forms.ValidationError(sorted(set(problems)))
        if not marks:
            raise forms.ValidationError(_("There is nobody to mark in this register."))
        return marks

    def _mark(self, sid: int) -> tuple[Mark, list]:
        problems = []
        status = self.data.get(f"status-{sid}", AttendanceStatus.PRESENT)
        late = to_int(self.data.get(f"late-{sid}", "") or "0", maximum=600)
        understanding = self.data.get(f"und-{sid}", "")
        if late is None:
            problems.append(_("Minutes late must be a whole number from 0 to 600."))
            late = 0
        if understanding and understanding not in {"1", "2", "3", "4", "5"}:
            problems.append(_("A student's understanding is rated 1 to 5."))
            understanding = ""
        note = self.data.get(f"note-{sid}", "")
        if len(note) > NOTE_MAX_LENGTH:
            # Refused, not cut: a note that loses its end can say the opposite of what was meant.
            problems.append(_("A student's note holds at most %(n)d characters.") % {"n": NOTE_MAX_LENGTH})
            note = ""
        was = self.data.get(f"was-{sid}")
        was_row = parse_was(was) if was is not None else None
        if was is not None and was_row is None:
            problems.append(_("The register was changed in an unexpected way. Reload the page."))
        mark = Mark(
            student_id=sid,
            status=status,
            minutes_late=late,
            note=note,
            understanding=int(understanding) if understanding else None,
            was=was_row,
        )
        return mark, problems

    def session_was(self) -> tuple | None:
        """The posted `was-session`: (understanding, notes, topic ids) as the page showed them; None if not sent."""
        raw = self.data.get("was-session")
        if raw is None:
            return None
        was = parse_session_was(raw)
        if was is None:
            raise forms.ValidationError(_("The register was changed in an unexpected way. Reload the page."))
        return was

    def posted_header(self) -> tuple:
        """(understanding, notes, topic ids) as sent, read leniently (to show a refused register again)."""
        understanding = to_int(self.data.get("understanding", ""), minimum=1, maximum=5)
        topics = sorted({t for t in (to_id(v) for v in self.data.getlist("topics")) if t is not None})
        return (understanding, self.data.get("notes", "").strip(), tuple(topics))

    def posted(self, sid: int) -> Mark:
        """The row sent for a student, whatever its problems (to show a refused register again)."""
        return self._mark(sid)[0]


def was_value(row: tuple) -> str:
    """The hidden `was-<student>` value of a register row: the row as shown, (status, late, note, understanding)."""
    return json.dumps(list(row), separators=(",", ":"))


def session_was_value(understanding, notes: str, topic_ids) -> str:
    """The hidden `was-session` value: the session's header as shown, (understanding, notes, topic ids)."""
    return json.dumps([understanding, notes, sorted(topic_ids)], separators=(",", ":"))


def parse_session_was(raw: str) -> tuple | None:
    """A posted `was-session` value as (understanding, notes, topic ids), or None when it is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list) or len(value) != 3:
        return None
    understanding, notes, topics = value
    if (
        not (understanding is None or to_int(understanding, minimum=1, maximum=5) is not None)
        or not isinstance(notes, str)
        or not isinstance(topics, list)
        or any(to_id(t) is None for t in topics)
    ):
        return None
    return (understanding, notes, tuple(sorted({to_id(t) for t in topics})))


def parse_was(raw: str) -> tuple | None:
    """A posted `was-<student>` value as Mark.row() gives it, or None when it is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(value, list) or len(value) != 4:
        return None
    status, late, note, understanding = value
    if (
        status not in AttendanceStatus.values
        or to_int(late, maximum=600) is None
        or not isinstance(note, str)
        or not (understanding is None or to_int(understanding, minimum=1, maximum=5) is not None)
    ):
        return None
    return Mark(student_id=0, status=status, minutes_late=late, note=note, understanding=understanding).row()


class LeaveForm(forms.Form):
    student = forms.ChoiceField(label=_("For"))
    starts_on = BoundedDateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = BoundedDateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.students = {str(s.pk): s for s in students}
        self.fields["student"].choices = [(str(s.pk), s.user.full_name) for s in students]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("starts_on") and cleaned.get("ends_on") and cleaned["ends_on"] < cleaned["starts_on"]:
            self.add_error("ends_on", _("The leave must end on or after its first day."))
        if cleaned.get("starts_on") and cleaned["starts_on"] < datetime.date.today() - datetime.timedelta(days=30):
            self.add_error("starts_on", _("Leave can be asked for at most 30 days back."))
        return cleaned


# ---------------------------------------------------------------- report filters (GET)

REPORT_MAX_DAYS = 800  # a little over two academic years: the aggregates are bounded by the range


class ReportFilterForm(forms.Form):
    """A date range; empty fields take the default period (the current term up to today)."""

    date_from = BoundedDateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = BoundedDateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, *, default, **kwargs):
        data = data.copy()
        for name in ("date_from", "date_to"):
            if not data.get(name):
                data[name] = getattr(default, name).isoformat()
        super().__init__(data, **kwargs)
        self.default = default

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end date is before the start date."))
        elif start and end and (end - start).days >= REPORT_MAX_DAYS:
            self.add_error("date_to", _("Choose at most %(n)d days.") % {"n": REPORT_MAX_DAYS})
        return cleaned

    def period(self):
        """The chosen period, or the default when the input is not valid (the errors show on the page)."""
        from attendance.reports import Period

        self.is_valid()
        start, end = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        return Period(start, end) if start and end else self.default


class StudentReportForm(ReportFilterForm):
    subject = forms.TypedChoiceField(label=_("Subject"), required=False, coerce=int, empty_value=None)

    def __init__(self, data, *, default, subjects, **kwargs):
        super().__init__(data, default=default, **kwargs)
        self.fields["subject"].choices = [("", _("All subjects"))] + [(s.pk, f"{s.code} {s.name}") for s in subjects]

    def subject_id(self) -> int | None:
        self.is_valid()
        return self.cleaned_data.get("subject")


class TeacherReportForm(ReportFilterForm):
    klass = forms.ChoiceField(label=_("Class"), required=False)

    def __init__(self, data, *, default, classes, **kwargs):
        super().__init__(data, default=default, **kwargs)
        self.fields["klass"].choices = [("", _("All my classes"))] + [(c.key, c.label) for c in classes]

    def add_prefix(self, field_name):
        return "class" if field_name == "klass" else super().add_prefix(field_name)


class AdminReportForm(ReportFilterForm):
    group_by = forms.ChoiceField(label=_("Group by"), required=False)
    min_sessions = forms.IntegerField(label=_("Lowest list: min. classes"), required=False, min_value=1, max_value=500)
    day = BoundedDateField(
        label=_("Missing lessons on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data, *, default, group_labels, **kwargs):
        super().__init__(data, default=default, **kwargs)
        self.fields["group_by"].choices = list(group_labels.items())
        for name, value in (("group_by", "section"), ("min_sessions", "5"), ("day", default.date_to.isoformat())):
            if not self.data.get(name):
                self.data[name] = value

    def options(self) -> dict:
        """group_by, min_sessions and day: the valid values or the defaults."""
        self.is_valid()
        return {
            "group_by": self.cleaned_data.get("group_by") or "section",
            "min_sessions": self.cleaned_data.get("min_sessions") or 5,
            "day": self.cleaned_data.get("day") or self.default.date_to,
        }
