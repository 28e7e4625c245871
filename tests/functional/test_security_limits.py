"""Medium and low items: size before authentication, cross-site posts,
replayed sessions, anonymous calls of the activity tool, instance files."""
import os
import stat

import pytest
import transaction

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from synchelpers import add_person
from synchelpers import folder
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional

SYNCML = {'Content-Type': 'application/vnd.syncml+xml'}


def _init_message(pub_id, session_id, padding=0):
    return codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=1,
                        target=m.Location('http://master'),
                        source=m.Location('http://client/' + session_id)),
        commands=[m.Alert(cmd_id=1, code=201, items=[m.Item(
            target=m.Location(pub_id), source=m.Location('/x' + 'x' * padding),
            meta=m.Meta(anchor_next='20260101T000000Z'))])]))


def _subscribers(zope, pair):
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        urls = sorted(s.subscription_url for s in pub.getSubscriberList())
        transaction.abort()
    return urls


def test_anonymous_body_is_capped_before_parsing(zope):
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    big = _init_message(pair.pub_id, 'big', padding=200 * 1024)
    status, headers, body = zope.http('POST', url, data=big, auth=None,
                                      headers=SYNCML)
    assert status == 413, body[:200]
    assert headers['content-type'].startswith('text/plain')
    # the same size from an authenticated user is read (and served)
    status, _h, body = zope.http('POST', url, data=big, headers=SYNCML)
    assert status == 200, body[:200]
    assert _subscribers(zope, pair) == ['http://client/big']


def test_cross_site_browser_post_is_refused(zope):
    """A page of another site makes the browser of a logged-in manager
    post a message: refused (the Origin header names another site)."""
    pair = make_sites(zope)
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    message = _init_message(pair.pub_id, 'xs').decode()
    for origin in ('http://attacker.invalid', 'null'):
        status, headers, _b = zope.http(
            'POST', url, data={'text': message},
            headers={'Origin': origin})
        assert status == 403
        assert headers['content-type'].startswith('text/plain')
    assert _subscribers(zope, pair) == []
    # a SyncML client sends no Origin
    status, _h, _b = zope.http('POST', url, data={'text': message})
    assert status == 200
    assert _subscribers(zope, pair) == ['http://client/xs']


def test_replayed_message_of_a_finished_session_changes_nothing(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.client, 'p1', title='first')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        old = sub.session.last_sent
        transaction.abort()
    assert old
    with zope.app() as app:
        add_person(app, pair.client, 'p2', title='second')
    assert sync(pair)['status'] == 'finished'

    def state():
        with zope.app() as app:
            pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
            subscriber = pub.getSubscriberList()[0]
            result = (sorted(folder(app, pair.master).objectIds()),
                      subscriber.session.session_id,
                      dict(subscriber.session.counts), len(subscriber.signatures))
            transaction.abort()
        return result
    before = state()
    url = '/%s/portal_synchronizations/readResponse' % pair.master
    status, headers, body = zope.http('POST', url, data=old, headers=SYNCML)
    assert status == 200
    statuses = [c for c in codec.decode(body).commands
                if isinstance(c, m.Status) and c.cmd == 'SyncHdr']
    assert int(statuses[0].code) >= 400
    assert state() == before


@pytest.mark.parametrize('method', [
    'getMessageList', 'getFailedMessageList', 'countMessage', 'hasActivity',
    'hasErrorActivity', 'getQueueHealth', 'getMessageInfoList',
    'manageActivities', 'distribute', 'tic', 'processAll', 'manage_messages',
])
def test_activity_tool_refuses_anonymous_and_members(zope, method):
    pair = make_sites(zope)
    zope.add_user('queue-member', 'member-pw', ['Member'])
    for auth in (None, ('queue-member', 'member-pw')):
        for verb in ('GET', 'POST'):
            status, _h, _b = zope.http(
                verb, '/%s/portal_activities/%s' % (pair.client, method), auth=auth)
            assert status in (401, 403), (method, auth, verb, status)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_files_are_readable_by_their_owner_only(zope, tmp_path):
    from scripts import instance
    inst = instance.write_instance(tmp_path / 'inst', 8080,
                                   inituser=('admin', 'secret'))
    assert _mode(inst.path) == 0o700
    for sub in ('etc', 'var', 'log'):
        assert _mode(inst.path / sub) == 0o700
    for written in (inst.zope_conf, inst.zope_ini, inst.path / 'inituser'):
        assert _mode(written) == 0o600
    # the running test server: what ZEO and Zope wrote is private too
    datafs = zope.base_dir / 'zeo' / 'Data.fs'
    assert _mode(datafs) & 0o077 == 0
    assert _mode(datafs.parent) & 0o077 == 0
    for log in (zope.instance.log_dir).iterdir():
        assert _mode(log) & 0o077 == 0, log
