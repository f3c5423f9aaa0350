"""Every write about people: codes, registration, invitations, guardian links, passwords, profiles."""

import logging
import re
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.codes import (
    hashes_match,
    keyed_hash,
    new_link_code,
    new_numeric_code,
    new_token,
    normalise_link_code,
)
from accounts.models import (
    AdminProfile,
    CodePurpose,
    CounselorProfile,
    DeliveryStatus,
    GuardianLink,
    GuardianLinkCode,
    GuardianProfile,
    Institute,
    Invitation,
    OneTimeCode,
    PendingRegistration,
    RegistrationKind,
    Role,
    StudentProfile,
    TeacherProfile,
    User,
)
from audit.services import audit_record
from utils.cache import CacheUnavailable
from utils.text import model_max_length, text_problems

logger = logging.getLogger(__name__)


class CodeRefused(ValidationError):
    """A code could not be issued now (cooldown or limit); the message says when to try again."""


# ---------------------------------------------------------------- one-time codes


def _code_context(code: OneTimeCode) -> str:
    return f"otc:{code.pk}:{code.email.lower()}:{code.purpose}"


def _ip_limit_key(ip: str | None) -> str:
    return f"otc-ip:{ip or 'unknown'}"


def _ip_limit_charge(ip: str | None) -> None:
    """Count one code request from this address; refuse past the hourly limit."""
    ip_key = _ip_limit_key(ip)
    cache.add(ip_key, 0, timeout=3600)
    try:
        requests = cache.incr(ip_key)
    except CacheUnavailable:
        # Mail to strangers must stay capped while the cache is away: count the codes this address was
        # sent in the last hour instead (requests that sent nothing are not counted meanwhile).
        requests = (
            1 + OneTimeCode.objects.filter(requested_ip=ip, created_at__gt=timezone.now() - timedelta(hours=1)).count()
        )
    except ValueError:  # the hour ended between add and incr
        cache.set(ip_key, 1, timeout=3600)
        requests = 1
    if requests > settings.ONE_TIME_CODE_MAX_PER_IP_PER_HOUR:
        raise CodeRefused(_("Too many codes were requested from your network. Try again in an hour."))


def code_issue(
    *,
    institute: Institute,
    email: str,
    purpose: str,
    ip: str | None = None,
    mail_kind: str = "code",
    charge_ip: bool = True,
) -> OneTimeCode:
    """Invalidate earlier codes for the address and queue a new one, within the resend limits.

    `charge_ip=False` when the caller already counted this request against the address's limit.
    """
    from accounts.tasks import code_send_task

    email = email.strip().lower()
    now = timezone.now()
    recent = OneTimeCode.objects.filter(email=email, purpose=purpose, created_at__gt=now - timedelta(hours=1))
    # A send that failed does not hold the person back: they may ask again at once.
    last = recent.exclude(delivery_status=DeliveryStatus.FAILED).order_by("-created_at").first()
    if last and now - last.created_at < settings.ONE_TIME_CODE_RESEND_COOLDOWN:
        wait = int((settings.ONE_TIME_CODE_RESEND_COOLDOWN - (now - last.created_at)).total_seconds()) + 1
        raise CodeRefused(_("A code was sent moments ago. You can ask for another in %(s)d seconds.") % {"s": wait})
    if recent.count() >= settings.ONE_TIME_CODE_MAX_PER_HOUR:
        raise CodeRefused(_("Too many codes were sent to this address. Try again in an hour."))
    if charge_ip:
        _ip_limit_charge(ip)
    with transaction.atomic():
        OneTimeCode.objects.live().filter(email=email, purpose=purpose).update(invalidated_at=now)
        code = OneTimeCode.objects.create(
            institute=institute,
            email=email,
            purpose=purpose,
            code_hash="",
            expires_at=now + settings.ONE_TIME_CODE_TTL,
            mail_kind=mail_kind,
            requested_ip=ip,
        )
        code_send_task.delay_on_commit(code_id=code.pk)
    return code


@transaction.atomic
def code_deliver(*, code_id: int) -> None:
    """Make the secret and mail it. The raw code exists only here and in the message, never in the broker."""
    from utils.email import send_templated_mail

    code = OneTimeCode.objects.select_for_update().filter(pk=code_id).first()
    if code is None or code.delivery_status != DeliveryStatus.QUEUED:
        return  # gone, or a re-delivered task: already handled
    if code.used_at or code.invalidated_at or code.expires_at <= timezone.now():
        return
    raw = new_numeric_code()
    code.code_hash = keyed_hash(raw, context=_code_context(code))
    try:
        send_templated_mail(
            to=code.email,
            template=f"{code.purpose}_{code.mail_kind}",
            context={"code": raw, "minutes": int(settings.ONE_TIME_CODE_TTL.total_seconds() // 60)},
        )
    except Exception as exc:  # any transport error: the person is told and can ask again
        logger.warning("sending code %s failed: %s", code.pk, exc)
        code.delivery_status = DeliveryStatus.FAILED
        code.delivery_error = str(exc)[:200]
        code.invalidated_at = timezone.now()
        code.save(update_fields=["code_hash", "delivery_status", "delivery_error", "invalidated_at", "updated_at"])
        return
    code.delivery_status = DeliveryStatus.SENT
    code.save(update_fields=["code_hash", "delivery_status", "updated_at"])


@transaction.atomic
def _code_try(*, email: str, purpose: str, raw: str) -> int | None:
    """Use the newest live code once; on a wrong guess count the try (5 kill it).

    Returns None on success, else the tries left (0 when the newest code died of wrong tries, -1 when
    there is no live code for another reason). It never raises,
    so a wrong try is committed with this block.
    """
    code = (
        OneTimeCode.objects.live()
        .select_for_update()
        .filter(email=email.strip().lower(), purpose=purpose, delivery_status=DeliveryStatus.SENT)
        .order_by("-created_at")
        .first()
    )
    if code is None:
        # Say why there is none: a code killed by wrong tries is not "expired or used" to the person.
        newest = (
            OneTimeCode.objects.filter(
                email=email.strip().lower(), purpose=purpose, delivery_status=DeliveryStatus.SENT
            )
            .order_by("-created_at")
            .only("attempts", "used_at")
            .first()
        )
        died_of_tries = newest and not newest.used_at and newest.attempts >= settings.ONE_TIME_CODE_MAX_ATTEMPTS
        return 0 if died_of_tries else -1
    if hashes_match(code.code_hash, keyed_hash(raw.strip(), context=_code_context(code))):
        code.used_at = timezone.now()
        code.save(update_fields=["used_at", "updated_at"])
        return None
    code.attempts += 1
    fields = ["attempts", "updated_at"]
    if code.attempts >= settings.ONE_TIME_CODE_MAX_ATTEMPTS:
        code.invalidated_at = timezone.now()
        fields.append("invalidated_at")
    code.save(update_fields=fields)
    return settings.ONE_TIME_CODE_MAX_ATTEMPTS - code.attempts


def code_check(*, email: str, purpose: str, raw: str) -> None:
    """Accept the code or raise a ValidationError that says what to do next."""
    left = _code_try(email=email, purpose=purpose, raw=raw)
    if left is None:
        return
    if left < 0:
        raise ValidationError(_("This code has expired or was already used. Ask for a new one."), code="expired")
    if left == 0:
        raise ValidationError(
            _("Too many wrong tries: this code no longer works. Use “Send a new code” to get another."), code="dead"
        )
    raise ValidationError(
        ngettext("That code is not right. %(n)d try left.", "That code is not right. %(n)d tries left.", left)
        % {"n": left},
        code="wrong",
    )


def code_latest(*, email: str, purpose: str) -> OneTimeCode | None:
    return OneTimeCode.objects.filter(email=email.lower(), purpose=purpose).order_by("-created_at").first()


# ---------------------------------------------------------------- registration


def _username_for(email: str) -> str:
    base = re.sub(r"[^a-z0-9._-]", "", email.split("@")[0].lower())[:30] or "user"
    taken = set(User.objects.filter(username__istartswith=base).values_list("username", flat=True))
    taken = {name.lower() for name in taken}
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _email_registered(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def _code_just_issued(*, email: str, purpose: str, mail_kind: str) -> bool:
    """A live code of this kind went out within the resend cooldown.

    The same form sent again moments later (a second device, a double submit) then goes on to the
    code step with that code, instead of stopping on "a code was sent moments ago".
    """
    return (
        OneTimeCode.objects.live()
        .filter(
            email=email,
            purpose=purpose,
            mail_kind=mail_kind,
            created_at__gt=timezone.now() - settings.ONE_TIME_CODE_RESEND_COOLDOWN,
        )
        .exclude(delivery_status=DeliveryStatus.FAILED)
        .exists()
    )


def _pending_create(
    *, institute: Institute, kind: str, email: str, password: str, data: dict, ip: str | None
) -> PendingRegistration:
    """Keep the form server-side (password hashed) and email a code.

    An address that already has an account gets the same screen, and a mail that says so instead
    of a code: the page never tells a stranger whether someone is registered.
    """
    email = email.strip().lower()
    mail_kind = "exists" if _email_registered(email) else "code"
    with transaction.atomic():
        if not _code_just_issued(email=email, purpose=CodePurpose.REGISTRATION, mail_kind=mail_kind):
            code_issue(institute=institute, email=email, purpose=CodePurpose.REGISTRATION, ip=ip, mail_kind=mail_kind)
        PendingRegistration.objects.filter(institute=institute, email=email).delete()
        return PendingRegistration.objects.create(
            institute=institute,
            token=new_token(),
            kind=kind,
            email=email,
            data=data,
            password_hash=make_password(password),
            expires_at=timezone.now() + settings.PENDING_REGISTRATION_TTL,
        )


def registration_start_student(
    *, institute: Institute, full_name: str, email: str, roll_number: str, section, password: str, ip=None
) -> PendingRegistration:
    if not institute.self_registration_open:
        raise ValidationError(_("This institute does not take self-registration. Ask the office for an invitation."))
    if section.institute_id != institute.pk:
        raise ValidationError({"section": _("Choose a section of this institute.")})
    if StudentProfile.objects.filter(institute=institute, roll_number__iexact=roll_number).exists():
        raise ValidationError({"roll_number": _("This roll number is already registered. Check it, or sign in.")})
    return _pending_create(
        institute=institute,
        kind=RegistrationKind.STUDENT,
        email=email,
        password=password,
        data={"full_name": full_name, "roll_number": roll_number, "section_id": section.pk},
        ip=ip,
    )


def _link_code_get(*, institute: Institute, code: str) -> GuardianLinkCode:
    link_code = (
        GuardianLinkCode.objects.select_related("student__user")
        .filter(
            institute=institute, code=normalise_link_code(code), used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .first()
    )
    if link_code is None:
        raise ValidationError(
            {"link_code": _("This link code is not valid or has expired. Ask the school or your child for a new one.")}
        )
    return link_code


def registration_start_guardian(
    *, institute: Institute, full_name: str, email: str, password: str, link_code: str, relationship: str, ip=None
) -> PendingRegistration:
    code = _link_code_get(institute=institute, code=link_code)
    return _pending_create(
        institute=institute,
        kind=RegistrationKind.GUARDIAN,
        email=email,
        password=password,
        data={"full_name": full_name, "link_code_id": code.pk, "relationship": relationship},
        ip=ip,
    )


def registration_resend(*, pending: PendingRegistration, ip=None) -> OneTimeCode:
    mail_kind = "exists" if _email_registered(pending.email) else "code"
    return code_issue(
        institute=pending.institute, email=pending.email, purpose=CodePurpose.REGISTRATION, ip=ip, mail_kind=mail_kind
    )


def registration_verify(*, pending: PendingRegistration, code: str) -> User:
    """Check the code, then create the user and the profile in one transaction."""
    if pending.kind == RegistrationKind.INVITATION:  # checked before the code is spent on it
        invitation = Invitation.objects.filter(pk=pending.data.get("invitation_id")).first()
        if invitation is not None:
            _refuse_unstorable_invitation(invitation)
    code_check(email=pending.email, purpose=CodePurpose.REGISTRATION, raw=code)
    try:
        with transaction.atomic():
            user = _registration_complete(pending=pending)
    except IntegrityError:
        raise ValidationError(
            _("Someone registered the same email or roll number a moment ago. Sign in, or register again.")
        ) from None
    except DataError:  # the checks above should make this unreachable; a person never gets a 500 here
        logger.exception("registration %s: a value did not fit its column", pending.pk)
        raise ValidationError(
            _("Your details could not be stored, so no account was made. Ask the school to check them.")
        ) from None
    return user


def _registration_complete(*, pending: PendingRegistration) -> User:
    pending = PendingRegistration.objects.select_for_update().get(pk=pending.pk)
    if _email_registered(pending.email):
        raise ValidationError(_("An account with this email already exists. Sign in or reset your password."))
    data = pending.data
    institute = pending.institute
    if pending.kind == RegistrationKind.INVITATION:
        invitation = Invitation.objects.select_for_update().get(pk=data["invitation_id"], institute=institute)
        if not invitation.is_open:
            raise ValidationError(_("This invitation is no longer open. Ask the school to send a new one."))
        role, full_name = invitation.role, invitation.full_name
    else:
        role = Role.STUDENT if pending.kind == RegistrationKind.STUDENT else Role.GUARDIAN
        full_name = data["full_name"]
    user = User.objects.create(
        institute=institute,
        role=role,
        username=data.get("username") or _username_for(pending.email),
        email=pending.email,
        full_name=full_name,
        password=pending.password_hash,
    )
    if pending.kind == RegistrationKind.STUDENT:
        from enrollment.models import ClassSection, Term

        section = ClassSection.objects.get(pk=data["section_id"], institute=institute)
        term = Term.objects.filter(institute=institute, is_current=True).first()
        student = StudentProfile.objects.create(
            institute=institute, user=user, roll_number=data["roll_number"], section=section, term=term
        )
        _student_enrol(student=student, actor=user)
    elif pending.kind == RegistrationKind.GUARDIAN:
        guardian = GuardianProfile.objects.create(institute=institute, user=user)
        link_code = GuardianLinkCode.objects.select_for_update().filter(pk=data["link_code_id"]).first()
        if link_code is None or link_code.used_at or link_code.expires_at <= timezone.now():
            raise ValidationError(_("The link code was used or expired meanwhile. Ask for a new one."))
        _guardian_link(guardian=guardian, link_code=link_code, relationship=data["relationship"], actor=user)
    else:
        _profile_from_invitation(user=user, invitation=invitation)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at", "updated_at"])
    pending.delete()
    audit_record(
        institute=institute,
        actor=user,
        action="account.registered",
        obj=user,
        summary=f"{user.full_name} registered as {user.get_role_display()}",
        changes={"email": user.email, "role": role, "username": user.username},
    )
    return user


def _student_enrol(*, student: StudentProfile, actor: User) -> None:
    """A student who registers is enrolled in their section's subjects, by the same rules as "enrol a section"."""
    from enrollment.services import student_enrol_on_registration

    student_enrol_on_registration(student=student, actor=actor)


def _profile_from_invitation(*, user: User, invitation: Invitation) -> None:
    institute, data = invitation.institute, invitation.data
    if invitation.role == Role.STUDENT:
        from enrollment.models import ClassSection, Term

        student = StudentProfile.objects.create(
            institute=institute,
            user=user,
            roll_number=data["roll_number"],
            section=ClassSection.objects.get(pk=data["section_id"], institute=institute),
            term=Term.objects.filter(institute=institute, is_current=True).first(),
        )
        _student_enrol(student=student, actor=invitation.invited_by or user)
    elif invitation.role == Role.TEACHER:
        teacher = TeacherProfile.objects.create(institute=institute, user=user, employee_id=data["employee_id"])
        teacher.subjects.set(data.get("subject_ids", []))
    elif invitation.role == Role.ADMIN:
        AdminProfile.objects.create(institute=institute, user=user, title=data.get("title", ""))
    elif invitation.role == Role.COUNSELOR:
        CounselorProfile.objects.create(institute=institute, user=user, title=data.get("title", ""))
    elif invitation.role == Role.GUARDIAN:
        guardian = GuardianProfile.objects.create(institute=institute, user=user)
        students = StudentProfile.objects.filter(institute=institute, pk__in=data.get("student_ids", []))
        GuardianLink.objects.bulk_create(
            [
                GuardianLink(institute=institute, guardian=guardian, student=s, relationship=data["relationship"])
                for s in students
            ]
        )


# ---------------------------------------------------------------- invitations

# What an invitation carries must fit where accepting it stores it (the account, then the profile):
# found only at that point, the refusal came after the person's one-time code was used up.
INVITATION_LIMITS = {
    "email": min(model_max_length(Invitation, "email"), model_max_length(User, "email")),
    "full_name": min(model_max_length(Invitation, "full_name"), model_max_length(User, "full_name")),
    "roll_number": model_max_length(StudentProfile, "roll_number"),
    "employee_id": model_max_length(TeacherProfile, "employee_id"),
    "title": min(model_max_length(AdminProfile, "title"), model_max_length(CounselorProfile, "title")),
}
_INVITATION_LABELS = {
    "email": "The email address",
    "full_name": "The name",
    "roll_number": "The roll number",
    "employee_id": "The employee id",
    "title": "The job title",
}


def invitation_problems(*, email: str, full_name: str, role: str, data: dict) -> dict[str, list[str]]:
    """Per field, why the invitation's values cannot be stored (length, control characters)."""
    values = {"email": email, "full_name": full_name}
    extra = {Role.STUDENT: "roll_number", Role.TEACHER: "employee_id", Role.ADMIN: "title", Role.COUNSELOR: "title"}
    if role in extra:
        values[extra[role]] = data.get(extra[role]) or ""
    problems = {}
    for name, value in values.items():
        found = text_problems(str(value), label=_INVITATION_LABELS[name], max_length=INVITATION_LIMITS[name])
        if found:
            problems[name] = found
    return problems


def _refuse_unstorable_invitation(invitation: Invitation) -> None:
    """An invitation made before the checks in invitation_create may hold what accepting cannot store."""
    problems = invitation_problems(
        email=invitation.email, full_name=invitation.full_name, role=invitation.role, data=invitation.data
    )
    if problems:
        reasons = " ".join(p for found in problems.values() for p in found)
        raise ValidationError(
            _("This invitation cannot be accepted: %(reasons)s Ask the school to send a corrected one.")
            % {"reasons": reasons}
        )


def invitation_create(
    *, institute: Institute, actor: User, email: str, role: str, full_name: str, data: dict | None = None
) -> Invitation:
    """Invite staff (teacher, admin, counselor) or a guardian; an existing guardian is linked at once."""
    from accounts.tasks import invitation_send_task

    email = email.strip().lower()
    data = data or {}
    problems = invitation_problems(email=email, full_name=full_name, role=role, data=data)
    if problems:
        raise ValidationError(problems)
    if role == Role.STUDENT and not (data.get("roll_number") and data.get("section_id")):
        raise ValidationError({"role": _("A student invitation needs a roll number and a section.")})
    existing = User.objects.filter(email__iexact=email).first()
    if existing:
        raise ValidationError({"email": _("%(email)s already has an account.") % {"email": email}})
    if role == Role.TEACHER:
        employee_id = (data.get("employee_id") or "").strip()
        if not employee_id:
            raise ValidationError({"employee_id": _("A teacher needs an employee id.")})
        if TeacherProfile.objects.filter(institute=institute, employee_id__iexact=employee_id).exists():
            raise ValidationError({"employee_id": _("Another teacher has this employee id.")})
    if role == Role.GUARDIAN and not data.get("student_ids"):
        raise ValidationError({"student_ids": _("Choose the student(s) this guardian is linked to.")})
    with transaction.atomic():
        now = timezone.now()
        Invitation.objects.filter(
            institute=institute, email=email, accepted_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        invitation = Invitation.objects.create(
            institute=institute,
            email=email,
            role=role,
            full_name=full_name,
            token_hash=f"unsent:{new_token()}",
            data=data,
            invited_by=actor,
            expires_at=now + settings.INVITATION_TTL,
        )
        audit_record(
            institute=institute,
            actor=actor,
            action="invitation.created",
            obj=invitation,
            summary=f"Invited {full_name} <{email}> as {invitation.get_role_display()}",
            changes={"email": email, "role": role},
        )
        invitation_send_task.delay_on_commit(invitation_id=invitation.pk)
    return invitation


@transaction.atomic
def invitation_deliver(*, invitation_id: int) -> None:
    """Make a fresh link token (older links stop working) and mail it."""
    from utils.email import send_templated_mail

    invitation = Invitation.objects.select_for_update().select_related("institute").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_open or invitation.delivery_status != DeliveryStatus.QUEUED:
        return
    token = new_token()
    invitation.token_hash = keyed_hash(token, context="invitation")
    try:
        send_templated_mail(
            to=invitation.email,
            template="invitation",
            context={"invitation": invitation, "token": token, "role": invitation.get_role_display()},
        )
    except Exception as exc:
        logger.warning("sending invitation %s failed: %s", invitation.pk, exc)
        invitation.delivery_status = DeliveryStatus.FAILED
    else:
        invitation.delivery_status = DeliveryStatus.SENT
    invitation.save(update_fields=["token_hash", "delivery_status", "updated_at"])


def invitation_resend(*, invitation: Invitation, actor: User) -> Invitation:
    from accounts.tasks import invitation_send_task

    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at or invitation.revoked_at:
            raise ValidationError(_("This invitation is closed; create a new one."))
        invitation.delivery_status = DeliveryStatus.QUEUED
        invitation.expires_at = timezone.now() + settings.INVITATION_TTL
        invitation.save(update_fields=["delivery_status", "expires_at", "updated_at"])
        audit_record(
            institute=invitation.institute,
            actor=actor,
            action="invitation.resent",
            obj=invitation,
            summary=f"Resent the invitation to {invitation.email}",
        )
        invitation_send_task.delay_on_commit(invitation_id=invitation.pk)
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> None:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise ValidationError(_("This invitation was already accepted."))
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            institute=invitation.institute,
            actor=actor,
            action="invitation.revoked",
            obj=invitation,
            summary=f"Revoked the invitation to {invitation.email}",
        )


def invitation_accept_start(*, invitation: Invitation, username: str, password: str, ip=None) -> PendingRegistration:
    if not invitation.is_open:
        raise ValidationError(_("This invitation is no longer open. Ask the school to send a new one."))
    _refuse_unstorable_invitation(invitation)  # before any code is sent
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken. Choose another.")})
    return _pending_create(
        institute=invitation.institute,
        kind=RegistrationKind.INVITATION,
        email=invitation.email,
        password=password,
        data={"invitation_id": invitation.pk, "username": username},
        ip=ip,
    )


# ---------------------------------------------------------------- guardian links


@transaction.atomic
def guardian_link_code_create(*, student: StudentProfile, actor: User) -> GuardianLinkCode:
    code = GuardianLinkCode.objects.create(
        institute=student.institute,
        student=student,
        code=new_link_code(),
        created_by=actor,
        expires_at=timezone.now() + settings.GUARDIAN_LINK_CODE_TTL,
    )
    audit_record(
        institute=student.institute,
        actor=actor,
        action="guardian_link_code.created",
        obj=student,
        summary=f"Made a guardian link code for {student.user.full_name}",
    )
    return code


def _guardian_link(*, guardian: GuardianProfile, link_code: GuardianLinkCode, relationship: str, actor) -> GuardianLink:
    if GuardianLink.objects.filter(guardian=guardian, student=link_code.student).exists():
        raise ValidationError({"link_code": _("You are already linked to this student.")})
    link = GuardianLink.objects.create(
        institute=guardian.institute, guardian=guardian, student=link_code.student, relationship=relationship
    )
    link_code.used_at = timezone.now()
    link_code.used_by = guardian
    link_code.save(update_fields=["used_at", "used_by", "updated_at"])
    audit_record(
        institute=guardian.institute,
        actor=actor,
        action="guardian.linked",
        obj=link,
        summary=f"{guardian.user.full_name} linked to {link_code.student.user.full_name} ({relationship})",
    )
    return link


@transaction.atomic
def guardian_link_add(*, guardian: GuardianProfile, code: str, relationship: str, actor: User) -> GuardianLink:
    """An existing guardian adds another child with a link code."""
    link_code = _link_code_get(institute=guardian.institute, code=code)
    link_code = GuardianLinkCode.objects.select_for_update().select_related("student__user").get(pk=link_code.pk)
    return _guardian_link(guardian=guardian, link_code=link_code, relationship=relationship, actor=actor)


# ---------------------------------------------------------------- passwords and profiles


# One answer for every refusal: "no such account", "no code", "wrong code" and "code used up" look alike.
RESET_CODE_REFUSED = _("That code is not right, or it no longer works. Check it, or use “Send a new code”.")


def password_reset_request(*, email: str, ip=None) -> None:
    """Email a reset code if the address has an account; the caller shows the same page either way.

    Only the per-network limit may refuse, and it counts every request, registered or not. The limits
    of one address are kept silently: a code sent moments ago still works, and saying "a code was sent
    moments ago" would tell a stranger that the address has an account.
    """
    _ip_limit_charge(ip)
    user = User.objects.select_related("institute").filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or user.institute is None:
        return
    address = user.email.lower()
    if _code_just_issued(email=address, purpose=CodePurpose.PASSWORD_RESET, mail_kind="code"):
        return
    try:
        code_issue(institute=user.institute, email=address, purpose=CodePurpose.PASSWORD_RESET, ip=ip, charge_ip=False)
    except CodeRefused as exc:
        logger.info("password reset code for user %s not sent: %s", user.pk, " ".join(exc.messages))


def password_reset_confirm(*, email: str, code: str, new_password: str) -> User:
    """Check the code, then set the password; every refusal of the code reads the same."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ValidationError(RESET_CODE_REFUSED, code="refused")
    with transaction.atomic():
        left = _code_try(email=user.email, purpose=CodePurpose.PASSWORD_RESET, raw=code)
        if left is None:
            # Compared with the person's own name only now: the form could not say "too similar to
            # your name" before the code is right without telling a stranger the account exists.
            # Raising here also gives the used code back.
            try:
                password_validation.validate_password(new_password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from None
            user.set_password(new_password)
            user.save(update_fields=["password"])
            audit_record(
                institute=user.institute,
                actor=user,
                action="account.password_reset",
                obj=user,
                summary=f"{user.full_name} reset their password with an emailed code",
            )
    if left is not None:  # the wrong try is committed above
        raise ValidationError(RESET_CODE_REFUSED, code="refused")
    return user


CONTACT_FIELDS = ("phone", "address", "date_of_birth")


@transaction.atomic
def user_update_contact(*, user: User, actor: User, **values) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    changes = {}
    for field in CONTACT_FIELDS:
        if field in values and getattr(user, field) != values[field]:
            changes[field] = [getattr(user, field), values[field]]
            setattr(user, field, values[field])
    if "full_name" in values and values["full_name"] != user.full_name:
        changes["full_name"] = [user.full_name, values["full_name"]]
        user.full_name = values["full_name"]
    if changes:
        user.full_clean()
        user.save()
        audit_record(
            institute=user.institute,
            actor=actor,
            action="profile.updated",
            obj=user,
            summary=f"Updated the profile of {user.full_name}",
            changes=changes,
        )
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool, actor: User) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == actor.pk and not active:
        raise ValidationError(_("You cannot deactivate your own account."))
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            institute=user.institute,
            actor=actor,
            action="account.activated" if active else "account.deactivated",
            obj=user,
            summary=f"{'Reactivated' if active else 'Deactivated'} {user.full_name}",
            changes={"is_active": [not active, active]},
        )
    return user


def purge_expired(*, now=None) -> dict:
    """Housekeeping: drop dead codes and pending registrations past their life."""
    now = now or timezone.now()
    codes, _n = OneTimeCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    pending, _n = PendingRegistration.objects.filter(expires_at__lt=now).delete()
    return {"codes": codes, "pending": pending}
