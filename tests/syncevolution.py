"""SyncEvolution (Debian) as a real SyncML peer for tests.

  ensure_installed()   installs the Debian packages when missing (apt)
  Client(base, url, username, password, device_id, ...)
                       a file-backed client: ``client.data`` is a directory
                       of .vcf files; ``client.sync('slow')`` runs one sync
                       in a private HOME and returns a ``SyncRun``
  HttpServer(base)     ``syncevo-http-server`` bound to 127.0.0.1 inside a
                       private D-Bus session; ``server.add_client(...)``
                       then ``start()`` / ``stop()`` (or ``with``)

SyncEvolution 2.0.0 as shipped by Debian 12 crashes in every HTTP client
sync: its curl transport hands lambda objects through curl_easy_setopt's
varargs, so curl reads the request body with fread() on a C++ object.
``shim()`` compiles a small LD_PRELOAD library that installs C read/write
callbacks calling the transport's own readData/writeData members instead.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ('syncevolution', 'syncevolution-http', 'syncevolution-libs',
            'syncevolution-dbus', 'dbus', 'python3-twisted', 'python3-dbus',
            'python3-gi', 'python3-openssl', 'dbus-x11')
SERVER_SCRIPT = Path('/usr/bin/syncevo-http-server')
SYSTEM_PYTHON = '/usr/bin/python3'

SYNC_MODES = ('two-way', 'slow', 'refresh-from-client',
              'refresh-from-server', 'one-way-from-client',
              'one-way-from-server')

_NOISE = re.compile(r'^\[INFO\] Loaded backend|^Loaded backend')


def _installed(package):
    result = subprocess.run(
        ['dpkg-query', '-W', '-f=${Status}', package],
        capture_output=True, text=True)
    return 'install ok installed' in result.stdout


def ensure_installed(packages=PACKAGES, timeout=600):
    """Install the missing Debian ``packages``; return the list installed."""
    missing = [p for p in packages if not _installed(p)]
    if not missing:
        return []
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    sudo = [] if os.geteuid() == 0 else ['sudo', '-n']
    command = sudo + ['apt-get', 'install', '-y', '-q',
                      '--no-install-recommends'] + missing
    if subprocess.run(command, env=env, capture_output=True,
                      timeout=timeout).returncode != 0:
        subprocess.run(sudo + ['apt-get', 'update', '-q'], env=env,
                       capture_output=True, timeout=timeout, check=True)
        subprocess.run(command, env=env, capture_output=True,
                       timeout=timeout, check=True)
    return missing


# ------------------------------------------------------------ curl shim

_SHIM_SOURCE = r'''
/* Route SyncEvolution's curl body callbacks to its transport members. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

enum { READ_OPTION = 20012, WRITE_OPTION = 20011 };
typedef size_t (*member_t)(void *agent, void *buffer, size_t length);
typedef int (*setopt_t)(void *handle, int option, ...);

static member_t agent_read, agent_write;

static size_t on_read(char *buffer, size_t size, size_t count, void *agent)
{
    return agent_read(agent, buffer, size * count);
}

static size_t on_write(char *buffer, size_t size, size_t count, void *agent)
{
    return agent_write(agent, buffer, size * count);
}

static int from_syncevolution(void *caller)
{
    Dl_info info;
    return dladdr(caller, &info) && info.dli_fname
        && strstr(info.dli_fname, "libsyncevolution") != NULL;
}

int curl_easy_setopt(void *handle, int option, ...)
{
    static setopt_t next_setopt;
    va_list args;
    void *value;

    if (!next_setopt)
        next_setopt = (setopt_t)dlsym(RTLD_NEXT, "curl_easy_setopt");
    va_start(args, option);
    value = va_arg(args, void *);  /* long, pointer and off_t: one word */
    va_end(args);
    if ((option == READ_OPTION || option == WRITE_OPTION)
            && from_syncevolution(__builtin_return_address(0))) {
        if (!agent_read)
            agent_read = (member_t)dlsym(RTLD_DEFAULT,
                "_ZN7SyncEvo18CurlTransportAgent8readDataEPvm");
        if (!agent_write)
            agent_write = (member_t)dlsym(RTLD_DEFAULT,
                "_ZN7SyncEvo18CurlTransportAgent9writeDataEPvm");
        if (agent_read && agent_write)
            value = option == READ_OPTION ? (void *)on_read
                                          : (void *)on_write;
    }
    return next_setopt(handle, option, value);
}
'''


def shim(directory):
    """Compile the curl callback shim into ``directory``; return its path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    library = directory / 'syncevo-curl-callbacks.so'
    if not library.exists():
        source = directory / 'syncevo-curl-callbacks.c'
        source.write_text(_SHIM_SOURCE)
        compiler = shutil.which('cc') or shutil.which('gcc')
        if compiler is None:
            raise RuntimeError('a C compiler (cc) is needed for the '
                               'SyncEvolution curl shim')
        subprocess.run([compiler, '-O2', '-fPIC', '-shared', '-o',
                        str(library), str(source), '-ldl'],
                       check=True, capture_output=True, timeout=120)
    return library


# ---------------------------------------------------------------- vCards

def write_vcards(directory, cards):
    """Write {file name: vCard text} into ``directory`` (CRLF lines)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in cards.items():
        lines = text.strip().splitlines()
        (directory / name).write_bytes(
            ('\r\n'.join(lines) + '\r\n').encode('utf-8'))


def read_vcards(directory):
    """{file name: text} of every file in ``directory``."""
    return {path.name: path.read_bytes().decode('utf-8')
            for path in sorted(Path(directory).iterdir()) if path.is_file()}


def vcard_property(text, name):
    """Values of property ``name`` in a vCard text (unfolded)."""
    unfolded = re.sub(r'\r?\n[ \t]', '', text)
    values = []
    for line in unfolded.splitlines():
        key, sep, value = line.partition(':')
        if sep and key.split(';', 1)[0].upper() == name.upper():
            values.append(value)
    return values


# ----------------------------------------------------------------- runs

class SyncRun:
    """Result of one ``syncevolution`` command."""

    def __init__(self, args, returncode, stdout, stderr, log):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.log = log

    @property
    def ok(self):
        return self.returncode == 0

    def __repr__(self):
        return '<SyncRun %s rc=%s>' % (' '.join(self.args[-2:]),
                                        self.returncode)

    def describe(self):
        """Everything useful to read when a run failed."""
        return ('command: %s\nexit code: %s\n--- stdout\n%s\n--- stderr\n%s'
                '\n--- log (end)\n%s' % (' '.join(self.args), self.returncode,
                                         self.stdout[-4000:],
                                         self.stderr[-4000:],
                                         self.log[-6000:]))


def _environment(home, extra=None):
    home = Path(home)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('DBUS_', 'XDG_', 'LD_PRELOAD'))
           and key not in ('DISPLAY', 'WAYLAND_DISPLAY')}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / '.config'),
               XDG_CACHE_HOME=str(home / '.cache'),
               XDG_DATA_HOME=str(home / '.local' / 'share'),
               LC_ALL='C.UTF-8', LANG='C.UTF-8')
    env.update(extra or {})
    return env


def _run(args, env, timeout):
    try:
        result = subprocess.run(args, env=env, capture_output=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return (None, (exc.stdout or b'').decode('utf-8', 'replace'),
                (exc.stderr or b'').decode('utf-8', 'replace')
                + '\n(timed out after %ss)' % timeout)
    clean = lambda data: '\n'.join(  # noqa: E731
        line for line in data.decode('utf-8', 'replace').splitlines()
        if not _NOISE.match(line))
    return result.returncode, clean(result.stdout), clean(result.stderr)


def _latest_log(home):
    logs = sorted(Path(home, '.cache', 'syncevolution').glob(
        '*/syncevolution-log.html'), key=lambda p: p.stat().st_mtime)
    if not logs:
        return ''
    text = logs[-1].read_text('utf-8', 'replace')
    return re.sub(r'<[^>]+>', '', text).replace('&nbsp;', ' ')


class Client:
    """A file-backed SyncEvolution client in its own HOME.

    ``data`` is the directory of .vcf files; every client has its own
    config context, so device ids and directories are never shared.
    """

    def __init__(self, base, url, username, password, device_id,
                 uri='addressbook', wbxml=False, syncml_version=None,
                 auth=None, data_format='text/vcard', properties=None):
        self.base = Path(base)
        self.home = self.base / 'home'
        self.data = self.base / 'data'
        self.data.mkdir(parents=True, exist_ok=True)
        self.name = 'peer@ctx-' + re.sub(r'[^a-z0-9]', '',
                                         device_id.lower())[:20]
        self.url = url
        props = {
            'syncURL': url, 'username': username, 'password': password,
            'deviceId': device_id, 'enableWBXML': '1' if wbxml else '0',
            'keyring': 'no', 'printChanges': '0', 'dumpData': '0',
            'RetryDuration': '5s', 'RetryInterval': '0',
            'preventSlowSync': '0', 'maxlogdirs': '3',
            'backend': 'file', 'database': 'file://%s' % self.data,
            'databaseFormat': data_format, 'sync': 'two-way', 'uri': uri,
        }
        if syncml_version:
            props['SyncMLVersion'] = syncml_version
        if auth:
            props['clientAuthType'] = auth
        props.update(properties or {})
        self.properties = props
        self.configured = None

    def _syncevolution(self, args, timeout, shim_dir=True):
        ensure_installed()
        extra = {}
        if shim_dir:
            extra['LD_PRELOAD'] = str(shim(self.base.parent / '.shim'))
        args = ['syncevolution', '--daemon=no'] + args
        rc, out, err = _run(args, _environment(self.home, extra), timeout)
        return SyncRun(args, rc, out, err, _latest_log(self.home))

    def configure(self, timeout=60):
        """Create the config; raises RuntimeError when that fails."""
        args = ['--configure', '--template', 'SyncEvolution']
        args += ['%s=%s' % item for item in self.properties.items()]
        args += [self.name, 'addressbook']
        run = self._syncevolution(args, timeout, shim_dir=False)
        if not run.ok:
            raise RuntimeError('configuring SyncEvolution failed\n'
                               + run.describe())
        self.configured = run
        return run

    def sync(self, mode='two-way', timeout=60, **properties):
        """Run one sync; ``properties`` are one-off overrides."""
        if mode not in SYNC_MODES:
            raise ValueError('unknown sync mode %r' % mode)
        if self.configured is None:
            self.configure()
        args = []
        if properties:
            args += ['--run'] + ['%s=%s' % item
                                 for item in properties.items()]
        args += ['--sync', mode, self.name]
        return self._syncevolution(args, timeout)


# --------------------------------------------------------------- server

def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _server_script(target):
    """A copy of syncevo-http-server that runs and listens on the URL's
    host only (the packaged one has an unexpanded shebang and binds all
    interfaces)."""
    source = SERVER_SCRIPT.read_text()
    listen = 'reactor.listenTCP(url.port, site)'
    if listen not in source:
        raise RuntimeError('%s changed: cannot bind it to 127.0.0.1'
                           % SERVER_SCRIPT)
    source = source.replace(
        listen, 'reactor.listenTCP(url.port, site, '
                'interface=url.hostname or "127.0.0.1")')
    source = re.sub(r'\A#!\S*', '#!' + SYSTEM_PYTHON, source)
    Path(target).write_text(source)
    return target


class HttpServer:
    """``syncevo-http-server`` on 127.0.0.1 with file-backed datastores.

    A server config per client device id (SyncEvolution finds it by the
    client's SyncHdr Source).  The server runs in its own process group
    under ``dbus-run-session``; ``stop()`` ends that group.
    """

    def __init__(self, base, port=None, path='/syncevolution'):
        self.base = Path(base)
        self.home = self.base / 'home'
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = 'http://127.0.0.1:%d%s' % (self.port, path)
        self.process = None
        self.log_path = self.base / 'server.log'
        self._contexts = 0

    def add_client(self, device_id, username, password, uri='addressbook',
                   data_format='text/vcard', timeout=60):
        """Serve ``device_id`` from a new directory; return that path."""
        ensure_installed()
        self._contexts += 1
        data = self.base / ('data%d' % self._contexts)
        data.mkdir(parents=True, exist_ok=True)
        name = 'client%d@srv%d' % (self._contexts, self._contexts)
        args = ['syncevolution', '--daemon=no', '--configure', '--template',
                'SyncEvolution_Client', 'username=%s' % username,
                'password=%s' % password, 'remoteDeviceId=%s' % device_id,
                'keyring=no', 'printChanges=0', 'dumpData=0',
                'backend=file', 'database=file://%s' % data,
                'databaseFormat=%s' % data_format, 'sync=two-way',
                'uri=%s' % uri, name, uri]
        rc, out, err = _run(args, _environment(self.home), timeout)
        if rc != 0:
            raise RuntimeError('server config failed (%s)\n%s\n%s'
                               % (rc, out, err))
        return data

    def start(self, timeout=30):
        ensure_installed()
        script = _server_script(self.base / 'syncevo-http-server.py')
        self.log_file = open(self.log_path, 'wb')
        self.process = subprocess.Popen(
            ['dbus-run-session', '--', SYSTEM_PYTHON, str(script),
             self.url], env=_environment(self.home),
            stdin=subprocess.DEVNULL, stdout=self.log_file,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('syncevo-http-server exited with %s:\n%s'
                                   % (self.process.returncode, self.log()))
            if b'listening on port' in self.log_path.read_bytes():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError('syncevo-http-server did not listen within %ss:'
                           '\n%s' % (timeout, self.log()))

    def log(self):
        return self.log_path.read_text('utf-8', 'replace')

    def stop(self, timeout=10):
        process, self.process = self.process, None
        if process is None:
            return
        # The bus daemon and syncevo-dbus-server it activated are in the
        # group this process leads.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                continue
            if not _group_alive(process.pid):
                break
            time.sleep(0.2)
        if process.poll() is None:
            process.wait(timeout)
        self.log_file.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
