"""run_until: distribute + tic over HTTP until a condition holds, against a
small HTTP server on 127.0.0.1 that counts the calls."""
import http.server
import threading

import pytest

from Products.CMFActivity.ticloop import run_until


@pytest.fixture
def server():
    calls = []
    answers = {'status': 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append((self.path, self.headers.get('Authorization')))
            self.send_response(answers['status'])
            self.end_headers()
            self.wfile.write(b'0 messages processed, 0 failed')

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % httpd.server_port, calls, answers
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_rounds_until_done(server):
    url, calls, _answers = server
    checks = []
    rounds = run_until(url, ['a', 'b'], lambda: checks.append(1) or len(checks) == 3,
                       user='u', password='p', pause=0)
    assert rounds == 3
    paths = [p for p, _auth in calls]
    assert paths[:4] == ['/a/portal_activities/distribute?node_count:int=1',
                         '/a/portal_activities/tic?processing_node:int=1',
                         '/b/portal_activities/distribute?node_count:int=1',
                         '/b/portal_activities/tic?processing_node:int=1']
    assert len(paths) == 12
    assert all(auth and auth.startswith('Basic ') for _p, auth in calls)


def test_not_done_or_refused_is_an_error(server):
    url, calls, answers = server
    with pytest.raises(RuntimeError, match='not done after 2 rounds'):
        run_until(url, ['a'], lambda: False, max_rounds=2, pause=0)
    assert len(calls) == 4
    answers['status'] = 401
    with pytest.raises(RuntimeError, match='answered 401'):
        run_until(url, ['a'], lambda: True, pause=0)
