from django import forms
from django.core.exceptions import ValidationError
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _


def attach_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


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
