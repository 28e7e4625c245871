"""A subscription's credentials are looked up when a message is sent: the
queued activity, the Activities tab, the stored session, the database
and the logs never hold the password or its base64 form."""
import base64
import secrets

import pytest
import transaction

from synchelpers import add_person
from synchelpers import make_sites
from synchelpers import run_until_done
from synchelpers import start_first_exchange

pytestmark = pytest.mark.functional


def _secrets(login, password):
    return [password.encode(),
            base64.b64encode(('%s:%s' % (login, password)).encode())]


def _assert_absent(where, data, forbidden):
    for secret in forbidden:
        assert secret not in data, '%s holds %r' % (where, secret)


def test_credentials_are_never_stored_nor_logged(zope):
    login = 'cred-%s' % secrets.token_hex(4)
    password = 'pw-%s' % secrets.token_urlsafe(12)
    zope.add_user(login, password, ['Manager'])
    forbidden = _secrets(login, password)
    pair = make_sites(zope)
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(
            pair.pub_id)
        sub.edit(login=login, password=password)
        for i in range(3):
            add_person(app, pair.client, 'p%d' % i, first_name='P%d' % i)
    start_first_exchange(pair)
    # pkg3 waits in the queue: its arguments and the Activities tab
    with zope.app() as app:
        queue = app[pair.client].portal_activities
        infos = queue.getMessageInfoList()
        assert infos, 'the changes should wait in the queue'
        _assert_absent('the queued activities', repr(infos).encode(), forbidden)
        session = app[pair.client].portal_synchronizations.getSubscription(
            pair.pub_id).session
        _assert_absent('the stored session', session.last_sent, forbidden)
        transaction.abort()
    status, _h, page = zope.http(
        'GET', '/%s/portal_activities/manageActivities' % pair.client)
    assert status == 200 and b'sendSyncMessage' in page
    _assert_absent('the Activities tab', page, forbidden)
    report = run_until_done(pair, pair.client)
    assert report['status'] == 'finished', report
    # the master authenticated the client with those credentials
    with zope.app() as app:
        assert len(app[pair.master].people.objectIds()) == 3
        transaction.abort()
    # nothing on disk: the whole database file (every old record too) and
    # the logs
    data_fs = zope.base_dir / 'zeo' / 'Data.fs'
    _assert_absent('Data.fs', data_fs.read_bytes(),
                   forbidden[1:])  # the subscription keeps the password itself
    for log in zope.instance.log_dir.iterdir():
        _assert_absent(log.name, log.read_bytes(), forbidden)
