"""Secrets for codes and tokens: generated with `secrets`, stored only as keyed hashes."""

import hashlib
import hmac
import secrets

from django.conf import settings

LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by hand


def new_numeric_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_link_code() -> str:
    raw = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(9))
    return f"{raw[:3]}-{raw[3:6]}-{raw[6:]}"


def normalise_link_code(value: str) -> str:
    raw = "".join(ch for ch in value.upper() if ch.isalnum())
    return f"{raw[:3]}-{raw[3:6]}-{raw[6:]}" if len(raw) == 9 else value.strip().upper()


def keyed_hash(value: str, *, context: str) -> str:
    """HMAC-SHA256 under the site key, bound to a context so a hash is useless elsewhere."""
    key = hashlib.sha256(f"campus-codes:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{context}:{value}".encode(), hashlib.sha256).hexdigest()


def hashes_match(stored: str, candidate: str) -> bool:
    return hmac.compare_digest(stored.encode(), candidate.encode())
