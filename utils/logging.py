"""Logging helpers named in settings.LOGGING."""

import logging


class ClientErrorsInOneLine(logging.Filter):
    """Drop the traceback from 4xx records (PermissionDenied, SuspiciousOperation, Http404).

    Django logs them with the exception attached, so each 403 filled the web log with a stack trace
    that only says the access check worked. Server errors (5xx) keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
