"""Per-property conflicts over a real server and the activity queue."""
import pytest
import transaction
from zope.component.hooks import setSite

from synchelpers import add_person
from synchelpers import as_xml
from synchelpers import edit_person
from synchelpers import folder
from synchelpers import make_sites
from synchelpers import run_until_done
from synchelpers import start_first_exchange
from synchelpers import sync
from synchelpers import csrf_token

pytestmark = pytest.mark.functional


def conflicts(app, pair, obj_path=None):
    tool = app[pair.master].portal_synchronizations
    setSite(app[pair.master])
    if obj_path is None:
        return tool.getConflictList()
    obj = folder(app, pair.master)
    for part in obj_path.split('/'):
        obj = obj[part]
    return tool.getConflictList(obj)


def prop(app, site_id, path, name):
    obj = folder(app, site_id)
    for part in path.split('/'):
        obj = obj[part]
    return obj.getProperty(name)


def conflicting_pair(zope, n_clients=1, props=('description',)):
    pair = make_sites(zope, n_clients=n_clients)
    with zope.app() as app:
        add_person(app, pair.master, 'p', description='base', language='en',
                   format='text/plain', title='base title')
    for client in pair.clients:
        assert sync(pair, client)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'p', **{k: 'master %s' % k for k in props})
        for n, client in enumerate(pair.clients, 1):
            edit_person(app, client, 'p', **{k: 'client%d %s' % (n, k) for k in props})
    for client in pair.clients:
        assert sync(pair, client)['status'] == 'finished'
    return pair


def test_conflict_detected_and_both_values_kept(zope):
    pair = conflicting_pair(zope)
    with zope.app() as app:
        found = conflicts(app, pair)
        assert len(found) == 1
        c = found[0]
        assert c.getPropertyId() == 'description'
        assert c.getPublisherValue() == 'master description'
        assert c.getSubscriberValue() == 'client1 description'
        assert c.getSubscriber().endswith(pair.pub_id)
        assert prop(app, pair.master, 'p', 'description') == 'master description'
        assert prop(app, pair.client, 'p', 'description') == 'client1 description'
        tool = app[pair.master].portal_synchronizations
        states = dict(tool.getSynchronizationState(folder(app, pair.master)['p']))
        assert list(states.values()) == ['conflict']
        client_tool = app[pair.client].portal_synchronizations
        setSite(app[pair.client])
        states = dict(client_tool.getSynchronizationState(folder(app, pair.client)['p']))
        assert list(states.values()) == ['conflict']
        assert client_tool.getSubscription(pair.pub_id).getConflictCount() == 1
        transaction.abort()
    # a conflict left open across several syncs: nothing lost, no duplicates
    for _ in range(2):
        assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert len(conflicts(app, pair)) == 1
        assert prop(app, pair.master, 'p', 'description') == 'master description'
        assert prop(app, pair.client, 'p', 'description') == 'client1 description'
        transaction.abort()


def test_new_edit_updates_the_conflict(zope):
    pair = conflicting_pair(zope)
    with zope.app() as app:
        edit_person(app, pair.client, 'p', description='client second thought')
        edit_person(app, pair.master, 'p', description='master second thought')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        found = conflicts(app, pair)
        assert len(found) == 1
        assert found[0].getSubscriberValue() == 'client second thought'
        assert found[0].getPublisherValue() == 'master second thought'
        found[0].applyPublisherValue()
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert prop(app, pair.client, 'p', 'description') == 'master second thought'
        transaction.abort()


@pytest.mark.parametrize('resolution,expected', [
    ('applyPublisherValue', 'master description'),
    ('applySubscriberValue', 'client1 description'),
    ('applyPublisherDocument', 'master description'),
    ('applySubscriberDocument', 'client1 description'),
])
def test_four_resolutions_propagate(zope, resolution, expected):
    pair = conflicting_pair(zope)
    with zope.app() as app:
        c = conflicts(app, pair)[0]
        if resolution == 'applySubscriberDocument':
            assert c.getSubscriberDocument() is None
            copy = c.makeSubscriberDocument()
            assert c.getSubscriberDocument().getId() == copy.getId()
            assert copy.getProperty('description') == 'client1 description'
            assert copy.getId() not in [o.getId() for o in
                                        app[pair.master].portal_synchronizations
                                        .getPublication(pair.pub_id).getObjectList()]
            assert c.getPublisherDocument().getProperty('description') == 'master description'
        getattr(c, resolution)()
    with zope.app() as app:
        assert conflicts(app, pair) == []
        assert prop(app, pair.master, 'p', 'description') == expected
        names = folder(app, pair.master).objectIds()
        assert [n for n in names if 'conflict_copy' in n] == []
        transaction.abort()
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert prop(app, pair.client, 'p', 'description') == expected
        assert as_xml(app, pair.master, 'p') == as_xml(app, pair.client, 'p')
        assert conflicts(app, pair) == []
        transaction.abort()


def test_conflicting_and_non_conflicting_edit_in_one_sync(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p', description='base', language='en')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'p', description='master')
        edit_person(app, pair.client, 'p', description='client', language='fr')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert prop(app, pair.master, 'p', 'language') == 'fr'
        assert [c.getPropertyId() for c in conflicts(app, pair)] == ['description']
        transaction.abort()


def test_conflict_on_subobject(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'parent', title='parent')
        add_person(app, pair.master, 'child', ('parent',), description='base')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'parent/child', description='master')
        edit_person(app, pair.client, 'parent/child', description='client')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        found = conflicts(app, pair, 'parent/child')
        assert len(found) == 1
        assert found[0].getPath() == ('child',)
        assert found[0].getObjectPath()[-2:] == ('parent', 'child')
        found[0].applySubscriberValue()
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert prop(app, pair.master, 'parent/child', 'description') == 'client'
        assert as_xml(app, pair.master, 'parent') == as_xml(app, pair.client, 'parent')
        transaction.abort()


def test_three_sites_three_properties_mixed_winners(zope):
    props = ('description', 'language', 'format')
    pair = conflicting_pair(zope, n_clients=2, props=props)
    c1, c2 = pair.clients
    with zope.app() as app:
        found = conflicts(app, pair)
        assert len(found) == 6
        for c in found:
            client_no = 1 if c.getSubscriber() == '%s/%s/%s' % (pair.zope.url, c1, pair.pub_id) else 2
            winner = {'description': None, 'language': 1, 'format': 2}[c.getPropertyId()]
            if winner == client_no:
                c.applySubscriberValue()
        for c in conflicts(app, pair):
            c.applyPublisherValue()
    with zope.app() as app:
        assert conflicts(app, pair) == []
        transaction.abort()
    for client in (c1, c2, c1):
        assert sync(pair, client)['status'] == 'finished'
    with zope.app() as app:
        for site_id in (pair.master, c1, c2):
            assert prop(app, site_id, 'p', 'description') == 'master description'
            assert prop(app, site_id, 'p', 'language') == 'client1 language'
            assert prop(app, site_id, 'p', 'format') == 'client2 format'
        transaction.abort()


def test_conflicts_tab_renders_and_buttons_work(zope):
    pair = conflicting_pair(zope)
    base = '/%s/portal_synchronizations' % pair.master
    status, _h, body = zope.http('GET', base + '/manageConflicts')
    assert status == 200
    assert b'master description' in body and b'client1 description' in body
    with zope.app() as app:
        c = conflicts(app, pair)[0]
        form = {'publication': c.getPublicationId(), 'subscriber': c.getSubscriber(),
                'gid': c.getGid()}
        transaction.abort()
    status, _h, body = zope.http('GET', base + '/manageConflictDocuments?' +
                                 '&'.join('%s=%s' % kv for kv in form.items()))
    assert status == 200 and b'client1 description' in body
    with zope.app() as app:
        # looking changes nothing: the client's copy is made on request only
        assert [n for n in folder(app, pair.master).objectIds() if 'conflict_copy' in n] == []
        transaction.abort()
    query = '&'.join('%s=%s' % kv for kv in form.items())
    assert zope.http('GET', base + '/manage_makeConflictCopy?' + query)[0] == 403
    form['_authenticator'] = csrf_token(zope, pair.master)
    status, headers, _b = zope.http('POST', base + '/manage_makeConflictCopy', data=form)
    assert status == 302 and 'manageConflictDocuments' in headers['location']
    status, _h, body = zope.http('GET', base + '/manageConflictDocuments?' + query)
    assert status == 200 and b'&lt;object' in body and b'client1 description' in body
    with zope.app() as app:
        copies = [n for n in folder(app, pair.master).objectIds() if 'conflict_copy' in n]
        assert len(copies) == 1
        transaction.abort()
    form.update(choice='subscriber', property_id='description', path='')
    status, _h, _b = zope.http('POST', base + '/manage_resolveConflict', data=form)
    assert status in (200, 302)
    with zope.app() as app:
        assert conflicts(app, pair) == []
        assert prop(app, pair.master, 'p', 'description') == 'client1 description'
        transaction.abort()
    status, _h, body = zope.http('GET', base + '/manageConflicts')
    assert status == 200 and b'No open conflict' in body
    with zope.app() as app:
        # resolving removed the copy
        assert [n for n in folder(app, pair.master).objectIds() if 'conflict_copy' in n] == []
        transaction.abort()


def test_client_edit_during_the_session_is_kept_and_becomes_a_conflict(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'p', description='base', language='en')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'p', description='master', language='fr')
    # the client's changes (none) leave; then someone edits on the client
    start_first_exchange(pair)
    with zope.app() as app:
        edit_person(app, pair.client, 'p', description='late client edit')
    assert run_until_done(pair, pair.client)['status'] == 'finished'
    with zope.app() as app:
        # the master's other change arrived; the late edit was not overwritten
        assert prop(app, pair.client, 'p', 'language') == 'fr'
        assert prop(app, pair.client, 'p', 'description') == 'late client edit'
        transaction.abort()
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        found = conflicts(app, pair)
        assert [(c.getPropertyId(), c.getPublisherValue(), c.getSubscriberValue())
                for c in found] == [('description', 'master', 'late client edit')]
        found[0].applySubscriberValue()
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert prop(app, pair.master, 'p', 'description') == 'late client edit'
        assert as_xml(app, pair.master, 'p') == as_xml(app, pair.client, 'p')
        transaction.abort()


def test_conflict_closes_when_the_client_comes_to_the_master_value(zope):
    pair = conflicting_pair(zope)
    with zope.app() as app:
        edit_person(app, pair.client, 'p', description='master description')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert conflicts(app, pair) == []
        assert as_xml(app, pair.master, 'p') == as_xml(app, pair.client, 'p')
        transaction.abort()
