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
