"""A real Postfix for the mail tests and ``demo.py --mail``: its own
instance (own config, queue and log in a temporary directory), listening
on a free 127.0.0.1 port, local delivery only, aliases piping into
sendMailToZope.py.

The system's Postfix configuration is not touched. Postfix is installed
when missing (Debian, as root, non-interactive, 'Local only'). Pipes run
as ``nobody`` (default_privs), so the script and the credentials file are
copied into a directory that user can read.
"""
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import time

SENDMAIL_SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, 'Products',
                               'CMFMailIn', 'sendMailToZope.py')
DAEMONS = """\
{address} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def _ids(user):
    import pwd
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def ensure_postfix():
    """Install Postfix (and gnupg) when missing; False if we cannot."""
    if shutil.which('postfix') or os.path.exists('/usr/sbin/postfix'):
        return True
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        return False
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    subprocess.run(['debconf-set-selections'], input=(
        b'postfix postfix/main_mailer_type select Local only\n'
        b'postfix postfix/mailname string localhost\n'), check=True, timeout=60)
    subprocess.run(['apt-get', 'update', '-q'], env=env, capture_output=True, timeout=600)
    subprocess.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends',
                    '-o', 'DPkg::Lock::Timeout=300', 'postfix', 'gnupg'],
                   env=env, check=True, capture_output=True, timeout=900)
    return os.path.exists('/usr/sbin/postfix')


class MailServer:
    """One Postfix instance for the test session."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='erp5syncml-mail-')
        os.chmod(self.dir, 0o755)  # the pipe user must reach the script
        self.port = free_port()
        self.aliases = {}
        self.config = os.path.join(self.dir, 'etc')
        self.queue = os.path.join(self.dir, 'queue')
        self.log = os.path.join(self.dir, 'postfix.log')
        self.script = os.path.join(self.dir, 'sendMailToZope.py')
        self.credentials = os.path.join(self.dir, 'zope.cred')
        self.started = False

    def _postfix(self, *args, check=True):
        return subprocess.run(['postfix', '-c', self.config] + list(args),
                              capture_output=True, check=check, timeout=60)

    def start(self, user, password):
        os.makedirs(self.config)
        os.makedirs(os.path.join(self.dir, 'data'))
        os.makedirs(self.queue, mode=0o755)
        os.chown(os.path.join(self.dir, 'data'), *_ids('postfix'))
        shutil.copy(SENDMAIL_SCRIPT, self.script)
        os.chmod(self.script, 0o755)
        with open(self.credentials, 'w') as f:
            f.write('%s:%s\n' % (user, password))
        # readable by the pipe user (nobody) only, besides root
        os.chown(self.credentials, 65534, 65534)
        os.chmod(self.credentials, stat.S_IRUSR)
        with open(os.path.join(self.config, 'master.cf'), 'w') as f:
            f.write(DAEMONS.format(address='127.0.0.1:%d' % self.port))
        alias_db = os.path.join(self.config, 'aliases')
        settings = {
            'compatibility_level': '3.6',
            'queue_directory': self.queue,
            'data_directory': os.path.join(self.dir, 'data'),
            'myhostname': 'localhost', 'mydomain': 'localdomain',
            'myorigin': 'localhost', 'mydestination': 'localhost',
            'inet_interfaces': '127.0.0.1', 'inet_protocols': 'ipv4',
            'mynetworks': '127.0.0.0/8', 'relayhost': '',
            'default_transport': 'error', 'relay_transport': 'error',
            'smtpd_relay_restrictions': 'permit_mynetworks, reject_unauth_destination',
            'alias_maps': 'hash:' + alias_db, 'alias_database': 'hash:' + alias_db,
            'local_recipient_maps': '$alias_maps',
            'default_privs': 'nobody',
            'maillog_file': self.log, 'maillog_file_prefixes': self.dir,
            'queue_run_delay': '1s', 'minimal_backoff_time': '1s',
            'maximal_backoff_time': '2s', 'biff': 'no',
            'smtputf8_enable': 'no', 'append_dot_mydomain': 'no',
            'local_destination_concurrency_limit': '4',
        }
        with open(os.path.join(self.config, 'main.cf'), 'w') as f:
            for name, value in settings.items():
                f.write('%s = %s\n' % (name, value))
        self.write_aliases()
        proc = self._postfix('start', check=False)
        if proc.returncode:
            raise RuntimeError('postfix start: %s %s' % (
                proc.stderr.decode(errors='replace'), self.tail_log()))
        self.started = True
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('postfix did not open 127.0.0.1:%d: %s'
                           % (self.port, self.tail_log()))

    def write_aliases(self):
        path = os.path.join(self.config, 'aliases')
        with open(path, 'w') as f:
            f.write('postmaster: /dev/null\nMAILER-DAEMON: /dev/null\n')
            for name, url in sorted(self.aliases.items()):
                f.write('%s: "|%s --credentials-file %s %s"\n'
                        % (name, self.script, self.credentials, url))
        proc = subprocess.run(['postalias', '-c', self.config, path],
                              capture_output=True, timeout=60)
        if proc.returncode:
            raise RuntimeError('postalias: %s' % proc.stderr.decode(errors='replace'))

    def add_alias(self, name, url):
        """Deliver mail for ``name@localhost`` to ``url`` (a portal_mailin)."""
        self.aliases[name] = url
        self.write_aliases()
        if self.started:
            self._postfix('reload', check=False)  # fresh daemons see the table
            self._wait_recipient(name + '@localhost')

    def _wait_recipient(self, address, timeout=20):
        # smtpd notices a rebuilt alias table only after its current session
        import smtplib
        deadline = time.time() + timeout
        while True:
            try:
                with smtplib.SMTP('127.0.0.1', self.port, timeout=10) as smtp:
                    smtp.ehlo()
                    smtp.mail('probe@localhost')
                    code, _msg = smtp.rcpt(address)
                    smtp.rset()
                if code == 250:
                    return
            except (OSError, smtplib.SMTPException):
                pass
            if time.time() > deadline:
                raise RuntimeError('postfix does not accept %s: %s'
                                   % (address, self.tail_log()))
            time.sleep(0.2)

    def flush(self):
        """Retry deferred mail now (postqueue -f)."""
        subprocess.run(['postqueue', '-c', self.config, '-f'], capture_output=True,
                       timeout=60)

    def queue_ids(self):
        out = subprocess.run(['postqueue', '-c', self.config, '-j'], capture_output=True,
                             timeout=60).stdout.decode()
        return [line for line in out.splitlines() if line.strip()]

    def tail_log(self, n=40):
        try:
            with open(self.log, errors='replace') as f:
                return ''.join(f.readlines()[-n:])
        except OSError:
            return ''

    def log_text(self):
        try:
            with open(self.log, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    def stop(self):
        if self.started:
            pidfile = os.path.join(self.queue, 'pid', 'master.pid')
            pid = None
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                pass
            self._postfix('stop', check=False)
            deadline = time.time() + 20
            while pid and time.time() < deadline:
                try:
                    os.kill(pid, 0)
                except OSError:
                    break
                time.sleep(0.1)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)
