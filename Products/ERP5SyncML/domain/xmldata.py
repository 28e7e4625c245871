"""The XML of synchronized objects as the sync engine sees it.

On the wire and in signatures, the root ``id`` attribute of an object's XML
is its GID, so both sides compare and diff the same bytes even when the
local ids differ (a GID generator, an id already taken).
"""
from lxml import etree

from ..syncml import xmlsafe

XUPDATE_NS = 'http://www.xmldb.org/xupdate'
SYNC_NS = 'urn:erp5syncml'
BASE_ATTR = '{%s}base' % SYNC_NS
RESULT_ATTR = '{%s}result' % SYNC_NS


def _mapping():
    from ..mapping import getXMLMapping
    from ..mapping import serialize
    return getXMLMapping, serialize


def serialize(element, in_place=False):
    return _mapping()[1](element, in_place)


def object_element(domain, obj, gid):
    """The object's XML element, root id replaced by the GID."""
    getXMLMapping, _serialize = _mapping()
    name = domain.xml_mapping or 'asXML'
    method = getattr(obj, name, None) if name != 'asXML' else None
    if method is not None and callable(method):
        text = method()
        element = xmlsafe.parse(text.encode('utf-8') if isinstance(text, str) else text)
    else:
        element = getXMLMapping(obj).toElement()
    element.set('id', gid)
    return element


def object_xml(domain, obj, gid):
    # the element is made here for this: no copy needed
    return serialize(object_element(domain, obj, gid), in_place=True)


def parse(xml):
    return xmlsafe.parse(xml)


def is_xupdate(element):
    return etree.QName(element).namespace == XUPDATE_NS

