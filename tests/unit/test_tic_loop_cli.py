"""zope_tic_loop against a tiny recording HTTP server on 127.0.0.1."""
import base64
import http.server
import re
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / 'zope_tic_loop'
PASSWORD = 'pw-Secr3t-xyzzy'


class Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(('127.0.0.1', 0), Handler)
        self.requests = []
        self.slow = threading.Event()  # set: the next request takes 0.8 s
        self.fail_first = 0            # that many requests answer 500

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}'


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get('Authorization')))
        if self.server.slow.is_set():
            self.server.slow.clear()
            time.sleep(0.8)
        status = 500 if self.path.startswith('/broken/') else 200
        if self.server.fail_first > 0:
            self.server.fail_first -= 1
            status = 500
        body = b'ok'
        self.send_response(status)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def basic(user, password):
    return 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith('ZOPE_')}
    e.update(extra)
    return e


def run(args, **kw):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, timeout=30, **kw)


def test_once_calls_distribute_then_tic_per_site_with_basic_auth(server):
    result = run(['--url', server.url, '--user', 'admin', '--once', 'cps', 'cps_client'],
                 env=env(ZOPE_PASSWORD=PASSWORD))
    assert result.returncode == 0, result.stderr
    auth = basic('admin', PASSWORD)
    assert server.requests == [
        ('/cps/portal_activities/distribute?node_count:int=1', auth),
        ('/cps/portal_activities/tic?processing_node:int=1', auth),
        ('/cps_client/portal_activities/distribute?node_count:int=1', auth),
        ('/cps_client/portal_activities/tic?processing_node:int=1', auth),
    ]
    assert PASSWORD not in result.stdout + result.stderr
    assert result.stderr.count(' 200 ') == 4


def test_environment_and_node_options(server, tmp_path):
    pwfile = tmp_path / 'pw'
    pwfile.write_text(PASSWORD + '\n')
    result = run(['--password-file', str(pwfile), '--node-count', '3',
                  '--processing-node', '2', '--once'],
                 env=env(ZOPE_URL=server.url + '/', ZOPE_USER='seb', ZOPE_SITES='a,b'))
    assert result.returncode == 0, result.stderr
    auth = basic('seb', PASSWORD)
    assert server.requests == [
        ('/a/portal_activities/distribute?node_count:int=3', auth),
        ('/a/portal_activities/tic?processing_node:int=2', auth),
        ('/b/portal_activities/distribute?node_count:int=3', auth),
        ('/b/portal_activities/tic?processing_node:int=2', auth),
    ]
    assert PASSWORD not in result.stdout + result.stderr


def test_default_sites_are_the_seed_ones(server):
    result = run(['--url', server.url, '--once'], env=env())
    assert result.returncode == 0
    assert [p.split('/')[1] for p, _ in server.requests] == [
        'cps', 'cps', 'cps_client', 'cps_client']
    assert all(a is None for _, a in server.requests)  # no user: no auth header


def test_password_in_url_is_used_but_never_logged(server):
    url = server.url.replace('http://', f'http://seb:{PASSWORD}@')
    result = run(['--url', url, '--once', 'cps'], env=env())
    assert result.returncode == 0
    assert {a for _, a in server.requests} == {basic('seb', PASSWORD)}
    assert PASSWORD not in result.stdout + result.stderr
    assert server.url in result.stderr


def test_http_errors_are_logged_and_the_loop_goes_on(server):
    result = run(['--url', server.url, '--once', 'broken', 'cps'], env=env())
    assert result.returncode == 1   # --once says that calls failed
    assert len(server.requests) == 4  # the 500s did not stop the round
    assert result.stderr.count(' 500 ') == 2
    assert 'WARNING' in result.stderr


def test_unreachable_server_is_logged():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    result = run(['--url', f'http://127.0.0.1:{port}', '--once', 'cps'], env=env())
    assert result.returncode == 1
    assert result.stderr.count('error:') == 2


def test_bad_arguments_are_rejected(server, tmp_path):
    result = run(['--url', server.url, '--once', '--interval', '-1'], env=env())
    assert result.returncode == 2
    result = run(['--url', server.url, '--password-file', str(tmp_path / 'none')], env=env())
    assert result.returncode == 2 and 'password-file' in result.stderr
    assert server.requests == []


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.02)


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_signal_ends_the_loop_cleanly(server, sig):
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), '--url', server.url, '--interval', '30', 'cps'],
        env=env(ZOPE_PASSWORD=PASSWORD), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(server.requests) == 2)  # one round, now sleeping
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert 'stopped' in err
    assert len(server.requests) == 2


def test_sigterm_waits_for_the_current_call(server):
    server.slow.set()
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), '--url', server.url, '--interval', '30', 'cps'],
        env=env(), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(server.requests) == 1)  # distribute is in progress
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert ' 200 ' in err  # the slow call was completed and logged...
    assert len(server.requests) == 1  # ...and no tic followed


def test_a_steady_loop_logs_only_its_first_answers(server):
    result = run(['--url', server.url, '--rounds', '6', '--interval', '0',
                  'cps'], env=env())
    assert result.returncode == 0, result.stderr
    assert len(server.requests) == 12
    assert result.stderr.count(' 200 ') == 2   # not one line per call


def test_verbose_logs_every_call(server):
    result = run(['--url', server.url, '--rounds', '3', '--interval', '0',
                  '--verbose', 'cps'], env=env())
    assert result.returncode == 0
    assert result.stderr.count('DEBUG 200 ') == 6
    assert re.search(r'DEBUG 200 .* ok$', result.stderr, re.M)  # the body


def test_failures_and_recovery_are_logged_once(server):
    server.fail_first = 6   # three rounds of one site fail, then it works
    result = run(['--url', server.url, '--rounds', '6', '--interval', '0',
                  'cps'], env=env())
    assert result.returncode == 1   # bounded run with failed calls
    assert len(server.requests) == 12
    assert result.stderr.count(' 500 ') == 2
    assert result.stderr.count('recovered after 3 failure(s)') == 2
    assert result.stderr.count(' 200 ') == 2


def test_a_lasting_failure_is_recalled(server):
    server.fail_first = 100
    result = run(['--url', server.url, '--rounds', '3', '--interval', '0',
                  '--remind', '0', 'cps'], env=env())
    assert result.returncode == 1
    assert result.stderr.count(' 500 ') == 6
    assert result.stderr.count('still failing') == 4


def test_endless_loop_exits_zero_on_signal_even_after_failures(server):
    server.fail_first = 100
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), '--url', server.url, '--interval', '30', 'cps'],
        env=env(), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(server.requests) == 2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert '2 failed call(s)' in err
