"""Abstract bases every domain app builds on."""

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class InstituteQuerySet(models.QuerySet):
    def for_institute(self, institute):
        return self.filter(institute=institute)


class InstituteOwned(TimeStampedModel):
    """A row that belongs to one institute; selectors always filter on this key."""

    institute = models.ForeignKey("accounts.Institute", on_delete=models.CASCADE, related_name="+")

    objects = InstituteQuerySet.as_manager()

    class Meta:
        abstract = True


# ---------------------------------------------------------------- notifications (one service for every app)


class NotificationKind(models.TextChoices):
    ANNOUNCEMENT = "announcement", "Announcements"
    ABSENCE = "absence", "Absence and lateness alerts"
    ALERT = "alert", "Risk and attendance alerts"
    SYSTEM = "system", "Account and system messages"


class Channel(models.TextChoices):
    IN_APP = "in_app", "In the app"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class Notification(InstituteOwned):
    """One message in a person's in-app inbox; email and SMS copies are Deliveries of it."""

    recipient = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    urgent = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    # Makes a re-run fan-out harmless: the same event never lands twice in one inbox.
    dedupe_key = models.CharField(max_length=100)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["recipient", "dedupe_key"], name="notification_once_per_event")]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread_idx")]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient_id}"


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(InstituteOwned):
    """An email or SMS copy of a notification: the delivery log admins read."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    address = models.CharField(max_length=254)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="Not sent before this time: quiet hours, or the wait before a retry."
    )
    # A worker that claims the delivery owns it until then; a worker killed mid-send leaves a lease that
    # expires, and the sweep (utils.dispatch) hands the delivery to another worker.
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["notification", "channel"], name="delivery_once_per_channel")]
        indexes = [
            models.Index(fields=["institute", "status", "-created_at"], name="delivery_log_idx"),
            # The sweep's question, "what is due?", reads only the unfinished rows.
            models.Index(
                fields=["status", "not_before"],
                name="delivery_due_idx",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.address}: {self.status}"


class NotificationPreference(InstituteOwned):
    """How a person wants one kind of notification; no row means the kind's defaults."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notification_preferences")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    sms = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="preference_once_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}"


class LiveEvent(models.Model):
    """The live-update transport when there is no Redis: the event endpoint polls this table."""

    user_id = models.BigIntegerField(db_index=True)
    event = models.CharField(max_length=40)
    data = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.event} → {self.user_id}"


class OutboxMessage(models.Model):
    """A task to queue, written in the transaction of the work that asks for it (a transactional outbox).

    After the commit the task is sent to the broker and the row deleted. A row that is still here a little
    later was not sent (the broker was down, or the process died in between): the sweep sends it. So work
    that committed always gets its side effects, at least once; the tasks themselves make a second run harmless.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.task} {self.kwargs}"
