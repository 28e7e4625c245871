"""HTTP(S) transport: POST the message, the answer is the response body."""
import logging
import time

import requests

from . import TransportError

logger = logging.getLogger('Products.ERP5SyncML')

CONTENT_TYPE = 'application/vnd.syncml+xml'
ENTRY_POINT = 'portal_synchronizations/readResponse'
TIMEOUT = 120


def endpoint(url):
    """The seed's Publication Url names the master site; messages go to its
    tool's readResponse. A URL already naming an entry point is kept."""
    if url.rstrip('/').endswith('readResponse') or '?' in url:
        return url
    return url.rstrip('/') + '/' + ENTRY_POINT


def send(url, data, login=None, password=None, timeout=TIMEOUT, **kw):
    target = endpoint(url)
    auth = (login, password or '') if login else None
    started = time.time()
    try:
        response = requests.post(
            target, data=data, auth=auth, timeout=timeout,
            headers={'Content-Type': CONTENT_TYPE + '; charset=utf-8',
                     'Accept': CONTENT_TYPE,
                     'User-Agent': 'ERP5SyncML',
                     'Cache-Control': 'no-store'})
    except requests.RequestException as exc:
        raise TransportError('cannot reach %s: %s' % (target, exc)) from None
    logger.info('POST %s: %d bytes sent, HTTP %s, %d bytes received in %.3fs',
                target, len(data), response.status_code, len(response.content),
                time.time() - started)
    if response.status_code != 200:
        what = {401: 'authentication refused', 403: 'permission refused'}.get(
            response.status_code, 'error')
        raise TransportError('%s answered HTTP %s (%s): %s' % (
            target, response.status_code, what, response.text[:300].strip()),
            retry=response.status_code >= 500 or response.status_code == 408)
    return response.content
