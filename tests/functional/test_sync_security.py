"""Every sync entry point authenticates, and work runs as that user."""
import pytest
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.permissions import Synchronize
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from synchelpers import add_person
from synchelpers import folder
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional


def _init_message(pub_id, cred=None, session_id='77'):
    return codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=1,
                        target=m.Location('http://master'),
                        source=m.Location('http://client/raw-%s' % session_id),
                        cred=cred),
        commands=[m.Alert(code=201, items=[m.Item(
            target=m.Location(pub_id), source=m.Location('/raw'),
            meta=m.Meta(anchor_next='20260101T000000Z'))])]))


def test_syncml_credentials_authenticate_an_anonymous_request(zope):
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    headers = {'Content-Type': 'application/vnd.syncml+xml'}
    # refusals are SyncML: 407 without credentials, 401 with wrong ones,
    # each with a challenge
    status, _h, body = zope.http('POST', url, data=_init_message(pair.pub_id),
                                 auth=None, headers=headers)
    assert status == 200
    refused = codec.decode(body).header_status()
    assert (refused.code, refused.chal.type) == (407, 'syncml:auth-basic')
    bad = m.Cred.basic(zope.user, 'wrong password')
    status, _h, body = zope.http('POST', url, auth=None, headers=headers,
                                 data=_init_message(pair.pub_id, bad, '78'))
    assert status == 200
    assert codec.decode(body).header_status().code == 401
    good = m.Cred.basic(zope.user, zope.password)
    status, _h, body = zope.http('POST', url, auth=None, headers=headers,
                                 data=_init_message(pair.pub_id, good, '79'))
    assert status == 200, body
    reply = codec.decode(body)
    assert reply.header_status().code == 212
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        subscriber = pub.getSubscriber('http://client/raw-79')
        assert subscriber.user_id == zope.user
        assert pub.getSubscriber('http://client/raw-78') is None
        transaction.abort()


def test_work_runs_as_the_authenticated_user(zope):
    pair = make_sites(zope)
    zope.add_user('syncer', 'syncer-secret', ['Member'])
    with zope.app() as app:
        master = app[pair.master]
        master.manage_permission(Synchronize, ['Manager', 'Member'], acquire=False)
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(login='syncer', password='syncer-secret')
        add_person(app, pair.client, 'intruder', title='may not be added')
    report = sync(pair)
    # the session completes, but the master refused to create the object:
    # a Member may synchronize here, not add content
    assert report['status'] == 'finished', report
    with zope.app() as app:
        assert 'intruder' not in folder(app, pair.master).objectIds()
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        subscriber = pub.getSubscriberList()[0]
        assert subscriber.user_id == 'syncer'
        assert subscriber.session.counts['errors'] >= 1
        setSite(None)
        transaction.abort()


def test_user_without_sync_permission_is_refused(zope):
    pair = make_sites(zope)
    zope.add_user('visitor', 'visitor-secret', ['Member'])
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(login='visitor', password='visitor-secret')
        add_person(app, pair.client, 'p')
    report = sync(pair)
    assert report['status'] == 'failed', report
    assert '401' in report['reason'] or 'authentication' in report['reason']
    with zope.app() as app:
        assert list(folder(app, pair.master).objectIds()) == []
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert pub.getSubscriberList() == []
        transaction.abort()


def test_form_encoded_text_and_sync_id_are_accepted(zope):
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    message = _init_message(pair.pub_id, session_id='80').decode('utf-8')
    status, _h, body = zope.http('POST', url, data={'text': message,
                                                    'sync_id': pair.pub_id})
    assert status == 200, body
    assert codec.decode(body).header_status().code == 200
    status, _h, body = zope.http('POST', url, data={'text': message,
                                                    'sync_id': 'NoSuchPublication'})
    # the peer speaks SyncML: its error is a SyncML Status, not an HTML page
    assert status == 200 and _header_status(body) == 404


def _data_message(session_id, msg_id, source):
    return codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=msg_id,
                        target=m.Location('http://master'), source=m.Location(source)),
        commands=[m.Sync(target=m.Location('x'), source=m.Location('y'), commands=[
            m.Add(items=[m.Item(source=m.Location('intruder'),
                                data='<object id="intruder" portal_type="Person" '
                                     'meta_type="ERP5SyncML Person"></object>')])])]))


def _header_status(body):
    """The code of the Status on SyncHdr of a SyncML answer."""
    from Products.ERP5SyncML.syncml import codec
    from Products.ERP5SyncML.syncml import model
    statuses = [c for c in codec.decode(body).commands
                if isinstance(c, model.Status) and c.cmd == 'SyncHdr']
    assert len(statuses) == 1, statuses
    return int(statuses[0].code)


def test_messages_out_of_sequence_are_refused_and_change_nothing(zope):
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    headers = {'Content-Type': 'application/vnd.syncml+xml'}
    # data without a session
    status, _h, body = zope.http('POST', url, headers=headers,
                                 data=_data_message('90', 1, 'http://client/x'))
    assert status == 200 and _header_status(body) == 404
    # a session starts; then a message from the past and one from another session
    status, _h, _b = zope.http('POST', url, headers=headers,
                               data=_init_message(pair.pub_id, session_id='91'))
    assert status == 200
    source = 'http://client/raw-91'
    status, _h, body = zope.http('POST', url, headers=headers,
                                 data=_data_message('92', 2, source))
    assert status == 200 and _header_status(body) == 404
    status, _h, _b = zope.http('POST', url, headers=headers,
                               data=_data_message('91', 2, source))
    assert status == 200
    status, _h, body = zope.http('POST', url, headers=headers,
                                 data=_data_message('91', 1, source))
    assert status == 200 and _header_status(body) == 405
    with zope.app() as app:
        ids = list(folder(app, pair.master).objectIds())
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        counts = pub.getSubscriber(source).session.counts
        transaction.abort()
    # the one message in sequence was applied once; the others changed nothing
    assert ids == ['intruder'] and counts['received_add'] == 1


@pytest.mark.parametrize('name', ['sendSyncMessage', 'sendReply', 'processMessage',
                                  'getChangeJournal', 'getDestinationPrefixes'])
def test_internal_methods_are_not_published(zope, name):
    """Activity targets and Python-only accessors refuse the web, even to a
    Manager; the activity queue still calls them (see the sync tests)."""
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/%s' % (pair.client, name)
    form = {'subscription_id': pair.pub_id, 'data': 'x', 'url': 'file:///tmp/x'}
    status, _h, _b = zope.http('POST', url, data=form)
    assert status in (401, 403, 404), (name, status)
    with zope.app() as app:
        activities = app[pair.client].portal_activities
        assert activities.getMessageList() == []
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.getReport()['status'] == 'never run'
        transaction.abort()
    assert sync(pair)['status'] == 'finished'
