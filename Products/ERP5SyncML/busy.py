"""A sync entry point that keeps hitting ZODB conflicts answers "busy".

Zope's publisher retries a request that raised a ConflictError
(``max-conflict-retries`` in zope.conf, 3 by default). When the last retry
conflicts too, the publisher looks up an exception view: for a SyncML
entry point (``readResponse``) this one answers HTTP 503 with a
Retry-After header, which the peer's delivery retries, instead of an
HTTP 500 that looks like a bug. Other requests keep Zope's usual answer.
"""
import logging

logger = logging.getLogger('Products.ERP5SyncML')

RETRY_AFTER = 5   # seconds
ENTRY_POINTS = ('readResponse',)


def is_sync_entry_point(request):
    path = request.get('PATH_INFO', '') or ''
    return path.rstrip('/').rsplit('/', 1)[-1] in ENTRY_POINTS


class ConflictAnswer:
    """Exception view (name ``index.html``) for ConflictError."""

    def __init__(self, context, request):
        self.context = context
        self.request = request

    def __call__(self):
        if not is_sync_entry_point(self.request):
            raise self.context   # Zope's standard error handling
        response = self.request.response
        response.setStatus(503)
        response.setHeader('Retry-After', str(RETRY_AFTER))
        response.setHeader('Content-Type', 'text/plain; charset=utf-8')
        logger.warning('%s: ZODB conflicts after %d retries: answered 503',
                       self.request.get('PATH_INFO'),
                       getattr(self.request, 'retry_count', 0))
        return 'busy: conflicting writes, send the message again later\n'
