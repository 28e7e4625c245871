"""The site-to-site HTTP entry point (``readResponse``): check, decode,
authenticate, route, answer.

A body that is not a SyncML message gets a plain-text error; anything
refused after the message parsed is answered in SyncML (a Status), so a
peer always reads its errors the way it reads answers.
"""
import logging

from ..syncml.errors import ProtocolError
from . import dispatch
from . import sealing
from . import weborigin
from .authentication import SyncMLRefusal
from .authentication import authenticate

logger = logging.getLogger('Products.ERP5SyncML')

SYNCML_CONTENT_TYPE = 'application/vnd.syncml+xml; charset=utf-8'


def read_response(tool, text, sync_id, request, response):
    """The answer (bytes or text) to the SyncML message POSTed to
    ``tool`` (raw body, or form field ``text``)."""
    try:
        weborigin.check(request)
        text = dispatch.message_text(text, request)
        message = dispatch.open_and_decode(tool, text, sync_id=sync_id)
    except (dispatch.Refused, ProtocolError) as exc:
        logger.warning('readResponse: request refused: %s', exc)
        return weborigin.plain_error(response, getattr(exc, 'status', 400),
                                     'bad SyncML message: %s' % exc)
    except sealing.Refused as exc:
        return sealing.refused_over_http(None, exc, response)
    try:
        chal = authenticate(tool, message, request)
    except SyncMLRefusal as refusal:
        reply = refusal.reply
    else:
        reply = _answer(tool, message, sync_id, len(text), chal)
    if response is not None:
        response.setHeader('Content-Type', SYNCML_CONTENT_TYPE)
        response.setHeader('X-Content-Type-Options', 'nosniff')
    return reply


def _answer(tool, message, sync_id, size, chal):
    sub = dispatch.subscription_for(tool, message)
    if sub is not None:
        return dispatch.refuse_for_subscription(sub, message)
    publication = tool.getPublication(sync_id) if sync_id else None
    if sync_id and publication is None:
        return dispatch.refusal(message, 404, 'no publication %r' % sync_id)
    return dispatch.serve_or_refuse(tool, message, publication, size=size,
                                    chal=chal)
