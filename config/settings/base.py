"""Settings shared by every environment; everything site-specific comes from the environment."""

from datetime import timedelta

from celery.schedules import crontab
from django.utils.csp import CSP

from config.env import BASE_DIR, env

SECRET_KEY = env("SECRET_KEY", default="local-development-only-not-secret-6f1c0f0c8a0e4b7d9c")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # Django's widget templates, for the project form renderer below
]
THIRD_PARTY_APPS = ["django_htmx", "axes", "django_celery_beat"]
LOCAL_APPS = ["accounts", "enrollment", "timetable", "attendance", "announcements", "audit", "utils", "ai_features"]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files the production way (hashed names, far-future caching, compression) under WSGI and ASGI.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A NUL byte never reaches a view or the database (after auth and messages: the 400 page shows the user).
    "utils.middleware.RefuseHostileInputMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into our own friendly page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
            ],
        },
    }
]

# Forms render with templates/forms/div.html: form-wide errors once, in the alert box.
FORM_RENDERER = "utils.forms.CampusFormRenderer"

# Database: a SQLite file unless DATABASE_URL names another.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Services own their transactions (STYLE.md §10), so requests are not wrapped in one.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
# A kept connection the server dropped (restart, failover, pg_terminate_backend) is checked and replaced
# when the next request starts, instead of failing that request: one 500 per worker otherwise.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web, worker and beat share the file: wait for a lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when named, carries the cache, the Celery broker and the live events. The cache outlives a Redis
# outage (utils/cache.py: reads miss, writes are dropped, Redis is asked again every few seconds), and the
# sessions live in the database: a session cached in a Redis that missed a sign-out while it was away
# would sign the person in again once it came back.
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "utils.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="campus"),
            "OPTIONS": {
                # A Redis that does not answer costs a page a fraction of a second, once per RETRY_AFTER.
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=1.0),
                "RETRY_AFTER": env.float("CACHE_RETRY_AFTER", default=5.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "campus"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailOrUsernameBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling: a cool-off, never a permanent lock.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=6)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# "TeAcHeR3" and teacher3's email are one identity to the counter (see accounts.throttle).
AXES_USERNAME_CALLABLE = "accounts.throttle.login_identity"
AXES_CLIENT_IP_CALLABLE = "utils.net.client_ip"
# Password spraying (many usernames, one try each) never trips the per-account limit: failed sign-ins
# from one address across all usernames are capped too, for the same cool-off.
LOGIN_MAX_FAILURES_PER_IP = env.int("LOGIN_MAX_FAILURES_PER_IP", default=30)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Behind a reverse proxy REMOTE_ADDR is the proxy's: name the header it appends the client to (e.g.
# X-Forwarded-For) and how many proxies you run. Unset, REMOTE_ADDR is used (see utils.net.client_ip).
TRUSTED_PROXY_HEADER = env("TRUSTED_PROXY_HEADER", default="")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)

# One-time codes (NIST 800-63B / OWASP ASVS): short-lived, few tries, slow resends.
ONE_TIME_CODE_TTL = timedelta(minutes=10)
ONE_TIME_CODE_MAX_ATTEMPTS = 5
ONE_TIME_CODE_RESEND_COOLDOWN = timedelta(seconds=60)
ONE_TIME_CODE_MAX_PER_HOUR = 5
ONE_TIME_CODE_MAX_PER_IP_PER_HOUR = env.int("ONE_TIME_CODE_MAX_PER_IP_PER_HOUR", default=30)
PENDING_REGISTRATION_TTL = timedelta(hours=1)
INVITATION_TTL = timedelta(days=env.int("INVITATION_TTL_DAYS", default=7))
GUARDIAN_LINK_CODE_TTL = timedelta(days=env.int("GUARDIAN_LINK_CODE_TTL_DAYS", default=30))

# Email: console unless EMAIL_URL names a server (smtp://user:pass@host:port).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Campus <no-reply@campus.localhost>")

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
MEDIA_ROOT = BASE_DIR / "var" / "media"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# Content-Security-Policy: only our own origin; scripts need the per-request nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Celery: JSON only, late acks, work enqueued after commit, bounded run time.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # A broker that needs no server: web, worker and beat exchange messages through a folder.
    _queue_dir = BASE_DIR / "var" / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(BASE_DIR / "var" / "celery" / "processed"),
        # The exchange tables (kombu's default is ./control, relative to where a process starts).
        "control_folder": str(BASE_DIR / "var" / "celery" / "control"),
        "store_processed": False,
        # The folder is checked every second by default; a tenth keeps each hop of the first run quick.
        "polling_interval": 0.1,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TIMEZONE = TIME_ZONE
# Two queues, each with its own worker: "default" for the short work people wait on (mail, codes, notifications,
# alerts) and "long" for work that runs for seconds to minutes (timetable generation, the recommendation job), so
# a few whole-term generations never hold up a password-reset mail. A new long task must be added here (a test
# lists every task and fails on one that is not classified).
CELERY_TASK_DEFAULT_QUEUE = "default"
LONG_TASK_QUEUE = "long"
LONG_TASKS = (
    "timetable.tasks.suggestion_generate_task",
    "ai_features.tasks.recommendations_run_task",
    "ai_features.tasks.recommendations_institute_task",
    "ai_features.tasks.recommendations_chunk_task",
)
CELERY_TASK_ROUTES = {name: {"queue": LONG_TASK_QUEUE} for name in LONG_TASKS}
# Redis gives an unacknowledged message to another worker after this long: it must outlast the longest task
# (a generation's 900 s limit), or a running task would be started twice. No task waits on the broker for a
# later time (an eta): retries and held texts wait in the database, and the sweep below queues them.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=1800)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# The transactional outbox (utils/outbox.py) and the delivery sweep: a row older than the grace was missed by
# the broker (or its worker died) and is sent by the sweep, which beat runs this often.
OUTBOX_GRACE_SECONDS = env.float("OUTBOX_GRACE_SECONDS", default=30.0)
DISPATCH_SWEEP_SECONDS = env.float("DISPATCH_SWEEP_SECONDS", default=20.0)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "purge-expired-codes-and-registrations": {
        "task": "accounts.tasks.purge_expired_task",
        "schedule": crontab(minute="*/15"),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors_in_one_line": {"()": "utils.logging.ClientErrorsInOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # A 403 or 400 is the client's doing: one line, not the traceback of the PermissionDenied behind it.
        "django.request": {"filters": ["client_errors_in_one_line"]},
        "django.security": {"filters": ["client_errors_in_one_line"]},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # The AI SDKs' HTTP clients log every request at INFO.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}

# Notifications: SMS through the console unless a gateway is configured; how often to retry a send.
SMS_BACKEND = env("SMS_BACKEND", default="utils.sms.console.ConsoleBackend")
SMS_HTTP_URL = env("SMS_HTTP_URL", default="")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", default="")
SMS_SENDER = env("SMS_SENDER", default="Campus")
SMS_HTTP_TIMEOUT = env.float("SMS_HTTP_TIMEOUT", default=10.0)
NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=5)
# The wait before the second try of a failed send; it doubles with every try, up to 20 times this.
NOTIFY_RETRY_SECONDS = env.float("NOTIFY_RETRY_SECONDS", default=30.0)
# How long a worker owns a delivery it is sending: above the longest send (mail and gateway time out at about
# 10 s per step), short enough that a killed worker's deliveries go out again within a few minutes.
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=120)
# Live updates (utils/live.py): one event stream stays open this long, then the browser reconnects; a
# comment line every heartbeat keeps proxies from closing an idle stream; the database transport (no
# Redis) looks for new events this often.
LIVE_STREAM_SECONDS = env.int("LIVE_STREAM_SECONDS", default=300)
LIVE_HEARTBEAT_SECONDS = env.int("LIVE_HEARTBEAT_SECONDS", default=15)
LIVE_POLL_SECONDS = env.float("LIVE_POLL_SECONDS", default=0.5)
# Caps on open streams, counted in each app process (utils/live_slots.py): past them a new stream is refused
# (429 / 503) and the page's SSE extension retries later, its elements polling meanwhile. A stream reads
# the session and then holds no database connection; at most this many streams of a process read theirs
# at once, so a burst of reconnects cannot use up the database's connections.
LIVE_MAX_STREAMS_PER_USER = env.int("LIVE_MAX_STREAMS_PER_USER", default=5)
LIVE_MAX_STREAMS_PER_PROCESS = env.int("LIVE_MAX_STREAMS_PER_PROCESS", default=1000)
LIVE_MAX_CONCURRENT_SIGN_INS = env.int("LIVE_MAX_CONCURRENT_SIGN_INS", default=10)
CELERY_BEAT_SCHEDULE["dispatch-sweep"] = {
    "task": "utils.tasks.dispatch_sweep_task",
    "schedule": DISPATCH_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["purge-live-events"] = {"task": "utils.tasks.purge_live_events_task", "schedule": 300.0}
CELERY_BEAT_SCHEDULE["publish-due-announcements"] = {
    "task": "announcements.tasks.announcements_publish_due_task",
    "schedule": 60.0,
}

# Attendance rules an institute may tune.
ATTENDANCE_LOCK_HOURS = env.int("ATTENDANCE_LOCK_HOURS", default=48)
ATTENDANCE_WARN_BELOW = env.int("ATTENDANCE_WARN_BELOW", default=75)
ATTENDANCE_CONSECUTIVE_ABSENCES = env.int("ATTENDANCE_CONSECUTIVE_ABSENCES", default=3)
# Guardians are alerted of absence/lateness only when the register is saved within this many days of the
# lesson (0: on the lesson's day). A register back-filled later is saved, but alerts no guardian.
ATTENDANCE_ALERT_WINDOW_DAYS = env.int("ATTENDANCE_ALERT_WINDOW_DAYS", default=0)

# Timetable generator: a Celery worker loads the compiled search at start (in the background).
TIMETABLE_WARM_KERNEL = env.bool("TIMETABLE_WARM_KERNEL", default=True)
# Cores one generation may use: CP-SAT's search workers and, on long runs, parallel annealing runs. On tight
# FET schools CP-SAT with one worker failed where two solved them in 2.5 s.
TIMETABLE_WORKERS = env.int("TIMETABLE_WORKERS", default=2)
# How many generations one institute may have waiting or running at once; a further request is refused.
TIMETABLE_MAX_RUNNING_PER_INSTITUTE = env.int("TIMETABLE_MAX_RUNNING_PER_INSTITUTE", default=1)
# A waiting or running generation not touched for this long is taken for lost (a worker killed, a message
# dropped) and no longer counts: above a run's own limit (600 s at most) and the task's hard limit (900 s, which
# the threads pool of `make run` does not enforce).
TIMETABLE_STALE_AFTER_SECONDS = env.int("TIMETABLE_STALE_AFTER_SECONDS", default=1200)
# seed_demo builds the demo week with the generator, in its own process, for this long.
DEMO_TIMETABLE_SECONDS = env.float("DEMO_TIMETABLE_SECONDS", default=3.0)

# AI study assistant (ai_features/): which provider answers, and how hard it may be used. The offline provider
# (answers from the student's own records, no network) is the default, so a first run needs no key.
AI_PROVIDER = env("AI_PROVIDER", default="offline")  # offline | openai | groq
AI_MODEL = env("AI_MODEL", default="")  # empty: the provider's default model
AI_BASE_URL = env("AI_BASE_URL", default="")  # empty: the provider's public endpoint
AI_API_KEY = env("AI_API_KEY", default="")  # empty: OPENAI_API_KEY / GROQ_API_KEY
AI_TIMEOUT = env.float("AI_TIMEOUT", default=20.0)  # seconds per call (the SDKs' own default is 10 minutes)
AI_MAX_RETRIES = env.int("AI_MAX_RETRIES", default=2)  # after a timeout, 429 or 5xx
AI_RETRY_BACKOFF = env.float("AI_RETRY_BACKOFF", default=1.0)  # seconds before the first retry, doubled each time
AI_MAX_TOKENS = env.int("AI_MAX_TOKENS", default=600)
AI_FALLBACK_OFFLINE = env.bool("AI_FALLBACK_OFFLINE", default=True)  # answer from the records when the provider fails
AI_RATE_LIMIT = env.int("AI_RATE_LIMIT", default=10)  # messages per person per window (Django cache)
AI_RATE_WINDOW_SECONDS = env.int("AI_RATE_WINDOW_SECONDS", default=60)
AI_DAILY_QUOTA = env.int("AI_DAILY_QUOTA", default=100)  # messages per person per day (counted in the database)
AI_HISTORY_MESSAGES = env.int("AI_HISTORY_MESSAGES", default=12)  # earlier turns sent with a question
AI_PHRASE_RECOMMENDATIONS = env.bool("AI_PHRASE_RECOMMENDATIONS", default=True)  # only when a provider is online
# Daily study recommendations: the window the rules read, how long one reason stays quiet, chunk size per task.
RECOMMENDATION_WINDOW_DAYS = env.int("RECOMMENDATION_WINDOW_DAYS", default=30)
RECOMMENDATION_DEDUPE_DAYS = env.int("RECOMMENDATION_DEDUPE_DAYS", default=7)
RECOMMENDATION_EXPIRE_DAYS = env.int("RECOMMENDATION_EXPIRE_DAYS", default=21)
RECOMMENDATION_CHUNK_SIZE = env.int("RECOMMENDATION_CHUNK_SIZE", default=500)
CELERY_BEAT_SCHEDULE["daily-study-recommendations"] = {
    "task": "ai_features.tasks.recommendations_run_task",
    "schedule": crontab(hour=5, minute=30),
}
