"""The one notification service: in-app inbox, email, SMS and live push, by each person's preferences.

Callers say *who* and *what*; everything heavy runs in Celery after commit, in batches, so telling
5,000 guardians costs the request one enqueue. Every step is idempotent: a notification lands once per
person per event (`dedupe_key`), a delivery exists once per channel, and a delivery already sent is
never sent again when a task is retried.
"""

import logging
import smtplib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from utils import live, outbox
from utils.models import Channel, Delivery, DeliveryStatus, Notification, NotificationKind, NotificationPreference
from utils.sms import SmsError, send_sms

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
DELIVERY_BATCH_SIZE = 100
#: Seconds to wait for the mail server when EMAIL_TIMEOUT is unset: a hung server must not hold the row lock.
MAIL_TIMEOUT = 10

#: What a person gets when they have not chosen: urgent messages also go by email.
DEFAULTS = {
    NotificationKind.ANNOUNCEMENT: {"in_app": True, "email": False, "sms": False},
    NotificationKind.ABSENCE: {"in_app": True, "email": True, "sms": True},
    NotificationKind.ALERT: {"in_app": True, "email": True, "sms": False},
    NotificationKind.SYSTEM: {"in_app": True, "email": True, "sms": False},
}


class TransientDeliveryError(Exception):
    """A send that may work later (SMTP down, gateway 5xx or 429)."""


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str = ""
    url: str = ""
    urgent: bool = False
    dedupe_key: str = ""


def channels_for(*, kind: str, urgent: bool, preference: NotificationPreference | None) -> dict:
    if preference is not None:
        return {"in_app": preference.in_app, "email": preference.email, "sms": preference.sms}
    chosen = dict(DEFAULTS[kind])
    if urgent:
        chosen["email"] = True
    return chosen


def notify(*, institute_id: int, recipient_ids, message: Message) -> int:
    """Queue a message for many people. Returns how many batches were queued (after commit)."""
    from utils.tasks import notify_batch_task

    if not message.dedupe_key:
        raise ValueError("A notification needs a dedupe_key so a retried fan-out cannot send twice.")
    ids = list(dict.fromkeys(recipient_ids))
    batches = [ids[i : i + BATCH_SIZE] for i in range(0, len(ids), BATCH_SIZE)]
    outbox.enqueue_many_on_commit(
        notify_batch_task,
        [{"institute_id": institute_id, "recipient_ids": batch, "message": asdict(message)} for batch in batches],
    )
    return len(batches)


@transaction.atomic
def notify_batch(*, institute_id: int, recipient_ids: list[int], message: dict) -> list[int]:
    """Write one batch: inbox rows and delivery rows, set-based (about 5 queries for 500 people)."""
    from accounts.models import User

    msg = Message(**message)
    users = {
        u.pk: u
        for u in User.objects.filter(pk__in=recipient_ids, institute_id=institute_id, is_active=True).only(
            "pk", "email", "phone", "sms_quiet_from", "sms_quiet_until"
        )
    }
    preferences = {p.user_id: p for p in NotificationPreference.objects.filter(user_id__in=users, kind=msg.kind)}
    choices = {uid: channels_for(kind=msg.kind, urgent=msg.urgent, preference=preferences.get(uid)) for uid in users}
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                institute_id=institute_id,
                recipient_id=uid,
                kind=msg.kind,
                title=msg.title,
                body=msg.body,
                url=msg.url,
                urgent=msg.urgent,
                dedupe_key=msg.dedupe_key,
                read_at=None if choices[uid]["in_app"] else now,
            )
            for uid in users
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    notifications = dict(
        Notification.objects.filter(recipient_id__in=users, dedupe_key=msg.dedupe_key).values_list("recipient_id", "pk")
    )
    deliveries = []
    for uid, user in users.items():
        wanted = choices[uid]
        if wanted["email"] and user.email:
            deliveries.append(
                Delivery(
                    institute_id=institute_id,
                    notification_id=notifications[uid],
                    channel=Channel.EMAIL,
                    address=user.email,
                )
            )
        if wanted["sms"] and user.phone:
            deliveries.append(
                Delivery(
                    institute_id=institute_id,
                    notification_id=notifications[uid],
                    channel=Channel.SMS,
                    address=user.phone,
                    not_before=quiet_hours_end(user, now),
                )
            )
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=1000)
    delivery_ids = list(
        Delivery.objects.filter(notification_id__in=notifications.values(), status=DeliveryStatus.QUEUED).values_list(
            "pk", flat=True
        )
    )
    _send_on_commit(delivery_ids)
    live.publish(
        user_ids=[uid for uid in users if choices[uid]["in_app"]], event="notification", data={"kind": msg.kind}
    )
    return delivery_ids


def _send_on_commit(delivery_ids: list[int]) -> None:
    from utils.tasks import deliver_batch_task

    outbox.enqueue_many_on_commit(
        deliver_batch_task,
        [
            {"delivery_ids": delivery_ids[i : i + DELIVERY_BATCH_SIZE]}
            for i in range(0, len(delivery_ids), DELIVERY_BATCH_SIZE)
        ],
    )


def quiet_hours_end(user, now: datetime) -> datetime | None:
    """When a person's SMS quiet hours (possibly over midnight) end, if `now` is inside them."""
    start, end = user.sms_quiet_from, user.sms_quiet_until
    if start is None or end is None or start == end:
        return None
    local = timezone.localtime(now)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_at = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery once. Returns its status; raises TransientDeliveryError when it will be tried again.

    Three short steps, no transaction held while the provider answers (a slow mail server holds no row lock
    and no connection in a transaction): claim the delivery with a lease, send it, record the outcome. A
    second worker (a redelivered task, the sweep) cannot claim a delivery that is leased or finished, so
    nobody gets it twice; a worker killed mid-send leaves a lease that expires, then the sweep claims it again,
    so nobody gets none. The send carries the delivery's own id (the mail's Message-ID, the text's
    idempotency reference), so a provider or mail client can tell a repeat from a new message in the one case
    left: a worker killed after the provider accepted and before "sent" was recorded.
    """
    claimed = _claim(delivery_id)
    if isinstance(claimed, str):
        return claimed
    outcome, reason, transient = _send(claimed)
    if outcome == DeliveryStatus.SENT:
        return _record_sent(claimed)
    status = _record_failure(claimed, reason, transient=transient)
    if status == "retry":
        raise TransientDeliveryError(f"delivery {delivery_id} will be tried again")
    return status


def _claim(delivery_id: int) -> Delivery | str:
    """Take the delivery for LEASE seconds; or say why not: sent, failed, held (not due), leased, gone."""
    now = timezone.now()
    due = Q(status=DeliveryStatus.QUEUED) & (Q(not_before__isnull=True) | Q(not_before__lte=now))
    abandoned = Q(status=DeliveryStatus.SENDING, lease_until__lt=now, attempts__lt=settings.NOTIFY_MAX_ATTEMPTS)
    taken = Delivery.objects.filter(due | abandoned, pk=delivery_id).update(
        status=DeliveryStatus.SENDING,
        lease_until=now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS),
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if not taken:
        status = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return {None: "gone", DeliveryStatus.QUEUED: "held", DeliveryStatus.SENDING: "leased"}.get(status, status)
    return Delivery.objects.select_related("notification").get(pk=delivery_id)


def _send(delivery: Delivery) -> tuple[str, str, bool]:
    """(outcome, reason, transient): hand the message to the provider."""
    note = delivery.notification
    try:
        if delivery.channel == Channel.EMAIL:
            text = f"{note.body}\n\n{settings.SITE_URL}{note.url}" if note.url else note.body
            connection = get_connection(timeout=settings.EMAIL_TIMEOUT or MAIL_TIMEOUT)
            EmailMessage(
                subject=note.title,
                body=text,
                to=[delivery.address],
                connection=connection,
                headers={"Message-ID": delivery_message_id(delivery)},
            ).send()
        else:
            send_sms(to=delivery.address, text=f"{note.title}: {note.body}"[:320], reference=f"delivery-{delivery.pk}")
    except SmsError as exc:
        return DeliveryStatus.FAILED, str(exc), exc.transient
    except smtplib.SMTPRecipientsRefused as exc:  # 5xx: the address will never work; 4xx: it may later
        codes = sorted({code for code, _text in exc.recipients.values()})
        return (
            DeliveryStatus.FAILED,
            f"mail server refused the address ({', '.join(map(str, codes))})",
            any(code < 500 for code in codes),
        )
    except OSError as exc:  # SMTP refused or unreachable: worth another go
        return DeliveryStatus.FAILED, f"mail server: {exc}", True
    except SoftTimeLimitExceeded:
        raise  # the task is out of time: the lease runs out and the sweep sends it
    except Exception as exc:  # cannot be sent as it is (e.g. a line break in a header): fail it, not the batch
        logger.exception("delivery %s cannot be sent", delivery.pk)
        return DeliveryStatus.FAILED, f"could not send: {exc}", False
    return DeliveryStatus.SENT, "", False


def delivery_message_id(delivery: Delivery) -> str:
    """The same Message-ID on every attempt of one delivery, so a repeat is recognisably the same mail."""
    host = urlsplit(settings.SITE_URL).hostname or "campus.localhost"
    return f"<delivery.{delivery.pk}.{delivery.notification_id}@{host}>"


def _record_sent(delivery: Delivery) -> str:
    # Conditional on our claim: recording the provider's acceptance twice changes nothing.
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), lease_until=None, error="", updated_at=timezone.now()
    )
    return DeliveryStatus.SENT


def retry_wait(attempts: int) -> timedelta:
    """NOTIFY_RETRY_SECONDS (30 s), then twice as long after each try, at most 20 times that (10 minutes)."""
    base = settings.NOTIFY_RETRY_SECONDS
    return timedelta(seconds=min(20 * base, base * 2 ** max(0, attempts - 1)))


def _record_failure(delivery: Delivery, reason: str, *, transient: bool) -> str:
    now = timezone.now()
    mine = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING)
    if transient and delivery.attempts < settings.NOTIFY_MAX_ATTEMPTS:
        mine.update(
            status=DeliveryStatus.QUEUED,
            not_before=now + retry_wait(delivery.attempts),
            lease_until=None,
            error=reason[:300],
            updated_at=now,
        )
        return "retry"
    mine.update(status=DeliveryStatus.FAILED, lease_until=None, error=reason[:300], updated_at=now)
    logger.warning("delivery %s failed for good: %s", delivery.pk, reason)
    return DeliveryStatus.FAILED


def deliver_batch(*, delivery_ids: list[int]) -> dict:
    """Send a batch; returns {"retry": ids to try again later, "held": {id: when}}.

    Nothing is put back on the queue here: a delivery to try again has its `not_before`, and the sweep
    (deliveries_due, every DISPATCH_SWEEP_SECONDS) queues it when that time comes.
    """
    retry, held = [], {}
    for n, delivery_id in enumerate(delivery_ids):
        try:
            status = delivery_send(delivery_id=delivery_id)
        except TransientDeliveryError:
            retry.append(delivery_id)
            continue
        except SoftTimeLimitExceeded:  # a slow gateway ate the task's time: the sweep sends the unsent rest
            logger.warning("delivery batch out of time; %s deliveries left to the sweep", len(delivery_ids) - n)
            retry.extend(delivery_ids[n:])
            break
        if status == "held":
            held[delivery_id] = Delivery.objects.filter(pk=delivery_id).values_list("not_before", flat=True).first()
    return {"retry": retry, "held": held}


def deliveries_due(*, limit: int = 5000) -> list[int]:
    """Deliveries to hand to a worker now: queued and due (a retry's wait or quiet hours over, or a task that
    never arrived), or claimed by a worker whose lease ran out (killed mid-send).

    A queued delivery younger than the grace is left alone: its own task is on the way.
    """
    now = timezone.now()
    fresh = now - timedelta(seconds=settings.OUTBOX_GRACE_SECONDS)
    queued = Q(status=DeliveryStatus.QUEUED) & (
        Q(not_before__lte=now) | Q(not_before__isnull=True, created_at__lte=fresh)
    )
    abandoned = Q(status=DeliveryStatus.SENDING, lease_until__lt=now, attempts__lt=settings.NOTIFY_MAX_ATTEMPTS)
    return list(Delivery.objects.filter(queued | abandoned).order_by("pk").values_list("pk", flat=True)[:limit])


def deliveries_dispatch() -> int:
    """Queue the due deliveries in batches (the sweep); returns how many."""
    from utils.tasks import deliver_batch_task

    now = timezone.now()
    # A delivery whose every attempt stopped its worker (killed, out of time) is not tried forever.
    Delivery.objects.filter(
        status=DeliveryStatus.SENDING, lease_until__lt=now, attempts__gte=settings.NOTIFY_MAX_ATTEMPTS
    ).update(status=DeliveryStatus.FAILED, lease_until=None, error="the send was interrupted on every attempt")
    ids = deliveries_due()
    for i in range(0, len(ids), DELIVERY_BATCH_SIZE):
        deliver_batch_task.delay(delivery_ids=ids[i : i + DELIVERY_BATCH_SIZE])
    return len(ids)
