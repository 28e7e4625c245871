"""Several publications and subscriptions per site, each for its own folder,
and several clients of one publication: over real HTTP through the
activity queue, they must not interfere."""
import itertools

import pytest
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.mapping import asXML

from synchelpers import Pair
from synchelpers import add_person
from synchelpers import edit_person
from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import run_queues
from synchelpers import sync
from synchelpers import csrf_token

pytestmark = pytest.mark.functional

FOLDERS = ('alpha', 'beta')
_counter = itertools.count(1)


class Domains:
    """One master with a publication per folder and one client with a
    subscription per folder. Alpha's subscription has the publication's id;
    beta's has its own id and names the publication (Publication id on the
    master)."""

    def __init__(self, zope, master, client, ids, sub_ids):
        self.zope = zope
        self.master = master
        self.client = client
        self.ids = ids            # folder -> publication id
        self.sub_ids = sub_ids    # folder -> subscription id

    def pair(self, name):
        # synchelpers' Pair.pub_id names the client's subscription
        return Pair(self.zope, self.master, [self.client], self.sub_ids[name], 'http')

    def sub_url(self, name):
        return '%s/%s/%s' % (self.zope.url, self.client, self.sub_ids[name])


def make_domains(zope):
    n = next(_counter)
    master = zope.add_site(zope.new_site_id('mdmaster'), demo=True)
    client = zope.add_site(zope.new_site_id('mdclient'), demo=True)
    ids = {name: '%s%d' % (name.capitalize(), n) for name in FOLDERS}
    sub_ids = {'alpha': ids['alpha'], 'beta': 'Mine%d' % n}
    with zope.app() as app:
        for site_id in (master, client):
            setSite(app[site_id])
            for name in FOLDERS:
                app[site_id].invokeFactory('Module', name)
        pub_url = '%s/%s' % (zope.url, master)
        for name in FOLDERS:
            app[master].portal_synchronizations.manage_addPublication(
                ids[name], publication_url=pub_url,
                destination_path='/%s/%s' % (master, name))
            app[client].portal_synchronizations.manage_addSubscription(
                sub_ids[name], publication_url=pub_url,
                subscription_url='%s/%s/%s' % (zope.url, client, sub_ids[name]),
                destination_path='/%s/%s' % (client, name),
                target_database=ids[name] if sub_ids[name] != ids[name] else '',
                login=zope.user, password=zope.password)
        setSite(None)
    return Domains(zope, master, client, ids, sub_ids)


def add(app, site_id, name, obj_id, **props):
    setSite(app[site_id])
    container = app[site_id][name]
    container.invokeFactory('Person', obj_id)
    if props:
        container[obj_id].edit(**props)
    return container[obj_id]


def edit(app, site_id, name, obj_id, **props):
    setSite(app[site_id])
    app[site_id][name][obj_id].edit(**props)


def contents(app, site_id, name):
    """{id: asXML} of a folder."""
    return {o.getId(): asXML(o) for o in app[site_id][name].objectValues()}


def titles(zope, site_id, name):
    with zope.app() as app:
        result = {o.getId(): o.Title() for o in app[site_id][name].objectValues()}
        transaction.abort()
    return result


def state_of(zope, site_id, kind, domain_id):
    """What a sync changes in a subscription, or in a publication's
    subscribers."""
    with zope.app() as app:
        tool = app[site_id].portal_synchronizations
        if kind == 'sub':
            d = tool.getSubscription(domain_id)
            session = d.session
            result = (dict(d.getReport(), counts=dict(d.getReport()['counts'])),
                      sorted((s.gid, s.status, s.hash) for s in d.signatures.values()),
                      d.last_anchor, d.next_anchor, d.session_counter,
                      None if session is None else (session.session_id, session.state))
        else:
            pub = tool.getPublication(domain_id)
            result = sorted(
                (s.subscription_url, s.last_anchor, str(s.getReport()),
                 sorted((g.gid, g.status, g.hash) for g in s.signatures.values()))
                for s in pub.getSubscriberList())
        transaction.abort()
    return result


def sync_domain(domains, name):
    report = sync(domains.pair(name))
    assert report['status'] == 'finished', report
    return report


# -- two folders, two publications, two subscriptions ---------------------------

def test_two_domains_sync_separately(zope):
    d = make_domains(zope)
    with zope.app() as app:
        add(app, d.master, 'alpha', 'a1', title='master alpha 1')
        add(app, d.master, 'alpha', 'a2', title='master alpha 2')
        add(app, d.master, 'beta', 'b1', title='master beta 1')
        add(app, d.client, 'alpha', 'ca', title='client alpha')
        add(app, d.client, 'beta', 'cb', title='client beta')
        # the same id in both folders: two different objects
        add(app, d.master, 'alpha', 'same', title='alpha same')
        add(app, d.master, 'beta', 'same', title='beta same')
    beta_sub = state_of(zope, d.client, 'sub', d.sub_ids['beta'])
    beta_pub = state_of(zope, d.master, 'pub', d.ids['beta'])

    report = sync_domain(d, 'alpha')
    assert report['counts']['received_add'] == 3
    assert report['counts']['sent_add'] == 1
    assert titles(zope, d.client, 'alpha') == titles(zope, d.master, 'alpha') == {
        'a1': 'master alpha 1', 'a2': 'master alpha 2', 'ca': 'client alpha',
        'same': 'alpha same'}
    # beta did not move, and its subscription did not notice anything
    assert titles(zope, d.master, 'beta') == {'b1': 'master beta 1', 'same': 'beta same'}
    assert titles(zope, d.client, 'beta') == {'cb': 'client beta'}
    assert state_of(zope, d.client, 'sub', d.sub_ids['beta']) == beta_sub
    assert beta_sub[0]['status'] == 'never run'
    assert state_of(zope, d.master, 'pub', d.ids['beta']) == beta_pub == []

    alpha_sub = state_of(zope, d.client, 'sub', d.sub_ids['alpha'])
    alpha_pub = state_of(zope, d.master, 'pub', d.ids['alpha'])
    report = sync_domain(d, 'beta')
    assert report['counts']['received_add'] == 2
    assert report['counts']['sent_add'] == 1
    assert titles(zope, d.client, 'beta') == titles(zope, d.master, 'beta') == {
        'b1': 'master beta 1', 'cb': 'client beta', 'same': 'beta same'}
    assert state_of(zope, d.client, 'sub', d.sub_ids['alpha']) == alpha_sub
    assert state_of(zope, d.master, 'pub', d.ids['alpha']) == alpha_pub
    with zope.app() as app:
        for name in FOLDERS:
            assert contents(app, d.master, name) == contents(app, d.client, name)
        transaction.abort()

    # edits in both folders on both sides; syncing alpha moves only alpha's
    with zope.app() as app:
        edit(app, d.master, 'alpha', 'a1', title='a1 edited on master')
        edit(app, d.client, 'alpha', 'same', title='alpha same edited on client')
        add(app, d.client, 'alpha', 'ca2', title='client alpha 2')
        edit(app, d.client, 'beta', 'cb', title='cb edited on client')
        edit(app, d.master, 'beta', 'same', title='beta same edited on master')
        add(app, d.master, 'beta', 'b2', title='master beta 2')
        app[d.client]['beta'].manage_delObjects(['b1'])
    beta_sub = state_of(zope, d.client, 'sub', d.sub_ids['beta'])
    beta_pub = state_of(zope, d.master, 'pub', d.ids['beta'])
    report = sync_domain(d, 'alpha')
    assert report['counts'].get('received_add', 0) == 0
    assert report['counts']['sent_add'] == 1
    assert titles(zope, d.master, 'alpha') == titles(zope, d.client, 'alpha') == {
        'a1': 'a1 edited on master', 'a2': 'master alpha 2', 'ca': 'client alpha',
        'ca2': 'client alpha 2', 'same': 'alpha same edited on client'}
    assert titles(zope, d.master, 'beta') == {
        'b1': 'master beta 1', 'b2': 'master beta 2', 'cb': 'client beta',
        'same': 'beta same edited on master'}
    assert titles(zope, d.client, 'beta') == {
        'cb': 'cb edited on client', 'same': 'beta same'}
    assert state_of(zope, d.client, 'sub', d.sub_ids['beta']) == beta_sub
    assert state_of(zope, d.master, 'pub', d.ids['beta']) == beta_pub

    # beta's changes were kept for beta's own synchronization
    report = sync_domain(d, 'beta')
    assert titles(zope, d.master, 'beta') == titles(zope, d.client, 'beta') == {
        'b2': 'master beta 2', 'cb': 'cb edited on client',
        'same': 'beta same edited on master'}
    assert titles(zope, d.master, 'alpha')['same'] == 'alpha same edited on client'
    with zope.app() as app:
        for name in FOLDERS:
            assert contents(app, d.master, name) == contents(app, d.client, name)
        transaction.abort()


def test_deleting_one_publication_leaves_the_other_working(zope):
    d = make_domains(zope)
    with zope.app() as app:
        add(app, d.master, 'alpha', 'a1', title='alpha 1')
        add(app, d.master, 'beta', 'b1', title='beta 1')
    sync_domain(d, 'alpha')
    sync_domain(d, 'beta')
    status, _h, body = zope.http(
        'POST', '/%s/portal_synchronizations/manage_deletePublication' % d.master,
        data={'id': d.ids['alpha'], '_authenticator': csrf_token(zope, d.master)})
    assert status == 302, body[:500]
    with zope.app() as app:
        tool = app[d.master].portal_synchronizations
        assert [p.getId() for p in tool.getPublicationList()] == [d.ids['beta']]
        assert tool.getDestinationPrefixes() == (('', d.master, 'beta'),)
        edit(app, d.master, 'beta', 'b1', title='beta 1 edited on master')
        add(app, d.client, 'beta', 'b2', title='beta 2 from client')
        edit(app, d.master, 'alpha', 'a1', title='alpha 1 edited on master')
        add(app, d.client, 'alpha', 'a2', title='alpha 2 from client')
    report = sync_domain(d, 'beta')
    assert report['counts']['sent_add'] == 1
    assert report['counts']['received_replace'] == 1
    assert titles(zope, d.master, 'beta') == titles(zope, d.client, 'beta') == {
        'b1': 'beta 1 edited on master', 'b2': 'beta 2 from client'}

    # the client of the deleted publication gets a clear failure, nothing moves
    report = sync(d.pair('alpha'))
    assert report['status'] == 'failed', report
    assert d.ids['alpha'] in report['reason'], report
    assert titles(zope, d.client, 'alpha') == {'a1': 'alpha 1',
                                               'a2': 'alpha 2 from client'}
    assert titles(zope, d.master, 'alpha') == {'a1': 'alpha 1 edited on master'}
    # and the other subscription still works after that failure
    with zope.app() as app:
        edit(app, d.client, 'beta', 'b2', title='beta 2 edited on client')
    sync_domain(d, 'beta')
    assert titles(zope, d.master, 'beta')['b2'] == 'beta 2 edited on client'


def test_deleting_one_subscription_leaves_the_other_working(zope):
    d = make_domains(zope)
    with zope.app() as app:
        add(app, d.client, 'alpha', 'a1')
        add(app, d.client, 'beta', 'b1')
    sync_domain(d, 'alpha')
    sync_domain(d, 'beta')
    status, _h, _b = zope.http(
        'POST', '/%s/portal_synchronizations/manage_deleteSubscription' % d.client,
        data={'id': d.sub_ids['alpha'], '_authenticator': csrf_token(zope, d.client)})
    assert status == 302
    with zope.app() as app:
        edit(app, d.client, 'beta', 'b1', title='b1 edited')
        edit(app, d.client, 'alpha', 'a1', title='a1 edited')
    sync_domain(d, 'beta')
    assert titles(zope, d.master, 'beta') == {'b1': 'b1 edited'}
    assert titles(zope, d.master, 'alpha') == {'a1': ''}


# -- sync() starts every subscription ---------------------------------------------

def run_all(zope, master, client, sub_ids, max_rounds=60):
    """Run both sites' queues until every subscription is finished or failed."""
    def reports():
        with zope.app() as app:
            tool = app[client].portal_synchronizations
            found = {i: tool.getSubscription(i).getReport() for i in sub_ids}
            transaction.abort()
        return found
    return run_queues(zope, (client, master), max_rounds, lambda: all(
        r['status'] in ('finished', 'failed') for r in reports().values()), reports)


def test_sync_starts_every_subscription(zope):
    d = make_domains(zope)
    with zope.app() as app:
        add(app, d.master, 'alpha', 'a1', title='alpha')
        add(app, d.client, 'beta', 'b1', title='beta')
    sync_url = '/%s/portal_synchronizations/sync' % d.client
    assert zope.http('GET', sync_url, auth=None)[0] == 401
    status, _h, body = zope.http('POST', sync_url)
    assert status == 200, body[:500]
    for sub_id in d.sub_ids.values():
        assert sub_id.encode() in body
    with zope.app() as app:
        activities = app[d.client].portal_activities
        assert len(activities.getMessageList(method_id='sendSyncMessage')) == 2
        tool = app[d.client].portal_synchronizations
        started = {i: tool.getSubscription(i).session.session_id for i in d.sub_ids.values()}
        # a second call while they run starts nothing
        setSite(app[d.client])
        assert tool.sync() == []
        setSite(None)
        assert len(activities.getMessageList(method_id='sendSyncMessage')) == 2
        transaction.abort()
    reports = run_all(zope, d.master, d.client, list(d.sub_ids.values()))
    assert {i: r['status'] for i, r in reports.items()} == \
        {i: 'finished' for i in d.sub_ids.values()}
    assert titles(zope, d.client, 'alpha') == titles(zope, d.master, 'alpha') == \
        {'a1': 'alpha'}
    assert titles(zope, d.client, 'beta') == titles(zope, d.master, 'beta') == \
        {'b1': 'beta'}
    # once finished, the next call starts every subscription again
    with zope.app() as app:
        edit(app, d.master, 'beta', 'b1', title='beta edited')
        tool = app[d.client].portal_synchronizations
        setSite(app[d.client])
        assert sorted(tool.sync()) == sorted(d.sub_ids.values())
        for sub_id, previous in started.items():
            assert tool.getSubscription(sub_id).session.session_id != previous
        setSite(None)
    reports = run_all(zope, d.master, d.client, list(d.sub_ids.values()))
    assert all(r['status'] == 'finished' for r in reports.values()), reports
    assert titles(zope, d.client, 'beta') == {'b1': 'beta edited'}


# -- several clients of one publication --------------------------------------------

def test_two_clients_alternating_with_edits_everywhere_converge(zope):
    pair = make_sites(zope, n_clients=2)
    c1, c2 = pair.clients
    with zope.app() as app:
        add_person(app, pair.master, 'm1', title='m1', description='base')
        add_person(app, pair.master, 'm2', title='m2')
        add_person(app, c1, 'from_c1', title='from c1')
        add_person(app, c2, 'from_c2', title='from c2')
    for client in (c1, c2, c1):
        assert sync(pair, client)['status'] == 'finished'
    expected = {'m1', 'm2', 'from_c1', 'from_c2'}
    with zope.app() as app:
        for site_id in (pair.master, c1, c2):
            assert set(folder(app, site_id).objectIds()) == expected
        transaction.abort()

    # round 1: adds, deletes and edits of different objects on every site
    with zope.app() as app:
        edit_person(app, pair.master, 'm2', title='m2 edited on master')
        add_person(app, pair.master, 'm3', title='m3')
        edit_person(app, c1, 'from_c2', language='fr')
        add_person(app, c1, 'c1b', title='second from c1')
        folder(app, c2).manage_delObjects(['from_c1'])
        edit_person(app, c2, 'm1', age=42)
    # round 2 interleaved: different properties of one object on each site
    assert sync(pair, c2)['status'] == 'finished'
    with zope.app() as app:
        edit_person(app, pair.master, 'm1', title='m1 by master')
        edit_person(app, c1, 'm1', description='m1 by client 1')
        edit_person(app, c2, 'm1', language='de')
    for client in (c1, c2, c1):
        report = sync(pair, client)
        assert report['status'] == 'finished', report
    with zope.app() as app:
        master = folder_xml(app, pair.master)
        assert set(master) == {'m1', 'm2', 'm3', 'from_c2', 'c1b'}
        assert folder_xml(app, c1) == master
        assert folder_xml(app, c2) == master
        m1 = folder(app, pair.master)['m1']
        assert (m1.Title(), m1.getProperty('description'), m1.getProperty('language'),
                m1.getProperty('age')) == ('m1 by master', 'm1 by client 1', 'de', 42)
        assert folder(app, c2)['from_c2'].getProperty('language') == 'fr'
        assert app[pair.master].portal_synchronizations.getConflictList() == []
        transaction.abort()


def test_synchronization_state_per_subscriber(zope):
    pair = make_sites(zope, n_clients=2)
    c1, c2 = pair.clients
    url1, url2 = ('%s/%s/%s' % (zope.url, c, pair.pub_id) for c in (c1, c2))
    pub_url = '%s/%s' % (zope.url, pair.master)

    def states(site_id, obj_id=None):
        with zope.app() as app:
            setSite(app[site_id])
            obj = folder(app, site_id)
            if obj_id is not None:
                obj = obj[obj_id]
            result = app[site_id].portal_synchronizations.getSynchronizationState(obj)
            setSite(None)
            transaction.abort()
        return result

    with zope.app() as app:
        add_person(app, pair.master, 'p', description='base')
        add_person(app, pair.master, 'q')
    assert states(pair.master, 'p') == []       # no subscriber seen yet
    assert sync(pair, c1)['status'] == 'finished'
    assert states(pair.master, 'p') == [(url1, 'synchronized')]
    assert states(c1, 'p') == [(pub_url, 'synchronized')]
    assert sync(pair, c2)['status'] == 'finished'
    assert sorted(states(pair.master, 'p')) == [(url1, 'synchronized'),
                                                (url2, 'synchronized')]
    # the folder itself is not one of its objects
    assert states(pair.master) == []
    # a conflict with client 2 only
    with zope.app() as app:
        edit_person(app, pair.master, 'p', description='master')
        edit_person(app, c2, 'p', description='client 2')
    assert sync(pair, c2)['status'] == 'finished'
    got = dict(states(pair.master, 'p'))
    assert got[url2] == 'conflict'
    assert got[url1] != 'conflict'
    assert dict(states(pair.master, 'q')) == {url1: 'synchronized', url2: 'synchronized'}
    assert states(c2, 'p') == [(pub_url, 'conflict')]
    assert states(c1, 'p') == [(pub_url, 'synchronized')]


def test_synchronization_state_per_domain(zope):
    d = make_domains(zope)
    with zope.app() as app:
        add(app, d.master, 'alpha', 'a1')
        add(app, d.master, 'beta', 'b1')
    sync_domain(d, 'alpha')

    def states(site_id, name, obj_id):
        with zope.app() as app:
            setSite(app[site_id])
            obj = app[site_id][name][obj_id]
            result = app[site_id].portal_synchronizations.getSynchronizationState(obj)
            setSite(None)
            transaction.abort()
        return result

    pub_url = '%s/%s' % (zope.url, d.master)
    assert states(d.master, 'alpha', 'a1') == [(d.sub_url('alpha'), 'synchronized')]
    assert states(d.master, 'beta', 'b1') == []
    assert states(d.client, 'alpha', 'a1') == [(pub_url, 'synchronized')]
    sync_domain(d, 'beta')
    assert states(d.master, 'beta', 'b1') == [(d.sub_url('beta'), 'synchronized')]
    assert states(d.client, 'beta', 'b1') == [(pub_url, 'synchronized')]
    assert states(d.master, 'alpha', 'a1') == [(d.sub_url('alpha'), 'synchronized')]


def test_a_conflict_stays_in_its_domain(zope):
    d = make_domains(zope)
    with zope.app() as app:
        for name in FOLDERS:
            add(app, d.master, name, 'p', description='base')
    sync_domain(d, 'alpha')
    sync_domain(d, 'beta')
    with zope.app() as app:
        for name in FOLDERS:
            edit(app, d.master, name, 'p', description='master %s' % name)
        edit(app, d.client, 'alpha', 'p', description='client alpha')
    sync_domain(d, 'alpha')
    sync_domain(d, 'beta')
    with zope.app() as app:
        tool = app[d.master].portal_synchronizations
        setSite(app[d.master])
        (conflict,) = tool.getConflictList()
        assert conflict.getPublicationId() == d.ids['alpha']
        assert conflict.getSubscriber() == d.sub_url('alpha')
        assert tool.getConflictList(app[d.master]['beta']['p']) == []
        assert tool.getPublication(d.ids['beta']).getConflictCount() == 0
        assert app[d.client]['beta']['p'].getProperty('description') == 'master beta'
        assert app[d.client]['alpha']['p'].getProperty('description') == 'client alpha'
        # resolving it touches alpha only
        conflict.applySubscriberValue()
        assert app[d.master]['alpha']['p'].getProperty('description') == 'client alpha'
        assert app[d.master]['beta']['p'].getProperty('description') == 'master beta'
        setSite(None)
    beta_sub = state_of(zope, d.client, 'sub', d.sub_ids['beta'])
    sync_domain(d, 'alpha')
    assert state_of(zope, d.client, 'sub', d.sub_ids['beta']) == beta_sub
    with zope.app() as app:
        for name in FOLDERS:
            assert contents(app, d.master, name) == contents(app, d.client, name)
        assert app[d.master].portal_synchronizations.getConflictList() == []
        transaction.abort()
