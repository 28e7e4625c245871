"""Typed property values <-> XML, and the canonical serializer."""
import pytest
from DateTime import DateTime
from lxml import etree

from Products.ERP5SyncML.mapping import serialize
from Products.ERP5SyncML.mapping.values import PropertyValueError
from Products.ERP5SyncML.mapping.values import format_date
from Products.ERP5SyncML.mapping.values import from_element
from Products.ERP5SyncML.mapping.values import parse_date
from Products.ERP5SyncML.mapping.values import to_element
from Products.ERP5SyncML.syncml.xmlsafe import parse

from test_mapping_fixtures import ALL_TYPES


def _through_bytes(element):
    return parse(serialize(element))


@pytest.mark.parametrize('pid,type,value', ALL_TYPES,
                         ids=[pid for pid, _, _ in ALL_TYPES])
def test_every_type_round_trips_exactly_through_bytes(pid, type, value):
    element = _through_bytes(to_element(pid, type, value))
    got = from_element(element)
    assert got[:2] == (pid, type)
    if type == 'date' and value is not None:
        assert got[2].micros() == value.micros()
        assert got[2].tzoffset() == value.tzoffset()
    elif type == 'float' and value != value:
        assert got[2] != got[2]
    else:
        assert got[2] == value and builtins_type(got[2]) is builtins_type(value)
    # same value -> same bytes, also after a parse
    assert serialize(element) == serialize(to_element(pid, type, value))


def builtins_type(value):
    return type(value) if not isinstance(value, DateTime) else DateTime


def test_text_that_xml_cannot_carry_is_base64():
    element = to_element('t', 'string', 'a\x00b')
    assert element.get('encoding') == 'base64'
    assert from_element(_through_bytes(element))[2] == 'a\x00b'
    lone_surrogate = 'x\ud800y'
    assert from_element(_through_bytes(
        to_element('t', 'text', lone_surrogate)))[2] == lone_surrogate


def test_whitespace_only_text_is_base64_but_plain_text_keeps_its_spaces():
    assert to_element('t', 'string', '   ').get('encoding') == 'base64'
    element = to_element('t', 'string', '  x  ')
    assert element.get('encoding') is None and element.text == '  x  '


def test_property_ids_that_are_not_element_names():
    for pid in ('object', 'local_role', 'property', 'with space', 'é',
                'xmlish', '1st', 'a:b'):
        element = to_element(pid, 'string', 'v')
        assert element.tag == 'property' and element.get('id') == pid
        assert from_element(_through_bytes(element)) == (pid, 'string', 'v')
    assert to_element('plain_id-1.x', 'int', 1).tag == 'plain_id-1.x'


def test_dates_keep_microseconds_and_offset():
    for text in ('2001-02-03T04:05:06.123456+05:30',
                 '1969-12-31T23:59:59.999999-03:30',
                 '2020-06-01T10:00:00.500000+05:45',   # DateTime cannot parse
                 '2020-06-01T10:00:00.000001+14:00',
                 '2001-02-03T04:05:06.000000+00:00'):
        assert format_date(parse_date(text)) == text
    paris = DateTime('2021/01/14 10:00:00.25 Europe/Paris')
    assert format_date(paris) == '2021-01-14T10:00:00.250000+01:00'


def test_bad_values_are_clear_errors():
    with pytest.raises(PropertyValueError, match='unsupported type'):
        to_element('x', 'json', {})
    with pytest.raises(PropertyValueError, match='bad value'):
        to_element('x', 'int', 'twelve')
    with pytest.raises(PropertyValueError, match='boolean'):
        from_element(etree.fromstring('<x type="boolean">yes</x>'))
    with pytest.raises(PropertyValueError, match='bad date'):
        from_element(etree.fromstring('<x type="date">2001-02-03</x>'))
    with pytest.raises(PropertyValueError, match='base64'):
        from_element(etree.fromstring(
            '<x type="string" encoding="base64">@@@</x>'))
    with pytest.raises(PropertyValueError):
        from_element(etree.fromstring('<x type="base64">not base 64!</x>'))


def test_none_in_typed_properties():
    for type in ('int', 'long', 'float', 'boolean', 'date'):
        assert from_element(_through_bytes(to_element('x', type, None))) == \
            ('x', type, None)


def test_serializer_is_canonical():
    messy = parse(b'<object meta_type="M" id="a" portal_type="P">'
                  b'<b type="lines">\n   <item>1</item>  <item/> </b>'
                  b'<a encoding="base64" type="string">IA==</a>'
                  b'<object id="s" portal_type="" meta_type="Folder"/></object>')
    out = serialize(messy)
    assert out == (
        b'<object id="a" portal_type="P" meta_type="M">\n'
        b'  <b type="lines"><item>1</item><item></item></b>\n'
        b'  <a type="string" encoding="base64">IA==</a>\n'
        b'  <object id="s" portal_type="" meta_type="Folder"></object>\n'
        b'</object>')
    assert serialize(parse(out)) == out
    # the argument is left alone
    assert messy.get('meta_type') == 'M' and messy[0].text.startswith('\n')


def test_serializer_keeps_leaf_text_byte_for_byte():
    element = to_element('t', 'text', '\n  indented\n\ttab\r\n')
    out = serialize(element)
    assert from_element(parse(out))[2] == '\n  indented\n\ttab\r\n'
