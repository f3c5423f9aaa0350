"""Versioned cache keys: a change bumps the version of every grid it touches, so stale grids are never read.

Keys live in the shared cache (Redis in production), so every app process sees the same versions.
"""

from django.core.cache import cache

TTL = 60 * 60 * 6


def _version_key(scope: str) -> str:
    return f"ttv:{scope}"


def grid_key(*, institute_id: int, term_id: int, kind: str, obj_id: int, when: str = "latest") -> str:
    """`when` names the version shown ("latest", "all", or the first of the 7 dates shown)."""
    scopes = [f"inst:{institute_id}", f"{term_id}:{kind}:{obj_id}"]
    versions = cache.get_many([_version_key(s) for s in scopes])
    parts = [str(versions.get(_version_key(s), 0)) for s in scopes]
    # "ttgrid2": grid entries carry subject_id since students see only their enrolled subjects' lessons.
    return f"ttgrid2:{term_id}:{kind}:{obj_id}:{when}:" + ".".join(parts)


def _bump(scope: str) -> None:
    key = _version_key(scope)
    if not cache.add(key, 1, timeout=None):
        try:
            cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=None)


def invalidate_entries(*, term_id: int, sections=(), teachers=(), rooms=()) -> None:
    for kind, ids in (("section", sections), ("teacher", teachers), ("room", rooms)):
        for obj_id in set(ids):
            _bump(f"{term_id}:{kind}:{obj_id}")
    _bump(f"{term_id}:term:0")


def invalidate_institute(*, institute_id: int) -> None:
    """Rooms, slots or weeks changed: every grid of the institute is redrawn."""
    _bump(f"inst:{institute_id}")
