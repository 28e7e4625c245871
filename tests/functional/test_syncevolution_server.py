"""SyncEvolution (a real standard SyncML client) against our publication.

Every test runs the Debian ``syncevolution`` client with a directory of
.vcf files against a live Zope server on 127.0.0.1 and checks the exit
code and the content of both sides (the client's files, the master's
Person objects).
"""
import itertools
import os
import time

import pytest
import transaction
from zope.component.hooks import setSite

import syncevolution as se
from Products.ERP5SyncML.permissions import Synchronize

pytestmark = pytest.mark.functional

FOLDER = 'people'
_ids = itertools.count(1)

ADA = ('BEGIN:VCARD\nVERSION:3.0\nN:Lovelace;Ada;;;\nFN:Ada Lovelace\n'
       'EMAIL:ada@example.org\nTEL:+44 20 1\nEND:VCARD')
ZOE = ('BEGIN:VCARD\nVERSION:3.0\nN:Œuvre;Zoë;;;\nFN:Zoë Œuvre\n'
       'ORG:Société Générale\nNOTE:héllo wörld\nEND:VCARD')
LI = 'BEGIN:VCARD\nVERSION:3.0\nN:李;小龙;;;\nFN:李小龙\nEMAIL:li@example.cn\nEND:VCARD'


class Master:
    """A site with a ``people`` folder and a vCard publication."""

    def __init__(self, zope, content_type='text/vcard', **fields):
        self.zope = zope
        self.site = zope.new_site_id('vcards')
        zope.add_site(self.site, demo=True)
        self.pub_id = 'contacts'
        with zope.app() as app:
            site = app[self.site]
            setSite(site)
            site.invokeFactory('Module', FOLDER)
            pub = site.portal_synchronizations.manage_addPublication(
                self.pub_id, destination_path='/%s/%s' % (self.site, FOLDER),
                content_type=content_type, **fields)
            pub.setSyncMLAccount('alice', 'alice-secret', zope.user)
            setSite(None)
        self.url = '%s/%s/portal_synchronizations/syncml' % (zope.url,
                                                             self.site)

    def people(self):
        """{title: {property: value}} of the master's Persons."""
        with self.zope.app() as app:
            folder = app[self.site][FOLDER]
            result = {o.getProperty('title'): {
                k: o.getProperty(k) for k in ('first_name', 'last_name',
                                              'email', 'telephone')}
                for o in folder.objectValues()}
            transaction.abort()
        return result

    def add(self, person_id, **props):
        with self.zope.app() as app:
            setSite(app[self.site])
            folder = app[self.site][FOLDER]
            folder.invokeFactory('Person', person_id)
            folder[person_id].edit(**props)
            setSite(None)

    def edit(self, title, **props):
        with self.zope.app() as app:
            setSite(app[self.site])
            for obj in app[self.site][FOLDER].objectValues():
                if obj.getProperty('title') == title:
                    obj.edit(**props)
            setSite(None)

    def delete(self, title):
        with self.zope.app() as app:
            folder = app[self.site][FOLDER]
            ids = [o.getId() for o in folder.objectValues()
                   if o.getProperty('title') == title]
            folder.manage_delObjects(ids)

    def sessions(self):
        """[(encoding, version, auth type)] of the last session of each
        device."""
        with self.zope.app() as app:
            pub = app[self.site].portal_synchronizations.getPublication(
                self.pub_id)
            result = [(s.session.encoding, s.session.version,
                       s.session.auth_type) for s in pub.getSubscriberList()]
            transaction.abort()
        return result

    def subscribers(self):
        with self.zope.app() as app:
            pub = app[self.site].portal_synchronizations.getPublication(
                self.pub_id)
            result = {s.subscription_url: (s.user_id, s.getReport()['status'])
                      for s in pub.getSubscriberList()}
            transaction.abort()
        return result


def client_for(master, tmp_path, user='alice', password='alice-secret',
               **kw):
    return se.Client(tmp_path / 'client', master.url, user, password,
                     'dev-%d' % next(_ids), uri=master.pub_id, **kw)


def names(client):
    """{FN: text} of the client's cards."""
    result = {}
    for text in se.read_vcards(client.data).values():
        (name,) = se.vcard_property(text, 'FN')
        result[name] = text
    return result


def touch_later(path):
    later = time.time() + 2
    os.utime(path, (later, later))


@pytest.fixture(scope='module', autouse=True)
def debian_client():
    se.ensure_installed()


def test_slow_sync_xml_md5_both_ways(zope, tmp_path):
    master = Master(zope)
    master.add('grace', first_name='Grace', last_name='Hopper',
               title='Grace Hopper', email='grace@example.com')
    client = client_for(master, tmp_path)
    se.write_vcards(client.data, {'ada.vcf': ADA, 'zoe.vcf': ZOE,
                                  'li.vcf': LI})
    run = client.sync('slow')
    assert run.returncode == 0, run.describe()
    people = master.people()
    assert sorted(people) == ['Ada Lovelace', 'Grace Hopper', 'Zoë Œuvre',
                              '李小龙']
    assert people['Ada Lovelace']['email'] == 'ada@example.org'
    cards = names(client)
    assert sorted(cards) == sorted(people)
    assert se.vcard_property(cards['Grace Hopper'], 'EMAIL') == \
        ['grace@example.com']
    (device, (user, status)), = master.subscribers().items()
    assert (user, status) == (zope.user, 'finished')


@pytest.mark.parametrize('wbxml,version,auth', [
    (True, None, None),          # SyncEvolution's default: WBXML 1.2 md5
    (False, '1.1', 'basic'),
    (True, '1.1', 'md5'),
])
def test_two_way_changes_both_ways(zope, tmp_path, wbxml, version, auth):
    master = Master(zope)
    client = client_for(master, tmp_path, wbxml=wbxml,
                        syncml_version=version, auth=auth)
    se.write_vcards(client.data, {'ada.vcf': ADA, 'zoe.vcf': ZOE,
                                  'li.vcf': LI})
    run = client.sync('slow')
    assert run.returncode == 0, run.describe()
    # the client read our answers in its own version and encoding
    assert 'Started Processing of message #2 (SyncML/%s)' % (
        version or '1.2') in run.log
    encoding, used_version, auth_type = master.sessions()[0]
    assert (encoding, used_version) == ('wbxml' if wbxml else 'xml',
                                        version or '1.2')
    # (a basic login with a SyncML account is asked to use md5 next time)
    assert auth_type.endswith('syncml:auth-%s' % (auth or 'md5'))
    # client: change Ada, delete Li; master: add Grace, change Zoë,
    # delete nothing yet
    se.write_vcards(client.data, {'ada.vcf': ADA.replace(
        'ada@example.org', 'ada@analytical.example')})
    touch_later(client.data / 'ada.vcf')
    (client.data / 'li.vcf').unlink()
    master.add('grace', first_name='Grace', last_name='Hopper',
               title='Grace Hopper', email='grace@example.com')
    master.edit('Zoë Œuvre', telephone='+33 1 23')
    run = client.sync('two-way')
    assert run.returncode == 0, run.describe()
    people = master.people()
    assert sorted(people) == ['Ada Lovelace', 'Grace Hopper', 'Zoë Œuvre']
    assert people['Ada Lovelace']['email'] == 'ada@analytical.example'
    cards = names(client)
    assert sorted(cards) == sorted(people)
    assert se.vcard_property(cards['Zoë Œuvre'], 'TEL') == ['+33 1 23']
    # master deletes Grace, changes Ada; the client follows
    master.delete('Grace Hopper')
    master.edit('Ada Lovelace', telephone='+44 99')
    run = client.sync('two-way')
    assert run.returncode == 0, run.describe()
    cards = names(client)
    assert sorted(cards) == ['Ada Lovelace', 'Zoë Œuvre']
    assert se.vcard_property(cards['Ada Lovelace'], 'TEL') == ['+44 99']
    assert sorted(master.people()) == ['Ada Lovelace', 'Zoë Œuvre']


def test_one_way_and_refresh_modes(zope, tmp_path):
    master = Master(zope)
    master.add('grace', first_name='Grace', last_name='Hopper',
               title='Grace Hopper')
    client = client_for(master, tmp_path)
    se.write_vcards(client.data, {'ada.vcf': ADA})
    # refresh from client: the master ends up with the client's cards only
    run = client.sync('refresh-from-client')
    assert run.returncode == 0, run.describe()
    assert sorted(master.people()) == ['Ada Lovelace']
    assert sorted(names(client)) == ['Ada Lovelace']
    # one-way from client: the client's new card goes up, the master's
    # new person does not come down
    se.write_vcards(client.data, {'zoe.vcf': ZOE})
    touch_later(client.data / 'zoe.vcf')
    master.add('grace', first_name='Grace', last_name='Hopper',
               title='Grace Hopper')
    run = client.sync('one-way-from-client')
    assert run.returncode == 0, run.describe()
    assert sorted(master.people()) == ['Ada Lovelace', 'Grace Hopper',
                                       'Zoë Œuvre']
    assert sorted(names(client)) == ['Ada Lovelace', 'Zoë Œuvre']
    # one-way from server: the master's person comes down, a new card of
    # the client stays there
    se.write_vcards(client.data, {'li.vcf': LI})
    touch_later(client.data / 'li.vcf')
    run = client.sync('one-way-from-server')
    assert run.returncode == 0, run.describe()
    assert sorted(names(client)) == ['Ada Lovelace', 'Grace Hopper',
                                     'Zoë Œuvre', '李小龙']
    assert sorted(master.people()) == ['Ada Lovelace', 'Grace Hopper',
                                       'Zoë Œuvre']
    # refresh from server (a real Alert 205): the client gets exactly the
    # master's persons
    run = client.sync('refresh-from-server', enableRefreshSync='1')
    assert run.returncode == 0, run.describe()
    assert sorted(names(client)) == ['Ada Lovelace', 'Grace Hopper',
                                     'Zoë Œuvre']
    assert sorted(master.people()) == ['Ada Lovelace', 'Grace Hopper',
                                       'Zoë Œuvre']


@pytest.mark.parametrize('auth', ['md5', 'basic'])
def test_wrong_password_is_refused_and_changes_nothing(zope, tmp_path, auth):
    master = Master(zope)
    client = client_for(master, tmp_path, password='not-the-password',
                        auth=auth)
    se.write_vcards(client.data, {'ada.vcf': ADA})
    run = client.sync('slow')
    assert run.returncode != 0
    assert '401' in run.log
    assert master.people() == {}
    assert master.subscribers() == {}
    assert sorted(names(client)) == ['Ada Lovelace']


def test_zope_user_with_basic_credentials(zope, tmp_path):
    master = Master(zope)
    client = client_for(master, tmp_path, user=zope.user,
                        password=zope.password, auth='basic')
    se.write_vcards(client.data, {'ada.vcf': ADA})
    run = client.sync('slow')
    assert run.returncode == 0, run.describe()
    assert sorted(master.people()) == ['Ada Lovelace']


def test_two_clients_adding_the_same_person_make_one(zope, tmp_path):
    master = Master(zope)
    first = client_for(master, tmp_path / 'a')
    second = client_for(master, tmp_path / 'b', wbxml=True)
    se.write_vcards(first.data, {'ada.vcf': ADA})
    se.write_vcards(second.data, {'lovelace.vcf': ADA.replace(
        'Lovelace;Ada', ' lovelace ; ADA ')})
    for client in (first, second):
        run = client.sync('slow')
        assert run.returncode == 0, run.describe()
    assert len(master.people()) == 1
    assert len(names(second)) == 1
    assert len(master.subscribers()) == 2


def test_many_cards_in_several_small_messages(zope, tmp_path):
    master = Master(zope, max_message_size=20000)
    for n in range(60):
        master.add('p%d' % n, first_name='Server%d' % n, last_name='Side',
                   title='Server%d Side' % n, email='s%d@example.org' % n)
    client = client_for(master, tmp_path, properties={'maxMsgSize': '20000'})
    se.write_vcards(client.data, {
        'c%d.vcf' % n: 'BEGIN:VCARD\nVERSION:3.0\nN:Side;Client%d;;;\n'
                       'FN:Client%d Side\nNOTE:%s\nEND:VCARD' % (n, n, 'x' * 300)
        for n in range(150)})
    run = client.sync('slow')
    assert run.returncode == 0, run.describe()
    people = master.people()
    assert len(people) == 210
    assert len(names(client)) == 210
    assert run.log.count('MsgID=') > 0
    # several messages each way
    with zope.app() as app:
        pub = app[master.site].portal_synchronizations.getPublication(
            master.pub_id)
        counts = pub.getSubscriberList()[0].session.counts
        transaction.abort()
    assert counts['messages_received'] > 4
    assert counts['messages_sent'] > 4
    assert counts['received_add'] == 150
    assert counts['sent_add'] == 60


def test_cards_larger_than_a_message_travel_in_parts(zope, tmp_path):
    master = Master(zope, max_message_size=8000)
    long_note = ' '.join('word%d' % i for i in range(6000))   # ~50 KB
    master.add('big', first_name='Big', last_name='Server',
               title='Big Server', description='S ' + long_note)
    client = client_for(master, tmp_path, properties={'maxMsgSize': '8000'})
    se.write_vcards(client.data, {'big.vcf': (
        'BEGIN:VCARD\nVERSION:3.0\nN:Client;Big;;;\nFN:Big Client\n'
        'NOTE:C %s\nEND:VCARD' % long_note)})
    run = client.sync('slow')
    assert run.returncode == 0, run.describe()
    with zope.app() as app:
        folder = app[master.site][FOLDER]
        notes = {o.getProperty('title'): o.getProperty('description')
                 for o in folder.objectValues()}
        counts = app[master.site].portal_synchronizations.getPublication(
            master.pub_id).getSubscriberList()[0].session.counts
        transaction.abort()
    assert notes['Big Client'] == 'C ' + long_note
    assert counts['messages_received'] > 5 and counts['messages_sent'] > 5
    cards = names(client)
    assert sorted(cards) == ['Big Client', 'Big Server']
    (note,) = se.vcard_property(cards['Big Server'], 'NOTE')
    assert note == 'S ' + long_note
