"""mailto: transport: one SyncML message = one e-mail, sent through the
site's MailHost (SMTP) from the activity queue.

Layout (one single-part MIME message, what every mail server carries
intact whatever the size or characters):

  From: <the sender's own mailto: address>      To: <the peer's address>
  Subject: SyncML message for <id>
  X-ERP5SyncML-Id: <publication/subscription id on the receiving site>
  X-ERP5SyncML-Reply-Id: <the sender's own id, for the answer>
  X-ERP5SyncML-Session: <the client's session> (clients: a bounce names it)
  Content-Type: application/vnd.syncml+xml; charset=utf-8
                (application/pgp-encrypted when the body is GPG armored)
  Content-Transfer-Encoding: base64

The receiving mail server pipes it into sendMailToZope.py, which posts it
to portal_mailin; mail_received routes it on X-ERP5SyncML-Id.
"""
import logging
import re
import smtplib
import socket
from email.message import EmailMessage
from email.utils import formatdate
from email.utils import make_msgid
from urllib.parse import unquote
from urllib.parse import urlsplit

from . import TransportError

logger = logging.getLogger('Products.ERP5SyncML')

CONTENT_TYPE = 'application/vnd.syncml+xml'
ID_HEADER = 'X-ERP5SyncML-Id'
REPLY_ID_HEADER = 'X-ERP5SyncML-Reply-Id'
SESSION_HEADER = 'X-ERP5SyncML-Session'
DEFAULT_SENDER = 'erp5syncml@localhost'
# one plain addr-spec: no display name, no list, no header fields
_ADDRESS = re.compile(r'^[A-Za-z0-9!#$%&\'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$')
_ID = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,199}$')


def address_of(url):
    """The single address of a mailto: URL; ValueError if it is anything else."""
    parts = urlsplit(url or '')
    if parts.scheme.lower() != 'mailto' or parts.query or parts.fragment:
        raise ValueError('%r is not a plain mailto:address URL' % (url,))
    address = unquote(parts.path).strip()
    if not _ADDRESS.match(address) or '..' in address:
        raise ValueError('%r is not a single mail address' % (address,))
    return address


def domain_of(address):
    return address.rsplit('@', 1)[1].lower()


def check_id(value):
    """A publication/subscription id as it may appear in a header."""
    if value is None:
        return None
    value = str(value)
    if not _ID.match(value):
        raise ValueError('%r cannot be sent in a mail header' % (value,))
    return value


def own_address(domain):
    """The sending site's address: its own mailto: URL (Subscription Url on
    a client, Publication Url on the master)."""
    for name in ('subscription_url', 'publication_url'):
        url = getattr(domain, name, '') or ''
        if url.lower().startswith('mailto:'):
            try:
                return address_of(url)
            except ValueError:
                pass
    return DEFAULT_SENDER


def build(data, to, sender, sync_id, reply_id=None, sealed=False, session_id=None):
    """The mail (bytes) carrying the SyncML message ``data``."""
    msg = EmailMessage()
    msg['From'] = sender
    msg['To'] = to
    msg['Subject'] = 'SyncML message for %s' % sync_id
    msg['Date'] = formatdate(localtime=True)
    msg['Message-ID'] = make_msgid(domain=domain_of(sender))
    msg[ID_HEADER] = sync_id
    if reply_id:
        msg[REPLY_ID_HEADER] = reply_id
    if session_id:
        msg[SESSION_HEADER] = session_id
    subtype = 'pgp-encrypted' if sealed else 'vnd.syncml+xml'
    msg.set_content(bytes(data), maintype='application', subtype=subtype,
                    cte='base64', params={} if sealed else {'charset': 'utf-8'})
    return msg.as_bytes()


def send(url, data, context=None, sync_id=None, reply_id=None, session_id=None, **kw):
    """Mail ``data`` to the mailto: ``url`` through ``context``'s MailHost."""
    from .gpg import is_sealed
    try:
        to = address_of(url)
        sync_id = check_id(sync_id)
        reply_id = check_id(reply_id)
        session_id = check_id(session_id)
    except ValueError as exc:
        raise TransportError(str(exc), retry=False) from None
    if not sync_id:
        raise TransportError('no publication/subscription id for the mail to %s' % to,
                             retry=False)
    mailhost = getattr(context, 'MailHost', None) if context is not None else None
    if mailhost is None:
        raise TransportError('no MailHost on this site to send mail to %s' % to,
                             retry=False)
    sender = own_address(context)
    text = build(data, to, sender, sync_id, reply_id, sealed=is_sealed(data),
                 session_id=session_id)
    try:
        # immediate: sent now, inside the activity, so a failure is retried
        # by the queue; a mail sent twice is recognised by the receiver
        mailhost.send(text.decode('ascii'), mto=[to], mfrom=sender, immediate=True)
    except smtplib.SMTPRecipientsRefused as exc:
        raise TransportError('the mail server refuses %s: %s' % (to, _smtp_text(exc)),
                             retry=False) from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise TransportError('cannot send mail to %s through %s:%s: %s' % (
            to, getattr(mailhost, 'smtp_host', '?'), getattr(mailhost, 'smtp_port', '?'),
            _smtp_text(exc))) from None
    logger.info('mail to %s for %s: %d bytes', to, sync_id, len(data))
    return None


def _smtp_text(exc):
    recipients = getattr(exc, 'recipients', None)
    if recipients:
        return '; '.join('%s %s' % (code, (msg or b'').decode('utf-8', 'replace')
                                    if isinstance(msg, bytes) else msg)
                         for code, msg in recipients.values())
    return str(exc) or type(exc).__name__


def subscriber_allowed(publication, url):
    """May ``publication`` send its answers by mail to ``url``? Only when
    the publication itself is reached by mail, and the address is in the
    same mail domain as the Publication Url or listed in its "Mail
    subscribers" (addresses or @domains): the master never mails an
    arbitrary address a message names."""
    try:
        address = address_of(url)
        own = address_of(publication.publication_url)
    except ValueError as exc:
        return False, str(exc)
    allowed = (getattr(publication, 'mail_subscribers', '') or '').replace(',', ' ').split()
    allowed = {a.lower() for a in allowed}
    if address.lower() in allowed or '@' + domain_of(address) in allowed:
        return True, ''
    if not allowed and domain_of(address) == domain_of(own):
        return True, ''
    return False, ('publication %s does not answer by mail to %s (allowed: %s)'
                   % (publication.getId(), address,
                      ' '.join(sorted(allowed)) or '@' + domain_of(own)))
