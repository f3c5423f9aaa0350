"""The ASGI entry point: pages and the live event stream (`/live/events/`) under uvicorn.

Under ASGI every request runs its sync code in a thread of its own, so a persistent database
connection would be left open per thread: connections are closed after each request here unless
CONN_MAX_AGE is set explicitly. Static files are served by WhiteNoise's middleware (see MIDDLEWARE).
"""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ.setdefault("CONN_MAX_AGE", "0")
# WhiteNoise hands Django a file iterator; under ASGI Django reads it in a thread and warns once. Harmless
# for small static files, and it would be the first line of every web log.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
application = get_asgi_application()
