"""Institutes, users with one role each, their profiles, one-time codes, invitations."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utils.models import InstituteOwned, TimeStampedModel


class Institute(TimeStampedModel):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    self_registration_open = models.BooleanField(
        default=True, help_text=_("Students may register themselves with an emailed code.")
    )
    self_enrollment_open = models.BooleanField(
        default=True, help_text=_("Students may enrol themselves in their term's subjects.")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    STUDENT = "student", _("Student")
    GUARDIAN = "guardian", _("Guardian")
    TEACHER = "teacher", _("Teacher")
    ADMIN = "admin", _("Admin")
    COUNSELOR = "counselor", _("Counselor")


class CampusUserManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(**{f"{self.model.USERNAME_FIELD}__iexact": username})


class User(AbstractUser):
    institute = models.ForeignKey(Institute, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices)
    email = models.EmailField(_("email address"))
    full_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=32, blank=True)
    address = models.TextField(blank=True, max_length=500, validators=[MaxLengthValidator(500)])
    date_of_birth = models.DateField(null=True, blank=True)
    sms_quiet_from = models.TimeField(null=True, blank=True, help_text=_("No SMS from this time…"))
    sms_quiet_until = models.TimeField(null=True, blank=True, help_text=_("…until this time."))

    objects = CampusUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def get_short_name(self) -> str:
        return (self.full_name or self.username).split()[0]


class Relationship(models.TextChoices):
    MOTHER = "mother", _("Mother")
    FATHER = "father", _("Father")
    GUARDIAN = "guardian", _("Legal guardian")
    GRANDPARENT = "grandparent", _("Grandparent")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other")


class StudentProfile(InstituteOwned):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="student_profile")
    roll_number = models.CharField(max_length=32)
    section = models.ForeignKey("enrollment.ClassSection", on_delete=models.PROTECT, related_name="students")
    term = models.ForeignKey(
        "enrollment.Term", on_delete=models.PROTECT, null=True, blank=True, related_name="students"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institute", "roll_number"], name="student_roll_unique_per_institute")
        ]
        ordering = ["roll_number"]

    def __str__(self) -> str:
        return f"{self.user} ({self.roll_number})"


class GuardianProfile(InstituteOwned):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="guardian_profile")
    children = models.ManyToManyField(StudentProfile, through="GuardianLink", related_name="guardians")

    def __str__(self) -> str:
        return str(self.user)


class GuardianLink(InstituteOwned):
    guardian = models.ForeignKey(GuardianProfile, on_delete=models.CASCADE, related_name="links")
    student = models.ForeignKey(StudentProfile, on_delete=models.CASCADE, related_name="guardian_links")
    relationship = models.CharField(max_length=16, choices=Relationship.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="guardian_link_unique")]


class TeacherProfile(InstituteOwned):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="teacher_profile")
    employee_id = models.CharField(max_length=32)
    subjects = models.ManyToManyField("enrollment.Subject", blank=True, related_name="teachers")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institute", "employee_id"], name="teacher_employee_id_unique")]

    def __str__(self) -> str:
        return f"{self.user} ({self.employee_id})"


class AdminProfile(InstituteOwned):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="admin_profile")
    title = models.CharField(max_length=100, blank=True)


class CounselorProfile(InstituteOwned):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="counselor_profile")
    title = models.CharField(max_length=100, blank=True)


class CodePurpose(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    PASSWORD_RESET = "password_reset", _("Password reset")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OneTimeCodeQuerySet(models.QuerySet):
    def live(self):
        return self.filter(used_at__isnull=True, invalidated_at__isnull=True, expires_at__gt=timezone.now())


class OneTimeCode(InstituteOwned):
    """A 6-digit code sent by email. Only its keyed hash is stored."""

    email = models.EmailField()
    purpose = models.CharField(max_length=20, choices=CodePurpose.choices)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    delivery_error = models.CharField(max_length=200, blank=True)
    # Which mail to send: a code, or (same answer on screen) "you already have an account".
    mail_kind = models.CharField(max_length=20, default="code")
    requested_ip = models.GenericIPAddressField(null=True, blank=True)

    objects = OneTimeCodeQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["email", "purpose", "created_at"], name="otc_email_purpose_idx")]


class RegistrationKind(models.TextChoices):
    STUDENT = "student", _("Student")
    GUARDIAN = "guardian", _("Guardian")
    INVITATION = "invitation", _("Invitation")


class PendingRegistration(InstituteOwned):
    """What a person typed before proving their address; never a raw password."""

    token = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=RegistrationKind.choices)
    email = models.EmailField()
    data = models.JSONField(default=dict)
    password_hash = models.CharField(max_length=256)
    expires_at = models.DateTimeField()


class Invitation(InstituteOwned):
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    full_name = models.CharField(max_length=200)
    token_hash = models.CharField(max_length=64, unique=True)
    data = models.JSONField(default=dict, blank=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class GuardianLinkCode(InstituteOwned):
    """A code a school or a student hands to a guardian so they can link to that student."""

    student = models.ForeignKey(StudentProfile, on_delete=models.CASCADE, related_name="link_codes")
    code = models.CharField(max_length=12, unique=True)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(GuardianProfile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
