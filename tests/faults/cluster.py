"""Two separate Zope processes (master and client), each on its own ZEO
database, that a test can kill -9 and restart.

    ZEO (master db) <- runwsgi "master" <- ctl.py (set-up, checks)
    ZEO (client db) <- runwsgi "client" <- ctl.py

A restarted process keeps its instance directory and port, so the URLs that
the sites hold stay valid.
"""
import base64
import json
import secrets
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from scripts import instance

ROOT = Path(__file__).resolve().parents[2]
USER = 'manager'


class Node:
    """One Zope process with its ZEO server and its ctl helper."""

    def __init__(self, name, base_dir, password):
        self.name = name
        self.base_dir = Path(base_dir) / name
        self.password = password
        self.zeo = self.server = self.inst = self.ctl = None

    def start(self):
        self.zeo = instance.start_zeo(self.base_dir / 'zeo' / 'Data.fs')
        self.inst = instance.write_instance(
            self.base_dir / 'instance', instance.free_port(),
            zeo=self.zeo.address)
        log = open(self.base_dir / 'ctl.log', 'ab')
        self.ctl = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name('ctl.py')),
             str(self.inst.zope_conf)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        log.close()
        self._answer()   # ready
        self.call('add_user', name=USER, password=self.password)
        self.start_zope()
        return self

    def start_zope(self):
        self.server = instance.start_zope(self.inst)

    def kill(self):
        """kill -9 the Zope process (and reap it)."""
        proc = self.server.proc
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    def restart(self):
        self.start_zope()

    @property
    def url(self):
        return self.inst.url

    @property
    def pid(self):
        return self.server.proc.pid

    def _answer(self):
        while True:
            line = self.ctl.stdout.readline()
            if not line:
                raise RuntimeError('%s ctl helper exited' % self.name)
            if line.startswith('CTL '):
                return json.loads(line[4:])

    def call(self, cmd, **args):
        """Run a ctl.py command in the node's database; return its result."""
        self.ctl.stdin.write(json.dumps({'cmd': cmd, 'args': args}) + '\n')
        self.ctl.stdin.flush()
        answer = self._answer()
        if 'error' in answer:
            raise RuntimeError('%s: %s failed:\n%s'
                               % (self.name, cmd, answer['error']))
        return answer['ok']

    def http(self, path, data=None, timeout=60):
        """GET (data None) or POST form ``data``; returns the body (bytes)."""
        token = base64.b64encode(('%s:%s' % (USER, self.password)).encode())
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.url + path, data=body,
            headers={'Authorization': 'Basic ' + token.decode()})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()

    def stop(self):
        if self.server is not None:
            self.server.stop()
        if self.ctl is not None:
            self.ctl.stdin.close()
            try:
                self.ctl.wait(20)
            except subprocess.TimeoutExpired:
                self.ctl.kill()
                self.ctl.wait()
        if self.zeo is not None:
            self.zeo.stop()


class Cluster:
    """A master and a client node."""

    def __init__(self, base_dir):
        self.password = secrets.token_urlsafe(12)
        self.master = Node('master', base_dir, self.password)
        self.client = Node('client', base_dir, self.password)

    def start(self):
        try:
            self.master.start()
            self.client.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for node in (self.client, self.master):
            node.stop()

    def tic_loop(self, node, site_id, interval=0.1):
        """Start zope_tic_loop (a separate process) for one site of a node."""
        env = {'ZOPE_PASSWORD': self.password, 'PATH': '/usr/bin:/bin'}
        with open(node.base_dir / ('tic-%s.log' % site_id), 'ab') as log:
            return subprocess.Popen(
                [sys.executable, str(ROOT / 'zope_tic_loop'), '--quiet',
                 '--url', node.url, '--user', USER, '--interval', str(interval),
                 '--timeout', '150', site_id],
                env=env, stdout=subprocess.DEVNULL, stderr=log)
