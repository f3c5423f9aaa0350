from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _

from utils.params import MAX_YEAR, MIN_YEAR, to_id


def attach_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class _YearRange:
    """Refuses a date whose year is outside MIN_YEAR to MAX_YEAR (utils/params.py), with a field error."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValidationError(
                _("Enter a date between the years %(low)d and %(high)d."),
                code="year_range",
                params={"low": MIN_YEAR, "high": MAX_YEAR},
            )
        return value


class BoundedDateField(_YearRange, forms.DateField):
    """A date with a year from MIN_YEAR to MAX_YEAR: Django's own accepts 0001-01-01 and 9999-12-31, where the
    day before or after (a week view, a period, a term's next day) overflows."""


class BoundedDateTimeField(_YearRange, forms.DateTimeField):
    """A date and time with a year from MIN_YEAR to MAX_YEAR: Django's own accepts 0001-01-01 00:00 and
    9999-12-31 23:59, which overflow when converted between the site's time zone and UTC (SQLite refuses to
    store them, a 500; PostgreSQL stores them, and every later read of the row fails)."""


class IdModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses what cannot be an id before asking the database: Django's own field sends a 20-digit number to
    an `IN (...)` query, which SQLite cannot bind (a 500) and which no bigint column can hold anyway."""

    def _check_values(self, value):
        for pk in value:
            if to_id(str(pk)) is None:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)


class CampusFormRenderer(TemplatesSetting):
    """Forms and widgets from the project's template engine, laid out by templates/forms/div.html."""

    form_template_name = "forms/div.html"


class CsvUploadForm(forms.Form):
    """An uploaded CSV file (UTF-8, at most 2 MB) and whether to import it now or only check it.

    `confirm` comes from the button pressed ("Check" or "Import now"), so the button always says what it does.
    """

    MAX_BYTES = 2 * 1024 * 1024

    file = forms.FileField(label=_("CSV file"))
    confirm = forms.BooleanField(required=False, label=_("Import now"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB; split it."))
        try:
            self.content = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("Save the file as UTF-8 CSV and upload it again.")) from None
        return upload
