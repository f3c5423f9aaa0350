"""Sign-in throttling: one identity per person for django-axes, and a cap per client address.

Axes counts failures per (identity, address). It would count the name as typed, so "TeAcHeR3" or
teacher3's email address would each get their own tries: `login_identity` maps every spelling to one.
A password sprayer tries many names once each, which no per-name counter sees, so failures from one
address are also capped across all names (`LOGIN_MAX_FAILURES_PER_IP` per cool-off).
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from accounts.models import User

logger = logging.getLogger(__name__)

_FIELD = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")


def login_identity(request, credentials: dict | None = None) -> str:
    """The name axes counts a sign-in under (its AXES_USERNAME_CALLABLE).

    The username of the account the sign-in backend would pick, lower-cased; for a name or address with
    no account, the trimmed, lower-cased text, so unknown ones are counted like known ones.
    """
    if credentials is not None:
        typed = credentials.get(_FIELD)
    else:
        typed = request.POST.get(_FIELD) if request is not None else None
    typed = (typed or "").strip().lower()
    if not typed:
        return ""
    # Axes asks several times per sign-in: look the person up once per request.
    memo = getattr(request, "_login_identities", None) if request is not None else None
    if memo is None:
        memo = {}
        if request is not None:
            request._login_identities = memo
    if typed not in memo:
        # The same lookup as accounts.backends.EmailOrUsernameBackend, so both agree on who it is.
        username = (
            User.objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
            .values_list("username", flat=True)
            .first()
        )
        memo[typed] = username.lower() if username else typed
    return memo[typed]


def _ip_key(ip: str | None) -> str:
    return f"login-fail-ip:{ip or 'unknown'}"


def ip_sign_in_paused(ip: str | None) -> bool:
    try:
        return (cache.get(_ip_key(ip)) or 0) >= settings.LOGIN_MAX_FAILURES_PER_IP
    except Exception as exc:  # cache down: sign-in goes on, still throttled per person by axes (database)
        logger.warning("sign-in limit per address unreadable: %s", exc)
        return False


def ip_sign_in_failed(ip: str | None) -> None:
    """Count a failed sign-in from this address; the window starts with its first failure."""
    key, timeout = _ip_key(ip), int(settings.AXES_COOLOFF_TIME.total_seconds())
    try:
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add and incr
            cache.set(key, 1, timeout=timeout)
    except Exception as exc:
        logger.warning("sign-in failure per address not counted: %s", exc)
