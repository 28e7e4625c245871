"""Our client with a standard SyncML server: RespURI only on the
configured origin, a refused Sync fails the session."""
import pytest

from Products.ERP5SyncML.domain import delivery
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from test_engine_pair import env, pair, root  # noqa: F401


class _Sub:
    publication_url = 'http://sync.example:8080/syncevolution'
    content_type = 'asXML'

    def getId(self):
        return 'sub'


class _Session:
    resp_uri = None


@pytest.mark.parametrize('resp_uri,followed', [
    ('http://sync.example:8080/syncevolution?sessionid=42', True),
    ('HTTP://SYNC.example:8080/other/path;s=1', True),
    ('http://sync.example/syncevolution', False),          # other port
    ('https://sync.example:8080/syncevolution', False),    # other scheme
    ('http://evil.example:8080/syncevolution', False),
    ('http://user@sync.example:8080/syncevolution', False),
    ('file:///etc/passwd', False),
    ('http://sync.example:99999/x', False),                # bad port
])
def test_resp_uri_followed_only_on_the_configured_origin(resp_uri, followed):
    sub, session = _Sub(), _Session()
    delivery.follow_resp_uri(sub, session, resp_uri)
    assert (session.resp_uri == resp_uri) is followed
    url, exact = delivery.target_of(sub, session)
    assert (url, exact) == ((resp_uri, True) if followed else
                            (sub.publication_url, False))


def test_standard_server_url_is_its_entry_point():
    sub = _Sub()
    sub.content_type = 'text/vcard'
    assert delivery.target_of(sub, _Session()) == (sub.publication_url, True)


def test_a_refused_sync_fails_the_session(pair):
    pair.add('client', 'c1', title='one')
    pkg3 = pair.answer(pair.serve(pair.client_engine().start()))
    reply = codec.decode(pair.serve(pkg3))
    refused = [c for c in reply.commands
               if isinstance(c, m.Status) and c.cmd == 'Sync']
    assert refused
    for status in refused:
        status.code = 403
    assert pair.answer(codec.encode(reply)) is None
    report = pair.sub.getReport()
    assert report['status'] == 'failed', report
    assert 'refused our Sync' in report['reason']


def _sync_of(data):
    (sync,) = [c for c in codec.decode(data).commands if isinstance(c, m.Sync)]
    return sync


def test_number_of_changes_announced_when_the_sync_holds_them_all(pair):
    pair.add('client', 'c1', title='one')
    pair.add('client', 'c2', title='two')
    pkg3 = pair.answer(pair.serve(pair.client_engine().start()))
    sync = _sync_of(pkg3)
    assert (len(sync.commands), sync.number_of_changes) == (2, 2)


def test_number_of_changes_not_announced_when_unknown(pair):
    pair.sub.edit(max_objects=1)
    pair.add('client', 'c1', title='one')
    pair.add('client', 'c2', title='two')
    pkg3 = pair.answer(pair.serve(pair.client_engine().start()))
    sync = _sync_of(pkg3)
    assert len(sync.commands) == 1 and sync.number_of_changes is None
