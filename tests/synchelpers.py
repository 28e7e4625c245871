"""Helpers for synchronization tests against the shared Zope server.

A *pair* is a master site with a publication and one or more client sites
with a subscription each, synchronizing a ``people`` folder over HTTP
through the activity queue (or over file:// URLs for in-process tests).
"""
import itertools

import transaction
from zope.component.hooks import setSite

FOLDER = 'people'
_counter = itertools.count(1)


class Pair:
    """Ids and URLs of one master and its clients."""

    def __init__(self, zope, master, clients, pub_id, transport):
        self.zope = zope
        self.master = master
        self.clients = clients
        self.pub_id = pub_id
        self.transport = transport

    @property
    def client(self):
        return self.clients[0]


def make_sites(zope, n_clients=1, transport='http', gid_generator='',
               sync_mode=200, max_objects=None, max_message_size=None,
               tmp_path=None):
    """Create a master and ``n_clients`` clients with a ``people`` module
    each, a publication on the master and a subscription on every client."""
    n = next(_counter)
    master = zope.new_site_id('master')
    clients = [zope.new_site_id('client') for _ in range(n_clients)]
    for site_id in [master] + clients:
        zope.add_site(site_id, demo=True)
    pub_id = 'People%d' % n
    extra = {}
    if max_objects:
        extra['max_objects'] = max_objects
    if max_message_size:
        extra['max_message_size'] = max_message_size
    with zope.app() as app:
        for site_id in [master] + clients:
            site = app[site_id]
            setSite(site)
            site.invokeFactory('Module', FOLDER)
        master_site = app[master]
        if transport == 'http':
            pub_url = '%s/%s' % (zope.url, master)
        else:
            pub_url = 'file://%s' % (tmp_path / ('%s.xml' % master))
        master_site.portal_synchronizations.manage_addPublication(
            pub_id, publication_url=pub_url,
            destination_path='/%s/%s' % (master, FOLDER),
            gid_generator=gid_generator, **extra)
        for client in clients:
            if transport == 'http':
                sub_url = '%s/%s/%s' % (zope.url, client, pub_id)
            else:
                sub_url = 'file://%s' % (tmp_path / ('%s.xml' % client))
            app[client].portal_synchronizations.manage_addSubscription(
                pub_id, publication_url=pub_url, subscription_url=sub_url,
                destination_path='/%s/%s' % (client, FOLDER),
                gid_generator=gid_generator, sync_mode=sync_mode,
                login=zope.user, password=zope.password, **extra)
        setSite(None)
    return Pair(zope, master, clients, pub_id, transport)


def make_vcard_site(zope, prefix, accounts):
    """A new site whose publication 'contacts' serves its 'people' folder
    as vCards to standard SyncML clients; ``accounts``: (login, password,
    Zope user id) of its SyncML accounts. Returns the site id."""
    site = zope.new_site_id(prefix)
    zope.add_site(site, demo=True)
    with zope.app() as app:
        setSite(app[site])
        app[site].invokeFactory('Module', 'people')
        pub = app[site].portal_synchronizations.manage_addPublication(
            'contacts', destination_path='/%s/people' % site,
            content_type='text/vcard')
        for login, password, user_id in accounts:
            pub.setSyncMLAccount(login, password, user_id)
        setSite(None)
    return site


def folder(app, site_id):
    setSite(app[site_id])
    return app[site_id][FOLDER]


def add_person(app, site_id, person_id, container_path=(), **props):
    container = folder(app, site_id)
    for part in container_path:
        container = container[part]
    container.invokeFactory('Person', person_id)
    person = container[person_id]
    if props:
        person.edit(**props)
    return person


def edit_person(app, site_id, path, **props):
    obj = folder(app, site_id)
    for part in path.split('/'):
        obj = obj[part]
    obj.edit(**props)
    return obj


def as_xml(app, site_id, path):
    from Products.ERP5SyncML.mapping import asXML
    obj = folder(app, site_id)
    for part in path.split('/'):
        obj = obj[part]
    return asXML(obj)


def folder_xml(app, site_id):
    """{id: asXML} of every object in the site's synchronized folder."""
    from Products.ERP5SyncML.mapping import asXML
    f = folder(app, site_id)
    return {o.getId(): asXML(o) for o in f.objectValues()}


def sync(pair, client=None, max_rounds=60):
    """Press Sync on a client and run the activity queues over HTTP (the
    seed's tic loop) until the session is over. Returns the client's
    subscription report."""
    client = client or pair.client
    zope = pair.zope
    with zope.app() as app:
        setSite(app[client])
        app[client].portal_synchronizations.manage_syncSubscription(pair.pub_id)
        setSite(None)
    return run_until_done(pair, client, max_rounds)


def start_first_exchange(pair, client=None):
    """Press Sync and run exactly one send: pkg1 goes out, the master's pkg2
    comes back, and the client queues its changes (pkg3) without sending
    them yet. The rest of the session runs with ``run_until_done``."""
    client = client or pair.client
    with pair.zope.app() as app:
        setSite(app[client])
        app[client].portal_synchronizations.SubSync(pair.pub_id)
        setSite(None)
    from Products.ERP5SyncML.domain import delivery
    budget = delivery.ROUND_TRIPS_BUDGET
    delivery.ROUND_TRIPS_BUDGET = 0  # this one round trip only
    try:
        with pair.zope.app() as app:
            queue = app[client].portal_activities
            queue.distribute()
            queue.tic(processing_node=1, max_messages=1)
    finally:
        delivery.ROUND_TRIPS_BUDGET = budget


def run_until_done(pair, client, max_rounds=60):
    """Run both sites' activity queues over HTTP (the seed's tic loop)
    until the client's session is over; returns its report."""
    return run_queues(pair.zope, (client, pair.master), max_rounds, lambda: (
        subscription_report(pair, client)['status'] in ('finished', 'failed')),
        lambda: subscription_report(pair, client))


def run_queues(zope, site_ids, max_rounds, done, result=lambda: None):
    """Run distribute + tic over HTTP on ``site_ids`` until ``done()``."""
    from Products.CMFActivity.ticloop import run_until
    try:
        run_until(zope.url, site_ids, done, zope.user, zope.password, max_rounds)
    except RuntimeError as exc:
        raise AssertionError('synchronization did not finish: %s %r'
                             % (exc, result())) from None
    return result()


def subscription_report(pair, client):
    with pair.zope.app() as app:
        sub = app[client].portal_synchronizations.getSubscription(pair.pub_id)
        report = dict(sub.getReport())
        session = sub.session
        report['session_state'] = session.state if session is not None else None
        report['counts'] = dict(report.get('counts') or {})
        transaction.abort()
    return report


def sync_file(pair, app, client=None, max_rounds=50, duplicate=1):
    """Run a session over file:// URLs in this process: each side reads the
    message the other wrote; activities run in-process. ``duplicate`` > 1
    delivers every message that many times."""
    from Products.CMFActivity import process_all
    from Products.ERP5SyncML.transports import file as file_transport
    client = client or pair.client
    master_tool = app[pair.master].portal_synchronizations
    client_tool = app[client].portal_synchronizations
    setSite(app[client])
    client_tool.SubSync(pair.pub_id)
    sub = client_tool.getSubscription(pair.pub_id)
    pub = master_tool.getPublication(pair.pub_id)
    for _ in range(max_rounds):
        for site_id, tool, url in ((client, client_tool, pub.publication_url),
                                   (pair.master, master_tool, sub.subscription_url)):
            setSite(app[site_id])
            process_all(app[site_id])
            data = file_transport.receive(url)
            if data is None:
                continue
            other = master_tool if tool is client_tool else client_tool
            setSite(app[pair.master if other is master_tool else client])
            for _d in range(duplicate):
                other.processMessage(data)
        if sub.session.state in ('finished', 'failed'):
            setSite(None)
            return sub.getReport()
    raise AssertionError('file synchronization did not finish: %r' % sub.getReport())


def csrf_token(zope, site_id, tool='portal_synchronizations', user=None):
    """The ``_authenticator`` value ``user`` (default: the Manager) gets in
    the forms of ``tool`` on site ``site_id``."""
    from AccessControl.SecurityManagement import getSecurityManager
    from AccessControl.SecurityManagement import newSecurityManager
    from Products.CMFActivity import csrf
    with zope.app() as app:
        if user is not None:
            acl = app.acl_users
            newSecurityManager(None, acl.getUser(user).__of__(acl))
        assert getSecurityManager().getUser().getId() == (user or zope.user)
        return csrf.token(app[site_id][tool])
