from django import forms
from django.utils.translation import gettext_lazy as _

from ai_features.services import MAX_QUESTION_LENGTH


class QuestionForm(forms.Form):
    message = forms.CharField(
        label=_("Your question"),
        max_length=MAX_QUESTION_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Ask about your lessons, attendance or what to study"}),
    )


class ChatNewForm(forms.Form):
    """A new chat: a guardian with several children picks one; a student's own profile is the only choice."""

    student = forms.TypedChoiceField(label=_("About"), coerce=int)

    def __init__(self, *args, students, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].choices = [(s.pk, s.user.full_name) for s in students]
        if len(students) == 1:
            self.fields["student"].initial = students[0].pk
            self.fields["student"].widget = forms.HiddenInput()
