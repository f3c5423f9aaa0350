"""Request-wide refusals that no single view should have to remember (see utils/params.py for the rest)."""

from django.core.exceptions import BadRequest


class RefuseHostileInputMiddleware:
    """A NUL byte in the path or any parameter is a friendly 400 page.

    PostgreSQL cannot store or even compare a string with a NUL byte (psycopg raises, which was a 500); Django's
    form CharFields refuse one, but hand-read parameters and path strings reach queries unchecked.
    (An id in the path past the integer range needs nothing here: Django turns such an exact lookup into
    "no row", so it is a 404; tests/test_bad_parameters.py pins that.)
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(_has_nul(q) for q in (request.GET, _post_if_form(request))):
            # Raised, not returned, so Django's handler400 draws the page like any other bad request.
            raise BadRequest("A NUL byte in the request")
        return self.get_response(request)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _post_if_form(request):
    # Only form posts are parsed here: reading request.POST of another content type would consume the body.
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        return request.POST
    return {}


def _has_nul(query) -> bool:
    if not query:
        return False
    return any("\x00" in key or any("\x00" in v for v in query.getlist(key)) for key in query)
