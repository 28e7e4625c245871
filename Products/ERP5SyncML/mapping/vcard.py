"""vCard data type: text/x-vcard (2.1) and text/vcard (3.0) <-> Person.

``parse(text)`` reads a vCard (through vobject) into the property values
of the demo Person type (``person.edit(**values)``); ``serialize(values,
content_type)`` writes them back.  Person keeps one e-mail and one
telephone: the preferred (or first) of the card.  The postal address is
kept as lines: street, locality, region, postal code, country.

Bad input raises ``VCardError`` (a ValueError) with a readable reason.
"""
import datetime
import re

import vobject

VCARD21 = 'text/x-vcard'
VCARD30 = 'text/vcard'
CONTENT_TYPES = {VCARD21: '2.1', VCARD30: '3.0'}
#: Person properties this mapping reads and writes.
PROPERTIES = ('title', 'first_name', 'last_name', 'email', 'telephone',
              'organisation', 'address', 'description', 'birthday')
MAX_SIZE = 1024 * 1024

_ADR_LINES = ('street', 'city', 'region', 'code', 'country')
_DATE = re.compile(r'\s*(\d{4})-?(\d{2})-?(\d{2})(?:T[\d:]*Z?)?\s*\Z')


class VCardError(ValueError):
    """The data is not a vCard this mapping can read or write."""


def content_type_version(content_type):
    """'2.1' or '3.0' for a vCard content type (parameters ignored)."""
    value = (content_type or '').split(';', 1)[0].strip().lower()
    if value not in CONTENT_TYPES:
        raise VCardError('unsupported content type %r (use %s or %s)'
                         % ((content_type or '')[:60], VCARD21, VCARD30))
    return CONTENT_TYPES[value]


# -------------------------------------------------------------- reading

def _first(card, name):
    """The TYPE=PREF line of ``name``, else the first; None when none."""
    lines = card.contents.get(name) or []
    for line in lines:
        types = [t.upper() for t in line.params.get('TYPE', [])]
        if 'PREF' in types or 'PREF' in [p.upper() for p in
                                         line.singletonparams]:
            return line
    return lines[0] if lines else None


def _value(card, name):
    line = _first(card, name)
    if line is None:
        return ''
    value = line.value
    if isinstance(value, (list, tuple)):
        value = ';'.join(str(v) for v in value if v)
    return str(value).strip()


def _birthday(card):
    text = _value(card, 'bday')
    if not text:
        return None
    match = _DATE.match(text)
    if not match:
        raise VCardError('BDAY %r is not a date' % text[:40])
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except ValueError:
        raise VCardError('BDAY %r is not a date' % text[:40]) from None


def _address(card):
    line = _first(card, 'adr')
    if line is None:
        return ''
    adr = line.value
    if not isinstance(adr, vobject.vcard.Address):
        return str(adr).strip()
    street = adr.street if isinstance(adr.street, str) \
        else ' '.join(adr.street)
    parts = [street, adr.city, adr.region, adr.code, adr.country]
    parts = [(p if isinstance(p, str) else ' '.join(p)).strip()
             for p in parts]
    while parts and not parts[-1]:
        parts.pop()
    return '\n'.join(parts)


def parse(text):
    """Person property values (``PROPERTIES``) from one vCard text."""
    if isinstance(text, bytes):
        try:
            text = text.decode('utf-8')
        except UnicodeDecodeError:
            text = text.decode('latin-1')
    if not isinstance(text, str):
        raise VCardError('a vCard is text, not %s' % type(text).__name__)
    if len(text) > MAX_SIZE:
        raise VCardError('vCard of %d characters exceeds %d'
                         % (len(text), MAX_SIZE))
    if not text.lstrip().upper().startswith('BEGIN:VCARD'):
        raise VCardError('not a vCard (no BEGIN:VCARD)')
    try:
        card = vobject.readOne(text, ignoreUnreadable=True)
    except Exception as exc:   # vobject raises many types on bad input
        raise VCardError('unreadable vCard: %s' % str(exc)[:200]) from None
    if getattr(card, 'name', '').upper() != 'VCARD':
        raise VCardError('not a vCard: %s' % getattr(card, 'name', '?'))
    values = dict.fromkeys(PROPERTIES, '')
    try:
        name = _first(card, 'n')
        if name is not None and isinstance(name.value, vobject.vcard.Name):
            values['first_name'] = _join(name.value.given)
            values['last_name'] = _join(name.value.family)
        values['title'] = _value(card, 'fn')
        values['email'] = _value(card, 'email')
        values['telephone'] = _value(card, 'tel')
        values['organisation'] = _value(card, 'org')
        values['description'] = _value(card, 'note').replace('\r\n', '\n')
        values['address'] = _address(card)
        values['birthday'] = _birthday(card)
    except VCardError:
        raise
    except Exception as exc:
        raise VCardError('unreadable vCard: %s' % str(exc)[:200]) from None
    return values


def _join(value):
    if isinstance(value, (list, tuple)):
        return ' '.join(v for v in value if v).strip()
    return (value or '').strip()


# -------------------------------------------------------------- writing

def _date_text(value):
    if value in (None, ''):
        return ''
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.strftime('%Y-%m-%d')
    if hasattr(value, 'strftime'):   # DateTime
        return value.strftime('%Y-%m-%d')
    match = _DATE.match(str(value))
    if not match:
        raise VCardError('birthday %r is not a date' % str(value)[:40])
    return '-'.join(match.groups())


def _text(values, key):
    value = values.get(key) or ''
    if not isinstance(value, str):
        raise VCardError('%s must be text, not %s'
                         % (key, type(value).__name__))
    return value.strip() if key != 'description' else value


def _address_parts(text):
    lines = [line.strip() for line in text.split('\n')]
    lines += [''] * (len(_ADR_LINES) - len(lines))
    if len(lines) > len(_ADR_LINES):
        lines = lines[:len(_ADR_LINES) - 1] + \
            [' '.join(lines[len(_ADR_LINES) - 1:]).strip()]
    return dict(zip(_ADR_LINES, lines))


def _display_name(values):
    return _text(values, 'title') or ' '.join(
        n for n in (_text(values, 'first_name'), _text(values, 'last_name'))
        if n) or _text(values, 'organisation') or _text(values, 'email')


def serialize(values, content_type=VCARD30, uid=None):
    """A vCard text (CRLF lines) of Person property ``values``."""
    version = content_type_version(content_type)
    if version == '2.1':
        return _serialize21(values, uid)
    card = vobject.vCard()
    card.add('version').value = '3.0'
    if uid:
        card.add('uid').value = str(uid)
    card.add('n').value = vobject.vcard.Name(
        family=_text(values, 'last_name'), given=_text(values, 'first_name'))
    card.add('fn').value = _display_name(values)
    for key, name in (('email', 'email'), ('telephone', 'tel')):
        if _text(values, key):
            card.add(name).value = _text(values, key)
    if _text(values, 'organisation'):
        card.add('org').value = [_text(values, 'organisation')]
    if _text(values, 'address'):
        card.add('adr').value = vobject.vcard.Address(
            **_address_parts(_text(values, 'address')))
    birthday = _date_text(values.get('birthday'))
    if birthday:
        card.add('bday').value = birthday
    if _text(values, 'description'):
        card.add('note').value = _text(values, 'description')
    return card.serialize()


def _escape21(value):
    # commas too: readers (vobject, Synthesis) split on them
    return (value.replace('\\', '\\\\').replace(';', '\\;')
            .replace(',', '\\,').replace('\r\n', '\n')
            .replace('\n', '\\n'))


def _line21(name, value):
    # 2.1 has no charset by default: say UTF-8 when it is not ASCII
    if any(ord(c) > 127 for c in value):
        name += ';CHARSET=UTF-8'
    return '%s:%s' % (name, value)


def _serialize21(values, uid):
    lines = ['BEGIN:VCARD', 'VERSION:2.1']
    if uid:
        lines.append(_line21('UID', _escape21(str(uid))))
    lines.append(_line21('N', '%s;%s;;;' % (
        _escape21(_text(values, 'last_name')),
        _escape21(_text(values, 'first_name')))))
    lines.append(_line21('FN', _escape21(_display_name(values))))
    if _text(values, 'email'):
        lines.append(_line21('EMAIL;INTERNET',
                             _escape21(_text(values, 'email'))))
    if _text(values, 'telephone'):
        lines.append(_line21('TEL', _escape21(_text(values, 'telephone'))))
    if _text(values, 'organisation'):
        lines.append(_line21('ORG', _escape21(_text(values, 'organisation'))))
    if _text(values, 'address'):
        parts = _address_parts(_text(values, 'address'))
        lines.append(_line21('ADR', ';;' + ';'.join(
            _escape21(parts[key]) for key in _ADR_LINES)))
    birthday = _date_text(values.get('birthday'))
    if birthday:
        lines.append('BDAY:' + birthday)
    if _text(values, 'description'):
        lines.append(_line21('NOTE', _escape21(_text(values,
                                                     'description'))))
    lines.append('END:VCARD')
    return '\r\n'.join(lines) + '\r\n'


def from_person(person, content_type=VCARD30, uid=None):
    """The vCard of a Person-like object (``getProperty``)."""
    values = {key: person.getProperty(key, '') for key in PROPERTIES}
    return serialize(values, content_type, uid=uid)
