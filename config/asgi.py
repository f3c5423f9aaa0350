"""The ASGI entry point: pages and the live event stream (`/live/events/`) under uvicorn.

Under ASGI every request runs its sync code in a thread of its own, so a persistent database
connection would be left open per thread: connections are closed after each request here unless
CONN_MAX_AGE is set explicitly. With DEBUG on (`make run`), static files are served too.
"""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("CONN_MAX_AGE", "0")
application = get_asgi_application()

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
