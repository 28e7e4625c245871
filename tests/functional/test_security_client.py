"""Attacks on a client site: forged answers of its master (anonymous, a
Member, a user with only the Synchronize permission) and request forgery
with the credentials the subscription stores."""
import pytest
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.permissions import Synchronize
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from synchelpers import add_person
from synchelpers import csrf_token
from synchelpers import folder
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional

SYNCML = {'Content-Type': 'application/vnd.syncml+xml'}


def _pending_session(zope, pair):
    """Press Sync without running the queue: the client waits for the
    master's answer to its first message. Returns (session id, pkg1)."""
    with zope.app() as app:
        setSite(app[pair.client])
        tool = app[pair.client].portal_synchronizations
        tool.SubSync(pair.pub_id)
        sub = tool.getSubscription(pair.pub_id)
        session_id = sub.session.session_id
        pkg1 = codec.decode(sub.session.last_sent)
        setSite(None)
    return session_id, pkg1


def forged_refresh(pkg1, session_id):
    """What the master would answer if it asked for a refresh from the
    server (Alert 205): the client forgets its signatures and would
    replace its folder with the master's."""
    alert = [c for c in pkg1.commands if isinstance(c, m.Alert)][0]
    item = alert.items[0]
    return codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=1,
                        target=pkg1.header.source, source=pkg1.header.target),
        commands=[
            m.Status(cmd_id=1, msg_ref=1, cmd_ref=0, cmd='SyncHdr', code=200,
                     target_refs=[pkg1.header.target.uri],
                     source_refs=[pkg1.header.source.uri]),
            m.Status(cmd_id=2, msg_ref=1, cmd_ref=alert.cmd_id, cmd='Alert',
                     code=200, target_refs=[item.target.uri],
                     source_refs=[item.source.uri]),
            m.Alert(cmd_id=3, code=205, items=[m.Item(
                target=item.source, source=item.target,
                meta=m.Meta(anchor_next=item.meta.anchor_next))]),
        ], final=True))


def _state(zope, pair):
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        sub = tool.getSubscription(pair.pub_id)
        session = sub.session
        state = (session.session_id, int(session.mode),
                 session.last_received_msg_id, len(sub.signatures),
                 app[pair.client].portal_activities.countMessage(),
                 sorted(folder(app, pair.client).objectIds()))
        setSite(None)
        transaction.abort()
    return state


@pytest.fixture
def synced_pair(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        add_person(app, pair.client, 'kept1', title='client data')
        add_person(app, pair.client, 'kept2', title='client data')
    assert sync(pair)['status'] == 'finished'
    return pair


@pytest.mark.parametrize('who', ['anonymous', 'member', 'manager'])
def test_forged_answer_posted_to_the_client_is_refused(zope, synced_pair, who):
    """Anyone may POST to readResponse: a message for a subscription that
    does not come as the answer to the client's own request is refused
    and changes nothing, whoever sends it."""
    pair = synced_pair
    auth = {'anonymous': None, 'manager': True,
            'member': ('client-member', 'member-pw')}[who]
    zope.add_user('client-member', 'member-pw', ['Member'])
    session_id, pkg1 = _pending_session(zope, pair)
    before = _state(zope, pair)
    status, headers, body = zope.http(
        'POST', '/%s/portal_synchronizations/readResponse' % pair.client,
        data=forged_refresh(pkg1, session_id), auth=auth, headers=SYNCML)
    if status == 200:
        assert headers['content-type'].startswith('application/vnd.syncml+xml')
        statuses = [c for c in codec.decode(body).commands
                    if isinstance(c, m.Status) and c.cmd == 'SyncHdr']
        assert int(statuses[0].code) == 403
    else:
        assert status in (401, 403)
    assert _state(zope, pair) == before
    # the real session goes on and nothing of the client was lost
    from synchelpers import run_until_done
    assert run_until_done(pair, pair.client)['status'] == 'finished'
    with zope.app() as app:
        assert sorted(folder(app, pair.master).objectIds()) == ['kept1', 'kept2']
        assert sorted(folder(app, pair.client).objectIds()) == ['kept1', 'kept2']
        transaction.abort()


def test_session_ids_are_unguessable(zope):
    pair = make_sites(zope)
    ids = set()
    for n in range(3):
        if n:
            # Sync starts nothing while a session runs: end it first
            with zope.app() as app:
                app[pair.client].portal_synchronizations.manage_abortSubscription(
                    pair.pub_id)
        session_id, _pkg1 = _pending_session(zope, pair)
        ids.add(session_id)
    assert len(ids) == 3
    for session_id in ids:
        assert len(session_id) >= 16 and not session_id.isdigit()
    # the master accepts them: a whole session runs with such an id
    from synchelpers import run_until_done
    assert run_until_done(pair, pair.client)['status'] == 'finished'


def _synchronize_only_user(zope, pair, name):
    """A user whose only right on the client site is Synchronize."""
    zope.add_user(name, name + '-pw', ['Syncer'])
    with zope.app() as app:
        site = app[pair.client]
        if 'Syncer' not in site.valid_roles():
            site._addRole('Syncer')
        site.manage_permission(Synchronize, ['Manager', 'Syncer'], acquire=False)
    return (name, name + '-pw')


def test_synchronize_permission_cannot_forge_what_the_client_sends(zope, synced_pair):
    """A user with only Synchronize may press Sync; he may not hand the
    subscription a message of his own, which would make the client answer
    the master with the stored administrator credentials."""
    pair = synced_pair
    auth = _synchronize_only_user(zope, pair, 'syncer')
    token = csrf_token(zope, pair.client, user='syncer')
    base = '/%s/portal_synchronizations' % pair.client
    status, _h, _b = zope.http('POST', base + '/manage_syncSubscription',
                               data={'id': pair.pub_id, '_authenticator': token},
                               auth=auth)
    assert status == 302
    session_id, pkg1 = _state(zope, pair)[0], None
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        pkg1 = codec.decode(sub.session.last_sent)
        transaction.abort()
    before = _state(zope, pair)
    forged = forged_refresh(pkg1, session_id).decode('utf-8')
    for method in ('SubSync', 'readResponse'):
        status, headers, body = zope.http(
            'POST', '%s/%s' % (base, method), auth=auth,
            data={'id': pair.pub_id, 'msg': forged, 'text': forged,
                  '_authenticator': token})
        if status == 200:
            assert b'<Data>403</Data>' in body, (method, body[:300])
        else:
            assert status in (401, 403), (method, status)
        assert _state(zope, pair) == before, method
    # Python code running as that user gets the same refusal
    from AccessControl import Unauthorized
    from AccessControl.SecurityManagement import newSecurityManager
    with zope.app() as app:
        acl = app.acl_users
        newSecurityManager(None, acl.getUser('syncer').__of__(acl))
        with pytest.raises(Unauthorized):
            app[pair.client].portal_synchronizations.SubSync(pair.pub_id,
                                                             msg=forged)
        transaction.abort()
    assert _state(zope, pair) == before
