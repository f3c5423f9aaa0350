"""Input shape only; rules that span rows live in the services."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Relationship, Role, User
from enrollment.models import ClassSection, Subject
from utils.forms import BoundedDateField, IdModelMultipleChoiceField


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Email or username"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    error_messages = {
        "invalid_login": _("That email/username and password do not match. Check them, or reset your password."),
        "inactive": _("This account is switched off. Ask the school office."),
    }


class _PasswordPairMixin:
    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords differ."))
        if password:
            probe = self._password_user()
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned

    def _password_user(self):
        from accounts.models import User

        return User(email=self.cleaned_data.get("email", ""), full_name=self.cleaned_data.get("full_name", ""))


def _password_fields():
    return (
        forms.CharField(
            label=_("Password"),
            strip=False,
            max_length=256,  # room for any passphrase; the validators and the hasher need not read megabytes
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
            help_text=password_validation.password_validators_help_text_html(),
        ),
        forms.CharField(
            label=_("Password again"),
            strip=False,
            max_length=256,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        ),
    )


class StudentRegistrationForm(_PasswordPairMixin, forms.Form):
    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    roll_number = forms.CharField(label=_("Roll number"), max_length=32)
    section = forms.ModelChoiceField(
        label=_("Course, year and section"), queryset=ClassSection.objects.none(), empty_label=_("Choose your class")
    )
    password, password_confirm = _password_fields()

    def __init__(self, *args, institute, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].queryset = ClassSection.objects.filter(institute=institute).select_related("programme")

    def clean_roll_number(self):
        return self.cleaned_data["roll_number"].strip().upper()


class GuardianRegistrationForm(_PasswordPairMixin, forms.Form):
    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    link_code = forms.CharField(
        label=_("Link code"),
        max_length=16,
        help_text=_("The code the school or your child gave you, like ABC-DEF-GHJ."),
    )
    relationship = forms.ChoiceField(label=_("You are the student's"), choices=Relationship.choices)
    password, password_confirm = _password_fields()


class VerifyCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("6-digit code"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits from the email.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "maxlength": 6}
        ),
    )


class InvitationAcceptForm(_PasswordPairMixin, forms.Form):
    username = forms.RegexField(
        label=_("Choose a username"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password, password_confirm = _password_fields()

    def __init__(self, *args, invitation, **kwargs):
        self.invitation = invitation
        super().__init__(*args, **kwargs)

    def _password_user(self):
        from accounts.models import User

        return User(
            email=self.invitation.email,
            full_name=self.invitation.full_name,
            username=self.cleaned_data.get("username", ""),
        )


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )


class PasswordResetConfirmForm(_PasswordPairMixin, VerifyCodeForm):
    password, password_confirm = _password_fields()

    def __init__(self, *args, email: str, **kwargs):
        self.email = email
        super().__init__(*args, **kwargs)

    def _password_user(self):
        from accounts.models import User

        # The same for every address: a check against the account's own name here would tell a
        # stranger that the account exists. The service checks the real person once the code is right.
        return User(email=self.email)


class GuardianLinkForm(forms.Form):
    link_code = forms.CharField(label=_("Link code"), max_length=16)
    relationship = forms.ChoiceField(label=_("You are the student's"), choices=Relationship.choices)


class InvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=[c for c in Role.choices if c[0] != Role.STUDENT])
    employee_id = forms.CharField(label=_("Employee id (teachers)"), max_length=32, required=False)
    subjects = IdModelMultipleChoiceField(
        label=_("Subjects they can teach (teachers)"), queryset=Subject.objects.none(), required=False
    )
    students = forms.CharField(
        label=_("Roll numbers of the children (guardians)"),
        required=False,
        max_length=2000,
        help_text=_("Separate several with commas."),
    )
    relationship = forms.ChoiceField(label=_("Relationship (guardians)"), choices=Relationship.choices, required=False)
    title = forms.CharField(label=_("Job title (admins, counselors)"), max_length=100, required=False)

    def __init__(self, *args, institute, **kwargs):
        super().__init__(*args, **kwargs)
        self.institute = institute
        self.fields["subjects"].queryset = Subject.objects.filter(institute=institute)

    def clean(self):
        from accounts.models import StudentProfile

        cleaned = super().clean()
        role = cleaned.get("role")
        if role == Role.TEACHER and not cleaned.get("employee_id"):
            self.add_error("employee_id", _("A teacher needs an employee id."))
        if role == Role.GUARDIAN:
            rolls = [r.strip().upper() for r in (cleaned.get("students") or "").split(",") if r.strip()]
            if not rolls:
                self.add_error("students", _("Give at least one roll number."))
            else:
                found = dict(
                    StudentProfile.objects.filter(institute=self.institute, roll_number__in=rolls).values_list(
                        "roll_number", "pk"
                    )
                )
                missing = [r for r in rolls if r not in found]
                if missing:
                    self.add_error("students", _("No student with roll number %(r)s.") % {"r": ", ".join(missing)})
                cleaned["student_ids"] = list(found.values())
            if not cleaned.get("relationship"):
                self.add_error("relationship", _("Choose the relationship."))
        return cleaned

    def invitation_data(self) -> dict:
        c = self.cleaned_data
        role = c["role"]
        if role == Role.TEACHER:
            return {"employee_id": c["employee_id"].strip(), "subject_ids": [s.pk for s in c["subjects"]]}
        if role == Role.GUARDIAN:
            return {"student_ids": c["student_ids"], "relationship": c["relationship"]}
        return {"title": c.get("title", "")}


class ContactForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    phone = forms.RegexField(
        label=_("Phone"),
        regex=r"^\+?[0-9 ()-]{6,20}$",
        required=False,
        error_messages={"invalid": _("Use digits, spaces and an optional leading +.")},
    )
    address = forms.CharField(
        label=_("Address"),
        max_length=User._meta.get_field("address").max_length,
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    date_of_birth = BoundedDateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
