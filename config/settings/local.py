"""The first-run settings: SQLite, local-memory cache, console email, a folder as Celery broker."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
