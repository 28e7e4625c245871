"""Sync while a session runs starts nothing; the ZMI says a sync is
running and offers Abort, which ends it cleanly; the next Sync works."""
import pytest
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.domain import delivery
from synchelpers import add_person
from synchelpers import csrf_token
from synchelpers import folder_xml
from synchelpers import make_sites
from synchelpers import run_until_done
from synchelpers import subscription_report

pytestmark = pytest.mark.functional


def _queued(zope, pair):
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        sub = tool.getSubscription(pair.pub_id)
        messages = app[pair.client].portal_activities.getMessageList(
            tag=delivery.tag_of(sub))
        session_id = sub.session.session_id if sub.session else None
        transaction.abort()
    return len(messages), session_id


def test_sync_twice_then_abort_then_sync(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.client, 'c1', title='One')
        setSite(None)
    tool = '/%s/portal_synchronizations' % pair.client
    token = csrf_token(zope, pair.client)
    status, headers, _ = zope.http('POST', tool + '/manage_syncSubscription',
                                   {'id': pair.pub_id, '_authenticator': token})
    assert status == 302 and 'started' in headers['location']
    queued, session_id = _queued(zope, pair)
    assert queued == 1
    status, headers, _ = zope.http('POST', tool + '/manage_syncSubscription',
                                   {'id': pair.pub_id, '_authenticator': token})
    assert status == 302 and 'is%20running' in headers['location']
    assert _queued(zope, pair) == (1, session_id)   # no second session
    status, _h, page = zope.http('GET', tool + '/manageSubscriptions')
    assert status == 200
    assert b'A synchronization is running since' in page
    assert b'manage_abortSubscription:method' in page
    assert b'manage_syncSubscription:method' not in page
    # Abort is a state change: POST only
    status, _h, _b = zope.http('GET', tool + '/manage_abortSubscription',
                               {'id': pair.pub_id, '_authenticator': token})
    assert status >= 400
    status, _h, _b = zope.http('POST', tool + '/manage_abortSubscription',
                               {'id': pair.pub_id})
    assert status == 403   # no form token
    assert subscription_report(pair, pair.client)['status'] == 'running'
    status, headers, _ = zope.http('POST', tool + '/manage_abortSubscription',
                                   {'id': pair.pub_id, '_authenticator': token})
    assert status == 302 and 'aborted' in headers['location']
    report = subscription_report(pair, pair.client)
    assert report['status'] == 'failed'
    assert report['reason'] == 'aborted by %s' % zope.user
    assert _queued(zope, pair)[0] == 0
    status, _h, page = zope.http('GET', tool + '/manageSubscriptions')
    assert b'manage_syncSubscription:method' in page
    assert b'A synchronization is running' not in page
    # the next Sync works
    status, headers, _ = zope.http('POST', tool + '/manage_syncSubscription',
                                   {'id': pair.pub_id, '_authenticator': token})
    assert 'started' in headers['location']
    assert run_until_done(pair, pair.client)['status'] == 'finished'
    with zope.app() as app:
        assert folder_xml(app, pair.client) == folder_xml(app, pair.master)
        assert 'c1' in folder_xml(app, pair.master)
        setSite(None)
        transaction.abort()
