"""The first-run settings: SQLite, local-memory cache, console email, a folder as Celery broker.

`make run` shows the product as users see it: DEBUG is off unless DEBUG=true is set (then Django's
debug pages, and static files straight from the source folders).
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DEBUG", default=False)
# Hashed, compressed static files from `collectstatic` (run by `make run`), as in production.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
