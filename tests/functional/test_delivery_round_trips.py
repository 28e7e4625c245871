"""Once Sync is pressed, the session's round trips run back to back in the
activity that sends the first message (real Zope over HTTP)."""
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.domain import delivery
from synchelpers import add_person
from synchelpers import folder
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import subscription_report


def press_sync_and_tic_once(pair):
    """The Sync button, then one run of the client's queue (one tic)."""
    with pair.zope.app() as app:
        setSite(app[pair.client])
        app[pair.client].portal_synchronizations.manage_syncSubscription(pair.pub_id)
        setSite(None)
    with pair.zope.app() as app:
        queue = app[pair.client].portal_activities
        queue.distribute()
        queue.tic(processing_node=1)
        remaining = len(queue.getMessageList())
        setSite(None)
    return remaining


def test_one_tic_runs_the_whole_session(zope):
    pair = make_sites(zope, max_objects=2)
    with zope.app() as app:
        for n in range(5):
            add_person(app, pair.master, 'm%d' % n, title='master %d' % n)
            add_person(app, pair.client, 'c%d' % n, title='client %d' % n)
    remaining = press_sync_and_tic_once(pair)
    report = subscription_report(pair, pair.client)
    assert report['status'] == 'finished', report
    assert remaining == 0
    # 2 objects per message: pkg3 and pkg4 took several round trips each
    assert report['counts']['messages_sent'] >= 6
    with zope.app() as app:
        assert folder_xml(app, pair.master) == folder_xml(app, pair.client)
        assert len(folder(app, pair.client).objectIds()) == 10
        transaction.abort()
        setSite(None)


def test_without_budget_each_round_trip_is_an_activity(zope, monkeypatch):
    monkeypatch.setattr(delivery, 'ROUND_TRIPS_BUDGET', 0)
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'm1', title='master')
    remaining = press_sync_and_tic_once(pair)
    report = subscription_report(pair, pair.client)
    assert report['status'] != 'finished'
    assert remaining == 1  # the next message waits for the next tic


def test_a_rerun_sends_the_message_the_session_is_at(zope):
    """An activity run again after a crash (its later steps committed)
    sends the session's latest message, not the one it was queued with."""
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.master, 'm1', title='master')
    delivery_budget = delivery.ROUND_TRIPS_BUDGET
    delivery.ROUND_TRIPS_BUDGET = 0
    try:
        press_sync_and_tic_once(pair)  # pkg1 out, pkg2 in, pkg3 queued
    finally:
        delivery.ROUND_TRIPS_BUDGET = delivery_budget
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        sub = tool.getSubscription(pair.pub_id)
        pkg3 = sub.session.last_sent
        stale = b'<SyncML>not the latest message</SyncML>'
        assert delivery._pending_message(sub, stale) == pkg3
        assert delivery._pending_message(sub, pkg3) == pkg3
        transaction.abort()
        setSite(None)
