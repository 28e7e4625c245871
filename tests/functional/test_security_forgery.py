"""File write and request forgery: what a site publishes, where it sends
messages, redirects, slow and wrong peers."""
import http.server
import os
import socketserver
import threading
import time

import pytest
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML import transports
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.tool import SynchronizationTool
from synchelpers import add_person
from synchelpers import csrf_token
from synchelpers import folder
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional

def _web_methods(klass):
    """Names of ``klass``'s own methods a URL can call: no leading
    underscore, a docstring (page templates included)."""
    names = []
    for name in vars(klass):
        if name.startswith('_'):
            continue
        value = getattr(klass, name, None)
        if callable(value) and getattr(value, '__doc__', None):
            names.append(name)
    return names


def test_every_published_method_of_the_tool_needs_a_permission(zope):
    """Anonymous and a Member get 401 from every published method but
    readResponse and syncml; the ones a Synchronize-only user may call are listed."""
    pair = make_sites(zope)
    zope.add_user('web-member', 'member-pw', ['Member'])
    base = '/%s/portal_synchronizations/' % pair.client
    names = _web_methods(SynchronizationTool)
    assert 'readResponse' in names and 'manage_addPublication' in names
    for internal in ('sendSyncMessage', 'sendReply', 'processMessage',
                     'getChangeJournal', 'getDestinationPrefixes',
                     'getCSRFToken'):
        # private, or without a docstring: refused even to a Manager
        status, _h, _b = zope.http('POST', base + internal,
                                   data={'subscription_id': pair.pub_id,
                                         'data': 'x', 'url': 'file:///tmp/x'})
        assert status in (401, 403, 404), (internal, status)
    for name in names:
        for auth in (None, ('web-member', 'member-pw')):
            status, _h, _b = zope.http('POST', base + name,
                                       data={'id': pair.pub_id}, auth=auth)
            if name == 'readResponse':
                assert status in (400, 401), (name, status)
            elif name == 'syncml':
                # the standard clients' entry: a form post is no SyncML
                assert status == 415, (name, status)
            else:
                assert status in (401, 403, 404), (name, auth, status)
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.getReport()['status'] == 'never run'
        assert app[pair.client].portal_activities.countMessage() == 0
        transaction.abort()


@pytest.mark.parametrize('path', [
    '_publications', '_subscriptions', '_journal', 'getPublication/People1',
    'aq_parent/acl_users/manage_main', 'getChangeJournal',
    'getPublicationList', 'getSubscription',
])
def test_domain_objects_are_not_reachable_by_url(zope, path):
    """Publications, subscriptions, subscribers and signatures live in
    private attributes of the tool: no URL reaches them or their
    methods, even for a Member."""
    pair = make_sites(zope)
    zope.add_user('walker', 'walker-pw', ['Member'])
    for auth in (None, ('walker', 'walker-pw')):
        status, _h, body = zope.http(
            'GET', '/%s/portal_synchronizations/%s' % (pair.master, path),
            auth=auth)
        assert status in (401, 403, 404), (path, status, body[:200])


def test_master_never_writes_its_answer_to_a_file_a_message_names(zope, tmp_path):
    """PubSync (mail, scripts) answers to the message's Source URI: a
    file: URL outside the directory the settings allow is refused before
    anything is applied, and nothing is ever written there."""
    import tempfile
    pair = make_sites(zope)
    target = os.path.join(tempfile.gettempdir(),
                          'erp5syncml-pwned-%d' % os.getpid())
    assert not os.environ['ERP5SYNCML_FILE_URL_DIR'].startswith(target)
    msg = codec.encode(m.Message(
        header=m.Header(session_id='f1', msg_id=1,
                        target=m.Location('http://master'),
                        source=m.Location('file://' + target)),
        commands=[m.Alert(cmd_id=1, code=201, items=[m.Item(
            target=m.Location(pair.pub_id), source=m.Location('/x'),
            meta=m.Meta(anchor_next='20260101T000000Z'))])]))
    token = csrf_token(zope, pair.master)
    status, _h, body = zope.http(
        'POST', '/%s/portal_synchronizations/PubSync' % pair.master,
        data={'id': pair.pub_id, 'msg': msg.decode(), '_authenticator': token})
    assert status == 400, body[:300]
    from synchelpers import run_queues
    run_queues(zope, (pair.master,), 5, lambda: True)
    with zope.app() as app:
        assert app[pair.master].portal_activities.countMessage() == 0
        pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
        assert pub.getSubscriberList() == []
        transaction.abort()
    assert not os.path.exists(target)


def test_file_urls_are_refused_unless_the_setting_allows_them(monkeypatch, tmp_path):
    monkeypatch.delenv('ERP5SYNCML_FILE_URL_DIR', raising=False)
    with pytest.raises(transports.TransportError, match='disabled'):
        transports.send('file://%s/x.xml' % tmp_path, b'data')
    monkeypatch.setenv('ERP5SYNCML_FILE_URL_DIR', str(tmp_path / 'allowed'))
    (tmp_path / 'allowed').mkdir()
    for url in ('file://%s/x.xml' % tmp_path,
                'file://%s/allowed/../x.xml' % tmp_path,
                'file://%s/allowed' % tmp_path):
        with pytest.raises(transports.TransportError, match='outside'):
            transports.send(url, b'data')
    transports.send('file://%s/allowed/x.xml' % tmp_path, b'data')
    assert (tmp_path / 'allowed' / 'x.xml').read_bytes() == b'data'
    assert not (tmp_path / 'x.xml').exists()


# -- peers that misbehave (local servers on 127.0.0.1) ----------------------

class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture
def local_http():
    """start(handler_class) -> base URL of a server on 127.0.0.1; every
    server is shut down at the end."""
    servers = []

    def start(handler):
        server = _Server(('127.0.0.1', 0), handler)
        server.requests = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, 'http://127.0.0.1:%d' % server.server_address[1]
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _recording(server_holder, answer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get('Content-Length') or 0)
            server_holder[0].requests.append(
                (self.path, dict(self.headers), self.rfile.read(length)))
            answer(self)

        def log_message(self, *args):
            pass
    return Handler


def test_redirects_are_not_followed_with_the_stored_credentials(zope, local_http):
    """A master URL that redirects (307 keeps method and body, so the
    first message and its credentials would follow) is not followed."""
    collector = [None]
    collector[0], collect_url = local_http(_recording(
        collector, lambda h: (h.send_response(200), h.end_headers())))
    redirector = [None]

    def redirect(handler):
        handler.send_response(307)
        handler.send_header('Location', collect_url + '/steal')
        handler.send_header('Content-Length', '0')
        handler.end_headers()
    redirector[0], redirect_url = local_http(_recording(redirector, redirect))
    pair = make_sites(zope)
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(publication_url=redirect_url + '/master')
        add_person(app, pair.client, 'p')
    report = sync(pair)
    assert report['status'] == 'failed', report
    assert 'redirect' in report['reason']
    assert len(redirector[0].requests) == 1
    assert collector[0].requests == []


def test_an_html_page_answered_with_200_fails_the_session(zope, local_http):
    holder = [None]

    def html_page(handler):
        body = b'<html><body>Login</body></html>'
        handler.send_response(200)
        handler.send_header('Content-Type', 'text/html')
        handler.send_header('Content-Length', str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    holder[0], url = local_http(_recording(holder, html_page))
    pair = make_sites(zope)
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        sub.edit(publication_url=url + '/master')
    report = sync(pair)
    assert report['status'] == 'failed', report
    assert 'HTML' in report['reason'] or 'not a SyncML' in report['reason'] \
        or 'bad message' in report['reason'], report


def test_a_peer_that_drips_its_answer_meets_the_deadline(local_http, monkeypatch):
    """One byte every 0.2 s for at most 10 s: the exchange is cut at the
    deadline (1 s here) instead of waiting for the whole answer."""
    holder = [None]

    def drip(handler):
        handler.send_response(200)
        handler.send_header('Content-Type', 'application/vnd.syncml+xml')
        handler.send_header('Content-Length', '50')
        handler.end_headers()
        for _ in range(50):
            try:
                handler.wfile.write(b'<')
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.2)
    holder[0], url = local_http(_recording(holder, drip))
    monkeypatch.setenv('ERP5SYNCML_HTTP_DEADLINE', '1')
    with pytest.raises(transports.TransportError, match='did not answer within'):
        transports.send(url + '/master', b'<SyncML/>')
    assert len(holder[0].requests) == 1
