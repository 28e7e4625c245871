"""Route an incoming SyncML message to the subscription or publication it
is for, and run the engine step for it.

Incoming bytes are decoded here and nowhere else (``decode``); outgoing
messages are encoded by the engine. ``tool`` is any ISynchronizationTool:
only its public accessors are used.
"""
import logging

from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from zExceptions import BadRequest

from ..permissions import Synchronize
from ..syncml import codec
from ..syncml import model
from ..syncml.errors import ProtocolError
from . import delivery
from .engine import ClientEngine
from .engine import ServerEngine

logger = logging.getLogger('Products.ERP5SyncML')


def as_bytes(data):
    if isinstance(data, str):
        return data.encode('utf-8')
    return bytes(data)


def decode(data):
    """The SyncML message in ``data`` (bytes or str); ProtocolError if it
    is not one."""
    return codec.decode(as_bytes(data))


def request_body(request, max_size):
    """The raw body of an HTTP request carrying a SyncML message."""
    length = request.get_header('Content-Length')
    if length and int(length) > max_size:
        raise BadRequest('message larger than %d bytes' % max_size)
    body = request.get('BODY')
    if not body:
        raise BadRequest('no SyncML message in the request')
    return body


def decode_or_refuse(data):
    """Like ``decode``, but a bad message is the sender's error: HTTP 400."""
    try:
        return decode(data)
    except ProtocolError as exc:
        logger.warning('bad SyncML message refused: %s', exc)
        raise BadRequest('bad SyncML message: %s' % exc)


# -- client side -----------------------------------------------------------

def start_session(sub):
    """Start a session of subscription ``sub``; its first message is queued."""
    data = ClientEngine(sub).start()
    if data is not None:
        delivery.queue_client_message(sub, data)
    return data


def receive_for_subscription(sub, msg, answer_to_us=False):
    """Process the master's message ``msg`` (raw) and queue our answer.

    ``answer_to_us`` is true for the HTTP answer to our own request: if it
    cannot be decoded or is refused, the session cannot go on and fails.
    Any other message that is refused changes nothing (so an injected
    message cannot end a live session); it is logged.  Returns our answer
    (bytes) or None.
    """
    engine = ClientEngine(sub)
    try:
        raw = as_bytes(msg)
        data = engine.receive(decode(raw), size=len(raw))
    except ProtocolError as exc:
        session = sub.session
        if answer_to_us and session is not None and session.running:
            engine.fail(session, 'bad message from the master: %s' % exc)
        else:
            logger.warning('subscription %s: message refused: %s',
                           sub.getId(), exc)
        return None
    if data is not None:
        delivery.queue_client_message(sub, data)
    return data


def subscription_for(tool, message):
    """The subscription whose URL the message is sent to, or None."""
    target = message.header.target.uri
    for sub in tool.getSubscriptionList():
        if sub.subscription_url == target:
            return sub
    return None


# -- server side -----------------------------------------------------------

def first_sync_alert(message):
    for command in message.commands:
        if isinstance(command, model.Alert) and 200 <= int(command.code) <= 205:
            return command
    return None


def publication_for(tool, message):
    """(publication, sync alert or None) the message is for; BadRequest
    when there is none."""
    alert = first_sync_alert(message)
    if alert is not None:
        names = [i.target.uri for i in alert.items or () if i.target]
        for name in names:
            pub = tool.getPublication(name)
            if pub is not None:
                return pub, alert
        raise BadRequest('no publication %s on this site' % ', '.join(names))
    source = message.header.source.uri
    for pub in tool.getPublicationList():
        if pub.getSubscriber(source) is not None:
            return pub, None
    raise BadRequest('no session for %s: a session starts with an Alert' % source)


def serve(tool, message, publication=None, size=0):
    """Run the master's step for ``message`` as the current user; return
    the answer (bytes) or None."""
    pub, alert = publication_for(tool, message)
    if publication is not None and pub.getId() != publication.getId():
        raise BadRequest('message is for publication %s' % pub.getId())
    if not getSecurityManager().checkPermission(Synchronize, pub):
        raise Unauthorized('synchronizing %s needs the %r permission'
                           % (pub.getId(), Synchronize))
    source = message.header.source.uri
    subscriber = pub.getSubscriber(source)
    if subscriber is None:
        if alert is None:
            raise BadRequest('unknown subscriber %s' % source)
        subscriber = pub.addSubscriber(source)
        logger.info('publication %s: new subscriber %s', pub.getId(), source)
    subscriber.user_id = getSecurityManager().getUser().getId()
    engine = ServerEngine(subscriber)
    try:
        return engine.receive(message, alert=alert, size=size)
    except ProtocolError as exc:
        # the peer parsed as SyncML: it gets its error as SyncML
        logger.warning('subscriber %s: message %s refused (%s): %s', source,
                       message.header.msg_id, int(exc.status), exc)
        return engine.error_reply(message, exc)


def serve_and_answer(tool, message, publication=None):
    """``serve`` a message that did not come by HTTP; the answer goes back
    through the activity queue to the client's (file, mail) URL."""
    reply = serve(tool, message, publication=publication)
    if reply is not None:
        delivery.queue_reply(tool, message.header.source.uri, reply)
    return reply


# -- either side -----------------------------------------------------------

def process(tool, data):
    """Process a message that came by file or mail, on whichever side it is
    for. Returns the master's answer, None on the client side."""
    message = decode_or_refuse(data)
    sub = subscription_for(tool, message)
    if sub is not None:
        receive_for_subscription(sub, data)
        return None
    return serve_and_answer(tool, message)
