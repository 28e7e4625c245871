"""The client applies the master's answer without a savepoint; a failing
command aborts the round trip and the answer is applied again command by
command (real Zope over HTTP, the client's queue run in this process)."""
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.conduit.conduit import Conduit
from synchelpers import add_person
from synchelpers import folder
from synchelpers import make_sites
from synchelpers import subscription_report
from test_delivery_round_trips import press_sync_and_tic_once


def test_a_failing_command_of_the_answer_changes_nothing_and_the_others_apply(
        zope, monkeypatch):
    original = Conduit.addNode
    calls = []

    def add_node(self, container, element, object_id=None):
        obj = original(self, container, element, object_id)
        calls.append(object_id)
        if object_id == 'bad':
            raise RuntimeError('refused after a partial change')
        return obj
    monkeypatch.setattr(Conduit, 'addNode', add_node)
    pair = make_sites(zope)
    with zope.app() as app:
        for person_id in ('good1', 'bad', 'good2'):
            add_person(app, pair.master, person_id, title=person_id)
    assert press_sync_and_tic_once(pair) == 0
    report = subscription_report(pair, pair.client)
    assert report['status'] == 'finished', report
    assert report['counts']['errors'] == 1
    # the optimistic pass stopped at 'bad'; the replay applied all three
    assert calls.count('bad') == 2
    with zope.app() as app:
        assert sorted(folder(app, pair.client).objectIds()) == ['good1', 'good2']
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.signatures.get('bad') is None
        assert sub.signatures.get('good1') is not None
        setSite(None)
        transaction.abort()
