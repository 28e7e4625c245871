"""Typed property values <-> XML elements (see docs/xml-format.txt).

``to_element`` and ``from_element`` are exact inverses for every type:
``from_element(to_element(pid, t, v)) == (pid, t, v)``.
"""
import base64
import binascii
import datetime
import re

from lxml import etree

TEXT_TYPES = frozenset(('string', 'text', 'ustring', 'utext', 'selection'))
INT_TYPES = frozenset(('int', 'long'))
LIST_TYPES = frozenset(('lines', 'tokens', 'ulines', 'utokens',
                        'multiple selection'))
OTHER_TYPES = frozenset(('float', 'boolean', 'date', 'base64', 'none'))
TYPES = TEXT_TYPES | INT_TYPES | LIST_TYPES | OTHER_TYPES

#: element names that cannot be property ids (they mean something else)
RESERVED_TAGS = frozenset(('object', 'local_role', 'property'))
_PLAIN_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]*\Z')
# characters XML 1.0 cannot carry (surrogates included: not encodable)
_NOT_XML = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')
_EPOCH = datetime.datetime(1970, 1, 1)
_DATE = re.compile(r'(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})'
                   r'([+-])(\d\d):(\d\d)\Z')


class PropertyValueError(ValueError):
    """A property value or element that the XML format cannot express."""


def is_plain_name(property_id):
    """True if ``property_id`` is written as the element name itself."""
    return (bool(_PLAIN_NAME.match(property_id))
            and property_id not in RESERVED_TAGS
            and not property_id.lower().startswith('xml'))


# -- text -------------------------------------------------------------------

def _needs_base64(text):
    # whitespace-only text is base64 too: XUpdate tools drop blank text nodes
    return bool(_NOT_XML.search(text)) or (text != '' and not text.strip())


def _set_text(element, text):
    if not isinstance(text, str):
        raise PropertyValueError('expected text, got %s' % type(text).__name__)
    if _needs_base64(text):
        element.set('encoding', 'base64')
        raw = text.encode('utf-8', 'surrogatepass')
        element.text = base64.b64encode(raw).decode('ascii')
    else:
        element.text = text


def _get_text(element):
    text = element.text or ''
    encoding = element.get('encoding')
    if encoding is None:
        return text
    if encoding != 'base64':
        raise PropertyValueError('unknown encoding %r' % encoding)
    try:
        return base64.b64decode(text, validate=True).decode(
            'utf-8', 'surrogatepass')
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise PropertyValueError('bad base64 text: %s' % exc) from None


def _as_text(value):
    if value is None:
        return ''
    if isinstance(value, bytes):
        # legacy byte strings: UTF-8 when possible, else Latin-1
        try:
            return value.decode('utf-8')
        except UnicodeDecodeError:
            return value.decode('latin-1')
    if not isinstance(value, str):
        return str(value)
    return value


# -- dates ------------------------------------------------------------------

def format_date(value):
    """``YYYY-MM-DDTHH:MM:SS.ffffff+HH:MM`` of a DateTime, exact to the
    microsecond, in the DateTime's own time zone offset."""
    from DateTime import DateTime
    if not isinstance(value, DateTime):
        value = DateTime(value)
    offset = int(value.tzoffset())
    local = _EPOCH + datetime.timedelta(
        microseconds=value.micros() + offset * 1000000)
    sign = '-' if offset < 0 else '+'
    offset = abs(offset)
    return '%04d-%s%s%02d:%02d' % (
        local.year, local.strftime('%m-%dT%H:%M:%S.%f'), sign,
        offset // 3600, offset % 3600 // 60)


_zone_cache = {}


def _zone_for(offset_seconds, utc):
    """A DateTime zone name whose offset at ``utc`` is ``offset_seconds``
    (DateTime parses only whole-hour GMT offsets and a few half hours)."""
    if offset_seconds % 3600 == 0 and -12 <= offset_seconds // 3600 <= 13:
        return 'GMT%+d' % (offset_seconds // 3600)
    import pytz
    cached = _zone_cache.get(offset_seconds)
    for name in ([cached] if cached else []) + sorted(pytz.common_timezones):
        try:
            if int(utc.toZone(name).tzoffset()) == offset_seconds:
                _zone_cache[offset_seconds] = name
                return name
        except Exception:  # noqa: BLE001 - a zone DateTime does not know
            continue
    return 'UTC'


def parse_date(text):
    """Inverse of ``format_date``."""
    from DateTime import DateTime
    match = _DATE.match(text)
    if match is None:
        raise PropertyValueError('bad date %r (want YYYY-MM-DDTHH:MM:SS.'
                                 'ffffff+HH:MM)' % text)
    (year, month, day, hour, minute, second, micro,
     sign, off_h, off_m) = match.groups()
    offset = (int(off_h) * 3600 + int(off_m) * 60) * (-1 if sign == '-' else 1)
    try:
        local = datetime.datetime(int(year), int(month), int(day), int(hour),
                                  int(minute), int(second), int(micro))
    except ValueError as exc:
        raise PropertyValueError('bad date %r: %s' % (text, exc)) from None
    micros = (local - _EPOCH) // datetime.timedelta(microseconds=1) \
        - offset * 1000000
    try:
        value = DateTime(text)
        if value.micros() == micros and int(value.tzoffset()) == offset:
            return value
    except Exception:  # noqa: BLE001 - offsets DateTime cannot parse
        pass
    utc = DateTime(text[:-6] + '+00:00') if offset == 0 else DateTime(
        (_EPOCH + datetime.timedelta(microseconds=micros)).strftime(
            '%Y-%m-%dT%H:%M:%S.%f') + '+00:00')
    return utc.toZone(_zone_for(offset, utc))


# -- elements -----------------------------------------------------------------

def to_element(property_id, type, value):
    """Return the XML element of one typed property value."""
    if type not in TYPES:
        raise PropertyValueError('property %r: unsupported type %r'
                                 % (property_id, type))
    if is_plain_name(property_id):
        element = etree.Element(property_id)
        element.set('type', type)
    else:
        if _needs_base64(property_id):
            raise PropertyValueError('property id %r cannot be written in XML'
                                     % property_id)
        element = etree.Element('property')
        element.set('id', property_id)
        element.set('type', type)
    try:
        _fill(element, type, value)
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, PropertyValueError):
            raise
        raise PropertyValueError('property %r of type %r: bad value %r (%s)'
                                 % (property_id, type, value, exc)) from None
    return element


def _fill(element, type, value):
    if type in TEXT_TYPES:
        _set_text(element, _as_text(value))
    elif type in INT_TYPES:
        if value is not None:
            element.text = str(int(value))
    elif type == 'float':
        if value is not None:
            element.text = repr(float(value))
    elif type == 'boolean':
        if value is not None:
            element.text = '1' if value else '0'
    elif type == 'date':
        if value is not None and value != '':
            element.text = format_date(value)
    elif type in LIST_TYPES:
        if isinstance(value, (str, bytes)):
            value = (value,)
        for item in value or ():
            _set_text(etree.SubElement(element, 'item'), _as_text(item))
    elif type == 'base64':
        if value is not None:
            element.text = base64.b64encode(_as_bytes(value)).decode('ascii')
    elif type == 'none':
        if value is not None:
            raise PropertyValueError('type none holds only None, not %r'
                                     % (value,))


def _as_bytes(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode('utf-8')
    return bytes(value)  # OFS Pdata chains and the like


def property_id_of(element):
    """The property id an element stands for."""
    if element.tag == 'property':
        property_id = element.get('id')
        if not property_id:
            raise PropertyValueError('<property> without id')
        return property_id
    return element.tag


def from_element(element):
    """Return ``(property_id, type, value)`` of a property element."""
    property_id = property_id_of(element)
    type = element.get('type', 'string')
    if type not in TYPES:
        raise PropertyValueError('property %r: unsupported type %r'
                                 % (property_id, type))
    text = element.text or ''
    try:
        if type in TEXT_TYPES:
            value = _get_text(element)
        elif type in INT_TYPES:
            value = int(text) if text.strip() else None
        elif type == 'float':
            value = float(text) if text.strip() else None
        elif type == 'boolean':
            if text not in ('', '0', '1'):
                raise PropertyValueError('boolean must be 0 or 1, not %r'
                                         % text)
            value = None if text == '' else text == '1'
        elif type == 'date':
            value = parse_date(text.strip()) if text.strip() else None
        elif type in LIST_TYPES:
            value = tuple(_get_text(item) for item in element
                          if item.tag == 'item')
        elif type == 'base64':
            value = base64.b64decode(text, validate=True) if text else b''
        else:  # none
            value = None
    except (ValueError, binascii.Error) as exc:
        if isinstance(exc, PropertyValueError):
            raise
        raise PropertyValueError('property %r of type %r: bad value %r (%s)'
                                 % (property_id, type, text[:80], exc)) from None
    return property_id, type, value
