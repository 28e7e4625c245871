"""Our subscription against SyncEvolution's own server
(``syncevo-http-server``) on 127.0.0.1."""
import os
import time

import pytest
import transaction
from zope.component.hooks import setSite

import syncevolution as se
from synchelpers import add_person
from synchelpers import folder
from synchelpers import run_queues
from synchelpers import subscription_report

pytestmark = pytest.mark.functional

GRACE = ('BEGIN:VCARD\nVERSION:3.0\nN:Hopper;Grace;;;\nFN:Grace Hopper\n'
         'EMAIL:grace@example.com\nEND:VCARD')


ALAN = ('BEGIN:VCARD\nVERSION:3.0\nN:Turing;Alan;;;\nFN:Alan Turing\n'
        'EMAIL:alan@example.org\nEND:VCARD')


def _touch_later(path):
    # the file backend tracks changes by modification time
    later = time.time() + 2
    os.utime(path, (later, later))


class Site:
    """A client site with a subscription to a syncevo-http-server."""

    def __init__(self, zope, server, content_type, sub_id='Contacts'):
        self.zope = zope
        self.site = zope.new_site_id('sevo')
        zope.add_site(self.site, demo=True)
        self.sub_id = sub_id
        self.device = '%s/%s/%s' % (zope.url, self.site, sub_id)
        self.server_data = server.add_client(self.device, 'alice', 'secret')
        with zope.app() as app:
            setSite(app[self.site])
            app[self.site].invokeFactory('Module', 'people')
            fields = dict(publication_url=server.url,
                          subscription_url=self.device,
                          destination_path='/%s/people' % self.site,
                          target_database='addressbook', sync_mode=200,
                          login='alice', password='secret')
            if content_type is not None:
                fields['content_type'] = content_type
            app[self.site].portal_synchronizations.manage_addSubscription(
                sub_id, **fields)
            setSite(None)

    def sync(self):
        class P:
            pass
        pair = P()
        pair.zope, pair.pub_id = self.zope, self.sub_id
        with self.zope.app() as app:
            setSite(app[self.site])
            app[self.site].portal_synchronizations.manage_syncSubscription(
                self.sub_id)
            setSite(None)
        return run_queues(self.zope, (self.site,), 60, lambda: (
            subscription_report(pair, self.site)['status'] in
            ('finished', 'failed')),
            lambda: subscription_report(pair, self.site))

    def people(self):
        with self.zope.app() as app:
            result = {o.getProperty('title') or '%s %s' % (
                o.getProperty('first_name'), o.getProperty('last_name')):
                {k: o.getProperty(k) for k in ('first_name', 'last_name',
                                               'email')}
                for o in folder(app, self.site).objectValues()}
            transaction.abort()
        return result


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    se.ensure_installed()
    srv = se.HttpServer(tmp_path_factory.mktemp('syncevo-server'))
    srv.start()
    yield srv
    srv.stop()


def _names(directory):
    result = {}
    for text in se.read_vcards(directory).values():
        (name,) = se.vcard_property(text, 'FN')
        result[name] = text
    return result


def test_vcard_subscription_slow_then_two_way(zope, server):
    site = Site(zope, server, 'text/vcard')
    with zope.app() as app:
        add_person(app, site.site, 'ada', first_name='Ada',
                   last_name='Lovelace', title='Ada Lovelace',
                   email='ada@example.org')
        add_person(app, site.site, 'zoe', first_name='Zoë',
                   last_name='Œuvre', title='Zoë Œuvre')
    se.write_vcards(site.server_data, {'grace.vcf': GRACE})
    report = site.sync()
    assert report['status'] == 'finished', report
    assert report['counts']['sent_add'] == 2, report
    assert report['counts']['received_add'] == 1, report
    on_server = _names(site.server_data)
    assert sorted(on_server) == ['Ada Lovelace', 'Grace Hopper', 'Zoë Œuvre']
    assert se.vcard_property(on_server['Ada Lovelace'], 'EMAIL') == \
        ['ada@example.org']
    people = site.people()
    assert sorted(people) == ['Ada Lovelace', 'Grace Hopper', 'Zoë Œuvre']
    assert people['Grace Hopper']['email'] == 'grace@example.com'

    # two-way: ours changes Ada and deletes Zoë; theirs changes Grace and
    # adds Alan
    with zope.app() as app:
        people_folder = folder(app, site.site)
        people_folder.ada.edit(email='ada@analytical.example')
        people_folder.manage_delObjects(['zoe'])
    files = se.read_vcards(site.server_data)
    grace_file = next(name for name, text in files.items() if 'Grace' in text)
    se.write_vcards(site.server_data, {
        grace_file: GRACE.replace('grace@example.com', 'grace@navy.example'),
        'alan.vcf': ALAN})
    _touch_later(site.server_data / grace_file)
    report = site.sync()
    assert report['status'] == 'finished', report
    counts = report['counts']
    assert (counts['sent_replace'], counts['sent_delete'],
            counts['received_add'], counts['received_replace']) == \
        (1, 1, 1, 1), report
    on_server = _names(site.server_data)
    assert sorted(on_server) == ['Ada Lovelace', 'Alan Turing',
                                 'Grace Hopper']
    assert se.vcard_property(on_server['Ada Lovelace'], 'EMAIL') == \
        ['ada@analytical.example']
    people = site.people()
    assert sorted(people) == ['Ada Lovelace', 'Alan Turing', 'Grace Hopper']
    assert people['Grace Hopper']['email'] == 'grace@navy.example'

    # nothing changed: nothing travels, nothing duplicates
    report = site.sync()
    assert report['status'] == 'finished', report
    counts = report['counts']
    assert not any(counts[k] for k in counts if k.startswith(
        ('sent_', 'received_'))), report
    assert sorted(_names(site.server_data)) == sorted(site.people())



@pytest.fixture
def own_server(tmp_path):
    # syncevo-http-server runs one session at a time: a probe or a
    # refused session would keep a shared one busy
    se.ensure_installed()
    srv = se.HttpServer(tmp_path / 'syncevo-own')
    srv.start()
    yield srv
    srv.stop()


def test_connection_test_says_a_standard_server_stores_vcards(zope,
                                                              own_server):
    from Products.ERP5SyncML.domain import probe
    as_xml = Site(zope, own_server, None, sub_id='AsXML')
    with zope.app() as app:
        tool = app[as_xml.site].portal_synchronizations
        found = probe.test_connection(tool.getSubscription('AsXML'))
        transaction.abort()
    failed = [text for ok, text in found if not ok]
    assert len(failed) == 1, found
    assert 'standard SyncML server' in failed[0]
    assert 'text/vcard' in failed[0] and 'SyncEvolution' in failed[0]


def test_xml_subscription_to_a_standard_server_fails_at_once(zope,
                                                             own_server):
    site = Site(zope, own_server, None, sub_id='Contacts')
    with zope.app() as app:
        add_person(app, site.site, 'ada', first_name='Ada',
                   last_name='Lovelace', title='Ada Lovelace')
    report = site.sync()
    assert report['status'] == 'failed', report
    assert 'configuration error' in report['reason'], report
    assert 'text/vcard' in report['reason'], report
    assert se.read_vcards(site.server_data) == {}
