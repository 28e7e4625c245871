"""Signature store and change journal (no server)."""
from Products.ERP5SyncML.domain.journal import MIXED
from Products.ERP5SyncML.domain.journal import ChangeJournal
from Products.ERP5SyncML.domain.signature import CONFLICT
from Products.ERP5SyncML.domain.signature import SYNCHRONIZED
from Products.ERP5SyncML.domain.signature import SignatureStore


def test_signature_lookup_by_gid_and_object_id():
    store = SignatureStore()
    sig = store.add('gid-1', 'obj1')
    assert store.get('gid-1') is sig
    assert store.getByObjectId('obj1') is sig
    assert len(store) == 1
    store.add('gid-1', 'renamed')
    assert store.getByObjectId('obj1') is None
    assert store.getByObjectId('renamed') is sig
    assert len(store) == 1
    store.remove('gid-1')
    assert store.get('gid-1') is None and store.getByObjectId('renamed') is None
    assert len(store) == 0


def test_agreed_xml_clears_pending_state():
    store = SignatureStore()
    sig = store.add('g', 'o')
    sig.temp_xml = b'<object/>'
    sig.force_full = True
    sig.setAgreed(b'<object/>')
    assert sig.status == SYNCHRONIZED
    assert sig.xml == b'<object/>' and sig.temp_xml is None and not sig.force_full
    assert sig.hash == store.get('g').hash


def test_dirty_set_holds_conflicts_only_while_dirty():
    store = SignatureStore()
    sig = store.add('g', 'o')
    sig.conflicts = ({'path': (), 'property': 'title'},)
    sig.status = CONFLICT
    store.markDirty('g')
    assert store.conflictSignatures() == [sig]
    store.markClean('g')
    assert store.conflictSignatures() == []


def test_journal_changes_since_follow_changes_not_size():
    journal = ChangeJournal()
    prefix = ('', 'site', 'folder')
    for i in range(1000):
        journal.record(prefix + ('o%d' % i,), stamp=float(i))
    journal.record(prefix + ('o5',), stamp=2000.0)
    journal.record(('', 'site', 'elsewhere', 'x'), stamp=2001.0)
    assert list(journal.changedSince(1500.0, prefix)) == ['o5']
    assert len(journal) == 1001  # one entry per object, not per change


def test_journal_origin_excludes_the_peer_that_made_the_change():
    journal = ChangeJournal()
    prefix = ('', 's', 'f')
    journal.record(prefix + ('a',), origin=('sub', 'x'), stamp=10.0)
    journal.record(prefix + ('b',), origin=None, stamp=11.0)
    assert list(journal.changedSince(0, prefix, exclude_origin=('sub', 'x'))) == ['b']
    # a local edit after the peer's change: every peer must look at it again
    journal.record(prefix + ('a',), origin=None, stamp=12.0)
    assert journal._by_path[prefix + ('a',)][1] == MIXED
    assert sorted(journal.changedSince(0, prefix, exclude_origin=('sub', 'x'))) == ['a', 'b']


def test_confirmed_xml_is_the_record_that_was_sent_not_a_second_copy():
    import transaction
    from ZODB import DB
    from ZODB.MappingStorage import MappingStorage
    from Products.ERP5SyncML.domain.signature import Signature
    from Products.ERP5SyncML.domain.signature import xml_hash
    db = DB(MappingStorage())
    tm = transaction.TransactionManager()
    conn = db.open(tm)
    try:
        store = conn.root()['sigs'] = SignatureStore()
        sig = store.add('g1', 'o1')
        sig.temp_xml = b'<object id="g1"></object>'
        tm.commit()
        sent = sig._temp
        sig.setAgreed(b'<object id="g1"></object>')
        tm.commit()
        assert sig._xml is sent and sig.temp_xml is None
        assert sig.xml == b'<object id="g1"></object>'
        assert sig.hash == xml_hash(sig.xml)
        # an agreed version that is not what was sent gets its own record
        sig.temp_xml = b'<object id="g1">a</object>'
        sig.setAgreed(b'<object id="g1">b</object>')
        assert sig.xml == b'<object id="g1">b</object>' and sig._xml is not sent
        # a signature stored before kept its XML as plain attributes
        old = Signature('g2', 'o2')
        old.__dict__.update(xml=b'<old/>', temp_xml=b'<sent/>')
        assert (old.xml, old.temp_xml, old.hash) == (b'<old/>', b'<sent/>',
                                                     xml_hash(b'<old/>'))
        old.setAgreed(b'<sent/>')
        assert (old.xml, old.temp_xml) == (b'<sent/>', None)
        assert 'xml' not in old.__dict__ and 'temp_xml' not in old.__dict__
    finally:
        tm.abort()
        conn.close()
        db.close()
