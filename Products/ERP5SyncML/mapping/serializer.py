"""Canonical serialisation of the object XML.

Every piece of object XML that is hashed, diffed, stored or sent goes
through ``serialize``, so the same tree always gives the same bytes:

* UTF-8, no XML declaration, no namespaces added;
* attributes in a fixed order (``id``, ``portal_type``, ``meta_type``,
  ``type``, ``encoding``, then the others by name);
* the children of an ``<object>`` are indented by two spaces per level,
  one per line; inside other elements whitespace between child elements
  is dropped (``<item>`` and ``<role>`` lists stay on one line);
* empty elements are written ``<x></x>``, as in C14N;
* the text of leaf elements is never touched.
"""
import copy

from lxml import etree

INDENT = '  '
_ATTRIBUTE_ORDER = {name: position for position, name in enumerate(
    ('id', 'portal_type', 'meta_type', 'type', 'encoding'))}


def _attribute_key(name):
    return (_ATTRIBUTE_ORDER.get(name, len(_ATTRIBUTE_ORDER)), name)


def _is_blank(text):
    return text is None or not text.strip()


def _normalise(element, depth):
    if not isinstance(element.tag, str):
        return  # comments and processing instructions are left alone
    attributes = element.attrib
    if len(attributes) > 1:
        items = sorted(attributes.items(), key=lambda item: _attribute_key(item[0]))
        attributes.clear()
        for name, value in items:
            attributes[name] = value
    children = [child for child in element if isinstance(child.tag, str)]
    if not children:
        if not element.text:
            element.text = ''  # forces <x></x>
        return
    indent = element.tag == 'object'
    if _is_blank(element.text):
        element.text = '\n' + INDENT * (depth + 1) if indent else None
    for child in element:
        _normalise(child, depth + 1)
        if _is_blank(child.tail):
            child.tail = '\n' + INDENT * (depth + 1) if indent else None
    if indent and _is_blank(element[-1].tail):
        element[-1].tail = '\n' + INDENT * depth


def serialize(element, in_place=False):
    """Return the canonical UTF-8 bytes of ``element`` (and its subtree).

    The element itself is not modified, unless ``in_place``: then only its
    layout whitespace is (for elements made to be serialized, no copy).
    """
    if isinstance(element, etree._ElementTree):
        element = element.getroot()
    if not in_place:
        element = copy.deepcopy(element)
    tail = element.tail
    element.tail = None
    _normalise(element, 0)
    data = etree.tostring(element, encoding='utf-8', xml_declaration=False,
                          with_tail=False)
    element.tail = tail
    return data
