"""Request-wide refusals that no single view should have to remember (see utils/params.py for the rest)."""

from django.core.exceptions import BadRequest
from django.http import Http404

from utils.params import MAX_ID


class RefuseHostileInputMiddleware:
    """A NUL byte in the path or any parameter is a friendly 400; an id in the path past the database's integer
    range is a 404 (no row can have it).

    PostgreSQL cannot store or even compare a string with a NUL byte (psycopg raises, which was a 500), and
    `<int:...>` path converters accept any number of digits, which SQLite and PostgreSQL then refuse to bind.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(_has_nul(q) for q in (request.GET, _post_if_form(request))):
            # Raised, not returned, so Django's handler400 draws the page like any other bad request.
            raise BadRequest("A NUL byte in the request")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        for value in list(view_args) + list(view_kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and not -MAX_ID <= value <= MAX_ID:
                raise Http404("No such object")
        return None


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
