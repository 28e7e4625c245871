"""scripts/demo.py: instance, admin user and both sites, served, then stopped cleanly."""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.instance import free_port

DEMO = Path(__file__).resolve().parents[2] / 'scripts' / 'demo.py'


def demo_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(('DEMO_', 'ZOPE_'))}
    env.update(extra)
    return env


def get(url, password):
    token = base64.b64encode(f'admin:{password}'.encode()).decode()
    req = urllib.request.Request(url, headers={'Authorization': 'Basic ' + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def port_is_closed(port):
    with socket.socket() as s:
        return s.connect_ex(('127.0.0.1', port)) != 0


def test_no_wait_creates_once_and_checks_both_sites(tmp_path):
    var, port = tmp_path / 'demo', free_port()
    cmd = [sys.executable, str(DEMO), '--no-wait', '--port', str(port), '--var', str(var)]
    first = subprocess.run(cmd, env=demo_env(), capture_output=True, text=True, timeout=240)
    assert first.returncode == 0, first.stdout + first.stderr

    pwfile = var / 'admin-password'
    password = pwfile.read_text().strip()
    assert pwfile.stat().st_mode & 0o777 == 0o600
    assert f'admin / {password}' in first.stdout
    for site in ('cps', 'cps_client'):
        assert f'check 200 http://127.0.0.1:{port}/{site}/manage_main' in first.stdout
    # the main job: the client was synchronized over HTTP by the tic loop
    assert '1st sync of cps_client: finished' in first.stdout
    assert '2nd sync of cps_client: finished' in first.stdout
    assert 'asXML identical on both sites: True' in first.stdout
    assert 'Zope stopped (exit 0)' in first.stdout
    state = json.loads((var / 'demo.json').read_text())
    assert state['sites'] == {'cps': 'created', 'cps_client': 'created'}
    assert state['samples']['cps'].startswith('/cps/')
    assert port_is_closed(port)

    # Second run: same instance, same password, sites kept.
    second = subprocess.run(cmd, env=demo_env(), capture_output=True, text=True, timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    assert 'creating site' not in second.stdout
    # a restart shows the sites as they were: the demo content is not edited again
    assert 'sync of cps_client' not in second.stdout
    assert 'edited ' not in second.stdout
    assert 'shown as they were left' in second.stdout
    assert pwfile.read_text().strip() == password
    assert json.loads((var / 'demo.json').read_text())['sites'] == {
        'cps': 'exists', 'cps_client': 'exists'}
    # FileStorage was closed cleanly each time: its index was never rebuilt.
    assert 'Ignoring index' not in (var / 'log' / 'event.log').read_text()


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_runs_until_signal_then_stops_zope_and_tic_loop(tmp_path, sig):
    var, port = tmp_path / 'demo', free_port()
    password = 'demo-Pw-1'
    proc = subprocess.Popen(
        [sys.executable, str(DEMO), '--port', str(port), '--var', str(var),
         '--tic-interval', '0.2'],
        env=demo_env(DEMO_PASSWORD=password), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith('Stop with Ctrl-C'):
                break
        out = ''.join(lines)
        assert 'ERP5SyncML demo running' in out, out
        assert not (var / 'admin-password').exists()  # DEMO_PASSWORD is not stored
        base = f'http://127.0.0.1:{port}'
        assert get(base + '/manage_main', 'wrong')[0] == 401
        for site in ('cps', 'cps_client'):
            assert get(f'{base}/{site}/manage_main', password)[0] == 200
        xml_url = next(line.split()[-1] for line in lines if 'object as XML' in line)
        status, body = get(xml_url, password)
        assert status == 200 and body.lstrip().startswith(b'<')
        # The tic loop calls both sites with the admin credentials.
        tic_log = var / 'log' / 'tic_loop.log'
        deadline = time.monotonic() + 20
        while 'cps_client/portal_activities/tic' not in tic_log.read_text():
            assert time.monotonic() < deadline, tic_log.read_text()
            time.sleep(0.1)
        assert ' 401 ' not in tic_log.read_text()
        assert password not in tic_log.read_text()

        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, rest
    assert 'Zope stopped (exit 0); tic loop stopped.' in rest
    assert 'tic loop stopped' in tic_log.read_text()
    assert port_is_closed(port)


def test_mail_demo_syncs_through_postfix(tmp_path):
    """--mail: the install notes' mailto: URLs, a Postfix of the demo's own
    on 127.0.0.1, stopped with the demo."""
    from scripts import mailserver
    if not mailserver.ensure_postfix():
        pytest.skip('Postfix is not installed and cannot be installed (needs root)')
    var, port = tmp_path / 'demo', free_port()
    cmd = [sys.executable, str(DEMO), '--mail', '--no-wait', '--port', str(port),
           '--var', str(var)]
    run = subprocess.run(cmd, env=demo_env(), capture_output=True, text=True, timeout=300)
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert "'publication_url': 'mailto:cps_server@localhost'" in out
    assert "'subscription_url': 'mailto:cps_client@localhost'" in out
    assert 'Synchronization demo over mail' in out
    assert '1st sync of cps_client: finished' in out
    assert '2nd sync of cps_client: finished' in out
    assert 'asXML identical on both sites: True' in out
    sent = re.search(r'by mail: (\d+) mails delivered through Postfix \((\d+) to '
                     r'cps_server@localhost, (\d+) to cps_client@localhost\), '
                     r'0 bounced, 0 waiting', out)
    assert sent, out
    assert int(sent.group(2)) >= 2 and int(sent.group(3)) >= 2
    assert 'Mail server stopped.' in out
    log_dir = re.search(r'log (\S+)/postfix\.log', out).group(1)
    assert not os.path.exists(log_dir)  # its own instance, removed
