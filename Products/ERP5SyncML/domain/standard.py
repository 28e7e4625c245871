"""The master's face for standard SyncML clients (phones, SyncEvolution).

Such a client sends one HTTP POST per message and reads our answer in the
HTTP response, in the encoding (XML or WBXML) and SyncML version (1.1 or
1.2) it used.  A publication whose content type is a vCard type serves it:

  pkg1  Put DevInf, Get DevInf, Alert [+Cred]
                  -> Status (212 + Chal NextNonce for md5), Results DevInf,
                     Status for the Alert (200, or 508: slow sync), Alert
  pkg3  Sync (client changes, LUIDs)   -> Statuses [+ Alert 222]
  ...   -> pkg4  Sync: our changes (Target = the client's LUIDs)
  pkg5  Statuses + Map (LUID <-> GID)  -> pkg6 Statuses

The package flow is the one table of ``syncml.session`` (``StandardServer``
is a ``ServerEngine``); this module adds what standard clients need:
DevInf, authentication with challenges bound to the session, Map, the
client's datastore as our Sync target, its MaxMsgSize, and vCard items.

Authentication (``domain.authentication``): HTTP authentication wins; else
the first message's Cred is checked (basic or md5); a missing Cred gets
407 with a Chal, a wrong one 401 with a Chal; nothing else changes.  The
session then stays authenticated: our RespURI carries an unguessable
token, and a later message of the same SessionID and device that comes
back to it runs as the same Zope user without Cred.
"""
import logging
import secrets
from urllib.parse import quote

import transaction

from AccessControl import getSecurityManager
from zExceptions import BadRequest

from ..conduit import policy
from ..conduit.vcard import VCardApplier
from ..conduit.vcard import VCardCommandFactory
from ..mapping import vcard
from ..permissions import Synchronize
from ..syncml import codes
from ..syncml import devinf
from ..syncml import model as m
from ..syncml import wbxml
from ..syncml.chunking import split
from ..syncml.codes import AlertCode
from ..syncml.codes import StatusCode
from ..syncml.errors import ProtocolError
from .. import settings
from . import authentication
from . import dispatch
from . import weborigin
from .engine import ServerEngine
from .engine import Side
from .incoming import ReplayCarefully
from .incoming import status_received
from .journal import forget_recorded
from .maps import id_map

logger = logging.getLogger('Products.ERP5SyncML')

ENDPOINT = 'syncml'
TOKEN_PARAMETER = 's'
#: bytes of a message we never exceed, whatever the client allows
MAX_REQUEST_SIZE = 32 * 1024 * 1024
VCARD_TYPES = tuple(vcard.CONTENT_TYPES)
#: the largest item we take, announced as our MaxObjSize
MAX_OBJ_SIZE = vcard.MAX_SIZE


def serves_vcards(publication):
    return getattr(publication, 'content_type', '') in VCARD_TYPES


class Reply(Exception):
    """A message answered before the engine runs (challenge, refusal)."""

    def __init__(self, message):
        Exception.__init__(self, 'reply')
        self.message = message


def _header_refusal(msg, code, chal=None):
    reply = m.error_reply(msg, code)
    reply.commands[0].chal = chal
    return reply


def _size_matches(text, size, declared):
    """True when ``size`` bytes received are the ``declared`` ones: XML
    parsers turn each CR LF of a client's data into LF, so as many bytes
    as there are line ends may be missing."""
    return size == declared or 0 < declared - size <= text.count('\n')


# ---------------------------------------------------------------- engine

class StandardServer(ServerEngine):
    """The master's side of a session with a standard SyncML client."""

    def __init__(self, subscriber, content_type, version, resp_uri=None,
                 chal=None):
        ServerEngine.__init__(self, subscriber)
        self.content_type = content_type      # of the HTTP messages
        self.version = version if version in m.SYNCML_VERSIONS else '1.2'
        self.resp_uri = resp_uri
        self.chal = chal                      # () -> Chal for our header Status
        self.ids = id_map(subscriber)
        self.data_type = subscriber.aq_parent.content_type

    # -- messages ----------------------------------------------------------

    def header(self, session, target_uri, source_uri, cred=None):
        header = ServerEngine.header(self, session, target_uri, source_uri,
                                     cred)
        header.ver_dtd = self.version
        header.ver_proto = 'SyncML/%s' % self.version
        header.resp_uri = self.resp_uri
        header.meta.max_obj_size = MAX_OBJ_SIZE
        return header

    def serialize(self, message):
        return wbxml.encode(message, self.content_type, version=self.version)

    def error_reply(self, msg, error):
        code = getattr(error, 'status', error)
        reply = m.error_reply(msg, code)
        return wbxml.encode(reply, self.content_type, version=self.version)

    # -- pkg1 -> pkg2 ------------------------------------------------------

    def _prepare_session(self, msg, session, item, meta, mode):
        if codes.requires_slow(mode):
            self.domain.signatures.clear()
        if mode == AlertCode.REFRESH_FROM_SERVER:
            self.ids.clear()  # the client wiped its items
        session.peer_db = item.source.uri if item.source else None
        header_meta = msg.header.meta or m.Meta()
        session.peer_max_msg_size = header_meta.max_msg_size
        session.peer_max_obj_size = meta.max_obj_size or \
            header_meta.max_obj_size
        logger.info('subscriber %s: SyncML %s', self.domain.subscription_url,
                    self.version)

    def _init_extra_commands(self, msg):
        return self._devinf_commands(msg)

    def _devinf_commands(self, msg):
        """Statuses for the client's Put / Get of DevInf, our Results."""
        out = []
        for command in msg.commands:
            if isinstance(command, m.Put):
                out.append(self.status(msg, command, StatusCode.OK))
            elif isinstance(command, m.Get):
                out.append(self.status(msg, command, StatusCode.OK))
                uri = m.devinf_uri(self.version)
                ours = devinf.server_devinf(
                    self.domain.aq_parent.absolute_url(),
                    [self.domain.aq_parent.getId()], version=self.version)
                out.append(m.Results(
                    cmd_ref=command.cmd_id, msg_ref=msg.header.msg_id,
                    meta=m.Meta(type=m.DEVINF_TYPE),
                    target_refs=[], source_refs=[uri],
                    items=[m.Item(source=m.Location(uri=uri),
                                  data=devinf.to_element(ours))]))
            elif isinstance(command, m.UnknownCommand):
                out.append(self.status(
                    msg, command, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED))
        return out

    # -- later messages ------------------------------------------------------

    def _apply_message(self, msg, session):
        session.addStatus(self._header_status(msg, StatusCode.OK))
        for command in msg.commands:
            if isinstance(command, m.Map):
                for pair in command.map_items:
                    self.ids.set(pair.source, pair.target)
                session.addStatus(self.status(msg, command, StatusCode.OK))
            elif isinstance(command, (m.Put, m.Get, m.UnknownCommand)):
                for status in self._devinf_commands(m.Message(
                        header=msg.header, commands=[command])):
                    session.addStatus(status)
            elif isinstance(command, m.Results):
                pass  # the client's DevInf: nothing depends on it yet
        # the client's Statuses, Alerts and Sync
        Side._apply_message(self, msg, session)

    #: True when the message is applied again command by command
    careful = False

    def apply_data(self, msg, session):
        """The client's commands, without the savepoint of ``Side``: a
        savepoint makes the commit store all the message changed twice.
        When a command fails, ``ReplayCarefully`` reaches ``serve``, which
        aborts the transaction and serves the message again, command by
        command, so the failing one changes nothing and the others apply."""
        before = dict(session.counts)
        self._apply_data(msg, session, careful=self.careful)
        self._log_applied(msg, session, before)

    def read_statuses(self, msg, session):
        for command in msg.commands:
            if not isinstance(command, m.Status) or \
                    command.cmd not in ('Add', 'Replace', 'Delete'):
                continue
            refs = list(command.source_refs or ())
            refs += [self.ids.gid(luid) for luid in command.target_refs or ()]
            gid = next((r for r in refs if r and
                        self.domain.signatures.get(r) is not None), None)
            if gid is None:
                continue
            if command.cmd == 'Delete' and int(command.code) in (
                    StatusCode.OK, StatusCode.ITEM_NOT_DELETED,
                    StatusCode.NOT_FOUND):
                self.ids.remove_gid(gid)
            status_received(self.domain, command.cmd, gid, int(command.code),
                            self.role)

    # -- data ----------------------------------------------------------------

    def _apply_item(self, applier, session, name, gid, item, careful):
        """Large objects: the Size the first chunk declares is checked
        when the last one comes (424), and no object may pass
        MaxObjSize (413)."""
        chunk = session.incoming_chunk
        if chunk is None or chunk[0] != gid:
            chunk = None
            meta = item.meta or m.Meta()
            session.incoming_size = meta.size if item.more_data else None
        text = item.data if isinstance(item.data, str) else ''
        total = len(text.encode('utf-8'))
        if chunk is not None:
            total += len(chunk[2].encode('utf-8'))
        declared = getattr(session, 'incoming_size', None)
        if total > MAX_OBJ_SIZE or (declared or 0) > MAX_OBJ_SIZE:
            session.incoming_chunk = None
            return StatusCode.REQUEST_TOO_LARGE
        if chunk is not None and not item.more_data and declared and \
                not _size_matches(chunk[2] + text, total, int(declared)):
            logger.warning('%s: %d bytes received, %s declared', gid, total,
                           declared)
            session.incoming_chunk = None
            return StatusCode.SIZE_MISMATCH
        return ServerEngine._apply_item(self, applier, session, name, gid,
                                        item, careful)

    def make_applier(self, session):
        return VCardApplier(self.domain, session, self.role, self.ids,
                            self.data_type)

    def command_factory(self, session):
        return VCardCommandFactory(self.domain, session, self.role, self.ids,
                                   self.data_type,
                                   getattr(session, 'peer_max_obj_size', None))

    def _start_chunk(self, session, command, budget):
        item = command.items[0]
        # clients trim the white space that ends an item's data before
        # they check its Size: we send none there
        text = item.data.rstrip('\r\n')
        session.chunk = (m.command_name(command), item.source.uri,
                         item.target.uri if item.target else None,
                         text, len(text.encode('utf-8')))
        logger.info('%s is larger than a message: sent in parts',
                    item.source.uri)
        return self._next_chunk(session, budget)

    def _next_chunk(self, session, budget=None):
        if budget is None:
            budget = self.message_budget(session)
        name, gid, luid, text, total = session.chunk
        part = split(text, budget)[0]
        cut = len(part)
        # clients trim white space at both ends of each chunk: cut between
        # two other characters
        while 1 < cut < len(text) and (text[cut - 1].isspace() or
                                       text[cut].isspace()):
            cut -= 1
        if cut > 1:
            part = text[:cut]
        rest = text[len(part):]
        first = len(text.encode('utf-8')) == total
        item = m.Item(source=m.Location(uri=gid),
                      target=m.Location(uri=luid) if luid else None,
                      meta=m.Meta(type=self.data_type,
                                  size=total if first else None),
                      data=part, more_data=bool(rest))
        session.chunk = (name, gid, luid, rest, total) if rest else None
        session.data_done = False
        cls = m.Add if name == 'Add' else m.Replace
        return cls(cmd_id=None, items=[item])

    def _send_changes(self, msg, session):
        commands = self.data_commands(session)
        body = session.takeStatuses()
        body.append(self.sync_command(
            commands, getattr(session, 'peer_db', None) or
            msg.header.source.uri, self.domain.aq_parent.getId(), session))
        return self._send(msg, session, body, session.data_done)


# ------------------------------------------------------------- routing

def _name(uri):
    uri = (uri or '').strip()
    return uri[2:] if uri.startswith('./') else uri


def _sync_alert(message):
    for command in message.commands:
        if isinstance(command, m.Alert) and (
                200 <= int(command.code) <= 205 or
                int(command.code) == AlertCode.RESUME):
            return command
    return None


def _locate(tool, message, token):
    """(publication, subscriber or None, sync alert or None, live session)"""
    alert = _sync_alert(message)
    source = message.header.source.uri
    if alert is not None:
        names = [_name(i.target.uri) for i in alert.items or () if i.target]
        for name in names:
            pub = tool.getPublication(name)
            if pub is not None and serves_vcards(pub):
                return pub, pub.getSubscriber(source), alert, None
        raise Reply(_header_refusal(message, StatusCode.NOT_FOUND))
    if token:
        for pub in tool.getPublicationList():
            if not serves_vcards(pub):
                continue
            sub = pub.getSubscriber(source)
            session = sub.session if sub is not None else None
            if session is not None and session.running and \
                    getattr(session, 'auth_token', None) and \
                    secrets.compare_digest(session.auth_token, token) and \
                    session.session_id == str(message.header.session_id):
                return pub, sub, None, session
    raise Reply(_header_refusal(message, StatusCode.NOT_FOUND))


def _authenticate(tool, pub, message, request, session):
    """(Zope user, auth type) the message runs as; raises Reply."""
    user = authentication.current_user()
    if user is not None:
        return user, None          # HTTP authentication wins
    if session is not None:
        user = authentication.session_user(tool, session.auth_user_id)
        if user is None:
            raise Reply(_header_refusal(message, StatusCode.INVALID_CREDENTIALS))
        return user, getattr(session, 'auth_type', None)
    try:
        return authentication.check_credentials(pub, tool, message, request)
    except authentication.Refused as refused:
        raise Reply(_header_refusal(message, refused.status, refused.chal))


def serve(tool, message, content_type, request, token=None, size=0):
    """Our answer (bytes, in the client's encoding and version) to a
    standard client's ``message``."""
    try:
        return _serve(tool, message, content_type, request, token, size)
    except ReplayCarefully:
        # nothing of this message is kept; served again, one savepoint
        # per command
        transaction.abort()
        forget_recorded()
        logger.info('a command of message %s of %s failed: applying it '
                    'again command by command', message.header.msg_id,
                    message.header.source.uri)
        return _serve(tool, message, content_type, request, token, size,
                      careful=True)


def _serve(tool, message, content_type, request, token, size, careful=False):
    version = message.header.ver_dtd
    try:
        pub, sub, alert, session = _locate(tool, message, token)
        if alert is not None and int(alert.code) == AlertCode.RESUME:
            # resuming an interrupted session is not supported: a clean
            # refusal, the client then starts a normal sync
            raise Reply(_header_refusal(
                message, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED))
        user, auth_type = _authenticate(tool, pub, message, request, session)
        authentication.run_as(request, user)
        if not getSecurityManager().checkPermission(Synchronize, pub):
            raise Reply(_header_refusal(message, StatusCode.FORBIDDEN))
        source = message.header.source.uri
        if sub is not None and sub.user_id and sub.user_id != user.getId():
            logger.warning('publication %s: device %s belongs to %s, not %s',
                           pub.getId(), source, sub.user_id, user.getId())
            raise Reply(_header_refusal(message, StatusCode.FORBIDDEN))
    except Reply as reply:
        return wbxml.encode(reply.message, content_type, version=version)
    if sub is None:
        sub = pub.addSubscriber(source)
        sub.user_id = user.getId()
        logger.info('publication %s: new device %s for %s', pub.getId(),
                    source, sub.user_id)
    if session is not None:
        new_token = session.auth_token
    else:
        new_token = secrets.token_urlsafe(24)
    resp_uri = '%s/%s?%s=%s' % (tool.absolute_url(), ENDPOINT,
                                TOKEN_PARAMETER, quote(new_token))

    def chal():
        return authentication.refresh_chal(pub, source, auth_type)
    engine = StandardServer(sub, content_type, version, resp_uri, chal)
    engine.careful = careful
    try:
        with policy.applying(sub):
            reply = engine.receive(message, alert=alert, size=size)
    except ProtocolError as exc:
        logger.warning('device %s: message %s refused (%s): %s', source,
                       message.header.msg_id, exc.status, exc)
        return engine.error_reply(message, exc)
    if alert is not None and sub.session is not None:
        sub.session.auth_token = new_token
        sub.session.auth_user_id = user.getId()
        sub.session.auth_type = auth_type
        sub.session.encoding = wbxml.media_type(content_type)
        sub.session.version = engine.version
    return reply


def xmlrpc_checker(request):
    """Zope's XML-RPC for a text/xml POST, except to the SyncML entry
    points (a SyncML 1.1 client may label its XML text/xml)."""
    path = (request.get('PATH_INFO') or '').rstrip('/')
    return path.rsplit('/', 1)[-1] not in (ENDPOINT, 'readResponse')


def _size_limit(tool, token):
    """The largest body we read: small until the sender is known (HTTP
    authentication, or the token of a session it authenticated)."""
    known = authentication.current_user() is not None or (
        token is not None and _live_token(tool, token))
    return min(MAX_REQUEST_SIZE,
               settings.max_message_size(anonymous=not known))


def _live_token(tool, token):
    for pub in tool.getPublicationList():
        if not serves_vcards(pub):
            continue
        for sub in pub.getSubscriberList():
            session = sub.session
            issued = getattr(session, 'auth_token', None) \
                if session is not None and session.running else None
            if issued and secrets.compare_digest(issued, token):
                return True
    return False


def handle(tool, request, response):
    """The HTTP face: decode the POST, serve it, answer in kind."""
    content_type = request.get_header('Content-Type') or ''
    try:
        wbxml.media_type(content_type)
    except ProtocolError:
        response.setStatus(415)
        response.setHeader('Content-Type', 'text/plain; charset=utf-8')
        return 'unsupported media type: use %s or %s' % (
            wbxml.XML_TYPE, wbxml.WBXML_TYPE)
    token = request.form.get(TOKEN_PARAMETER) if hasattr(request, 'form') \
        else None
    token = token if isinstance(token, str) and token else None
    try:
        body = dispatch.request_body(request, _size_limit(tool, token))
    except dispatch.Refused as exc:
        logger.warning('syncml: request refused: %s', exc)
        return weborigin.plain_error(response, exc.status, str(exc))
    if isinstance(body, str):
        body = body.encode('utf-8')
    try:
        message = wbxml.decode(body, content_type)
    except ProtocolError as exc:
        logger.warning('unreadable SyncML message refused: %s', exc)
        raise BadRequest('not a SyncML message')
    reply = serve(tool, message, content_type, request, token=token,
                  size=len(body))
    kind = wbxml.media_type(content_type)
    response.setHeader('Content-Type', wbxml.content_type_for(kind))
    return reply
