"""The client's address, as seen through the configured reverse proxies."""

import ipaddress
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def _header_key(name: str) -> str:
    """`X-Forwarded-For` or `HTTP_X_FORWARDED_FOR` → the request.META key."""
    key = name.strip().upper().replace("-", "_")
    return key if key.startswith("HTTP_") else f"HTTP_{key}"


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234" (some proxies add the port)
        value = value.split(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address limits and sign-in throttling count against.

    Without TRUSTED_PROXY_HEADER it is REMOTE_ADDR. With it, each of the TRUSTED_PROXY_COUNT proxies in
    front of the app appended the address it saw, so the client is the TRUSTED_PROXY_COUNT-th entry from
    the right: entries further left were written by the client and prove nothing. A header shorter than
    that (the request skipped a proxy) or unreadable falls back to REMOTE_ADDR rather than trust it.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return remote
    raw = request.META.get(_header_key(header), "")
    hops = [part for part in raw.split(",") if part.strip()]
    count = max(1, settings.TRUSTED_PROXY_COUNT)
    if len(hops) < count:
        return remote
    found = _valid_ip(hops[-count])
    if found is None:
        logger.warning("unreadable %s entry %r; using REMOTE_ADDR", header, hops[-count][:60])
        return remote
    return found
