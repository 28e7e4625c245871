"""make_xupdate / apply_xupdate: byte-exact round trips on object XML."""
import subprocess
import sys

import pytest
from DateTime import DateTime
from lxml import etree

from Products.ERP5SyncML.conduit.xupdate import XUpdateError
from Products.ERP5SyncML.conduit.xupdate import apply_xupdate
from Products.ERP5SyncML.conduit.xupdate import make_xupdate
from Products.ERP5SyncML.mapping import serialize
from Products.ERP5SyncML.mapping import to_element
from Products.ERP5SyncML.syncml.xmlsafe import parse

from test_mapping_fixtures import ALL_TYPES


def obj(object_id, properties=(), roles=(), subs=()):
    element = etree.Element('object', id=object_id, portal_type='Sample',
                            meta_type='ERP5SyncML Test Sample')
    for pid, type, value in sorted(properties):
        element.append(to_element(pid, type, value))
    for user, user_roles in sorted(roles):
        role_element = etree.SubElement(element, 'local_role', id=user)
        for role in sorted(user_roles):
            etree.SubElement(role_element, 'role').text = role
    for sub in sorted(subs, key=lambda e: e.get('id')):
        element.append(sub)
    return element


def tree(props, deep_props=(), roles=(('alice', ('Owner',)),), extra=()):
    return serialize(obj('p1', props, roles, [
        obj('a', [('title', 'string', 'A')], subs=[
            obj('b', deep_props, subs=[obj('c', [('n', 'int', 1)])])]),
        *extra]))


def round_trip(old, new):
    xupdate = make_xupdate(old, new)
    assert xupdate is not None
    result = apply_xupdate(old, xupdate)
    assert result == new, xupdate.decode()
    return xupdate


BASE = [('title', 'string', 'Old title'), ('n_int', 'int', 1),
        ('l_lines', 'lines', ('a', 'b')), ('z_photo', 'base64', b'\x00\x01')]

NEW_VALUES = [
    ('title', 'string', 'text with < & ]]> -- and "quotes"'),
    ('title', 'string', 'accents: été, Zoë, 日本語'),
    ('title', 'string', 'x' * 10000),
    ('title', 'string', '   '),
    ('title', 'string', ' padded '),
    ('title', 'string', ''),
    ('title', 'string', 'control\x00chars'),
    ('title', 'string', 'multi\nline\r\ntext\n'),
    ('n_int', 'int', -7),
    ('n_int', 'int', None),
    ('l_lines', 'lines', ()),
    ('l_lines', 'lines', ('a', ' ', '', 'c')),
    ('z_photo', 'base64', bytes(range(256)) * 40),
    ('z_photo', 'base64', b''),
]


@pytest.mark.parametrize('pid,type,value', NEW_VALUES)
def test_property_edit_round_trips(pid, type, value):
    old = tree(BASE)
    new = tree([p for p in BASE if p[0] != pid] + [(pid, type, value)])
    round_trip(old, new)
    # and back again
    round_trip(new, old)


@pytest.mark.parametrize('pid,type,value', ALL_TYPES,
                         ids=[p[0] for p in ALL_TYPES])
def test_every_type_added_removed_and_changed(pid, type, value):
    old = tree(BASE)
    with_it = tree(BASE + [(pid, type, value)])
    round_trip(old, with_it)
    round_trip(with_it, old)
    other = {'date': DateTime('1999-12-31T23:59:59.000001+00:00'),
             'base64': b'other', 'none': None, 'boolean': not value,
             'int': 3, 'long': 3, 'float': 1.5}.get(
        type, ('other',) if isinstance(value, tuple) else 'other')
    changed = tree(BASE + [(pid, type, other)])
    if changed != with_it:
        round_trip(with_it, changed)


def test_type_change_of_a_property():
    old = tree(BASE)
    new = tree([p for p in BASE if p[0] != 'n_int'] +
               [('n_int', 'lines', ('1', '2'))])
    round_trip(old, new)
    round_trip(new, old)


def test_local_roles_added_removed_changed():
    old = tree(BASE)
    new = tree(BASE, roles=(('alice', ('Editor', 'Owner')),
                            ('bob', ('Reviewer',))))
    round_trip(old, new)
    round_trip(new, tree(BASE, roles=()))


def test_sub_objects_three_levels_deep():
    old = tree(BASE, deep_props=[('title', 'string', 'deep')])
    modified = tree(BASE, deep_props=[('title', 'string', 'deeper'),
                                      ('n', 'float', 2.0)])
    round_trip(old, modified)
    added = tree(BASE, deep_props=[('title', 'string', 'deep')],
                 extra=[obj('z', [('t', 'text', 'new\nsub')],
                            subs=[obj('zz', [('t', 'string', '')])])])
    round_trip(old, added)
    round_trip(added, old)
    removed = parse(old)
    b = removed.find("object[@id='a']/object[@id='b']")
    b.remove(b.find("object[@id='c']"))
    round_trip(old, serialize(removed))


def test_equal_documents_give_none():
    old = tree(BASE)
    assert make_xupdate(old, old) is None
    # same content, other formatting
    assert make_xupdate(old, etree.tostring(parse(old), pretty_print=True)) \
        is None


def test_xupdate_is_plain_xupdate_without_declaration():
    xupdate = make_xupdate(tree(BASE), tree(BASE[1:]))
    assert xupdate.startswith(b'<xupdate:modifications')
    root = parse(xupdate)
    assert root.tag == '{http://www.xmldb.org/xupdate}modifications'


def test_apply_errors_are_clear():
    old = tree(BASE)
    with pytest.raises(XUpdateError, match='not an XUpdate'):
        apply_xupdate(old, b'<object/>')
    with pytest.raises(XUpdateError, match='does not apply'):
        apply_xupdate(old, b'<xupdate:modifications version="1.0" '
                      b'xmlns:xupdate="http://www.xmldb.org/xupdate">'
                      b'<xupdate:remove select="/object/missing"/>'
                      b'</xupdate:modifications>')
    with pytest.raises(XUpdateError, match='DOCTYPE'):
        apply_xupdate(old, b'<!DOCTYPE x [<!ENTITY e "x">]><x>&e;</x>')
    with pytest.raises(XUpdateError):
        apply_xupdate(b'<object', make_xupdate(old, tree(BASE[1:])))


def test_ids_with_quotes_are_refused():
    old = serialize(obj("it's"))
    new = serialize(obj("it's", [('t', 'string', 'x')]))
    with pytest.raises(XUpdateError, match='quote'):
        make_xupdate(old, new)


def test_import_survives_a_shadowing_interfaces_package(tmp_path):
    (tmp_path / 'interfaces').mkdir()
    (tmp_path / 'interfaces' / '__init__.py').write_text('')
    code = ('import sys; sys.path.insert(0, %r); import interfaces; '
            'from Products.ERP5SyncML.conduit.xupdate import make_xupdate; '
            'print(make_xupdate(b"<object><a>1</a></object>", '
            'b"<object><a>2</a></object>").decode()); '
            'print(interfaces.__file__)' % str(tmp_path))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, check=True).stdout
    assert '<xupdate:update select="/object/a">2</xupdate:update>' in out
    assert str(tmp_path) in out    # the shadowing package is left in place


def test_whitespace_changes_are_not_lost():
    old = tree([('t', 'string', ' ')])
    new = tree([('t', 'string', '  ')])
    round_trip(old, new)
