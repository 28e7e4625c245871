"""Hardened XML parsing for everything that comes from outside.

No entity expansion, no DTD, no network access, bounded size and depth.
"""
import re

from lxml import etree

#: Default ceiling for one XML document received from a peer (bytes).
DEFAULT_MAX_SIZE = 16 * 1024 * 1024


class UnsafeXMLError(ValueError):
    """The document is malformed, too large, or uses forbidden XML features."""


# The start of the root element; a DOCTYPE can only come before it.  After
# it, "<!DOCTYPE" or "<!ENTITY" is text (in CDATA or a comment), e.g. an
# HTML page carried as item data, and must not be refused.
_ELEMENT_START = re.compile(rb'<[A-Za-z_:\x80-\xff]')


def _declares_dtd(data):
    first_element = _ELEMENT_START.search(data)
    limit = first_element.start() if first_element else len(data)
    return any(0 <= data.find(marker, 0, limit)
               for marker in (b'<!DOCTYPE', b'<!ENTITY'))


def _parser():
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False,
        dtd_validation=False, huge_tree=False, remove_comments=False,
        remove_pis=True, collect_ids=False)


def parse(data, max_size=DEFAULT_MAX_SIZE):
    """Parse ``data`` (bytes or str) and return the root element.

    Raises UnsafeXMLError with a readable reason for oversized input, a
    DOCTYPE (hence any entity declaration), or malformed XML.
    """
    if isinstance(data, str):
        if data.lstrip().startswith('<?xml'):
            # a declaration may name another encoding than the one we use
            data = data.split('?>', 1)[1]
        data = data.encode('utf-8')
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafeXMLError('XML input must be bytes or str, not %s'
                             % type(data).__name__)
    if len(data) > max_size:
        raise UnsafeXMLError('XML document of %d bytes exceeds the limit of %d'
                             % (len(data), max_size))
    if _declares_dtd(data):
        raise UnsafeXMLError('DOCTYPE and entity declarations are not allowed')
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXMLError('malformed XML: %s' % exc) from None
    if root is None:
        raise UnsafeXMLError('empty XML document')
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXMLError('DOCTYPE and entity declarations are not allowed')
    return root
