"""Test settings: real PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, else SQLite."""

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if "KEY_PREFIX" in CACHES["default"]:
    CACHES["default"]["KEY_PREFIX"] = "campus-test"

# Tasks run in-process at commit; tests that need the real worker path start one on this broker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=env("REDIS_URL", default="") or "memory://")
CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
# The test workers run no generation that needs it, and the kernel tests load it themselves.
TIMETABLE_WARM_KERNEL = env.bool("TIMETABLE_WARM_KERNEL", default=False)
AXES_FAILURE_LIMIT = 5
DEMO_TIMETABLE_SECONDS = env.float("DEMO_TIMETABLE_SECONDS", default=1.0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not shared-cache memory: threads (live server, worker) then wait on SQLite's busy timeout
    # and WAL lets them read while another writes, as in `make run`, instead of failing "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}  # noqa: F405
# Static files come from the source folders (no collectstatic in tests); an empty STATIC_ROOT keeps WhiteNoise quiet.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = BASE_DIR / "var" / "test-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
