from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import StudentProfile
from enrollment.models import ClassSection, Subject, Term


class EnrolForm(forms.Form):
    roll_number = forms.CharField(label=_("Student's roll number"), max_length=32)
    subject = forms.ModelChoiceField(label=_("Subject"), queryset=Subject.objects.none())

    def __init__(self, *args, institute, **kwargs):
        super().__init__(*args, **kwargs)
        self.institute = institute
        self.fields["subject"].queryset = Subject.objects.filter(institute=institute).select_related("programme")

    def clean_roll_number(self):
        roll = self.cleaned_data["roll_number"].strip().upper()
        self.student = (
            StudentProfile.objects.filter(institute=self.institute, roll_number=roll)
            .select_related("user", "section", "institute")
            .first()
        )
        if self.student is None:
            raise forms.ValidationError(_("No student has roll number %(r)s.") % {"r": roll})
        return roll


class PromoteForm(forms.Form):
    target = forms.ModelChoiceField(label=_("Into section"), queryset=ClassSection.objects.none())
    term = forms.ModelChoiceField(label=_("For term"), queryset=Term.objects.none())

    def __init__(self, *args, institute, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = ClassSection.objects.filter(institute=institute).select_related("programme")
        self.fields["term"].queryset = Term.objects.filter(institute=institute)
