"""Turn a raw RFC 822 message into the ``theMail`` mapping of mail_received.

``theMail`` = {
    'headers':     {lower-case header name: str} (a repeated header keeps
                   its first value; all values are under 'headers_all'),
    'body':        the text of the message (str),
    'attachments': [{'filename', 'content_type', 'data' (bytes)}],
    'localpart':   local part of the address the mail was delivered to,
    'bounce':      None, or for a delivery status notification (RFC 3464:
                   a mail that came back undelivered) {'action', 'status',
                   'recipient', 'reason', 'headers' (of the returned mail,
                   lower-case names)},
}
Standard library only (``email`` with ``policy.default``).
"""
from email import policy
from email.parser import BytesParser
from email.parser import HeaderParser
from email.utils import getaddresses

#: Non-text types whose content is still text (the body, not an attachment).
TEXTUAL_TYPES = frozenset((
    'application/xml', 'application/vnd.syncml+xml', 'application/pgp-encrypted',
    'application/json',
))
#: Where the delivering server wrote the recipient, most precise first.
RECIPIENT_HEADERS = ('x-original-to', 'delivered-to', 'envelope-to', 'to')


class MailError(ValueError):
    """The data is not a mail this product can read."""


def _textual(part):
    return part.get_content_maintype() == 'text' or \
        part.get_content_type() in TEXTUAL_TYPES


def _text_of(part):
    payload = part.get_payload(decode=True) or b''
    charset = part.get_content_charset() or 'utf-8'
    try:
        return payload.decode(charset, 'replace')
    except LookupError:  # unknown charset name
        return payload.decode('utf-8', 'replace')


def _localpart(headers):
    for name in RECIPIENT_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        for _name, addr in getaddresses([value]):
            if '@' in addr:
                return addr.split('@', 1)[0]
            if addr:
                return addr
    return ''


def parse(raw):
    """Parse ``raw`` (bytes; an mbox 'From ' line is allowed) into theMail."""
    if isinstance(raw, str):
        raw = raw.encode('utf-8', 'surrogateescape')
    if not raw or not raw.strip():
        raise MailError('empty mail')
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    if not list(msg.keys()):
        raise MailError('no mail headers')
    headers, headers_all = {}, {}
    for name, value in msg.items():
        key = name.lower()
        try:
            text = str(value)
        except Exception:  # undecodable header: keep what is there
            text = str(msg.get(name, ''))
        headers.setdefault(key, text)
        headers_all.setdefault(key, []).append(text)
    body = None
    attachments = []
    parts = msg.walk() if msg.is_multipart() else [msg]
    for part in parts:
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if body is None and disposition != 'attachment' and _textual(part):
            body = _text_of(part)
            continue
        attachments.append({
            'filename': part.get_filename() or '',
            'content_type': part.get_content_type(),
            'data': part.get_payload(decode=True) or b'',
        })
    return {
        'headers': headers,
        'headers_all': headers_all,
        'body': body or '',
        'attachments': attachments,
        'localpart': _localpart(headers),
        'bounce': delivery_report(msg),
    }


def _field(block, name):
    value = block.get(name)
    return ' '.join(str(value).split()) if value else ''


def delivery_report(msg):
    """What a delivery status notification says (see ``parse``), or None
    when ``msg`` is not one. The first failed recipient is reported (else
    the first one, e.g. a delay warning)."""
    if msg.get_content_type() != 'multipart/report' or \
            (msg.get_param('report-type') or '').lower() != 'delivery-status':
        return None
    report = {'action': '', 'status': '', 'recipient': '', 'reason': '', 'headers': {}}
    for part in msg.iter_parts():
        ctype = part.get_content_type()
        if ctype == 'message/delivery-status':
            recipients = [b for b in part.get_payload()[1:] if b.get('action')]
            failed = [b for b in recipients if _field(b, 'action').lower() == 'failed']
            if failed or recipients:
                block = (failed or recipients)[0]
                report['action'] = _field(block, 'action').lower()
                report['status'] = _field(block, 'status')
                report['recipient'] = _field(block, 'final-recipient').split(';')[-1].strip()
                report['reason'] = _field(block, 'diagnostic-code').split(';', 1)[-1].strip()
        elif ctype in ('message/rfc822', 'text/rfc822-headers') and not report['headers']:
            if ctype == 'message/rfc822':
                original = part.get_payload()[0]
            else:
                original = HeaderParser(policy=policy.default).parsestr(part.get_content())
            report['headers'] = {k.lower(): str(v) for k, v in reversed(original.items())}
    return report


def address_of(value):
    """The addr-spec of a single address header value ('' if none)."""
    addrs = [a for _n, a in getaddresses([value or '']) if a]
    return addrs[0] if addrs else ''

