"""Anonymous abuse of the standard clients' entry point (``syncml``):
what a peer that never authenticates can make the master store or parse."""
import pytest
import transaction

from Products.ERP5SyncML.domain import authentication
from Products.ERP5SyncML.syncml import auth
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import wbxml

from synchelpers import make_vcard_site

pytestmark = pytest.mark.functional
XML = 'application/vnd.syncml+xml'


@pytest.fixture
def master(zope):
    return make_vcard_site(zope, 'flood', [('alice', 'alice-secret', zope.user)])


def alert(device, padding=''):
    return m.Message(header=m.Header(
        session_id='1', msg_id=1, target=m.Location('http://server'),
        source=m.Location(device, name='alice'),
        ver_dtd='1.2', ver_proto='SyncML/1.2'),
        commands=[m.Alert(code=201, items=[m.Item(
            target=m.Location('contacts'), source=m.Location('./addressbook'),
            data=padding or None,
            meta=m.Meta(anchor_next='20260101T000000Z'))])])


def post(zope, site, message, query=''):
    return zope.http('POST', '/%s/portal_synchronizations/syncml%s'
                     % (site, query), data=wbxml.encode(message, XML),
                     headers={'Content-Type': XML}, auth=None)


def stored_nonces(zope, site):
    with zope.app() as app:
        pub = app[site].portal_synchronizations.getPublication('contacts')
        store = authentication.accounts(pub)
        count = len(store._nonces)
        longest = max((len(k) for k in store._nonces.keys()), default=0)
        transaction.abort()
    return count, longest


def test_anonymous_alerts_of_new_devices_store_a_bounded_number_of_nonces(
        zope, master):
    # each challenge of a new device stores its nonce: without a bound,
    # anyone could grow the master's database one device id at a time
    bound = getattr(authentication, 'MAX_NONCES', 1000)
    with zope.app() as app:
        pub = app[master].portal_synchronizations.getPublication('contacts')
        store = authentication.accounts(pub)
        for n in range(bound):
            store.next_nonce('earlier-%d' % n)
    for n in range(10):
        status, _h, body = post(zope, master, alert('flood-%d' % n))
        assert status == 200 and b'<Data>407</Data>' in body, body
    count, _longest = stored_nonces(zope, master)
    assert count <= bound


def test_a_huge_device_id_is_not_stored_as_is(zope, master):
    status, _h, body = post(zope, master, alert('d' * 30000))
    assert status == 200 and b'<Data>407</Data>' in body, body
    count, longest = stored_nonces(zope, master)
    assert count == 1 and longest <= 100


def test_the_latest_challenge_still_works_after_a_flood(zope, master):
    status, _h, body = post(zope, master, alert('phone-1'))
    reply = wbxml.decode(body, XML)
    nonce = auth.decode_nonce(reply.header_status().chal.next_nonce)
    for n in range(5):
        post(zope, master, alert('other-%d' % n))
    message = alert('phone-1')
    message.header.cred = m.Cred.md5('alice', 'alice-secret', nonce)
    status, _h, body = post(zope, master, message)
    assert wbxml.decode(body, XML).header_status().code == 212


def test_an_anonymous_body_larger_than_the_anonymous_limit_is_not_parsed(
        zope, master):
    status, _h, body = post(zope, master, alert('big', padding='x' * 200000))
    assert status == 413, (status, body[:200])
