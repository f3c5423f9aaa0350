"""SMS backends, chosen by the SMS_BACKEND setting: console (default) or an HTTP gateway."""

from django.conf import settings
from django.utils.module_loading import import_string


class SmsError(Exception):
    """Sending failed. `transient` says whether trying again later may help."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


def get_backend():
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, to: str, text: str, reference: str = "") -> str:
    """Send one text; returns the gateway's message id. Raises SmsError.

    `reference` is the same on every attempt of one message: a gateway that honours it sends a repeat once.
    """
    return get_backend().send(to=to, text=text, reference=reference)
