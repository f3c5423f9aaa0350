import logging
import uuid

logger = logging.getLogger("campus.sms")


class ConsoleBackend:
    """Writes texts to the log: the first-run default, so nothing leaves the machine."""

    def send(self, *, to: str, text: str, reference: str = "") -> str:
        message_id = uuid.uuid4().hex
        logger.info("SMS to %s (%s): %s", to, message_id, text)
        return message_id
