"""A person's inbox, badge and preferences; the admin's delivery log."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from audit.services import audit_record
from utils.models import Channel, Delivery, DeliveryStatus, Notification, NotificationKind, NotificationPreference
from utils.notifications import channels_for
from utils.params import parse_choice, parse_ids, parse_page
from utils.permissions import role_required


@login_required
@require_GET
def badge(request):
    unread = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "notifications/_badge.html", {"unread": unread})


@login_required
@require_GET
def inbox(request):
    page = Paginator(Notification.objects.filter(recipient=request.user), 30).get_page(parse_page(request))
    return render(request, "notifications/inbox.html", {"page": page})


@login_required
@require_POST
def mark_read(request):
    qs = Notification.objects.filter(recipient=request.user, read_at__isnull=True)
    ids = parse_ids(request, "id")
    if ids:
        qs = qs.filter(pk__in=ids)
    qs.update(read_at=timezone.now())
    return redirect("notifications:inbox")


class PreferencesForm(forms.Form):
    sms_quiet_from = forms.TimeField(
        label="No SMS from", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    sms_quiet_until = forms.TimeField(label="until", required=False, widget=forms.TimeInput(attrs={"type": "time"}))

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            for channel in Channel:
                name = f"{kind.value}__{channel.value}"
                self.fields[name] = forms.BooleanField(
                    label=channel.label, required=False, initial=choices[kind.value][channel.value]
                )

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("sms_quiet_from")) != bool(cleaned.get("sms_quiet_until")):
            raise forms.ValidationError("Give both ends of the quiet hours, or neither.")
        return cleaned

    def rows(self):
        return [(kind, [self[f"{kind.value}__{c.value}"] for c in Channel]) for kind in NotificationKind]


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    user = request.user
    saved = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    choices = {
        k.value: channels_for(kind=k.value, urgent=False, preference=saved.get(k.value)) for k in NotificationKind
    }
    form = PreferencesForm(
        request.POST or None,
        choices=choices,
        initial={"sms_quiet_from": user.sms_quiet_from, "sms_quiet_until": user.sms_quiet_until},
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            for kind in NotificationKind:
                values = {c.value: form.cleaned_data[f"{kind.value}__{c.value}"] for c in Channel}
                NotificationPreference.objects.update_or_create(
                    user=user, kind=kind.value, defaults={"institute_id": user.institute_id, **values}
                )
            user.sms_quiet_from = form.cleaned_data["sms_quiet_from"]
            user.sms_quiet_until = form.cleaned_data["sms_quiet_until"]
            user.save(update_fields=["sms_quiet_from", "sms_quiet_until"])
            audit_record(
                institute=user.institute,
                actor=user,
                action="notifications.preferences",
                obj=user,
                summary=f"{user.full_name} changed how they are notified",
            )
        messages.success(request, "Your notification choices are saved.")
        return redirect("notifications:preferences")
    return render(request, "notifications/preferences.html", {"form": form})


@role_required(Role.ADMIN)
@require_GET
def deliveries(request):
    qs = Delivery.objects.filter(institute=request.user.institute).select_related("notification__recipient")
    status = parse_choice(request, "status", DeliveryStatus.values, "", fallback="showing every status")
    channel = parse_choice(request, "channel", Channel.values, "", fallback="showing every channel")
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    if channel in Channel.values:
        qs = qs.filter(channel=channel)
    page = Paginator(qs, 50).get_page(parse_page(request))
    context = {
        "page": page,
        "status": status,
        "channel": channel,
        "statuses": DeliveryStatus.choices,
        "channels": [c for c in Channel.choices if c[0] != Channel.IN_APP],
    }
    return render(request, "notifications/deliveries.html", context)
