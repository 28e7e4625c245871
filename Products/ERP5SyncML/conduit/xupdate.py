"""XUpdate documents between two versions of an object's XML.

``make_xupdate`` uses erp5diff; ``apply_xupdate`` uses xupdate_processor's
handler on trees parsed by our hardened parser, then re-serialises with the
canonical serializer, so that::

    apply_xupdate(old, make_xupdate(old, new)) == new      (byte for byte)

for any ``old``/``new`` in canonical form (``mapping.serialize``).
"""
import copy
import importlib
import importlib.metadata
import importlib.util
import sys

from lxml import etree

from ..mapping.serializer import serialize
from ..syncml import xmlsafe

XUPDATE_NS = 'http://www.xmldb.org/xupdate'


class XUpdateError(ValueError):
    """An XUpdate document could not be made or applied."""


def _load_erp5diff():
    """Import the ERP5Diff class.

    erp5diff ships a top-level ``interfaces`` package and imports
    ``interfaces.erp5diff``; any other top-level ``interfaces`` module seen
    first (a checkout on sys.path, another distribution) breaks that import.
    When it does, load erp5diff's own ``interfaces`` from its distribution
    for the time of the import and restore what was there.
    """
    try:
        from ERP5Diff.ERP5Diff import ERP5Diff
        return ERP5Diff
    except ImportError:
        pass
    dist = importlib.metadata.distribution('erp5diff')
    init = dist.locate_file('interfaces/__init__.py')
    spec = importlib.util.spec_from_file_location(
        'interfaces', str(init),
        submodule_search_locations=[str(dist.locate_file('interfaces'))])
    saved = {name: sys.modules.pop(name) for name in list(sys.modules)
             if name == 'interfaces' or name.startswith('interfaces.')
             or name.startswith('ERP5Diff')}
    try:
        module = importlib.util.module_from_spec(spec)
        sys.modules['interfaces'] = module
        spec.loader.exec_module(module)
        from ERP5Diff.ERP5Diff import ERP5Diff
        return ERP5Diff
    finally:
        for name in list(sys.modules):
            if name == 'interfaces' or name.startswith('interfaces.'):
                del sys.modules[name]
        for name, module in saved.items():
            if not name.startswith('ERP5Diff'):
                sys.modules[name] = module


_ERP5Diff = None


def _differ():
    global _ERP5Diff
    if _ERP5Diff is None:
        _ERP5Diff = _load_erp5diff()
    return _ERP5Diff()


def _canonical(xml):
    if isinstance(xml, str):
        xml = xml.encode('utf-8')
    return serialize(xmlsafe.parse(xml))


def _check_ids(root):
    # erp5diff writes ids into XPath string literals without escaping
    for element in root.iter():
        value = element.get('id')
        if value is not None and ("'" in value or '"' in value):
            raise XUpdateError('id %r contains a quote: send the whole object'
                               % value)


def make_xupdate(old_xml, new_xml):
    """Return the XUpdate (bytes) taking ``old_xml`` to ``new_xml``, or
    None when both are equal. Both are object XML (bytes or str)."""
    try:
        old = _canonical(old_xml)
        new = _canonical(new_xml)
    except xmlsafe.UnsafeXMLError as exc:
        raise XUpdateError('cannot diff: %s' % exc) from None
    if old == new:
        return None
    _check_ids(xmlsafe.parse(old))
    _check_ids(xmlsafe.parse(new))
    differ = _differ()
    try:
        differ.compare(old, new)
    except Exception as exc:  # noqa: BLE001 - erp5diff raises anything
        raise XUpdateError('erp5diff failed: %s' % exc) from exc
    result = differ._result  # the tree; outputBytes() would pretty-print
    if result is None or len(result) == 0:
        return None
    return etree.tostring(result, encoding='utf-8', xml_declaration=False)


def parse_xupdate(xupdate):
    """Parse an XUpdate document safely; XUpdateError if it is not one."""
    try:
        root = xmlsafe.parse(xupdate)
    except xmlsafe.UnsafeXMLError as exc:
        raise XUpdateError('bad XUpdate document: %s' % exc) from None
    if root.tag != '{%s}modifications' % XUPDATE_NS:
        raise XUpdateError('not an XUpdate document: <%s>' % root.tag)
    return root


def apply_xupdate(old_xml, xupdate):
    """Apply ``xupdate`` to ``old_xml``; return the new canonical XML bytes.

    Raises XUpdateError if either document is malformed or the XUpdate
    does not apply (a select that matches nothing, an unknown operation).
    """
    try:
        old = xmlsafe.parse(old_xml)
    except xmlsafe.UnsafeXMLError as exc:
        raise XUpdateError('bad XML document: %s' % exc) from None
    modifications = parse_xupdate(xupdate)
    import lxml.sax
    from xupdate_processor.content_handler import XUpdateHandler
    # blank text between elements means nothing in either document
    _drop_blank_tails(old)
    _rewrite_attribute_appends(modifications)
    try:
        _clear_replaced_content(old, modifications)
        handler = XUpdateHandler(original_tree=old.getroottree())
        lxml.sax.saxify(modifications, handler)
        result = handler.result_tree.getroot()
    except Exception as exc:  # noqa: BLE001 - the processor raises anything
        raise XUpdateError('XUpdate does not apply: %s: %s'
                           % (type(exc).__name__, exc)) from None
    if result is None:
        raise XUpdateError('XUpdate removed the whole document')
    return serialize(result)


def _drop_blank_tails(root):
    for element in root.iter():
        if len(element) and element.text is not None \
                and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None


def _rewrite_attribute_appends(modifications):
    """xupdate_processor cannot append attributes (erp5diff makes such
    appends when an element gains one); an update of ``select/@name``
    sets the attribute whether it exists or not, so use that instead."""
    append = '{%s}append' % XUPDATE_NS
    attribute = '{%s}attribute' % XUPDATE_NS
    for operation in list(modifications):
        if operation.tag != append or not len(operation) or any(
                child.tag != attribute for child in operation):
            continue
        select = operation.get('select', '')
        position = modifications.index(operation)
        for offset, child in enumerate(operation):
            update = etree.Element('{%s}update' % XUPDATE_NS)
            update.set('select', '%s/@%s' % (select, child.get('name', '')))
            update.text = child.text
            modifications.insert(position + offset + 1, update)
        modifications.remove(operation)


def _clear_replaced_content(document, modifications):
    """xupdate_processor's update adds the new content to the old one (and
    reverses the order of several new elements); an update that switches an
    element between text and child elements (a property changing type, say
    from int to lines) is done here instead: the content is replaced."""
    update = '{%s}update' % XUPDATE_NS
    for operation in list(modifications):
        select = operation.get('select', '')
        if operation.tag != update or '@' in select or 'attribute::' in select \
                or 'text()' in select:
            continue
        targets = document.xpath(select)
        if len(targets) != 1 or not isinstance(targets[0], etree._Element):
            continue
        target = targets[0]
        if len(target) or len(operation):
            for child in list(target):
                target.remove(child)
            target.text = operation.text
            for child in operation:
                target.append(copy.deepcopy(child))
            modifications.remove(operation)
