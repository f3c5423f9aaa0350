import re

from django.core import mail


def last_code(email: str) -> str:
    """The 6-digit code in the newest mail sent to `email`."""
    for message in reversed(mail.outbox):
        if email.lower() in [to.lower() for to in message.to]:
            found = re.search(r"\b(\d{6})\b", message.body)
            if found:
                return found.group(1)
    raise AssertionError(f"no code mailed to {email}")


def mails_to(email: str):
    return [m for m in mail.outbox if email.lower() in [to.lower() for to in m.to]]
