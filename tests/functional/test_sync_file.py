"""Fast in-process sessions over file:// URLs: duplicates and message flow."""
import pytest
from zope.component.hooks import setSite

from synchelpers import add_person
from synchelpers import edit_person
from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import sync_file

pytestmark = pytest.mark.functional


def test_file_transport_round_trip(zope, tmp_path):
    pair = make_sites(zope, transport='file', tmp_path=tmp_path)
    with zope.app() as app:
        add_person(app, pair.master, 'm', title='master')
        add_person(app, pair.client, 'c', title='client')
        report = sync_file(pair, app)
        assert report['status'] == 'finished', report
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
        assert sorted(folder(app, pair.client).objectIds()) == ['c', 'm']


def test_every_message_delivered_three_times(zope, tmp_path):
    pair = make_sites(zope, transport='file', tmp_path=tmp_path, max_objects=3)
    with zope.app() as app:
        for i in range(7):
            add_person(app, pair.master, 'm%d' % i, title='m%d' % i)
            add_person(app, pair.client, 'c%d' % i, title='c%d' % i)
        report = sync_file(pair, app, duplicate=3)
        assert report['status'] == 'finished', report
        assert report['counts']['received_add'] == 7
        edit_person(app, pair.client, 'm1', title='edited once')
        report = sync_file(pair, app, duplicate=3)
        assert report['status'] == 'finished', report
        master = folder_xml(app, pair.master)
        assert len(master) == 14
        assert master == folder_xml(app, pair.client)
        assert folder(app, pair.master)['m1'].Title() == 'edited once'
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert len(pub.getSubscriberList()) == 1
        setSite(None)


def test_a_failing_command_changes_nothing_and_the_others_apply(zope, tmp_path,
                                                                monkeypatch):
    from Products.ERP5SyncML.conduit.conduit import Conduit
    original = Conduit.addNode

    def add_node(self, container, element, object_id=None):
        obj = original(self, container, element, object_id)
        if object_id == 'bad':
            raise RuntimeError('refused after a partial change')
        return obj
    monkeypatch.setattr(Conduit, 'addNode', add_node)
    pair = make_sites(zope, transport='file', tmp_path=tmp_path)
    with zope.app() as app:
        for person_id in ('good1', 'bad', 'good2'):
            add_person(app, pair.client, person_id, title=person_id)
        report = sync_file(pair, app)
        assert report['status'] == 'finished', report
        assert sorted(folder(app, pair.master).objectIds()) == ['good1', 'good2']
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        subscriber = pub.getSubscriberList()[0]
        assert subscriber.session.counts['errors'] == 1
        assert subscriber.signatures.get('bad') is None
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.signatures.get('bad').force_full
        # once the master accepts it, the next sync sends it again
        monkeypatch.setattr(Conduit, 'addNode', original)
        report = sync_file(pair, app)
        assert report['status'] == 'finished', report
        assert sorted(folder(app, pair.master).objectIds()) == ['bad', 'good1', 'good2']
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
        setSite(None)
