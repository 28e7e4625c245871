"""Test connection: a SyncML handshake that changes nothing on either side.

The client sends a message with only a ``Get`` of the master's device
information (``./devinf12``), with the subscription's credentials. The
master answers it like any SyncML server (Status on the header and on the
Get, ``Results`` with its DevInf, one datastore per publication the account
may synchronize) without starting a session or recording a subscriber. The
client reads what it found: the master answers SyncML, accepts the login,
and offers the publication.
"""
import logging
import secrets

from AccessControl import getSecurityManager

from .. import transports
from ..permissions import Synchronize
from ..mapping import vcard
from ..syncml import codec
from ..syncml import devinf
from ..syncml import model as m
from ..syncml.codes import StatusCode
from ..syncml.errors import ProtocolError

logger = logging.getLogger('Products.ERP5SyncML')

PROBE_PREFIX = 'probe-'
#: the manufacturer our DevInf names
OUR_MAN = 'ERP5SyncML'


# -- master side -------------------------------------------------------------

def is_probe(message):
    """True for a message made only of a DevInf Get (no Alert, no Sync)."""
    commands = [c for c in message.commands if not isinstance(c, m.Status)]
    return bool(commands) and all(
        isinstance(c, m.Get) and c.items and all(
            i.target is not None and i.target.uri.startswith('./devinf')
            for i in c.items)
        for c in commands)


def answer(tool, message):
    """The master's answer to a probe (bytes): its DevInf with the
    publications the current user may synchronize. Changes nothing."""
    header = message.header
    user = getSecurityManager()
    uris = [p.getId() for p in tool.getPublicationList()
            if user.checkPermission(Synchronize, p)]
    info = devinf.server_devinf(header.target.uri, uris, version=header.ver_dtd)
    commands = [m.Status(msg_ref=header.msg_id, cmd_ref=0, cmd='SyncHdr',
                         code=int(StatusCode.OK), target_refs=[header.target.uri],
                         source_refs=[header.source.uri])]
    for get in message.commands:
        if not isinstance(get, m.Get):
            continue
        commands.append(m.Status(msg_ref=header.msg_id, cmd_ref=get.cmd_id or 0,
                                 cmd='Get', code=int(StatusCode.OK),
                                 target_refs=[i.target.uri for i in get.items]))
        commands.append(m.Results(
            cmd_ref=get.cmd_id or 0, msg_ref=header.msg_id,
            meta=m.Meta(type=m.DEVINF_TYPE),
            items=[m.Item(source=m.Location(uri=m.devinf_uri(header.ver_dtd)),
                          data=devinf.to_element(info))]))
    reply = m.Message(header=m.Header(
        session_id=header.session_id, msg_id=1,
        target=m.Location(uri=header.source.uri),
        source=m.Location(uri=header.target.uri),
        ver_dtd=header.ver_dtd, ver_proto=header.ver_proto),
        commands=commands, final=True)
    logger.info('connection test from %s: %d publication(s) offered',
                header.source.uri, len(uris))
    return codec.encode(reply)


# -- client side -------------------------------------------------------------

def probe_message(sub):
    """The probe of subscription ``sub`` (bytes)."""
    cred = m.Cred.basic(sub.login, sub.password) if sub.login else None
    header = m.Header(session_id=PROBE_PREFIX + secrets.token_hex(8), msg_id=1,
                      target=m.Location(uri=sub.publication_url),
                      source=m.Location(uri=sub.subscription_url or sub.getId()),
                      cred=cred)
    get = m.Get(cmd_id=1, meta=m.Meta(type=m.DEVINF_TYPE),
                items=[m.Item(target=m.Location(uri=m.devinf_uri()))])
    return codec.encode(m.Message(header=header, commands=[get], final=True))


def test_connection(sub):
    """[(ok, finding in plain words)] of a handshake with ``sub``'s master.
    Nothing changes on either side."""
    url = sub.publication_url
    if not url:
        return [(False, 'The subscription has no Publication Url.')]
    try:
        transports.get_transport(url)
    except transports.TransportError as exc:
        return [(False, 'The Publication Url is not usable: %s' % exc)]
    if not transports.is_request_response(url):
        return [(True, 'This transport (%s) carries one-way messages: the '
                       'connection is tested by the first synchronization.'
                 % url.split(':', 1)[0])]
    try:
        # a standard server's URL is posted as is (see delivery.target_of)
        reply = transports.send(url, probe_message(sub), login=sub.login,
                                password=sub.password, exact_url=getattr(
                                    sub, 'content_type', 'asXML')
                                in vcard.CONTENT_TYPES)
    except transports.TransportError as exc:
        if 'HTTP 401' in str(exc):
            return [(True, 'The master answered.'),
                    (False, 'The master refused the login: check the Login and Password.')]
        return [(False, 'The master could not be reached: %s' % exc)]
    if not reply:
        return [(False, 'The master answered with nothing.')]
    try:
        message = codec.decode(reply)
    except ProtocolError as exc:
        return [(False, 'The master did not answer in SyncML: %s' % exc)]
    return _findings(sub, message)


def _findings(sub, message):
    found = [(True, 'The master answered in SyncML %s.' % message.version)]
    status = message.header_status()
    if status is not None and int(status.code) in (401, 407):
        return found + [(False, 'The master refused the login: check the Login '
                                'and Password.')]
    if status is not None and int(status.code) >= 300:
        return found + [(False, 'The master refused the request (status %s).'
                         % int(status.code))]
    found.append((True, 'The login was accepted.' if sub.login else
                  'The master answered without a login.'))
    infos = []
    for command in message.commands:
        if isinstance(command, m.Results):
            for item in command.items:
                if item.data is not None and not isinstance(item.data, str):
                    infos.append(devinf.from_element(item.data))
    stores = [s.source_ref for info in infos for s in info.datastores]
    standard = [i for i in infos if i.man != OUR_MAN]
    vcards = getattr(sub, 'content_type', 'asXML') in vcard.CONTENT_TYPES
    if standard and not vcards:
        name = ' '.join(x for x in (standard[0].man, standard[0].mod) if x)
        return found + [(False, 'This is a standard SyncML server (%s), not '
                         'an ERP5SyncML master: it stores vCards. Choose the '
                         'text/vcard (or text/x-vcard) Content type and its '
                         'datastore (%s) as the publication id.'
                         % (name or 'unknown', ', '.join(stores) or 'none'))]
    wanted = sub.getTargetDatabase()
    if wanted in stores or (standard and _bare(wanted) in map(_bare, stores)):
        found.append((True, 'The master offers the publication %s.' % wanted))
    else:
        found.append((False, 'The master offers no publication %s to this account'
                             ' (it offers: %s).' % (wanted, ', '.join(stores) or 'none')))
    return found


def _bare(uri):
    uri = (uri or '').strip()
    return uri[2:] if uri.startswith('./') else uri
