from django import forms

from utils.forms import BoundedDateField


class AuditFilterForm(forms.Form):
    action = forms.CharField(label="Action starts with", required=False, max_length=60)
    object_type = forms.CharField(label="Object type", required=False, max_length=60)
    actor = forms.CharField(label="Actor id", required=False, max_length=12)
    since = BoundedDateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = BoundedDateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
