"""Synchronization over real HTTP through the activity queue (the seed's set-up)."""
import pytest
import transaction
from DateTime import DateTime
from zope.component.hooks import setSite

from synchelpers import add_person
from synchelpers import as_xml
from synchelpers import edit_person
from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import run_until_done
from synchelpers import start_first_exchange
from synchelpers import subscription_report
from synchelpers import sync
from synchelpers import csrf_token

pytestmark = pytest.mark.functional

HOSTILE = 'a < b && c > d ]]> -- <!-- x --> "q" \'s\' été ÄÖÜ 漢字 \t tab'
LONG_LINE = 'x' * 10000


def full_props(n=0):
    return dict(
        title='Person %d' % n, first_name='Jean%d' % n, last_name='Dupont',
        email='jean%d@example.org' % n, telephone='+33 1 23 45 67 %02d' % n,
        description='line one\nline two\n  indented\n', language='fr',
        format='text/plain', birthday=DateTime('2001/02/03 04:05:06.123456 GMT+1'),
        age=30 + n, active=bool(n % 2), tags=('a', 'b c', 'é'),
        photo=bytes(range(256)) * 4)


def test_first_sync_to_one_client(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        for i in range(3):
            add_person(app, pair.master, 'p%d' % i, **full_props(i))
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['received_add'] == 3
    with zope.app() as app:
        assert folder_xml(app, pair.client) == folder_xml(app, pair.master)
        state = app[pair.master].portal_synchronizations.getSynchronizationState(
            folder(app, pair.master)['p0'])
        assert [s for _url, s in state] == ['synchronized']


def test_first_sync_two_clients_and_relay(zope):
    pair = make_sites(zope, n_clients=2)
    with zope.app() as app:
        add_person(app, pair.master, 'm1', title='from master')
        add_person(app, pair.clients[0], 'c1', title='from client 1')
    for client in pair.clients:
        assert sync(pair, client)['status'] == 'finished'
    # client 1's object reached the master at its sync, client 2 at its own;
    # client 1 gets nothing new from client 2 but must see everything after resync
    assert sync(pair, pair.clients[0])['status'] == 'finished'
    with zope.app() as app:
        master = folder_xml(app, pair.master)
        assert set(master) == {'m1', 'c1'}
        for client in pair.clients:
            assert folder_xml(app, client) == master


def test_updates_both_directions_and_merge(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p', **full_props())
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'p', description='master description')
        edit_person(app, pair.client, 'p', language='de')
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts'].get('sent_replace', 0) >= 1
    with zope.app() as app:
        for site_id in (pair.master, pair.client):
            person = folder(app, site_id)['p']
            assert person.getProperty('description') == 'master description'
            assert person.getProperty('language') == 'de'
        assert as_xml(app, pair.master, 'p') == as_xml(app, pair.client, 'p')


def test_replace_sends_only_the_change(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'big', description='z' * 20000, photo=b'\0' * 50000)
    assert sync(pair)['status'] == 'finished'
    first = subscription_report(pair, pair.client)['counts']['bytes_received']
    with zope.app() as app:
        edit_person(app, pair.master, 'big', language='it')
    report = sync(pair)
    assert report['counts']['received_replace'] == 1
    assert report['counts']['bytes_received'] < first / 5


def test_subobjects_three_levels(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'a', title='level 1')
        add_person(app, pair.master, 'b', ('a',), title='level 2')
        add_person(app, pair.master, 'c', ('a', 'b'), title='level 3')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert folder(app, pair.client)['a']['b']['c'].Title() == 'level 3'
        edit_person(app, pair.client, 'a/b/c', title='level 3 edited on client')
        add_person(app, pair.client, 'd', ('a', 'b'), title='new level 3')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        b = folder(app, pair.master)['a']['b']
        assert b['c'].Title() == 'level 3 edited on client'
        assert b['d'].Title() == 'new level 3'
        b.manage_delObjects(['c'])
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert sorted(folder(app, pair.client)['a']['b'].objectIds()) == ['d']
        assert as_xml(app, pair.master, 'a') == as_xml(app, pair.client, 'a')


def test_deletes_on_either_side(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        for pid in ('x', 'y', 'z'):
            add_person(app, pair.master, pid)
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        folder(app, pair.master).manage_delObjects(['x'])
        folder(app, pair.client).manage_delObjects(['y'])
    report = sync(pair)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert sorted(folder(app, pair.master).objectIds()) == ['z']
        assert sorted(folder(app, pair.client).objectIds()) == ['z']


def test_every_type_hostile_text_and_roles(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        person = add_person(app, pair.master, 'typed', **full_props(7))
        person.edit(description=HOSTILE + '\n' + LONG_LINE, title=HOSTILE)
        person.manage_setLocalRoles('alice', ['Owner', 'Reviewer'])
        person.reindexObjectSecurity()
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        copy = folder(app, pair.client)['typed']
        assert copy.getProperty('title') == HOSTILE
        assert copy.getProperty('description') == HOSTILE + '\n' + LONG_LINE
        assert copy.getProperty('photo') == bytes(range(256)) * 4
        assert copy.getProperty('birthday') == DateTime('2001/02/03 04:05:06.123456 GMT+1')
        assert copy.getProperty('tags') == ('a', 'b c', 'é')
        assert sorted(copy.get_local_roles_for_userid('alice')) == ['Owner', 'Reviewer']
        assert as_xml(app, pair.master, 'typed') == as_xml(app, pair.client, 'typed')
        # local roles travel back too
        copy.manage_delLocalRoles(['alice'])
        copy.manage_setLocalRoles('bob', ['Editor'])
        copy.edit(age=99)
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        original = folder(app, pair.master)['typed']
        assert original.get_local_roles_for_userid('alice') == ()
        assert original.get_local_roles_for_userid('bob') == ('Editor',)
        assert as_xml(app, pair.master, 'typed') == as_xml(app, pair.client, 'typed')


def test_many_objects_in_several_messages(zope):
    pair = make_sites(zope, max_objects=10)
    with zope.app() as app:
        for i in range(65):
            add_person(app, pair.client, 'c%02d' % i, title='client %d' % i)
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['sent_add'] == 65
    assert report['counts']['messages_sent'] >= 8
    with zope.app() as app:
        assert len(folder(app, pair.master).objectIds()) == 65
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)


def test_object_larger_than_a_message(zope):
    pair = make_sites(zope, max_message_size=8192)
    with zope.app() as app:
        add_person(app, pair.client, 'huge', description='é' * 30000 + LONG_LINE)
    report = sync(pair)
    assert report['status'] == 'finished', report
    assert report['counts']['messages_sent'] >= 6
    with zope.app() as app:
        assert as_xml(app, pair.master, 'huge') == as_xml(app, pair.client, 'huge')


def test_custom_gid_generator_title(zope):
    pair = make_sites(zope, gid_generator='Title')
    with zope.app() as app:
        add_person(app, pair.master, 'id_on_master', title='Shared Title')
        add_person(app, pair.client, 'other_id', title='Client Title')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        titles_master = sorted(o.Title() for o in folder(app, pair.master).objectValues())
        titles_client = sorted(o.Title() for o in folder(app, pair.client).objectValues())
        assert titles_master == titles_client == ['Client Title', 'Shared Title']
        # the title is the identity: edits of other properties follow it
        for obj in folder(app, pair.client).objectValues():
            if obj.Title() == 'Shared Title':
                obj.edit(language='es')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        langs = {o.Title(): o.getProperty('language')
                 for o in folder(app, pair.master).objectValues()}
        assert langs['Shared Title'] == 'es'


@pytest.mark.parametrize('mode', [202, 203, 204, 205])
def test_sync_modes(zope, mode):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'shared', title='v1')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(sync_mode=mode)
        edit_person(app, pair.master, 'shared', title='master edit')
        add_person(app, pair.master, 'only_master')
        add_person(app, pair.client, 'only_client')
    report = sync(pair)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        master = set(folder(app, pair.master).objectIds())
        client = set(folder(app, pair.client).objectIds())
        client_title = folder(app, pair.client)['shared'].Title() \
            if 'shared' in client else None
    if mode == 202:    # one way from client: the client's news reach the master only
        assert master == {'shared', 'only_master', 'only_client'}
        assert client == {'shared', 'only_client'}
        assert client_title == 'v1'
    elif mode == 203:  # refresh from client: the master becomes the client's copy
        assert master == client == {'shared', 'only_client'}
    elif mode == 204:  # one way from server
        assert client == {'shared', 'only_master', 'only_client'}
        assert master == {'shared', 'only_master'}
        assert client_title == 'master edit'
    elif mode == 205:  # refresh from server: the client becomes the master's copy
        assert client == master == {'shared', 'only_master'}
        assert client_title == 'master edit'


def test_slow_sync_after_reset_keeps_everything(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p', title='same')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        app[pair.client].portal_synchronizations.manage_resetSubscription(pair.pub_id)
        add_person(app, pair.client, 'q', title='after reset')
    report = sync(pair)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert sorted(folder(app, pair.master).objectIds()) == ['p', 'q']
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)


def test_unreachable_master_ends_in_visible_failure(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(publication_url='http://127.0.0.1:9/nowhere')
        import Products.ERP5SyncML.domain.delivery as delivery
        assert delivery.SEND_ATTEMPTS >= 2
    with zope.app() as app:
        setSite(app[pair.client])
        app[pair.client].portal_synchronizations.manage_syncSubscription(pair.pub_id)
        setSite(None)
    zope.http('GET', '/%s/portal_activities/distribute?node_count:int=1' % pair.client)
    zope.http('GET', '/%s/portal_activities/tic?processing_node:int=1' % pair.client)
    report = subscription_report(pair, pair.client)
    assert report['status'] == 'retrying'
    assert 'cannot reach' in report['reason']
    with zope.app() as app:
        # the retry waits in the queue; the last attempt gives up for good
        tool = app[pair.client].portal_synchronizations
        setSite(app[pair.client])
        assert app[pair.client].portal_activities.hasActivity(
            method_id='sendSyncMessage')
        sub = tool.getSubscription(pair.pub_id)
        tool.sendSyncMessage(pair.pub_id, sub.session.last_sent,
                             attempt=delivery.SEND_ATTEMPTS)
        setSite(None)
    report = subscription_report(pair, pair.client)
    assert report['status'] == 'failed'
    assert 'cannot reach' in report['reason']


def test_entry_point_refuses_bad_input_and_anonymous(zope):
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    status, _h, _b = zope.http('POST', url, data=b'<SyncML/>', auth=None,
                               headers={'Content-Type': 'application/vnd.syncml+xml'})
    assert status in (400, 401)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
            b'<SyncML><SyncHdr>&a;</SyncHdr></SyncML>')
    status, _h, body = zope.http('POST', url, data=bomb,
                                 headers={'Content-Type': 'application/vnd.syncml+xml'})
    assert status == 400
    status, _h, body = zope.http('POST', url, data=b'not xml at all',
                                 headers={'Content-Type': 'application/vnd.syncml+xml'})
    assert status == 400
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert pub.getSubscriberList() == []
        transaction.abort()


def test_edit_through_the_zmi_properties_api_is_synchronized(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p', language='en')
    assert sync(pair)['status'] == 'finished'
    status, _h, _b = zope.http(
        'POST', '/%s/%s/p/manage_changeProperties' % (pair.client, 'people'),
        data={'language': 'pt', 'title': 'edited in the ZMI'})
    assert status == 200
    report = sync(pair)
    assert report['counts']['sent_replace'] == 1
    with zope.app() as app:
        person = folder(app, pair.master)['p']
        assert person.getProperty('language') == 'pt'
        assert person.Title() == 'edited in the ZMI'
        transaction.abort()


def test_message_posted_three_times_is_applied_once(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.client, 'once', title='created once')
    start_first_exchange(pair)
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        pkg3 = sub.session.last_sent
        transaction.abort()
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    headers = {'Content-Type': 'application/vnd.syncml+xml'}
    replies = [zope.http('POST', url, data=pkg3, headers=headers) for _ in range(2)]
    assert [r[0] for r in replies] == [200, 200]
    assert replies[0][2] == replies[1][2]
    # the queued send delivers it a third time, then the session goes on
    report = run_until_done(pair, pair.client)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert list(folder(app, pair.master).objectIds()) == ['once']
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert pub.getSubscriberList()[0].session.counts['received_add'] == 1
        transaction.abort()


def test_sync_pressed_twice_the_first_session_gives_way(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p')
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        setSite(app[pair.client])
        tool.manage_syncSubscription(pair.pub_id)
        tool.manage_syncSubscription(pair.pub_id)
        setSite(None)
    report = run_until_done(pair, pair.client)
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert list(folder(app, pair.client).objectIds()) == ['p']
        transaction.abort()


def test_a_change_wins_over_a_deletion(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'kept_by_client', title='v1')
        add_person(app, pair.master, 'kept_by_master', title='v1')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'kept_by_master', title='master edit')
        folder(app, pair.client).manage_delObjects(['kept_by_master'])
    # the client's deletion meets the master's edit: the master keeps it and
    # sends it back
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert folder(app, pair.client)['kept_by_master'].Title() == 'master edit'
        transaction.abort()
    # the master's deletion meets an edit the client makes during the session
    with zope.app() as app:
        folder(app, pair.master).manage_delObjects(['kept_by_client'])
    start_first_exchange(pair)
    with zope.app() as app:
        edit_person(app, pair.client, 'kept_by_client', title='client edit')
    assert run_until_done(pair, pair.client)['status'] == 'finished'
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert folder(app, pair.master)['kept_by_client'].Title() == 'client edit'
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
        transaction.abort()


def test_another_zope_process_on_the_same_database_runs_the_queue(zope):
    """The Sync button is pressed on the server; this test process, a second
    ZEO client of the same database, runs the activity queue (scale-out)."""
    from Products.CMFActivity import process_all
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p', title='through another node')
    status, _h, _b = zope.http(
        'POST', '/%s/portal_synchronizations/manage_syncSubscription' % pair.client,
        data={'id': pair.pub_id, '_authenticator': csrf_token(zope, pair.client)})
    assert status == 302
    for _ in range(20):
        with zope.app() as app:
            setSite(app[pair.client])
            process_all(app[pair.client])
            setSite(None)
        if subscription_report(pair, pair.client)['status'] == 'finished':
            break
    assert subscription_report(pair, pair.client)['status'] == 'finished'
    with zope.app() as app:
        assert folder(app, pair.client)['p'].Title() == 'through another node'
        transaction.abort()
