"""Friendly error pages: a plain message and a way on, never a stack trace."""

from django.http import HttpResponseServerError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # Rendered without the request: its context processors read the session and the user, which may be
    # what just failed (the database, a session store).
    return HttpResponseServerError(render_to_string("errors/500.html"))


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for on their own: the collected (hashed) icon in static/."""
    return redirect(static("favicon.ico"))
