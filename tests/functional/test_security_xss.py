"""Reflected XSS: no value from a request reaches an HTML page unescaped,
and a SyncML peer gets its errors as SyncML or plain text, never HTML."""
import pytest

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from synchelpers import make_sites

pytestmark = pytest.mark.functional

XSS = '<script>alert(1)</script>'
SYNCML = {'Content-Type': 'application/vnd.syncml+xml'}


def _message(pub_id, session_id='1', source='http://client/x', alert=True,
             cred=None):
    commands = []
    if alert:
        commands.append(m.Alert(code=201, items=[m.Item(
            target=m.Location(pub_id), source=m.Location('/x'),
            meta=m.Meta(anchor_next='20260101T000000Z'))]))
    else:
        commands.append(m.Sync(target=m.Location('x'), source=m.Location('y'),
                               commands=[]))
    return codec.encode(m.Message(
        header=m.Header(session_id=session_id, msg_id=1,
                        target=m.Location('http://master/' + XSS),
                        source=m.Location(source), cred=cred),
        commands=commands))


def _no_html(headers, body):
    kind = headers.get('content-type', '')
    assert 'html' not in kind, (kind, body[:300])
    assert XSS.encode() not in body or 'syncml' in kind, body[:300]


def _syncml_status(headers, body):
    assert headers['content-type'].startswith('application/vnd.syncml+xml')
    statuses = [c for c in codec.decode(body).commands
                if isinstance(c, m.Status) and c.cmd == 'SyncHdr']
    return int(statuses[0].code)


@pytest.fixture(scope='module')
def pair(zope):
    return make_sites(zope)


def _post(zope, site, data, auth=True, headers=SYNCML):
    return zope.http('POST', '/%s/portal_synchronizations/readResponse' % site,
                     data=data, auth=auth, headers=headers)


def test_unknown_publication_is_a_syncml_status(zope, pair):
    status, headers, body = _post(zope, pair.master, _message(XSS))
    assert status == 200
    assert _syncml_status(headers, body) == 404


def test_no_session_is_a_syncml_status(zope, pair):
    status, headers, body = _post(zope, pair.master, _message(
        pair.pub_id, session_id=XSS, source='http://c/' + XSS, alert=False))
    assert status == 200
    assert _syncml_status(headers, body) == 404


def test_unknown_sync_id_is_a_syncml_status(zope, pair):
    status, headers, body = zope.http(
        'POST', '/%s/portal_synchronizations/readResponse' % pair.master,
        data={'text': _message(pair.pub_id, session_id='5').decode(),
              'sync_id': XSS})
    assert status == 200
    assert _syncml_status(headers, body) == 404


def test_permission_refusal_is_a_syncml_status(zope, pair):
    zope.add_user('xss-member', 'xss-member-pw', ['Member'])
    status, headers, body = _post(zope, pair.master,
                                  _message(pair.pub_id, session_id='6'),
                                  auth=('xss-member', 'xss-member-pw'))
    assert status == 200
    assert _syncml_status(headers, body) == 403


@pytest.mark.parametrize('data', [
    b'<SyncML><SyncHdr><MsgID>' + XSS.encode() + b'</MsgID>',
    ('<?xml version="1.0"?><SyncML><SyncHdr><VerDTD>1.2</VerDTD><MsgID>%s'
     '</MsgID></SyncHdr></SyncML>' % XSS.replace('<', '&lt;')).encode(),
    XSS.encode(),
])
def test_unparseable_body_is_plain_text(zope, pair, data):
    for auth in (True, None):
        status, headers, body = _post(zope, pair.master, data, auth=auth)
        assert status == 400, body[:300]
        # plain text that no browser sniffs into HTML
        assert headers['content-type'].startswith('text/plain'), headers
        assert headers['x-content-type-options'] == 'nosniff'
        assert body.startswith(b'bad SyncML message')


@pytest.mark.parametrize('method,args', [
    ('manage_editPublication', {'id': XSS}),
    ('manage_deletePublication', {'id': XSS}),
    ('manage_resetSubscription', {'id': XSS}),
    ('getSyncReport', {'id': XSS}),
    ('manage_addPublication', {'id': 'p-' + XSS, 'max_objects': XSS}),
    ('manage_addPublication', {'id': 'p2', XSS: 'x'}),
    ('manage_resolveConflict', {'publication': XSS, 'subscriber': XSS,
                                'gid': XSS, 'choice': XSS}),
    ('getConflictDocuments', {'publication': XSS, 'subscriber': XSS,
                              'gid': XSS}),
])
def test_tool_errors_escape_what_they_echo(zope, pair, method, args):
    url = '/%s/portal_synchronizations/%s' % (pair.master, method)
    for verb in ('GET', 'POST'):
        status, headers, body = zope.http(verb, url, data=args)
        assert status >= 400, (method, verb, status)
        assert b'<script>' not in body, (method, verb, body[:500])


def test_zmi_message_is_escaped(zope, pair):
    status, _h, body = zope.http(
        'GET', '/%s/portal_synchronizations/managePublications' % pair.master,
        data={'manage_tabs_message': XSS})
    assert status == 200
    assert b'<script>alert' not in body


@pytest.mark.parametrize('method,args', [
    ('manageInvoke', {'uid': XSS}),
    ('manageRetry', {'uid': XSS}),
    ('manageCancel', {'uid': XSS}),
    ('manage_messages', {'invoke': XSS}),
    ('manage_messages', {'invoke:int': XSS}),
])
def test_activity_errors_escape_what_they_echo(zope, pair, method, args):
    from Products.CMFActivity import csrf
    with zope.app() as app:
        token = csrf.token(app[pair.master].portal_activities)
    url = '/%s/portal_activities/%s' % (pair.master, method)
    status, _h, body = zope.http('POST', url,
                                 data=dict(args, _authenticator=token))
    assert status >= 400, (method, status)
    assert b'<script>' not in body, (method, body[:500])
