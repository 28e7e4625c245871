"""Conduit: three-way update, conflicts, force, simulate, sub-objects."""
import copy

import pytest
from DateTime import DateTime
from zope.component import getGlobalSiteManager
from zope.lifecycleevent.interfaces import IObjectModifiedEvent

from Products.ERP5SyncML.conduit import getConduit
from Products.ERP5SyncML.conduit.conduit import ConduitError
from Products.ERP5SyncML.mapping import asXML
from Products.ERP5SyncML.mapping import getXMLMapping
from Products.ERP5SyncML.mapping import serialize
from Products.ERP5SyncML.mapping import to_element
from Products.ERP5SyncML.syncml.xmlsafe import parse

from test_mapping_fixtures import as_system  # noqa: F401 - fixture
from test_mapping_fixtures import fill
from test_mapping_fixtures import site  # noqa: F401 - fixture


@pytest.fixture
def conduit():
    return getConduit('ERP5Conduit')


@pytest.fixture
def person(site):
    """p1 with two levels of sub-objects: p1/a/b."""
    site.invokeFactory('Sample', 'p1')
    p1 = fill(site.p1)
    p1.invokeFactory('Sample', 'a')
    p1.a.invokeFactory('Sample', 'b')
    p1.a.b._updateProperty('s_string', 'deep')
    return p1


def edited(xml, path=(), **properties):
    """``xml`` (str) with properties of the object at ``path`` replaced:
    name=(type, value) sets, name=None removes."""
    root = parse(xml) if isinstance(xml, (str, bytes)) else copy.deepcopy(xml)
    target = root
    for object_id in path:
        target = target.find("object[@id='%s']" % object_id)
    for pid, spec in properties.items():
        old = target.find(pid)
        if spec is None:
            target.remove(old)
            continue
        new = to_element(pid, *spec)
        if old is None:
            target.insert(0, new)
        else:
            target.replace(old, new)
    return root


def test_incoming_change_is_applied(conduit, person):
    previous = asXML(person)
    new = edited(previous, s_string=('string', 'new title'),
                 n_int=('int', 7), d_date=('date', DateTime('2030-01-01')))
    assert conduit.updateNode(person, previous, new) == []
    assert person.s_string == 'new title' and person.n_int == 7
    assert person.d_date == DateTime('2030-01-01')


def test_same_property_changed_on_both_sides_is_a_conflict(conduit, person):
    previous = asXML(person)
    person._updateProperty('s_string', 'local')
    new = edited(previous, s_string=('string', 'remote'),
                 n_int=('int', 99))            # a different property merges
    conflicts = conduit.updateNode(person, previous, new)
    assert conflicts == [{
        'path': (), 'property': 's_string', 'kind': 'property',
        'previous_value': '<s_string type="string">Zoë &lt;&amp;&gt; ]]&gt; '
                          '-- "q" \'a\'</s_string>',
        'publisher_value': '<s_string type="string">local</s_string>',
        'subscriber_value': '<s_string type="string">remote</s_string>'}]
    assert person.s_string == 'local'
    assert person.n_int == 99


def test_same_change_on_both_sides_is_no_conflict(conduit, person):
    previous = asXML(person)
    person._updateProperty('n_float', 2.5)
    new = edited(previous, n_float=('float', 2.5))
    assert conduit.updateNode(person, previous, new) == []
    assert person.n_float == 2.5


def test_values_compare_by_type(conduit, person):
    previous = asXML(person)
    person.manage_addProperty('extra', '1', 'string')
    new = edited(previous, extra=('int', 1))
    conflicts = conduit.updateNode(person, previous, new)
    assert [c['property'] for c in conflicts] == ['extra']


def test_force_applies_conflicting_values(conduit, person):
    previous = asXML(person)
    person._updateProperty('s_string', 'local')
    new = edited(previous, s_string=('string', 'remote'))
    assert conduit.updateNode(person, previous, new, force=True) == []
    assert person.s_string == 'remote'


def test_simulate_reports_and_changes_nothing(conduit, person):
    previous = asXML(person)
    person._updateProperty('s_string', 'local')
    person.a.b._updateProperty('n_int', 5)
    before = asXML(person)
    new = edited(previous, s_string=('string', 'remote'), n_int=('int', 1),
                 l_lines=None)
    new = edited(new, ('a', 'b'), n_int=('int', 6))
    new.append(parse('<object id="fresh" portal_type="Sample" '
                     'meta_type="ERP5SyncML Test Sample"/>'))
    conflicts = conduit.updateNode(person, previous, new, simulate=True)
    assert sorted((c['path'], c['property']) for c in conflicts) == \
        [((), 's_string'), (('a', 'b'), 'n_int')]
    assert asXML(person) == before
    assert 'fresh' not in person.objectIds()


def test_added_and_removed_properties(conduit, person):
    previous = asXML(person)
    new = edited(previous, brand_new=('lines', ('x', 'y')), l_tokens=None)
    person.manage_addProperty('doomed', 'bye', 'string')
    previous_with = edited(previous, doomed=('string', 'bye'))
    assert conduit.updateNode(person, previous_with, new) == []
    assert person.brand_new == ('x', 'y')
    assert not person.hasProperty('doomed')
    # l_tokens is a class-defined property ('w' mode): not removable, kept
    assert person.hasProperty('l_tokens')


def test_local_roles_merge_and_conflict(conduit, person):
    person.manage_setLocalRoles('alice', ['Editor'])
    previous = asXML(person)
    person.manage_setLocalRoles('alice', ['Reviewer'])
    root = parse(previous)
    alice = root.find("local_role[@id='alice']")
    alice[0].text = 'Owner'
    carol = parse('<local_role id="carol"><role>Editor</role></local_role>')
    alice.addnext(carol)
    conflicts = conduit.updateNode(person, previous, root)
    assert [(c['property'], c['kind']) for c in conflicts] == \
        [('local_role:alice', 'local_role')]
    assert person.get_local_roles_for_userid('alice') == ('Reviewer',)
    assert person.get_local_roles_for_userid('carol') == ('Editor',)
    # removed on the other side and unchanged here: removed
    previous = asXML(person)
    root = parse(previous)
    root.remove(root.find("local_role[@id='carol']"))
    assert conduit.updateNode(person, previous, root) == []
    assert person.get_local_roles_for_userid('carol') == ()


def test_sub_object_changes_three_levels_deep(conduit, person):
    previous = asXML(person)
    person.a.b._updateProperty('s_string', 'local deep')
    new = edited(previous, ('a', 'b'), s_string=('string', 'remote deep'),
                 n_int=('int', 3))
    conflicts = conduit.updateNode(person, previous, new)
    assert [(c['path'], c['property']) for c in conflicts] == \
        [(('a', 'b'), 's_string')]
    assert person.a.b.n_int == 3 and person.a.b.s_string == 'local deep'


def test_sub_object_added_and_removed(conduit, person):
    person.a.invokeFactory('Sample', 'gone')
    previous = asXML(person)
    new = parse(previous)
    a = new.find("object[@id='a']")
    a.remove(a.find("object[@id='gone']"))
    added = parse(asXML(person.a.b))
    added.set('id', 'c')
    a.append(added)
    assert conduit.updateNode(person, previous, new) == []
    assert sorted(person.a.objectIds()) == ['b', 'c']
    assert person.a.c.s_string == 'deep'
    assert parse(asXML(person)).find("object[@id='a']/object[@id='c']") \
        is not None


def test_sub_object_added_there_and_here_updates_from_empty(conduit, person):
    previous = asXML(person)
    new = parse(previous)
    twin = parse(asXML(person.a.b))
    twin.set('id', 'twin')
    new.append(twin)
    person.invokeFactory('Sample', 'twin')
    person.twin._updateProperty('s_string', 'made here')
    conflicts = conduit.updateNode(person, previous, new)
    assert ((('twin',), 's_string') in
            [(c['path'], c['property']) for c in conflicts])
    assert person.twin.s_string == 'made here'


def test_delete_of_a_locally_changed_sub_object_is_a_conflict(conduit, person):
    previous = asXML(person)
    person.a.b._updateProperty('n_int', 12)
    local_b = asXML(person.a.b)
    new = parse(previous)
    a = new.find("object[@id='a']")
    a.remove(a.find("object[@id='b']"))
    conflicts = conduit.updateNode(person, previous, new)
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict['path'] == ('a', 'b') and conflict['property'] is None
    assert conflict['kind'] == 'delete'
    assert conflict['publisher_value'] == local_b
    assert conflict['subscriber_value'] is None
    assert 'b' in person.a.objectIds()
    # the other side's choice, applied with applyValue
    conduit.applyValue(person, conflict['path'], None, None)
    assert 'b' not in person.a.objectIds()


def test_apply_value_sets_deletes_and_recreates(conduit, person):
    conduit.applyValue(person, ('a', 'b'), 'n_int', to_element('n_int', 'int', 8))
    assert person.a.b.n_int == 8
    conduit.applyValue(person, (), 'local_role:dan',
                       parse('<local_role id="dan"><role>Owner</role></local_role>'))
    assert person.get_local_roles_for_userid('dan') == ('Owner',)
    conduit.applyValue(person, (), 'local_role:dan', None)
    assert person.get_local_roles_for_userid('dan') == ()
    saved = asXML(person.a)
    conduit.applyValue(person, ('a',), None, None)
    assert 'a' not in person.objectIds()
    conduit.applyValue(person, ('a',), None, saved)
    assert asXML(person.a) == saved
    with pytest.raises(ConduitError):
        conduit.applyValue(person, ('nope', 'x'), 'title',
                           to_element('title', 'string', ''))


def test_edits_notify_modified_once_per_object(conduit, person):
    import zope.component.event  # noqa: F401 - routes zope.event to handlers
    seen = []
    gsm = getGlobalSiteManager()

    def handler(event):
        seen.append(event.object.getId())
    gsm.registerHandler(handler, (IObjectModifiedEvent,))
    try:
        previous = asXML(person)
        new = edited(previous, s_string=('string', 'x'), n_int=('int', 1))
        new = edited(new, ('a',), n_int=('int', 2))
        conduit.updateNode(person, previous, new)
    finally:
        gsm.unregisterHandler(handler, (IObjectModifiedEvent,))
    assert sorted(seen) == ['a', 'p1']


def test_delete_node(conduit, person):
    conduit.deleteNode(person, 'a')
    assert person.objectIds() == []
    with pytest.raises(ConduitError, match='no object'):
        conduit.deleteNode(person, 'a')


def test_bad_input_changes_nothing(conduit, person):
    before = asXML(person)
    with pytest.raises(ConduitError):
        conduit.updateNode(person, before, b'<notobject/>')
    bad = edited(before, n_int=('int', 1))
    bad.find('n_int').text = 'one'
    with pytest.raises(ValueError):
        conduit.updateNode(person, before, bad)
    assert asXML(person) == before
    assert conduit.getGidFromObject(person) == 'p1'
    assert getXMLMapping(person).getLocalRoles() == []


# -- the Add path: one pass, and the check that the object holds the XML --

def _counting_edits(monkeypatch):
    """Record every setProperty and permission check of the mappings."""
    from Products.ERP5SyncML.mapping import adapters
    calls = {'set': [], 'check': 0}
    set_property = adapters.PropertyManagerMapping.setProperty
    check = adapters.check_permission

    def counting_set(self, property_id, type, value):
        calls['set'].append(property_id)
        return set_property(self, property_id, type, value)

    def counting_check(*args):
        calls['check'] += 1
        return check(*args)
    monkeypatch.setattr(adapters.PropertyManagerMapping, 'setProperty',
                        counting_set)
    monkeypatch.setattr(adapters, 'check_permission', counting_check)
    return calls


def test_add_sets_each_property_once_with_one_edit_check(conduit, person,
                                                         site, monkeypatch):
    from Products.ERP5SyncML.conduit.conduit import matches
    xml = parse(asXML(person))
    xml.remove(xml.find('object'))  # no sub-objects
    calls = _counting_edits(monkeypatch)
    copy = conduit.addNode(site, xml, object_id='p2')
    assert sorted(set(calls['set'])) == sorted(calls['set'])  # each once
    assert calls['set']  # the factory's defaults were not all right
    assert calls['check'] == 1  # the edit permission, once per object
    assert matches(copy, xml) is True
    copy_xml = parse(asXML(copy))
    copy_xml.set('id', 'p1')
    assert serialize(copy_xml) == serialize(xml)


def test_matches_tells_a_different_object_and_every_kind_of_difference(
        conduit, person, site):
    from Products.ERP5SyncML.conduit.conduit import matches
    xml = parse(asXML(person))
    xml.remove(xml.find('object'))
    copy = conduit.addNode(site, xml, object_id='p2')
    assert matches(copy, xml) is True
    for spec in (dict(s_string=('string', 'other')), dict(n_int=('int', 8)),
                 dict(d_date=('date', DateTime('2031-02-03 04:05:06 GMT+2'))),
                 dict(s_string=None), dict(extra=('string', 'x'))):
        assert matches(copy, edited(xml, **spec)) is False, spec
    other_type = copy_of(xml)
    other_type.set('portal_type', 'Other')
    assert matches(copy, other_type) is False
    with_roles = copy_of(xml)
    role = with_roles.makeelement('local_role', {'id': 'bob'})
    with_roles.append(role)
    assert matches(copy, with_roles) is False
    # sub-objects: cannot tell this way
    assert matches(person, parse(asXML(person))) is None


def copy_of(element):
    return copy.deepcopy(element)


def test_add_refuses_bad_values_before_creating_anything(conduit, person, site):
    xml = parse(asXML(person))
    xml.find('n_int').text = 'one'
    with pytest.raises(ValueError):
        conduit.addNode(site, xml, object_id='p3')
    assert site._getOb('p3', None) is None
    sub_bad = parse(asXML(person))
    sub_bad.find('object').find('n_int').text = 'two'
    with pytest.raises(ValueError):
        conduit.addNode(site, sub_bad, object_id='p4')
    assert site._getOb('p4', None) is None
