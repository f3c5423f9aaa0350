"""Chat sessions with the study assistant, their messages, and daily study recommendations.

Every assistant answer keeps the exact context it was given (`ChatMessage.context_data`), and every
recommendation keeps the evidence its rule computed (`StudyRecommendation.data`), so both can be
explained later.
"""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from utils.models import InstituteOwned


class AIChat(InstituteOwned):
    """One conversation: a student's own, or a guardian's about one linked child (`student`)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="ai_chats")
    student = models.ForeignKey("accounts.StudentProfile", on_delete=models.CASCADE, related_name="ai_chats")
    session_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["user", "-updated_at"], name="aichat_user_recent_idx")]

    def __str__(self) -> str:
        return self.title or f"Chat {self.session_id}"


class Sender(models.TextChoices):
    USER = "user", _("You")
    AI = "ai", _("Assistant")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")  # a question not answered yet
    ANSWERED = "answered", _("Answered")  # a question with its answer
    FAILED = "failed", _("Could not be answered")  # a question whose answer failed: it can be tried again
    OK = "ok", _("Answer")  # an answer from the configured provider
    FALLBACK = "fallback", _("Answer from your records")  # the offline provider stood in for a failed one


class ChatMessage(InstituteOwned):
    chat = models.ForeignKey(AIChat, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=8, choices=Sender.choices)
    message = models.TextField()
    status = models.CharField(max_length=10, choices=MessageStatus.choices)
    # The question an answer replies to: one answer per question, even if two streams race.
    reply_to = models.OneToOneField("self", on_delete=models.CASCADE, null=True, blank=True, related_name="reply")
    context_data = models.JSONField(default=dict, blank=True, help_text=_("The student context the answer used."))
    provider = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=300, blank=True, help_text=_("What the person was told when it failed."))

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(sender__in=Sender.values), name="chatmessage_sender_valid"),
            models.CheckConstraint(
                condition=Q(sender="user", reply_to__isnull=True) | Q(sender="ai", reply_to__isnull=False),
                name="chatmessage_only_answers_reply",
            ),
        ]
        indexes = [models.Index(fields=["chat", "created_at"], name="chatmessage_chat_idx")]

    def __str__(self) -> str:
        return f"{self.sender}: {self.message[:40]}"


class RecommendationType(models.TextChoices):
    ATTENDANCE = "attendance", _("Attendance")
    UNDERSTANDING = "understanding", _("Weak subject")
    CATCH_UP = "catch_up", _("Missed topics")
    PATTERN = "pattern", _("Study pattern")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")


class RecommendationStatus(models.TextChoices):
    ACTIVE = "active", _("Open")
    COMPLETED = "completed", _("Done")
    DISMISSED = "dismissed", _("Dismissed")
    EXPIRED = "expired", _("Expired")


class StudyRecommendationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=RecommendationStatus.ACTIVE)


class StudyRecommendation(InstituteOwned):
    """A suggestion from the daily job. The rule's evidence is `data`; a provider may only phrase the text."""

    student = models.ForeignKey(
        "accounts.StudentProfile", on_delete=models.CASCADE, related_name="study_recommendations"
    )
    type = models.CharField(max_length=16, choices=RecommendationType.choices)
    # What the recommendation is about, e.g. "attendance:12" (subject 12): the dedupe window is per reason.
    reason_key = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    description = models.TextField()
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    confidence = models.FloatField(validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    data = models.JSONField(default=dict, help_text=_("The evidence the rule computed."))
    subjects = models.ManyToManyField("enrollment.Subject", blank=True, related_name="study_recommendations")
    generated_on = models.DateField()
    phrased_by = models.CharField(max_length=20, default="offline")
    status = models.CharField(max_length=10, choices=RecommendationStatus.choices, default=RecommendationStatus.ACTIVE)
    acted_at = models.DateTimeField(null=True, blank=True)

    objects = StudyRecommendationQuerySet.as_manager()

    class Meta:
        ordering = ["-generated_on", "-priority", "-id"]
        constraints = [
            # A re-delivered chunk (or two workers on one) cannot make a second copy on the same day.
            models.UniqueConstraint(
                fields=["student", "reason_key", "generated_on"], name="recommendation_once_per_reason_and_day"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="recommendation_confidence_0_1"
            ),
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=3), name="recommendation_priority_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=RecommendationStatus.values), name="recommendation_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["student", "status"], name="recommendation_student_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.student_id}"
