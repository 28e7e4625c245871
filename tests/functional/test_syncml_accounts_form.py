"""SyncML accounts of a publication on its settings page (@@sync-form):
list, add (password twice, an existing Zope user), remove; POST with the
form token only; bad input changes nothing; values escaped."""
import pytest
import transaction

from synchelpers import csrf_token
from synchelpers import make_sites
from Products.ERP5SyncML.domain import authentication
from Products.ERP5SyncML.syncml import auth

pytestmark = pytest.mark.functional


def _accounts(zope, pair):
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id)
        result = sorted(pub.getSyncMLAccountList())
        transaction.abort()
    return result


def test_accounts_are_listed_added_and_removed(zope):
    pair = make_sites(zope)
    form = '/%s/portal_synchronizations/@@sync-form' % pair.master
    tok = csrf_token(zope, pair.master)
    page = {'kind': 'publication', 'id': pair.pub_id}
    status, _h, body = zope.http('GET', form, page)
    assert status == 200 and b'No SyncML account yet' in body
    add = dict(page, action='add_account', account_login='phone<b>1',
               account_password='pw-1', account_password2='pw-1',
               account_user=zope.user, _authenticator=tok)
    # a GET or a forged token changes nothing
    assert zope.http('GET', form, add)[0] == 403
    assert zope.http('POST', form, dict(add, _authenticator='forged'))[0] == 403
    assert _accounts(zope, pair) == []
    # bad input: errors beside the fields, values kept, nothing saved
    status, _h, body = zope.http('POST', form, dict(
        add, account_password2='other', account_user='nobody-here'))
    body = body.decode()
    assert status == 200 and 'No account was added' in body
    assert 'The two passwords differ' in body
    assert 'No Zope user with this id' in body
    assert 'value="phone&lt;b&gt;1"' in body and 'phone<b>1' not in body
    assert 'pw-1' not in body  # passwords are never written back
    assert _accounts(zope, pair) == []
    status, _h, body = zope.http('POST', form, dict(add, account_login='a:b'))
    assert status == 200 and b'A login is required, without' in body
    assert _accounts(zope, pair) == []
    # added: listed (escaped), the password kept as its md5 digest only
    status, headers, _ = zope.http('POST', form, add)
    assert status == 302 and 'added' in headers['location']
    assert _accounts(zope, pair) == [('phone<b>1', zope.user)]
    with zope.app() as app:
        pub = app[pair.master].portal_synchronizations.getPublication(
            pair.pub_id)
        secret, user_id = authentication.accounts(pub).get('phone<b>1')
        assert secret == auth.md5_secret('phone<b>1', 'pw-1')
        transaction.abort()
    status, _h, body = zope.http('GET', form, page)
    assert b'<td>phone&lt;b&gt;1</td>' in body and b'phone<b>1' not in body
    # removed, with the token only
    remove = dict(page, action='remove_account', account_login='phone<b>1')
    assert zope.http('POST', form, remove)[0] == 403
    assert zope.http('POST', form, dict(
        remove, account_login='unknown', _authenticator=tok))[0] == 400
    status, headers, _ = zope.http('POST', form, dict(remove,
                                                       _authenticator=tok))
    assert status == 302 and 'removed' in headers['location']
    assert _accounts(zope, pair) == []


def test_subscriptions_have_no_accounts_block(zope):
    pair = make_sites(zope)
    status, _h, body = zope.http(
        'GET', '/%s/portal_synchronizations/@@sync-form' % pair.client,
        {'kind': 'subscription', 'id': pair.pub_id})
    assert status == 200 and b'syncml-accounts' not in body
    assert b'name="content_type"' in body
