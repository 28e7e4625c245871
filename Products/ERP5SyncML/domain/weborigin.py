"""Checks and answers of the HTTP entry point that do not depend on the
message: where a request comes from, plain-text refusals."""
from urllib.parse import urlsplit

from .dispatch import Refused


def _origin(url):
    parts = urlsplit(url)
    return (parts.scheme.lower(), (parts.netloc or '').lower())


def check(request):
    """Refused when a browser posts from a page of another site (a forged
    form would run with the visitor's login): its Origin header names
    another host. SyncML clients send no Origin."""
    if request is None:
        return
    origin = request.get_header('Origin')
    if not origin or origin == 'null':
        if origin == 'null':
            raise Refused('cross-site request refused', 403)
        return
    own = _origin(request.get('SERVER_URL', ''))
    if _origin(origin) != own:
        raise Refused('cross-site request refused', 403)


def plain_error(response, status, text):
    """A refusal as plain text (never HTML: the text may quote the
    request)."""
    if response is not None:
        response.setStatus(status)
        response.setHeader('Content-Type', 'text/plain; charset=utf-8')
        response.setHeader('X-Content-Type-Options', 'nosniff')
    return text + '\n'
