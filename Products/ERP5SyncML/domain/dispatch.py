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

from .. import settings
from .. import transports
from ..permissions import Synchronize
from ..conduit import policy
from ..syncml import codec
from ..syncml import model
from ..syncml.codes import StatusCode
from ..syncml.errors import ProtocolError
from . import delivery
from . import probe
from .fields import bad_request
from . import sealing
from . import running
from .engine import ClientEngine
from .engine import ServerEngine
from .standardclient import client_engine

logger = logging.getLogger('Products.ERP5SyncML')


def as_bytes(data):
    if isinstance(data, str):
        return data.encode('utf-8')
    return bytes(data)


def decode(data):
    """The SyncML message in ``data`` (bytes or str); ProtocolError if it
    is not one."""
    return codec.decode(as_bytes(data))


class Refused(Exception):
    """A request refused before its message could be read: ``status`` is
    the HTTP status of the plain-text answer."""

    def __init__(self, text, status=400):
        Exception.__init__(self, text)
        self.status = status


def request_body(request, max_size):
    """The raw body of an HTTP request carrying a SyncML message; Refused
    when there is none or it is larger than ``max_size``."""
    length = request.get_header('Content-Length')
    try:
        length = int(length) if length else None
    except ValueError:
        raise Refused('bad Content-Length') from None
    if length is not None and length > max_size:
        raise Refused('message larger than %d bytes' % max_size, 413)
    body = request.get('BODY')
    if not body:
        raise Refused('no SyncML message in the request')
    if len(body) > max_size:
        raise Refused('message larger than %d bytes' % max_size, 413)
    return body


def message_text(text, request):
    """The message of an HTTP request: the form field ``text`` or the raw
    body, refused when larger than the settings allow (much smaller
    before the sender is known, so an anonymous request cannot make the
    site parse a big body)."""
    user = getSecurityManager().getUser()
    anonymous = user is None or user.getUserName() == 'Anonymous User'
    max_size = settings.max_message_size(anonymous=anonymous)
    if text is None:
        if request is None:
            raise Refused('no SyncML message in the request')
        return request_body(request, max_size)
    if len(text) > max_size:
        raise Refused('message larger than %d bytes' % max_size, 413)
    return text


def refusal(message, code, reason):
    """The SyncML answer refusing ``message`` as a whole with ``code``."""
    logger.warning('message %s from %s refused (%d): %s',
                   message.header.msg_id, message.header.source.uri, code,
                   reason)
    reply = model.error_reply(message, code)
    # the reason travels in the Status so the peer's report can say it
    reply.commands[0].items = [model.Item(data=str(reason)[:200])]
    return codec.encode(reply)


def decode_or_refuse(data):
    """Like ``decode``, but a bad message is the sender's error: HTTP 400."""
    try:
        return decode(data)
    except ProtocolError as exc:
        logger.warning('bad SyncML message refused: %s', exc)
        raise bad_request('bad SyncML message: %s' % exc)


def open_and_decode(tool, data, publication=None, sync_id=None, decoder=decode):
    """``decoder`` (``decode`` or ``decode_or_refuse``) for a message that
    may be GPG sealed for a publication of ``tool`` (``publication``, or its
    id ``sync_id``: the one it must be for); sealing.Refused when it fails
    that publication's GPG rules."""
    if publication is None and sync_id:
        publication = tool.getPublication(sync_id)
    raw, opened_by = sealing.open_for_master(tool, as_bytes(data), publication)
    message = decoder(raw)
    if subscription_for(tool, message) is None:
        try:
            pub = publication or publication_for(tool, message)[0]
        except BadRequest:
            pub = None  # ``serve`` says why, once the peer is authenticated
        if pub is not None:
            sealing.check_opened(pub, opened_by)
    return message


# -- client side -----------------------------------------------------------

def start_session(sub):
    """Start a session of subscription ``sub``; its first message is queued."""
    data = client_engine(sub).start()
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
    engine = client_engine(sub)
    try:
        raw = sealing.open_for_subscription(sub, as_bytes(msg))
        with policy.applying(sub):
            data = engine.receive(decode(raw), size=len(raw))
    except (ProtocolError, sealing.Refused) as exc:
        session = sub.session
        if answer_to_us and session is not None and session.running:
            engine.fail(session, 'bad message from the master: %s' % exc)
        elif isinstance(exc, sealing.Refused):
            sealing.record(sub, exc)
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
        raise bad_request('no publication %s on this site' % ', '.join(names))
    source = message.header.source.uri
    for pub in tool.getPublicationList():
        if pub.getSubscriber(source) is not None:
            return pub, None
    raise bad_request('no session for %s: a session starts with an Alert'
                      % source)


def serve(tool, message, publication=None, size=0, chal=None):
    """Run the master's step for ``message`` as the current user; return
    the answer (bytes) or None.  ``chal`` gives the Chal (next md5 nonce)
    for the Status of our answer's header."""
    if probe.is_probe(message):
        return probe.answer(tool, message)  # Test connection: changes nothing
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
            raise bad_request('unknown subscriber %s' % source)
        delivery.check_subscriber_url(pub, source)
        subscriber = pub.addSubscriber(source)
        logger.info('publication %s: new subscriber %s', pub.getId(), source)
    user_id = getSecurityManager().getUser().getId()
    if subscriber.user_id and subscriber.user_id != user_id:
        # a subscriber id belongs to the account that first used it
        logger.warning('publication %s: subscriber %s belongs to %s, not %s',
                       pub.getId(), source, subscriber.user_id, user_id)
        return ServerEngine(subscriber).error_reply(message,
                                                    StatusCode.FORBIDDEN)
    subscriber.user_id = user_id
    engine = ServerEngine(subscriber)
    engine.chal = chal
    try:
        with policy.applying(subscriber):
            reply = engine.receive(message, alert=alert, size=size)
        running.touch(subscriber.session)
    except ProtocolError as exc:
        # the peer parsed as SyncML: it gets its error as SyncML
        logger.warning('subscriber %s: message %s refused (%s): %s', source,
                       message.header.msg_id, int(exc.status), exc)
        reply = engine.error_reply(message, exc)
    return sealing.seal(pub, reply)


def serve_or_refuse(tool, message, publication=None, size=0, chal=None):
    """``serve`` for a peer that speaks SyncML: a message refused as a
    whole (no such publication, no session, unknown subscriber, not
    allowed) gets a SyncML Status instead of an HTML error page."""
    try:
        return serve(tool, message, publication=publication, size=size,
                     chal=chal)
    except (BadRequest, Unauthorized) as exc:
        return refusal(message, 403 if isinstance(exc, Unauthorized) else 404,
                       exc)


def refuse_for_subscription(sub, message):
    """The answer to a message sent to subscription ``sub`` by someone
    else than its master over HTTP: the client only takes its master's
    answers to its own requests (they never come through here), so this
    one is refused and changes nothing."""
    return refusal(message, 403, 'unsolicited message for subscription %s'
                   % sub.getId())


def serve_and_answer(tool, message, publication=None, reply_id=None):
    """``serve`` a message that did not come by HTTP; the answer goes back
    through the activity queue to the URL of the subscriber the message
    came from, as registered by the master (file, mail; ``reply_id``: the
    client's subscription id, named in a mail answer)."""
    try:
        # before anything is applied: the answer could not be delivered
        transports.check_url(message.header.source.uri)
    except transports.TransportError as exc:
        raise bad_request('no answer can go to %s: %s'
                          % (message.header.source.uri, exc)) from None
    reply = serve(tool, message, publication=publication)
    if reply is not None:
        pub, _alert = publication_for(tool, message)
        subscriber = pub.getSubscriber(message.header.source.uri)
        if subscriber is not None:
            delivery.queue_reply(tool, subscriber.subscription_url, reply,
                                 publication_id=pub.getId(), sync_id=reply_id)
    return reply


def serve_mail(tool, msg, publication, reply_id=None):
    """PubSync: serve the raw message ``msg`` for ``publication``; one
    refused by GPG is recorded on the publication and gets no answer."""
    try:
        message = open_and_decode(tool, msg, publication, decoder=decode_or_refuse)
    except sealing.Refused as exc:
        sealing.record(publication, exc)
        return None
    return serve_and_answer(tool, message, publication=publication,
                            reply_id=reply_id)


# -- either side -----------------------------------------------------------

def process(tool, data):
    """Process a message that came by file or mail, on whichever side it is
    for. Returns the master's answer, None on the client side."""
    try:
        message = open_and_decode(tool, data, decoder=decode_or_refuse)
    except sealing.Refused as exc:
        sealing.record(None, exc)
        return None
    sub = subscription_for(tool, message)
    if sub is not None:
        receive_for_subscription(sub, data)
        return None
    return serve_and_answer(tool, message)
