"""portal_activities on an in-process ZODB (FileStorage in tmp_path)."""
import datetime
import os
import logging
import threading
import time

import pytest
import transaction
from AccessControl.SecurityManagement import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.users import system
from DateTime import DateTime
from OFS.Application import Application
from OFS.Folder import Folder
from OFS.SimpleItem import SimpleItem
from persistent.list import PersistentList
from ZODB import DB
from ZODB.FileStorage import FileStorage
from ZODB.POSException import ConflictError

from Products.CMFActivity import ActiveObject
from Products.CMFActivity import activate
from Products.CMFActivity import install_activate
from Products.CMFActivity import process_all
from Products.CMFActivity import processing
from Products.CMFActivity.ActivityTool import ActivityTool
from Products.CMFActivity.interfaces import IActivityTool
from Products.CMFActivity.message import ERROR

# Executions as they happen (not transactional: aborted runs count too).
RUNS = []
CONFLICTS_LEFT = {}
FAILURES_LEFT = {}


class Recorder(ActiveObject, SimpleItem):
    """Test content: records calls persistently and in RUNS."""
    meta_type = 'Activity Test Recorder'

    def __init__(self, id):
        self.id = id
        self.calls = PersistentList()

    def record(self, value=None, **kw):
        user = getSecurityManager().getUser().getId()
        RUNS.append((self.id, value, user))
        self.calls.append((value, user))

    def fail(self, value=None):
        RUNS.append((self.id, value, 'fail'))
        self.calls.append(('fail', value))   # aborted with the failure
        raise ValueError('boom %s' % value)

    def flaky(self, value=None):
        if FAILURES_LEFT.get(self.id, 0) > 0:
            FAILURES_LEFT[self.id] -= 1
            self.fail(value)
        self.record(value)

    def conflict_once(self, value=None):
        if CONFLICTS_LEFT.get(self.id, 0) > 0:
            CONFLICTS_LEFT[self.id] -= 1
            raise ConflictError('simulated conflict')
        self.record(value)


@pytest.fixture(autouse=True)
def _clean():
    install_activate()
    RUNS.clear()
    CONFLICTS_LEFT.clear()
    FAILURES_LEFT.clear()
    transaction.abort()
    yield
    transaction.abort()
    noSecurityManager()


@pytest.fixture
def db(tmp_path):
    db = DB(FileStorage(str(tmp_path / 'Data.fs')))
    conn = db.open()
    zapp = conn.root()['Application'] = Application()
    zapp.acl_users.userFolderAddUser('admin', 'pw', ['Manager'], [])
    zapp.acl_users.userFolderAddUser('alice', 'pw', ['Member'], [])
    zapp._setObject('site', Folder('site'))
    zapp.site._setObject('portal_activities', ActivityTool())
    for i in range(10):
        zapp.site._setObject('r%d' % i, Recorder('r%d' % i))
    zapp._setObject('lonely', Recorder('lonely'))   # no tool reachable
    transaction.commit()
    conn.close()
    yield db
    transaction.abort()
    db.close()


@pytest.fixture
def zapp(db):
    """The root Application, logged in as admin (``app`` is the server's)."""
    conn = db.open()
    zapp = conn.root()['Application']
    login(zapp, 'admin')
    yield zapp
    transaction.abort()
    conn.close()


def login(zapp, name):
    uf = zapp.acl_users
    newSecurityManager(None, uf.getUserById(name).__of__(uf))


def fresh(db):
    """A committed view of the database (new connection, own transaction)."""
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    return conn.root()['Application'], conn


def calls(db, rid):
    zapp, conn = fresh(db)
    try:
        return list(getattr(zapp.site, rid).calls) if rid != 'lonely' \
            else list(zapp.lonely.calls)
    finally:
        conn.close()


# -- queueing ------------------------------------------------------------------

def test_tool_basics(zapp):
    tool = zapp.site.portal_activities
    assert IActivityTool.providedBy(tool)
    assert tool.getId() == 'portal_activities'
    assert tool.meta_type == 'CMF Activity Tool'
    assert [o['label'] for o in tool.manage_options][0] == 'Activities'
    ActivityTool()   # no required constructor args (GenericSetup toolset)


def test_commit_stores_abort_drops(db, zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue').record(1)
    assert tool.hasActivity(zapp.site.r0)          # visible in its transaction
    assert tool.countMessage() == 0               # not stored yet
    transaction.abort()
    assert not tool.hasActivity(zapp.site.r0)
    assert tool.countMessage() == 0

    zapp.site.r0.activate(activity='SQLQueue').record(2)
    transaction.commit()
    assert tool.countMessage() == 1
    assert process_all(tool)['processed'] == 1
    assert calls(db, 'r0') == [(2, 'admin')]
    assert tool.countMessage() == 0


def test_queued_in_same_transaction_as_caller_changes(db, zapp):
    zapp.site.r1.title = 'changed'
    zapp.site.r1.activate().record('x')
    transaction.abort()
    other, conn = fresh(db)
    assert other.site.r1.title == ''
    assert other.site.portal_activities.countMessage() == 0
    conn.close()
    zapp.site.r1.title = 'changed'
    zapp.site.r1.activate().record('x')
    transaction.commit()
    other, conn = fresh(db)
    assert other.site.r1.title == 'changed'
    assert other.site.portal_activities.countMessage() == 1
    conn.close()


def test_savepoint_rollback_drops_later_messages(zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue').record(1)
    sp = transaction.savepoint()
    zapp.site.r0.activate(activity='SQLQueue').record(2)
    sp.rollback()
    transaction.commit()
    assert [m.args for m in tool.getMessageList()] == [(1,)]


def test_activate_on_any_ofs_object(db, zapp):
    folder = zapp.site
    assert callable(getattr(folder, 'activate'))   # installed on Item
    activate(folder, activity='SQLQueue').manage_changeProperties(title='t')
    folder.activate(activity='SQLQueue', priority=3).manage_changeProperties(
        title='later')
    transaction.commit()
    process_all(folder.portal_activities)
    other, conn = fresh(db)
    assert other.site.title == 'later'
    conn.close()


def test_activate_is_private_to_restricted_code():
    from OFS.SimpleItem import Item
    assert Item.activate__roles__ == ()


def test_no_tool_runs_at_once(db, zapp):
    zapp.lonely.activate(activity='SQLQueue').record('now')
    assert RUNS == [('lonely', 'now', 'admin')]
    transaction.commit()
    assert calls(db, 'lonely') == [('now', 'admin')]


@pytest.mark.parametrize('kw, error', [
    ({'activity': 'Nope'}, ValueError),
    ({'priority': 'high'}, TypeError),
    ({'at_date': 'tomorrow'}, TypeError),
    ({'after_tag': 3}, TypeError),
    ({'bogus': 1}, TypeError),
])
def test_bad_activity_keywords(zapp, kw, error):
    with pytest.raises(error):
        zapp.site.r0.activate(**kw)
    transaction.commit()
    assert zapp.site.portal_activities.countMessage() == 0


def test_unknown_method_is_refused(zapp):
    with pytest.raises(AttributeError):
        zapp.site.r0.activate().no_such_method()


# -- Queue vs Dict, order ------------------------------------------------------

def test_queue_runs_every_message(db, zapp):
    for i in range(3):
        zapp.site.r0.activate(activity='SQLQueue').record(i)
    transaction.commit()
    assert process_all(zapp.site.portal_activities)['processed'] == 3
    assert [v for v, _ in calls(db, 'r0')] == [0, 1, 2]


def test_dict_collapses_in_transaction_and_in_store(db, zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate().record(1)
    zapp.site.r0.activate().record(2)          # same transaction: replaces 1
    zapp.site.r1.activate().record('other')    # other object: kept
    transaction.commit()
    assert tool.countMessage() == 2
    zapp.site.r0.activate().record(3)          # another transaction: joins
    transaction.commit()
    assert tool.countMessage(path=zapp.site.r0) == 2
    counts = process_all(tool)
    assert counts['processed'] == 2
    assert calls(db, 'r0') == [(3, 'admin')]   # ran once, newest arguments
    assert calls(db, 'r1') == [('other', 'admin')]


def test_priority_then_date(db, zapp):
    r = zapp.site.r0
    r.activate(activity='SQLQueue', priority=5).record('p5')
    r.activate(activity='SQLQueue', priority=1).record('p1-first')
    r.activate(activity='SQLQueue', priority=-2).record('p-2')
    r.activate(activity='SQLQueue', priority=1).record('p1-second')
    transaction.commit()
    process_all(zapp.site.portal_activities)
    assert [v for v, _ in calls(db, 'r0')] == [
        'p-2', 'p1-first', 'p1-second', 'p5']


@pytest.mark.parametrize('make_date', [
    lambda t: t, lambda t: DateTime(t),
    lambda t: datetime.datetime.fromtimestamp(t)])
def test_at_date(db, zapp, monkeypatch, make_date):
    tool = zapp.site.portal_activities
    start = time.time()
    zapp.site.r0.activate(at_date=make_date(start + 60)).record('later')
    transaction.commit()
    counts = process_all(tool)
    assert counts['processed'] == 0 and counts['remaining'] == 1
    assert calls(db, 'r0') == []
    monkeypatch.setattr(processing, 'now', lambda: start + 61)
    assert process_all(tool)['processed'] == 1
    assert calls(db, 'r0') == [('later', 'admin')]


def test_after_tag_waits_for_tagged_messages(db, zapp):
    tool = zapp.site.portal_activities
    start = time.time()
    # queued first and with a better priority, but must wait for 'setup'
    zapp.site.r0.activate(activity='SQLQueue', priority=-5,
                         after_tag='setup').record('dependent')
    zapp.site.r0.activate(activity='SQLQueue', tag='setup',
                         at_date=start + 30).record('setup')
    transaction.commit()
    counts = process_all(tool)
    assert counts['processed'] == 0 and counts['remaining'] == 2
    assert tool.hasActivity(tag='setup')
    processing.now = lambda: start + 31
    try:
        process_all(tool)
    finally:
        processing.now = time.time
    assert [v for v, _ in calls(db, 'r0')] == ['setup', 'dependent']


def test_serialization_tag_keeps_order_through_failures(db, zapp):
    tool = zapp.site.portal_activities
    tool.retry_delay = 0
    tool.max_retries = 2
    zapp.site.r0.activate(activity='SQLQueue', serialization_tag='s',
                         priority=1).fail('first')
    zapp.site.r1.activate(activity='SQLQueue', serialization_tag='s',
                         priority=2).record('second')
    zapp.site.r2.activate(activity='SQLQueue', priority=3).record('free')
    transaction.commit()
    counts = process_all(tool)
    # 'second' waits while 'first' is pending, even in error state
    assert calls(db, 'r1') == []
    assert calls(db, 'r2') == [('free', 'admin')]
    assert counts['errors'] == 1
    [failed] = tool.getFailedMessageList()
    tool.manageCancel(failed.uid)
    transaction.commit()
    process_all(tool)
    assert calls(db, 'r1') == [('second', 'admin')]


def test_serialization_lock_excludes_concurrent_runs(zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue', serialization_tag='s').record(1)
    zapp.site.r1.activate(activity='SQLQueue', serialization_tag='s').record(2)
    transaction.commit()
    processing.distribute(tool, node_count=1)
    first, second = tool.getMessageList()
    assert processing.claim(tool, first.uid, 1) is not None
    store = tool._getStore()
    assert processing.blocked_by_serialization(store, second)
    assert processing.claim(tool, second.uid, 1) is None


# -- failures ------------------------------------------------------------------

def test_retries_then_error_state_with_traceback(db, zapp, caplog):
    tool = zapp.site.portal_activities
    tool.max_retries = 3
    tool.retry_delay = 0
    FAILURES_LEFT['r0'] = 100
    zapp.site.r0.activate(activity='SQLQueue').flaky('x')
    transaction.commit()
    with caplog.at_level(logging.INFO, logger='Products.CMFActivity'):
        counts = process_all(tool)
    assert counts['failed'] == 3 and counts['errors'] == 1
    assert [r for r in RUNS if r[2] == 'fail'] == [('r0', 'x', 'fail')] * 3
    assert calls(db, 'r0') == []                 # every failed run aborted
    [message] = tool.getFailedMessageList()
    assert message.processing_node == ERROR and message.retry == 3
    assert 'ValueError: boom x' in message.error
    assert 'Traceback' in message.error
    assert tool.hasErrorActivity(zapp.site.r0)
    assert tool.hasActivity(zapp.site.r0)
    assert not tool.hasActivity(zapp.site.r0, only_valid=True)
    text = caplog.text
    assert 'failed' in text and 'will be retried' in text
    assert 'error state' in text

    # manageRetry puts it back; a retried message that succeeds disappears
    FAILURES_LEFT['r0'] = 0
    tool.manageRetry(message.uid)
    transaction.commit()
    assert process_all(tool)['processed'] == 1
    assert calls(db, 'r0') == [('x', 'admin')]
    assert not tool.hasErrorActivity()


def test_retry_delay_grows(zapp, monkeypatch):
    tool = zapp.site.portal_activities
    tool.retry_delay = 10
    zapp.site.r0.activate(activity='SQLQueue').fail()
    transaction.commit()
    start = time.time()
    delays = []
    for step in range(3):
        clock = start + sum(delays) + step
        monkeypatch.setattr(processing, 'now', lambda c=clock: c)
        assert process_all(tool)['failed'] == 1
        [message] = tool.getMessageList()
        delays.append(message.not_before - clock)
    assert delays == [10, 20, 40]


def test_conflict_error_is_retried_without_counting(db, zapp):
    tool = zapp.site.portal_activities
    tool.max_retries = 1
    CONFLICTS_LEFT['r0'] = 2
    zapp.site.r0.activate(activity='SQLQueue').conflict_once('c')
    transaction.commit()
    counts = process_all(tool)
    assert counts['conflicts'] == 2 and counts['processed'] == 1
    assert counts['failed'] == 0 and counts['errors'] == 0
    assert calls(db, 'r0') == [('c', 'admin')]


def test_conflict_retries_are_bounded(zapp):
    tool = zapp.site.portal_activities
    tool.max_conflict_retries = 3
    CONFLICTS_LEFT['r0'] = 100
    zapp.site.r0.activate(activity='SQLQueue').conflict_once()
    transaction.commit()
    counts = process_all(tool)
    assert counts['conflicts'] == 3 and counts['errors'] == 1
    assert 'ConflictError' in tool.getFailedMessageList()[0].error


def test_missing_object_goes_to_error_at_once(zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue').record()
    transaction.commit()
    zapp.site._delObject('r0')
    transaction.commit()
    counts = process_all(tool)
    assert counts['failed'] == 1 and counts['errors'] == 1
    assert 'not found' in tool.getFailedMessageList()[0].error


# -- security ------------------------------------------------------------------

def test_runs_as_queuing_user(db, zapp):
    login(zapp, 'alice')
    zapp.site.r0.activate(activity='SQLQueue').record('a')
    login(zapp, 'admin')
    zapp.site.r0.activate(activity='SQLQueue').record('b')
    transaction.commit()
    newSecurityManager(None, system)
    process_all(zapp.site.portal_activities)
    assert calls(db, 'r0') == [('a', 'alice'), ('b', 'admin')]
    assert getSecurityManager().getUser() is system   # restored


def test_deleted_user_is_an_error(db, zapp):
    tool = zapp.site.portal_activities
    login(zapp, 'alice')
    zapp.site.r0.activate(activity='SQLQueue').record('a')
    transaction.commit()
    login(zapp, 'admin')
    zapp.acl_users.userFolderDelUsers(['alice'])
    transaction.commit()
    counts = process_all(tool)
    assert counts['errors'] == 1 and calls(db, 'r0') == []
    assert "'alice' no longer exists" in tool.getFailedMessageList()[0].error


# -- several processing nodes --------------------------------------------------

def test_distribute_spreads_over_nodes(zapp):
    tool = zapp.site.portal_activities
    for i in range(6):
        getattr(zapp.site, 'r%d' % i).activate(activity='SQLQueue').record(i)
    transaction.commit()
    assert tool.distribute(node_count=2) == '6 messages distributed to 2 node(s)'
    nodes = sorted(m.processing_node for m in tool.getMessageList())
    assert nodes == [1, 1, 1, 2, 2, 2]
    assert tool.tic(processing_node=2) == '3 messages processed, 0 failed'
    assert tool.countMessage(processing_node=1) == 3
    assert tool.tic(processing_node=1) == '3 messages processed, 0 failed'
    assert tool.countMessage() == 0


def test_concurrent_claim_conflicts(db, zapp):
    zapp.site.r0.activate(activity='SQLQueue').record()
    transaction.commit()
    tool = zapp.site.portal_activities
    processing.distribute(tool, node_count=1)
    [message] = tool.getMessageList()
    other, conn = fresh(db)
    other_tool = other.site.portal_activities
    # node B has read the message before node A claims it
    assert not other_tool._getStore().get(message.uid).processing
    assert processing.claim(tool, message.uid, 1) is not None
    assert processing.claim(other_tool, message.uid, 1) is None
    conn.close()


def test_two_nodes_never_run_a_message_twice(db, zapp):
    # Misconfigured on purpose: both nodes tic node 1, so they compete for
    # every message; claims must still give each message to one of them.
    tool = zapp.site.portal_activities
    for rnd in range(3):
        for i in range(10):
            getattr(zapp.site, 'r%d' % i).activate(
                activity='SQLQueue').record((rnd, i))
    transaction.commit()
    processing.distribute(tool, node_count=1)
    totals = []
    barrier = threading.Barrier(2)

    def node():
        conn = db.open()   # thread-local transaction manager
        try:
            newSecurityManager(None, system)
            node_tool = conn.root()['Application'].site.portal_activities
            barrier.wait()
            totals.append(processing.tic(node_tool, 1))
        finally:
            transaction.abort()
            conn.close()
            noSecurityManager()

    threads = [threading.Thread(target=node) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(totals) == 2
    totals.append(process_all(tool))   # whatever conflicts left behind
    # every message took effect exactly once
    for i in range(10):
        values = [v for v, _ in calls(db, 'r%d' % i)]
        assert sorted(values) == [(rnd, i) for rnd in range(3)]
    assert sum(t['processed'] for t in totals) == 30
    # a body ran more than once only when its transaction hit a
    # ConflictError (two messages for one object) and was rolled back
    conflicts = sum(t['conflicts'] for t in totals)
    assert len(RUNS) == 30 + conflicts


# -- helpers and management ----------------------------------------------------

def test_helpers(zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue', tag='t1').record(1)
    zapp.site.r1.activate(activity='SQLDict', tag='t2').record(2)
    transaction.commit()
    assert tool.hasActivity()
    assert tool.hasActivity(zapp.site.r0, method_id='record')
    assert tool.hasActivity('/site/r0')
    assert not tool.hasActivity(zapp.site.r0, method_id='fail')
    assert tool.hasActivity(tag='t2') and not tool.hasActivity(tag='t3')
    assert tool.countMessage(tag='t1') == 1
    assert tool.countMessage(activity='SQLDict') == 1
    assert zapp.site.r0.hasActivity() and not zapp.site.r2.hasActivity()
    [info] = [i for i in tool.getMessageInfoList() if i['tag'] == 't1']
    assert info['path'] == '/site/r0' and info['args'] == '1'
    assert info['user'] == 'admin (/acl_users)'
    uid = tool.getMessageList(tag='t1')[0].uid
    assert tool.manageInvoke(uid) == 'done'
    assert tool.countMessage() == 1
    tool.manageCancel(tool.getMessageList()[0].uid)
    transaction.commit()
    assert tool.countMessage() == 0
    with pytest.raises(KeyError):
        tool.manageCancel(12345)


def test_zmi_tab_renders(zapp):
    from Testing.makerequest import makerequest
    from zope.component import getGlobalSiteManager
    from zope.traversing.adapters import DefaultTraversable
    from zope.traversing.interfaces import ITraversable
    gsm = getGlobalSiteManager()
    # as Zope's ZCML does; added only if missing, removed afterwards
    added = gsm.queryAdapter(object(), ITraversable) is None
    if added:
        gsm.registerAdapter(DefaultTraversable, (None,), ITraversable)
    tool = zapp.site.portal_activities
    tool.retry_delay = 0
    tool.max_retries = 1
    zapp.site.r0.activate(activity='SQLQueue', tag='zmi').fail('<b>x</b>')
    zapp.site.r1.activate(activity='SQLQueue',
                         at_date=time.time() + 600).record('pending')
    transaction.commit()
    process_all(tool, max_rounds=1)
    wrapped = makerequest(zapp)
    try:
        html = wrapped.site.portal_activities.manageActivities()
    finally:
        if added:
            gsm.unregisterAdapter(DefaultTraversable, (None,), ITraversable)
    assert '/site/r0' in html and '/site/r1' in html
    assert 'ValueError: boom' in html
    assert '&lt;b&gt;x&lt;/b&gt;' in html and '<b>x</b>' not in html
    assert 'Cancel all failed' in html
    assert 'not before' in html


def test_zmi_add_function(zapp):
    from Products.CMFActivity.ActivityTool import manage_addActivityTool
    zapp._setObject('other', Folder('other'))
    tool = manage_addActivityTool(zapp.other)
    assert tool.meta_type == 'CMF Activity Tool'
    assert zapp.other.portal_activities.countMessage() == 0


def test_dict_twin_with_other_tag_keeps_its_dependents_waiting(db, zapp):
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLDict', priority=1).record('lead')
    transaction.commit()
    zapp.site.r0.activate(activity='SQLDict', priority=2,
                          tag='x').record('tagged twin')
    zapp.site.r1.activate(activity='SQLQueue', priority=0,
                          after_tag='x').record('after x')
    transaction.commit()
    process_all(tool)
    assert [v for v, _ in calls(db, 'r0')] == ['lead', 'tagged twin']
    assert calls(db, 'r1') == [('after x', 'admin')]
    assert RUNS.index(('r0', 'tagged twin', 'admin')) < RUNS.index(
        ('r1', 'after x', 'admin'))


# -- claims of processes that died -------------------------------------------

def _dead_pid():
    import subprocess
    proc = subprocess.Popen(['true'])
    proc.wait()
    return proc.pid


def _claim_as(db, zapp, owner, serial='s', lease_until=None):
    """Queue two serialized messages and leave the first one claimed by
    ``owner`` (as a process that died while running it would)."""
    from Products.CMFActivity import leases
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue', serialization_tag=serial,
                         priority=1).record('held')
    zapp.site.r1.activate(activity='SQLQueue', serialization_tag=serial,
                         priority=2).record('behind')
    transaction.commit()
    processing.distribute(tool, node_count=1)
    first = [m for m in tool.getMessageList()
             if m.serialization_tag == serial][0]
    assert processing.claim(tool, first.uid, 1) is not None
    store = tool._getStore()
    store.get(first.uid).claimed_by = owner
    if lease_until is not None:
        store.leases(create=True)[owner] = leases.Lease(lease_until)
    transaction.commit()
    return tool, first.uid


def _stored(db, uid):
    other, conn = fresh(db)
    try:
        message = other.site.portal_activities._getStore().get(uid)
        return None if message is None else dict(message.info())
    finally:
        conn.close()


def test_claim_carries_the_holder_identity(db, zapp):
    from Products.CMFActivity import leases
    tool = zapp.site.portal_activities
    zapp.site.r0.activate(activity='SQLQueue').record()
    transaction.commit()
    processing.distribute(tool)
    [message] = tool.getMessageList()
    processing.claim(tool, message.uid, 1)
    assert _stored(db, message.uid)['claimed_by'] == leases.owner_id()
    host, pid, boot = leases.parse_owner(leases.owner_id())
    assert (host, pid, boot) == (leases.HOST, os.getpid(), leases.BOOT)


def test_distribute_releases_the_claim_of_a_killed_process(db, zapp, caplog):
    from Products.CMFActivity import leases
    owner = '%s:%d:%s' % (leases.HOST, _dead_pid(), 'b00t')
    tool, uid = _claim_as(db, zapp, owner, lease_until=time.time() + 3600)
    assert processing.tic(tool, 1)['processed'] == 0   # blocked behind the claim
    # nothing else to give out: the release alone must be committed
    assert processing.distribute(tool, node_count=1) == 1
    stored = _stored(db, uid)
    assert not stored['processing'] and stored['claimed_by'] == ''
    assert 'claim lost' in stored['error'] and stored['retry'] == 1
    assert 'is gone' in caplog.text
    assert process_all(tool)['processed'] == 2
    assert [v for v, _ in calls(db, 'r0')] == ['held']
    assert [v for v, _ in calls(db, 'r1')] == ['behind']


def test_an_earlier_run_of_this_process_loses_its_claims(db, zapp):
    from Products.CMFActivity import leases
    owner = '%s:%d:%s' % (leases.HOST, os.getpid(), 'older')
    tool, uid = _claim_as(db, zapp, owner, lease_until=time.time() + 3600)
    processing.distribute(tool)
    assert not _stored(db, uid)['processing']
    assert process_all(tool)['processed'] == 2


def test_a_remote_claim_lasts_as_long_as_its_lease(db, zapp):
    tool, uid = _claim_as(db, zapp, 'elsewhere:4242:cafe',
                          lease_until=time.time() + 3600)
    processing.distribute(tool)
    assert _stored(db, uid)['processing']   # alive: kept
    lease = tool._getStore().leases()['elsewhere:4242:cafe']
    lease.until = time.time() - 1
    transaction.commit()
    processing.distribute(tool)
    stored = _stored(db, uid)
    assert not stored['processing'] and 'lease expired' in stored['error']
    assert process_all(tool)['processed'] == 2


def test_a_live_claim_is_kept(db, zapp):
    from Products.CMFActivity import leases
    tool, uid = _claim_as(db, zapp, leases.owner_id(),
                          lease_until=time.time() + 3600)
    processing.distribute(tool)
    assert _stored(db, uid)['processing']
    # the same process (a live one) on a host we cannot check, no lease
    tool2, uid2 = _claim_as(db, zapp, 'elsewhere:1:x', serial='t')
    processing.distribute(tool2)
    assert _stored(db, uid2)['processing']   # younger than claim_timeout


def test_a_message_that_keeps_killing_its_process_ends_in_error(db, zapp):
    from Products.CMFActivity import leases
    tool = zapp.site.portal_activities
    tool.max_retries = 2
    owner = '%s:%d:%s' % (leases.HOST, _dead_pid(), 'b00t')
    tool, uid = _claim_as(db, zapp, owner)
    processing.distribute(tool)
    message = tool._getStore().get(uid)
    processing.distribute(tool)
    assert processing.claim(tool, uid, message.processing_node) is not None
    tool._getStore().get(uid).claimed_by = owner
    transaction.commit()
    processing.distribute(tool)
    stored = _stored(db, uid)
    assert stored['failed'] and 'claim lost' in stored['error']


def test_gone_reason():
    from Products.CMFActivity.leases import gone_reason

    def alive(pid):
        return pid == 10
    kw = dict(host='h', pid=1, boot='b', alive=alive)
    assert gone_reason('h:1:b', **kw) is None            # this very process
    assert gone_reason('h:1:a', **kw) == 'an earlier run of this process'
    assert gone_reason('h:10:a', **kw) is None            # alive
    assert gone_reason('h:11:a', **kw) == 'process 11 is gone'
    assert gone_reason('other:11:a', **kw) is None        # judged by lease
    assert gone_reason('h:x:a', **kw) is None


def test_the_lease_is_renewed_while_a_message_runs(db, zapp):
    from Products.CMFActivity import leases
    tool = zapp.site.portal_activities
    keeper = leases.LeaseKeeper.for_tool(tool)
    keeper.hold(1.0)   # renewed every 0.25 s
    try:
        def until():
            other, conn = fresh(db)
            try:
                store = other.site.portal_activities._getStore()
                return store.leases()[leases.owner_id()].until
            finally:
                conn.close()
        first = until()
        deadline = time.monotonic() + 10
        while until() <= first:
            assert time.monotonic() < deadline, 'lease not renewed'
            time.sleep(0.05)
    finally:
        keeper.release()


def test_queue_health(db, zapp):
    tool = zapp.site.portal_activities
    health = tool.getQueueHealth()
    assert health['last_tic'] is None and health['stale']
    assert health['last_tic_text'] == 'never'
    tool.retry_delay = 0
    tool.max_retries = 1
    zapp.site.r0.activate(activity='SQLQueue').fail('x')
    zapp.site.r1.activate(activity='SQLQueue', at_date=time.time() + 600
                          ).record('later')
    transaction.commit()
    process_all(tool)
    health = tool.getQueueHealth()
    assert health['last_tic'] is not None and not health['stale']
    assert health['last_distribute'] is not None
    assert (health['waiting'], health['running'], health['failed']) == (1, 0, 1)
    tool.stale_after = 0
    assert tool.getQueueHealth()['stale']


def test_informational_methods_need_manage_portal():
    for name in ('getQueueHealth', 'countMessage', 'hasActivity',
                 'hasErrorActivity', 'getMessageList', 'distribute', 'tic'):
        roles = getattr(ActivityTool, name + '__roles__')
        # a permission (not a public None / role list), defaulting to Manager
        assert roles.__name__ == 'Manage portal', name
        assert tuple(roles._d) == ('Manager',), name
