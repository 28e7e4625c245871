"""HTTP(S) transport: POST the message, the answer is the response body.

Redirects are never followed (the stored credentials go only to the URL
the administrator configured) and the whole exchange has a deadline
(``settings.http_deadline``), so a peer that answers one byte a minute
cannot hold a tic.
"""
import logging
import time

import requests
import urllib3

from .. import settings
from . import TransportError

logger = logging.getLogger('Products.ERP5SyncML')

CONTENT_TYPE = 'application/vnd.syncml+xml'
ENTRY_POINT = 'portal_synchronizations/readResponse'
CHUNK = 64 * 1024


def endpoint(url):
    """The seed's Publication Url names the master site; messages go to its
    tool's readResponse. A URL already naming an entry point is kept."""
    if url.rstrip('/').endswith('readResponse') or '?' in url:
        return url
    return url.rstrip('/') + '/' + ENTRY_POINT


def _too_slow(target, deadline):
    return TransportError('%s did not answer within %gs' % (target, deadline))


def _read_body(response, target, started, deadline, max_size):
    """The response body, read as it comes with the socket's timeout set
    to the time left before the deadline."""
    raw = response.raw
    chunks = []
    size = 0
    while True:
        left = deadline - (time.monotonic() - started)
        if left <= 0:
            raise _too_slow(target, deadline)
        sock = getattr(getattr(raw, 'connection', None), 'sock', None)
        if sock is not None:
            sock.settimeout(left)
        try:
            chunk = raw.read1(CHUNK)
        except (OSError, urllib3.exceptions.HTTPError):
            if time.monotonic() - started >= deadline:
                raise _too_slow(target, deadline) from None
            raise
        if not chunk:
            return b''.join(chunks)
        size += len(chunk)
        if size > max_size:
            raise TransportError('%s answered more than %d bytes'
                                 % (target, max_size), retry=False)
        chunks.append(chunk)


def send(url, data, login=None, password=None, timeout=None, exact_url=False,
         **kw):
    """POST ``data``; ``exact_url``: ``url`` names the entry point itself
    (a standard SyncML server, or the RespURI it gave)."""
    target = url if exact_url else endpoint(url)
    auth = (login, password or '') if login else None
    deadline = timeout or settings.http_deadline()
    started = time.monotonic()
    try:
        response = requests.post(
            target, data=data, auth=auth, timeout=(min(10.0, deadline), deadline),
            allow_redirects=False, stream=True,
            headers={'Content-Type': CONTENT_TYPE + '; charset=utf-8',
                     'Accept': CONTENT_TYPE,
                     'User-Agent': 'ERP5SyncML',
                     'Cache-Control': 'no-store'})
        try:
            content = _read_body(response, target, started, deadline,
                                 settings.max_message_size())
        finally:
            response.close()
    except (requests.RequestException, urllib3.exceptions.HTTPError,
            OSError) as exc:
        raise TransportError('cannot reach %s: %s' % (target, exc)) from None
    logger.info('POST %s: %d bytes sent, HTTP %s, %d bytes received in %.3fs',
                target, len(data), response.status_code, len(content),
                time.monotonic() - started)
    status = response.status_code
    if 300 <= status < 400:
        raise TransportError('%s answered HTTP %s (a redirect to %s): not'
                             ' followed, correct the URL instead'
                             % (target, status, response.headers.get('Location')),
                             retry=False)
    if status != 200:
        what = {401: 'authentication refused', 403: 'permission refused'}.get(
            status, 'error')
        text = content[:300].decode('utf-8', 'replace').strip()
        error = TransportError('%s answered HTTP %s (%s): %s' % (
            target, status, what, text),
            retry=status >= 500 or status == 408)
        error.http_status = status
        raise error
    kind = response.headers.get('Content-Type', '').split(';')[0].strip().lower()
    if content and kind in ('text/html', 'application/xhtml+xml'):
        raise TransportError('%s answered an HTML page, not a SyncML message'
                             ' (is the URL right?)' % target, retry=False)
    return content
