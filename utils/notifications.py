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

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.utils import timezone

from utils import live
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
    for batch in batches:
        notify_batch_task.delay_on_commit(institute_id=institute_id, recipient_ids=batch, message=asdict(message))
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

    for i in range(0, len(delivery_ids), DELIVERY_BATCH_SIZE):
        deliver_batch_task.delay_on_commit(delivery_ids=delivery_ids[i : i + DELIVERY_BATCH_SIZE])


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
    """Send one delivery once. Returns its status; raises TransientDeliveryError to be tried again."""
    outcome = _delivery_send(delivery_id)
    if outcome == "retry":  # raised only now, so the counted attempt is committed
        raise TransientDeliveryError(f"delivery {delivery_id} will be tried again")
    return outcome


def _delivery_send(delivery_id: int) -> str:
    # The row lock makes a second worker wait, then see SENT and skip: never two copies. Only the delivery's
    # row: locking the notification too would make "mark read" wait for a slow gateway.
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.QUEUED:
            return getattr(delivery, "status", "gone")  # sent or failed already: a retry does nothing
        if delivery.not_before and delivery.not_before > timezone.now():
            return "held"
        delivery.attempts += 1
        note = delivery.notification
        try:
            if delivery.channel == Channel.EMAIL:
                text = f"{note.body}\n\n{settings.SITE_URL}{note.url}" if note.url else note.body
                connection = get_connection(timeout=settings.EMAIL_TIMEOUT or MAIL_TIMEOUT)
                send_mail(
                    subject=note.title,
                    message=text,
                    from_email=None,
                    recipient_list=[delivery.address],
                    connection=connection,
                )
            else:
                send_sms(to=delivery.address, text=f"{note.title}: {note.body}"[:320])
        except SmsError as exc:
            return _failed(delivery, str(exc), transient=exc.transient)
        except smtplib.SMTPRecipientsRefused as exc:  # 5xx: the address will never work; 4xx: it may later
            codes = sorted({code for code, _text in exc.recipients.values()})
            reason = f"mail server refused the address ({', '.join(map(str, codes))})"
            return _failed(delivery, reason, transient=any(code < 500 for code in codes))
        except OSError as exc:  # SMTP refused or unreachable: worth another go
            return _failed(delivery, f"mail server: {exc}", transient=True)
        except SoftTimeLimitExceeded:
            raise  # the task is out of time: this attempt rolls back and deliver_batch queues it again
        except Exception as exc:  # cannot be sent as it is (e.g. a line break in a header): fail it, not the batch
            logger.exception("delivery %s cannot be sent", delivery.pk)
            return _failed(delivery, f"could not send: {exc}", transient=False)
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = timezone.now()
        delivery.error = ""
        delivery.save(update_fields=["status", "sent_at", "attempts", "error", "updated_at"])
        return delivery.status


def _failed(delivery: Delivery, reason: str, *, transient: bool) -> str:
    delivery.error = reason[:300]
    if transient and delivery.attempts < settings.NOTIFY_MAX_ATTEMPTS:
        delivery.save(update_fields=["attempts", "error", "updated_at"])
        return "retry"
    delivery.status = DeliveryStatus.FAILED
    delivery.save(update_fields=["status", "attempts", "error", "updated_at"])
    logger.warning("delivery %s failed for good: %s", delivery.pk, reason)
    return delivery.status


def deliver_batch(*, delivery_ids: list[int]) -> dict:
    """Send a batch; returns {"retry": ids to try again later, "held": {id: when}}."""
    retry, held = [], {}
    for n, delivery_id in enumerate(delivery_ids):
        try:
            status = delivery_send(delivery_id=delivery_id)
        except TransientDeliveryError:
            retry.append(delivery_id)
            continue
        except SoftTimeLimitExceeded:  # a slow gateway ate the task's time: the unsent rest goes back on the queue
            logger.warning("delivery batch out of time; %s deliveries queued again", len(delivery_ids) - n)
            retry.extend(delivery_ids[n:])
            break
        if status == "held":
            held[delivery_id] = Delivery.objects.filter(pk=delivery_id).values_list("not_before", flat=True).first()
    return {"retry": retry, "held": held}
