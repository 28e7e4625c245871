"""The applier (the peer's commands -> our folder, a status each) and the
change planner (our folder -> the commands to send), in-process."""
from Products.ERP5SyncML.domain.incoming import Applier
from Products.ERP5SyncML.domain.incoming import status_received
from Products.ERP5SyncML.domain.outgoing import CommandFactory
from Products.ERP5SyncML.domain.outgoing import make_plan
from Products.ERP5SyncML.domain.session import SyncSession
from Products.ERP5SyncML.domain import xmldata
from Products.ERP5SyncML.syncml import codes
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml.codes import AlertCode
from Products.ERP5SyncML.syncml.codes import StatusCode
from test_engine_pair import SUB_URL, env, pair, root  # noqa: F401


def _person_xml(pair, title):
    """The XML the master's mapping makes of a Person titled ``title``."""
    person = pair.add('client', 'model', title=title)
    xml = xmldata.object_xml(pair.sub, person, 'model')
    pair.folder('client').manage_delObjects(['model'])
    return xml


def _subscriber(pair):
    return pair.pub.addSubscriber(SUB_URL)


def test_applier_adds_replaces_and_deletes_with_a_status_each(pair):
    subscriber = _subscriber(pair)
    session = SyncSession('1', AlertCode.TWO_WAY, codes.SERVER)
    applier = Applier(subscriber, session, codes.SERVER)
    first = _person_xml(pair, 'first')
    assert applier.apply('Add', 'g1', first, 'p1') == StatusCode.ITEM_ADDED
    person = pair.folder('master')['p1']
    assert person.Title() == 'first'
    second = first.replace(b'first', b'second')
    assert applier.apply('Replace', 'g1', second) == StatusCode.OK
    assert person.Title() == 'second'
    assert session.counts['received_add'] == 1
    assert session.counts['received_replace'] == 1
    # changed here since it was agreed: the change wins over the deletion
    assert applier.apply('Delete', 'g1', None) == StatusCode.CONFLICT_SERVER_WON
    assert 'p1' in pair.folder('master').objectIds()
    sig = subscriber.signatures.add('g1', 'p1')
    sig.setAgreed(xmldata.object_xml(subscriber, person, 'g1'))
    assert applier.apply('Delete', 'g1', None) == StatusCode.OK
    assert 'p1' not in pair.folder('master').objectIds()
    assert applier.apply('Delete', 'g1', None) == StatusCode.ITEM_NOT_DELETED


def test_applier_refuses_bad_commands_and_changes_nothing(pair):
    subscriber = _subscriber(pair)
    session = SyncSession('1', AlertCode.TWO_WAY, codes.SERVER)
    applier = Applier(subscriber, session, codes.SERVER)
    assert applier.apply('Add', 'g1', '<folder/>', 'x') == \
        StatusCode.UNSUPPORTED_MEDIA_TYPE
    assert applier.apply('Add', 'g2', None, 'y') == StatusCode.INCOMPLETE_COMMAND
    diff = ('<xupdate:modifications xmlns:xupdate="http://www.xmldb.org/xupdate"'
            ' version="1.0"/>')
    assert applier.apply('Replace', 'g3', diff) == StatusCode.INCOMPLETE_COMMAND
    assert list(pair.folder('master').objectIds()) == []
    assert len(subscriber.signatures) == 0 and session.counts['errors'] == 3


def test_planner_sends_new_objects_then_diffs_then_nothing(pair):
    sub = pair.sub
    pair.add('client', 'p1', title='one')
    session = SyncSession('1', AlertCode.SLOW, codes.CLIENT)
    make_plan(sub, session)
    assert list(session.pending_ids) == ['p1'] and session.planned
    command, accept = CommandFactory(sub, session, codes.CLIENT).for_object_id('p1')
    assert isinstance(command, m.Add) and command.items[0].source.name == 'p1'
    accept()
    gid = command.items[0].source.uri
    assert session.counts['sent_add'] == 1
    # the peer accepted it: the same object needs no command
    status_received(sub, 'Add', gid, StatusCode.ITEM_ADDED, codes.CLIENT)
    assert CommandFactory(sub, session, codes.CLIENT).for_object_id('p1') is None
    # an edit goes as a Replace holding a diff against the agreed version
    pair.folder('client')['p1'].edit(title='two')
    command, accept = CommandFactory(sub, session, codes.CLIENT).for_object_id('p1')
    assert isinstance(command, m.Replace)
    assert xmldata.is_xupdate(command.items[0].data)
    # a deleted object goes as a Delete of its GID
    pair.folder('client').manage_delObjects(['p1'])
    command, _accept = CommandFactory(sub, session, codes.CLIENT).for_object_id('p1')
    assert isinstance(command, m.Delete) and command.items[0].source.uri == gid


def test_planner_in_an_incremental_scan_deletes_what_is_gone(pair):
    sub = pair.sub
    sub.signatures.add('gone', 'was-here')
    pair.add('client', 'p1')
    session = SyncSession('1', AlertCode.TWO_WAY, codes.CLIENT)
    make_plan(sub, session)
    assert list(session.pending_ids) == ['p1']
    assert list(session.pending_deletes) == ['gone']
    slow = SyncSession('2', AlertCode.SLOW, codes.CLIENT)
    make_plan(sub, slow)
    assert list(slow.pending_deletes) == []  # a slow sync compares everything


def test_an_added_object_the_mapping_cannot_hold_exactly_goes_back(pair):
    """After an Add the object is compared with the XML it came from: an
    exact copy is in sync, one the mapping changed is sent back."""
    subscriber = _subscriber(pair)
    session = SyncSession('1', AlertCode.TWO_WAY, codes.SERVER)
    applier = Applier(subscriber, session, codes.SERVER)
    exact = _person_xml(pair, 'exact')
    assert applier.apply('Add', 'g1', exact, 'p1') == StatusCode.ITEM_ADDED
    # a selection needs a select variable: it is kept as a string here
    lossy = exact.replace(b'</object>',
                          b'  <colour type="selection">red</colour>\n</object>')
    assert applier.apply('Add', 'g2', lossy, 'p2') == StatusCode.ITEM_ADDED
    sigs = subscriber.signatures
    assert sigs.get('g1').xml == exact.replace(b'"model"', b'"g1"')
    assert sigs.get('g2').xml == lossy.replace(b'"model"', b'"g2"')
    assert sigs.dirtyGids() == ['g2']
    assert pair.folder('master')['p2'].getProperty('colour') == 'red'
    assert xmldata.object_xml(subscriber, pair.folder('master')['p1'], 'g1') \
        == sigs.get('g1').xml
