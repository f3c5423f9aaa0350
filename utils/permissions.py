from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from utils.net import client_ip  # noqa: F401  (moved to utils.net; this import path still works)


def role_required(*roles: str):
    """Signed in, and in one of the roles; otherwise 403 (anonymous users go to the login page)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if request.user.role not in roles or request.user.institute_id is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
