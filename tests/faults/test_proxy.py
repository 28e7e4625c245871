"""FaultProxy against a tiny counting HTTP server on 127.0.0.1."""
import http.client
import http.server
import threading

import pytest

from proxy import FaultProxy

pytestmark = pytest.mark.faults


class Counting(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.bodies = []


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.bodies.append(body)
        answer = b'got ' + body
        self.send_response(200)
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = Counting()
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def post(proxy, body):
    conn = http.client.HTTPConnection('127.0.0.1', proxy.port, timeout=10)
    try:
        conn.request('POST', '/x', body=body)
        return conn.getresponse().read()
    finally:
        conn.close()


def test_actions(server):
    plan = {1: 'forward', 2: 'drop_request', 3: 'drop_response',
            4: 'duplicate', 5: 'delay:0.1'}
    hooked = []
    with FaultProxy(server.server_address, plan=lambda n: plan.get(n, 'forward'),
                    hooks={(5, 'response'): lambda: hooked.append(5)},
                    lifetime=30) as proxy:
        assert post(proxy, b'one') == b'got one'
        with pytest.raises((http.client.HTTPException, OSError)):
            post(proxy, b'two')
        with pytest.raises((http.client.HTTPException, OSError)):
            post(proxy, b'three')
        assert post(proxy, b'four') == b'got four'
        assert post(proxy, b'five') == b'got five'
    assert server.bodies == [b'one', b'three', b'four', b'four', b'five']
    assert hooked == [5]
    assert [a for _, a, _ in proxy.log] == [plan[n] for n in range(1, 6)]


def test_reorder(server):
    with FaultProxy(server.server_address, hold_limit=10,
                    plan=lambda n: 'reorder' if n == 1 else 'forward') as proxy:
        first = threading.Thread(target=post, args=(proxy, b'first'))
        first.start()
        while proxy.count < 1:
            threading.Event().wait(0.01)
        assert post(proxy, b'second') == b'got second'
        first.join(10)
    assert server.bodies == [b'second', b'first']


def test_stops_by_itself_after_its_lifetime(server):
    proxy = FaultProxy(server.server_address, lifetime=0.2).start()
    proxy._thread.join(10)
    assert not proxy._thread.is_alive()
    with pytest.raises(OSError):
        post(proxy, b'late')
