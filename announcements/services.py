"""Posting announcements: who may post to whom, safe formatting, and fan-out to every recipient after commit."""

import html

import markdown
import nh3
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from announcements.audience import recipient_ids, viewer_sections
from announcements.models import Announcement, AnnouncementRead, Audience
from announcements.selectors import bump_feed_version
from audit.services import audit_record
from utils import live
from utils.models import NotificationKind
from utils.notifications import Message, notify

ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "code", "h3", "h4"}


def render_body(text: str) -> str:
    """Markdown to HTML, then cleaned: no scripts, styles or event handlers can survive."""
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _check_author(*, author, audience: str, target_section) -> None:
    if author.role == Role.ADMIN:
        return
    if author.role != Role.TEACHER:
        raise ValidationError("Only admins and teachers post announcements.")
    if audience not in (Audience.SECTION, Audience.SECTION_GUARDIANS):
        raise ValidationError({"audience": "Teachers post to a class section they teach, or to its guardians."})
    if target_section is None or target_section.pk not in {s.pk for s in viewer_sections(author)}:
        raise ValidationError({"target_section": "You can post only to sections you teach."})


def _fields(announcement: Announcement, values: dict) -> None:
    for name, value in values.items():
        setattr(announcement, name, value)
    # Only the fields the audience needs are kept, so a switched audience leaves nothing stale behind.
    keep = {
        Audience.ROLE: {"target_role"},
        Audience.PROGRAMME_YEAR: {"target_programme", "target_year"},
        Audience.SECTION: {"target_section"},
        Audience.SECTION_GUARDIANS: {"target_section"},
    }.get(announcement.audience, set())
    for name, empty in (
        ("target_role", ""),
        ("target_programme", None),
        ("target_year", None),
        ("target_section", None),
    ):
        if name not in keep:
            setattr(announcement, name, empty)
    announcement.body_html = render_body(announcement.body)


@transaction.atomic
def announcement_create(*, author, **values) -> Announcement:
    _check_author(author=author, audience=values.get("audience"), target_section=values.get("target_section"))
    announcement = Announcement(institute=author.institute, author=author)
    _fields(announcement, values)
    announcement.full_clean()
    announcement.save()
    audit_record(
        institute=author.institute,
        actor=author,
        action="announcement.created",
        obj=announcement,
        summary=f"Posted '{announcement.title}' to {announcement.audience_label()}",
    )
    _changed(announcement)
    return announcement


@transaction.atomic
def announcement_update(*, announcement: Announcement, actor, **values) -> Announcement:
    announcement = Announcement.objects.select_for_update().get(pk=announcement.pk)
    _check_author(
        author=actor,
        audience=values.get("audience", announcement.audience),
        target_section=values.get("target_section", announcement.target_section),
    )
    _fields(announcement, values)
    announcement.full_clean()
    announcement.save()
    audit_record(
        institute=announcement.institute,
        actor=actor,
        action="announcement.updated",
        obj=announcement,
        summary=f"Changed '{announcement.title}'",
    )
    _changed(announcement)
    return announcement


@transaction.atomic
def announcement_delete(*, announcement: Announcement, actor) -> None:
    institute_id, title = announcement.institute_id, announcement.title
    announcement.delete()
    audit_record(
        institute=actor.institute, actor=actor, action="announcement.deleted", obj=None, summary=f"Deleted '{title}'"
    )
    transaction.on_commit(lambda: bump_feed_version(institute_id=institute_id))


def _changed(announcement: Announcement) -> None:
    from announcements.tasks import announcement_fan_out_task

    institute_id = announcement.institute_id
    transaction.on_commit(lambda: bump_feed_version(institute_id=institute_id))
    if announcement.fanned_out_at is None and announcement.publish_at <= timezone.now():
        announcement_fan_out_task.delay_on_commit(announcement_id=announcement.pk)


def announcement_fan_out(*, announcement_id: int) -> int:
    """Tell everyone in the audience: inbox + email/SMS by preference + a live event. Runs once."""
    with transaction.atomic():
        announcement = (
            # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the targets' outer joins.
            Announcement.objects.select_for_update(of=("self",))
            .select_related("target_section__programme", "target_programme")
            .filter(pk=announcement_id)
            .first()
        )
        if announcement is None or announcement.fanned_out_at is not None:
            return 0
        if announcement.publish_at > timezone.now():
            return 0  # not yet: the due-publisher picks it up
        recipients = recipient_ids(announcement)
        message = Message(
            kind=NotificationKind.ANNOUNCEMENT,
            title=announcement.title,
            # Plain text for the inbox, email and SMS: tags dropped and entities decoded (no '&amp;' in a text).
            body=html.unescape(nh3.clean(announcement.body_html, tags=set()))[:500],
            url="/announcements/",
            urgent=announcement.urgent,
            dedupe_key=f"announcement:{announcement.pk}",
        )
        notify(institute_id=announcement.institute_id, recipient_ids=recipients, message=message)
        announcement.fanned_out_at = timezone.now()
        announcement.save(update_fields=["fanned_out_at"])
        live.publish(user_ids=recipients, event="announcement")
        institute_id = announcement.institute_id
        transaction.on_commit(lambda: bump_feed_version(institute_id=institute_id))
    return len(recipients)


def announcements_publish_due() -> int:
    """Fan out announcements whose publish time has come (run every minute by beat)."""
    from announcements.tasks import announcement_fan_out_task

    due = list(
        Announcement.objects.filter(fanned_out_at__isnull=True, publish_at__lte=timezone.now()).values_list(
            "pk", flat=True
        )[:500]
    )
    for pk in due:
        announcement_fan_out_task.delay(announcement_id=pk)
    return len(due)


def announcement_mark_read(*, user, announcement_ids) -> int:
    rows = [AnnouncementRead(announcement_id=pk, user=user) for pk in announcement_ids]
    created = AnnouncementRead.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)
