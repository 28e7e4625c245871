"""Cross-site request forgery: every state-changing action of the tool
and of the activity queue wants a POST with the user's form token; the
ZMI forms carry it and keep working."""
import re
import urllib.parse

import pytest
import transaction
from zope.component.hooks import setSite

from Products.CMFActivity import activate
from synchelpers import add_person
from synchelpers import make_sites

pytestmark = pytest.mark.functional


def _token_of(body):
    tokens = set(re.findall(rb'name="_authenticator"\s+value="([0-9a-f]+)"', body))
    assert len(tokens) == 1, tokens
    return tokens.pop().decode()


def _page_token(zope, path):
    status, _h, body = zope.http('GET', path)
    assert status == 200, body[:300]
    return _token_of(body)


def _snapshot(zope, pair):
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        sub = tool.getSubscription(pair.pub_id)
        state = (sorted(tool._subscriptions.keys()),
                 sorted(app[pair.master].portal_synchronizations._publications.keys()),
                 sub.publication_url if sub is not None else None,
                 sub.getReport()['status'] if sub is not None else None,
                 app[pair.client].portal_activities.countMessage())
        transaction.abort()
    return state


#: (site attribute, method, form) of every state-changing tool action
ACTIONS = [
    ('client', 'manage_editSubscription',
     {'publication_url': 'http://attacker.invalid/steal'}),
    ('client', 'manage_syncSubscription', {}),
    ('client', 'SubSync', {}),
    ('client', 'manage_resetSubscription', {}),
    ('client', 'manage_deleteSubscription', {}),
    ('client', 'manage_addSubscription', {'id': 'Forged',
                                          'publication_url': 'http://x.invalid'}),
    ('master', 'manage_editPublication', {'publication_url': 'http://x.invalid'}),
    ('master', 'manage_resetPublication', {}),
    ('master', 'manage_deletePublication', {}),
    ('master', 'manage_addPublication', {'id': 'Forged', 'destination_path': '/x'}),
    ('master', 'PubSync', {}),
    ('master', 'manage_resolveConflict', {'publication': 'P', 'subscriber': 's',
                                          'gid': 'g', 'choice': 'publisher'}),
]


@pytest.fixture(scope='module')
def pair(zope):
    return make_sites(zope)


@pytest.mark.parametrize('side,method,form', ACTIONS,
                         ids=[a[1] + '-' + a[0] for a in ACTIONS])
def test_forged_requests_are_refused_and_change_nothing(zope, pair, side, method, form):
    site = getattr(pair, side)
    token = _page_token(zope, '/%s/portal_synchronizations/manage%ss' % (
        site, 'Publication' if side == 'master' else 'Subscription'))
    form = dict(form)
    form.setdefault('id', pair.pub_id)
    url = '/%s/portal_synchronizations/%s' % (site, method)
    before = _snapshot(zope, pair)
    attempts = [('GET', form), ('POST', form),
                ('POST', dict(form, _authenticator='0' * 64)),
                ('GET', dict(form, _authenticator=token))]
    for verb, data in attempts:
        status, _h, body = zope.http(verb, url, data=data)
        assert status == 403, (method, verb, status, body[:200])
        assert _snapshot(zope, pair) == before, (method, verb)


def test_sync_of_every_subscription_is_post_only(zope, pair):
    """``sync`` (for cron jobs: no token) changes no configuration; by GET
    it is refused."""
    before = _snapshot(zope, pair)
    status, _h, _b = zope.http(
        'GET', '/%s/portal_synchronizations/sync' % pair.client)
    assert status in (403, 405)
    assert _snapshot(zope, pair) == before


def test_another_users_token_is_refused(zope, pair):
    zope.add_user('other-manager', 'other-pw', ['Manager'])
    token = _page_token(zope, '/%s/portal_synchronizations/manageSubscriptions'
                        % pair.client)
    before = _snapshot(zope, pair)
    status, _h, _b = zope.http(
        'POST', '/%s/portal_synchronizations/manage_editSubscription' % pair.client,
        data={'id': pair.pub_id, 'publication_url': 'http://x.invalid',
              '_authenticator': token}, auth=('other-manager', 'other-pw'))
    assert status == 403
    assert _snapshot(zope, pair) == before


def test_the_zmi_forms_carry_the_token_and_work(zope):
    pair = make_sites(zope)
    page = '/%s/portal_synchronizations/manageSubscriptions' % pair.client
    token = _page_token(zope, page)
    with zope.app() as app:
        add_person(app, pair.client, 'p')
    # the Sync button of the page, as a browser posts it
    status, headers, _b = zope.http(
        'POST', '/%s/portal_synchronizations' % pair.client,
        data={'id': pair.pub_id, '_authenticator': token,
              'manage_syncSubscription:method': 'Sync'})
    assert status == 302, _b[:300]
    from synchelpers import run_until_done
    assert run_until_done(pair, pair.client)['status'] == 'finished'
    # the Change button
    status, _h, _b = zope.http(
        'POST', '/%s/portal_synchronizations' % pair.client,
        data={'id': pair.pub_id, '_authenticator': token, 'title': 'changed',
              'manage_editSubscription:method': 'Change'})
    assert status == 302
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.title == 'changed'
        assert list(app[pair.master].people.objectIds()) == ['p']
        transaction.abort()


def test_activity_actions_need_the_token(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        site = app[pair.client]
        setSite(site)
        activate(site.people, activity='SQLQueue', at_date=4102444800
                 ).manage_changeProperties(title='later')
        setSite(None)
    with zope.app() as app:
        [message] = app[pair.client].portal_activities.getMessageList()
        uid = message.uid
    base = '/%s/portal_activities' % pair.client
    token = _page_token(zope, base + '/manageActivities')

    def count():
        with zope.app() as app:
            n = app[pair.client].portal_activities.countMessage()
            transaction.abort()
        return n
    for method, form in (('manage_messages', {'cancel:int': uid}),
                         ('manage_messages', {'bulk': 'cancel', 'uids:list:int': uid}),
                         ('manageCancel', {'uid': uid}),
                         ('manageInvoke', {'uid': uid}),
                         ('manageRetry', {'uid': uid})):
        for verb, data in (('POST', form), ('GET', dict(form, _authenticator=token))):
            status, _h, _b = zope.http(verb, '%s/%s' % (base, method), data=data)
            assert status in (403, 405), (method, verb, status)
            assert count() == 1
    status, _h, _b = zope.http('POST', base + '/manage_messages',
                               data={'cancel:int': uid, '_authenticator': token})
    assert status == 302
    assert count() == 0
