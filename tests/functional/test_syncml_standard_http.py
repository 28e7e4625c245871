"""The standard-client HTTP face (portal_synchronizations/syncml) with
hand-made messages: challenges, content types, the session token, the
binding of a device to its account."""
import itertools
from urllib.parse import urlsplit

import pytest
import transaction

from Products.ERP5SyncML.syncml import auth
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import wbxml

from synchelpers import make_vcard_site

pytestmark = pytest.mark.functional
_ids = itertools.count(1)
XML = 'application/vnd.syncml+xml'


@pytest.fixture
def master(zope):
    site = make_vcard_site(zope, 'stdface', [
        ('alice', 'alice-secret', zope.user),
        ('bob', 'bob-secret', zope.user + '-nobody')])
    zope.add_user('carol', 'carol-secret', ['Manager'])
    return site


def init(device, cred=None, version='1.2', login='alice', session='1',
         msg_id=1):
    return m.Message(header=m.Header(
        session_id=session, msg_id=msg_id, target=m.Location('http://server'),
        source=m.Location(device, name=login), cred=cred,
        ver_dtd=version, ver_proto='SyncML/%s' % version),
        commands=[m.Alert(code=201, items=[m.Item(
            target=m.Location('contacts'), source=m.Location('./addressbook'),
            meta=m.Meta(anchor_next='20260101T000000Z'))])])


def post(zope, site, message, content_type=XML, query=''):
    body = wbxml.encode(message, content_type)
    status, headers, answer = zope.http(
        'POST', '/%s/portal_synchronizations/syncml%s' % (site, query),
        data=body, headers={'Content-Type': content_type}, auth=None)
    assert status == 200, answer
    return headers, wbxml.decode(answer, headers['content-type'])


def header_status(reply):
    return reply.header_status()


def test_missing_credentials_get_407_with_an_md5_challenge(zope, master):
    _h, reply = post(zope, master, init('dev-a'))
    status = header_status(reply)
    assert status.code == 407
    assert status.chal.type == auth.MD5
    nonce = auth.decode_nonce(status.chal.next_nonce)
    assert len(nonce) == 16
    # the answer to the challenge is accepted
    cred = m.Cred.md5('alice', 'alice-secret', nonce)
    _h, reply = post(zope, master, init('dev-a', cred, session='2'))
    status = header_status(reply)
    assert status.code == 212
    # the next nonce comes with it, and the old one is spent
    assert auth.decode_nonce(status.chal.next_nonce) != nonce
    _h, reply = post(zope, master, init('dev-a', cred, session='3'))
    assert header_status(reply).code == 401


def test_wrong_credentials_get_401_and_change_nothing(zope, master):
    for cred in (m.Cred.basic('alice', 'wrong'), m.Cred.basic('nobody', 'x'),
                 m.Cred.md5('alice', 'alice-secret', b''),
                 m.Cred('bm90IGJhc2U2NA', auth.BASIC)):
        _h, reply = post(zope, master, init('dev-w', cred))
        assert header_status(reply).code == 401, cred
        assert header_status(reply).chal is not None
        assert len(reply.commands) == 1   # no Alert: no session
    with zope.app() as app:
        pub = app[master].portal_synchronizations.getPublication('contacts')
        assert pub.getSubscriberList() == []
        transaction.abort()


def test_account_of_a_missing_zope_user_is_refused(zope, master):
    _h, reply = post(zope, master, init('dev-b', m.Cred.basic('bob', 'bob-secret'),
                                        login='bob'))
    assert header_status(reply).code == 401


@pytest.mark.parametrize('content_type', [
    'application/vnd.syncml+xml; charset=UTF-8', 'text/xml',
    'application/vnd.syncml+wbxml'])
def test_content_types_answered_in_kind_and_version(zope, master,
                                                    content_type):
    device = 'dev-ct-%d' % next(_ids)
    cred = m.Cred.basic('alice', 'alice-secret')
    headers, reply = post(zope, master, init(device, cred, version='1.1'),
                          content_type)
    assert headers['content-type'].startswith(
        'application/vnd.syncml+wbxml' if 'wbxml' in content_type
        else 'application/vnd.syncml+xml')
    assert reply.header.ver_dtd == '1.1'
    assert header_status(reply).code == 212
    alert_status = [c for c in reply.statuses() if c.cmd == 'Alert'][0]
    assert alert_status.code == 200
    alert, = [c for c in reply.commands if isinstance(c, m.Alert)]
    # our Alert addresses the client's datastore, not its device id
    assert alert.items[0].target.uri == './addressbook'


def test_unsupported_content_type_is_415(zope, master):
    status, _h, body = zope.http(
        'POST', '/%s/portal_synchronizations/syncml' % master,
        data=codec.encode(init('dev-x')), auth=None,
        headers={'Content-Type': 'application/json'})
    assert status == 415


def test_session_is_bound_to_the_token_of_its_resp_uri(zope, master):
    cred = m.Cred.basic('alice', 'alice-secret')
    _h, reply = post(zope, master, init('dev-t', cred, session='9'))
    resp_uri = reply.header.resp_uri
    query = '?' + urlsplit(resp_uri).query
    assert len(query) > 20
    second = m.Message(header=m.Header(
        session_id='9', msg_id=2, target=m.Location(resp_uri),
        source=m.Location('dev-t')),
        commands=[m.Sync(target=m.Location('contacts'),
                         source=m.Location('./addressbook'))])
    # without the token (or with a wrong one) the session is not found
    for bad in ('', '?s=guess'):
        _h, answer = post(zope, master, second, query=bad)
        assert header_status(answer).code == 404
    _h, answer = post(zope, master, second, query=query)
    assert header_status(answer).code == 200
    sync = [c for c in answer.commands if isinstance(c, m.Sync)][0]
    assert sync.target.uri == './addressbook'


def test_a_device_belongs_to_the_account_that_first_used_it(zope, master):
    _h, reply = post(zope, master, init(
        'dev-own', m.Cred.basic('alice', 'alice-secret')))
    assert header_status(reply).code == 212
    _h, reply = post(zope, master, init(
        'dev-own', m.Cred.basic('carol', 'carol-secret'), session='2'))
    assert header_status(reply).code == 403


def test_resume_is_refused_cleanly(zope, master):
    message = init('dev-r', m.Cred.basic('alice', 'alice-secret'))
    message.commands[0].code = 225
    _h, reply = post(zope, master, message)
    assert header_status(reply).code == 406


def test_site_to_site_subscriber_bound_to_its_first_account(zope):
    from synchelpers import make_sites
    from synchelpers import sync
    pair = make_sites(zope)
    assert sync(pair)['status'] == 'finished'
    zope.add_user('mallory', 'mallory-secret', ['Manager'])
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(
            pair.pub_id)
        sub.edit(login='mallory', password='mallory-secret')
    report = sync(pair)
    assert report['status'] == 'failed'
    assert '403' in report['reason']
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id)
        assert [s.user_id for s in pub.getSubscriberList()] == [zope.user]
        transaction.abort()


def test_site_to_site_md5_with_a_syncml_account(zope):
    from Products.ERP5SyncML.syncml.auth import MD5
    from synchelpers import add_person
    from synchelpers import folder
    from synchelpers import make_sites
    from synchelpers import sync
    pair = make_sites(zope)

    def subscription(app):
        return app[pair.client].portal_synchronizations.getSubscription(
            pair.pub_id)
    with zope.app() as app:
        app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id).setSyncMLAccount('syncer', 'syncer-pw', zope.user)
        subscription(app).edit(login='syncer', password='syncer-pw')
        add_person(app, pair.client, 'p1', title='one')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        # a basic login with an account: the master asks for md5 next time
        sub = subscription(app)
        assert sub.syncml_auth_type == MD5
        first_nonce = sub.syncml_nonce
        assert len(first_nonce) == 16
        add_person(app, pair.client, 'p2', title='two')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert sorted(folder(app, pair.master).objectIds()) == ['p1', 'p2']
        sub = subscription(app)
        assert sub.syncml_nonce != first_nonce
        # a nonce the master did not give: it challenges, the client
        # answers once with the new nonce
        sub.syncml_nonce = b'stale nonce'
        add_person(app, pair.client, 'p3', title='three')
    assert sync(pair)['status'] == 'finished'
    with zope.app() as app:
        assert 'p3' in folder(app, pair.master).objectIds()
        subscription(app).edit(password='wrong')
        add_person(app, pair.client, 'p4', title='four')
    report = sync(pair)
    assert report['status'] == 'failed'
    assert '401' in report['reason']
    with zope.app() as app:
        assert 'p4' not in folder(app, pair.master).objectIds()
        transaction.abort()


def _session(zope, master, device, session):
    _h, reply = post(zope, master, init(
        device, m.Cred.basic('alice', 'alice-secret'), session=session))
    assert reply.header.meta.max_obj_size == 1024 * 1024
    return '?' + urlsplit(reply.header.resp_uri).query


def _sync(device, session, msg_id, items, final=False):
    return m.Message(header=m.Header(
        session_id=session, msg_id=msg_id, target=m.Location('http://x'),
        source=m.Location(device)), final=final,
        commands=[m.Sync(cmd_id=1, target=m.Location('contacts'),
                         source=m.Location('./addressbook'),
                         commands=[m.Add(cmd_id=2, items=items)])])


def _add_status(reply):
    return [s.code for s in reply.statuses() if s.cmd == 'Add']


def test_large_object_size_checked_and_bounded(zope, master):
    card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nN:Big;Ann;;;\r\nFN:Ann Big\r\nEND:VCARD'
    query = _session(zope, master, 'dev-lo', '5')
    first = m.Item(source=m.Location('c1'), data=card[:20], more_data=True,
                   meta=m.Meta(type='text/vcard', size=len(card) + 7))
    _h, reply = post(zope, master, _sync('dev-lo', '5', 2, [first]),
                     query=query)
    assert _add_status(reply) == [213]
    rest = m.Item(source=m.Location('c1'), data=card[20:])
    _h, reply = post(zope, master, _sync('dev-lo', '5', 3, [rest]),
                     query=query)
    assert _add_status(reply) == [424]
    # announced larger than our MaxObjSize: refused at once
    huge = m.Item(source=m.Location('c2'), data=card[:20], more_data=True,
                  meta=m.Meta(type='text/vcard', size=50 * 1024 * 1024))
    _h, reply = post(zope, master, _sync('dev-lo', '5', 4, [huge]),
                     query=query)
    assert _add_status(reply) == [413]
    # the right size: the card is added
    first.meta.size = len(card)
    first.source = rest.source = m.Location('c3')
    post(zope, master, _sync('dev-lo', '5', 5, [first]), query=query)
    _h, reply = post(zope, master, _sync('dev-lo', '5', 6, [rest]),
                     query=query)
    assert _add_status(reply) == [201]
    with zope.app() as app:
        titles = [o.getProperty('title')
                  for o in app[master]['people'].objectValues()]
        transaction.abort()
    assert titles == ['Ann Big']


def test_a_failing_card_changes_nothing_and_the_others_apply(zope, master):
    """A message is applied without a savepoint; when a card fails the
    transaction is aborted and the message served again card by card."""
    def card(given):
        return ('BEGIN:VCARD\r\nVERSION:3.0\r\nN:Replay;%s;;;\r\n'
                'FN:%s Replay\r\nEND:VCARD' % (given, given))
    query = _session(zope, master, 'dev-rp', '7')
    items = [m.Item(source=m.Location('r1'), data=card('Ann')),
             m.Item(source=m.Location('r2'), data='BEGIN:VCARD\r\nN:;;'),
             m.Item(source=m.Location('r3'), data=card('Bob'))]
    _h, reply = post(zope, master, _sync('dev-rp', '7', 2, items),
                     query=query)
    codes = _add_status(reply)
    assert codes[0] == 201 and codes[2] == 201, codes
    assert codes[1] >= 400, codes
    # the same message again: the stored answer, nothing applied twice
    _h, again = post(zope, master, _sync('dev-rp', '7', 2, items),
                     query=query)
    assert _add_status(again) == codes
    with zope.app() as app:
        titles = sorted(o.getProperty('title')
                        for o in app[master]['people'].objectValues())
        sub = app[master].portal_synchronizations.getPublication(
            'contacts').getSubscriber('dev-rp')
        from Products.ERP5SyncML.domain.maps import id_map
        mapped = sorted(l for l in ('r1', 'r2', 'r3') if id_map(sub).gid(l))
        errors = sub.session.counts.get('errors')
        transaction.abort()
    assert titles == ['Ann Replay', 'Bob Replay']
    assert mapped == ['r1', 'r3']
    assert errors == 1


def test_a_get_of_the_standard_entry_point_is_a_clear_400(zope, master):
    status, _h, body = zope.http(
        'GET', '/%s/portal_synchronizations/syncml' % master, auth=None)
    assert status == 400 and b'POST a SyncML message' in body
