"""Transports: deliver a SyncML message to a URL, chosen by URL scheme.

Each transport is a function ``send(url, data, login, password) -> reply``
where ``reply`` is the peer's answer (bytes) when the transport is
request/response (HTTP) and None otherwise (file, mail).
"""
from urllib.parse import urlsplit


class TransportError(Exception):
    """The message could not be delivered (peer down, HTTP error...).

    ``retry`` is False when sending the same message again cannot help
    (the peer refused it: bad credentials, bad request).
    """

    def __init__(self, message, retry=True):
        Exception.__init__(self, message)
        self.retry = retry


def scheme_of(url):
    return urlsplit(url).scheme.lower()


def get_transport(url):
    scheme = scheme_of(url)
    if scheme in ('http', 'https'):
        from . import http
        return http.send
    if scheme == 'file':
        from . import file
        return file.send
    if scheme == 'mailto':
        from . import mailto
        return mailto.send
    raise TransportError('no transport for URL %r (use http, https, file or mailto)'
                         % url, retry=False)


def check_url(url):
    """TransportError unless messages may be sent to ``url`` (a file: URL
    only in the directory the settings allow)."""
    transport = get_transport(url)
    if scheme_of(url) == 'file':
        from . import file
        file.path_of(url)
    return transport


def send(url, data, login=None, password=None, **kw):
    return get_transport(url)(url, data, login=login, password=password, **kw)


def is_request_response(url):
    return scheme_of(url) in ('http', 'https')
