"""Rendering and sending of transactional mail (issue #4 grows this into the notification service)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated_mail(*, to: str, template: str, context: dict) -> None:
    """Render `templates/email/<template>.{subject.txt,txt,html}` and send it; raises on failure."""
    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"email/{template}.subject.txt", context).strip()
    text = render_to_string(f"email/{template}.txt", context)
    html = render_to_string(f"email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to], from_email=settings.DEFAULT_FROM_EMAIL)
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
