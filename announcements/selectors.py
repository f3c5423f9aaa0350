"""The feed: active, targeted, urgent first then newest; cached per audience, unread marks per person."""

from datetime import timedelta

from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from announcements.audience import feed_filter, viewer_sections
from announcements.models import Announcement, AnnouncementRead

FEED_TTL = 120
FEED_LIMIT = 30


def _version_key(institute_id: int) -> str:
    return f"ann-ver:{institute_id}"


def bump_feed_version(*, institute_id: int) -> None:
    if not cache.add(_version_key(institute_id), 1, timeout=None):
        try:
            cache.incr(_version_key(institute_id))
        except ValueError:
            cache.set(_version_key(institute_id), 1, timeout=None)


def _as_item(a: Announcement) -> dict:
    return {
        "id": a.pk,
        "title": a.title,
        "body_html": a.body_html,
        "urgent": a.urgent,
        "publish_at": a.publish_at,
        "expire_at": a.expire_at,
        "author": a.author.full_name if a.author else "",
        "audience": a.audience_label(),
        "attachment": bool(a.attachment),
        "attachment_name": a.attachment.name.rsplit("/", 1)[-1] if a.attachment else "",
    }


def feed_queryset(*, user, sections, now, publish_within=timedelta(0)):
    """What a person's feed may show: their institute, their audience, published, not expired.

    The feed and the attachment download both read through this, so a file is never reachable
    when its announcement is not (scheduled, expired, or for another audience).
    """
    return (
        Announcement.objects.filter(institute_id=user.institute_id, publish_at__lte=now + publish_within)
        .filter(feed_filter(user=user, sections=sections))
        .exclude(expire_at__lte=now)
    )


def feed_for(*, user) -> list[dict]:
    """A person's feed. People with the same role and sections share one cached list."""
    sections = viewer_sections(user)
    audience = f"{user.role}:{','.join(str(s.pk) for s in sorted(sections, key=lambda s: s.pk))}"
    if user.role == "teacher":
        audience += f":{user.pk}"  # a teacher also sees what they wrote
    version = cache.get(_version_key(user.institute_id), 0)
    key = f"ann-feed:{user.institute_id}:{version}:{audience}"
    items = cache.get(key)
    if items is None:
        # Include what will publish within the cache's life; publish/expiry are re-checked on every read.
        qs = (
            feed_queryset(user=user, sections=sections, now=timezone.now(), publish_within=timedelta(seconds=FEED_TTL))
            .select_related("author", "target_programme", "target_section__programme")
            .order_by("-urgent", "-publish_at", "-id")[: FEED_LIMIT + 10]
        )
        items = [_as_item(a) for a in qs]
        cache.set(key, items, FEED_TTL)
    now = timezone.now()
    live = [i for i in items if i["publish_at"] <= now and (i["expire_at"] is None or i["expire_at"] > now)]
    return live[:FEED_LIMIT]


def feed_with_unread(*, user) -> tuple[list[dict], int]:
    items = feed_for(user=user)
    read = set(
        AnnouncementRead.objects.filter(user=user, announcement_id__in=[i["id"] for i in items]).values_list(
            "announcement_id", flat=True
        )
    )
    for item in items:
        item["unread"] = item["id"] not in read
    return items, sum(1 for i in items if i["unread"])


def announcement_get_for_viewer(*, user, announcement_id: int) -> Announcement:
    """An announcement the person may see: live in their feed, or theirs to manage (at any time)."""
    if user.role in ("admin", "teacher"):
        try:
            return announcement_get_for_editor(user=user, announcement_id=announcement_id)
        except Http404:
            pass
    announcement = (
        feed_queryset(user=user, sections=viewer_sections(user), now=timezone.now()).filter(pk=announcement_id).first()
    )
    if announcement is None:
        raise Http404("No such announcement")
    return announcement


def announcement_get_for_editor(*, user, announcement_id: int) -> Announcement:
    qs = Announcement.objects.filter(institute_id=user.institute_id, pk=announcement_id)
    if user.role != "admin":
        qs = qs.filter(author=user)
    announcement = qs.first()
    if announcement is None:
        raise Http404("No such announcement")
    return announcement


def manage_list(*, user):
    qs = Announcement.objects.filter(institute_id=user.institute_id).select_related(
        "author", "target_programme", "target_section__programme"
    )
    if user.role != "admin":
        qs = qs.filter(author=user)
    return qs.order_by("-publish_at", "-id")
