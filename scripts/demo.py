"""Demo: one Zope with a master site `cps` and a client site `cps_client`.

    make demo            (or: .venv/bin/python scripts/demo.py [--port N] [--var DIR])

First run: creates a FileStorage instance in var/demo with a Manager `admin`
(password from DEMO_PASSWORD, else generated once into var/demo/admin-password)
and the two CMF sites with demo content.  Every run: starts Zope on
127.0.0.1:9673 (--port / DEMO_PORT) and the tic loop for both sites, prints
the URLs, and runs until Ctrl-C or SIGTERM, which stop both cleanly.
--no-wait starts everything, checks the URLs answer, then stops.
--mail: the sites sync by e-mail, as in the install notes (mailto:
cps_server@localhost and cps_client@localhost), through a Postfix of the
demo's own on 127.0.0.1 whose aliases pipe into sendMailToZope (needs
Postfix, installed when missing, and root); it stops with the demo.
"""
import argparse
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts import instance  # noqa: E402

ADMIN = 'admin'
SITES = (('cps', 'Master site'), ('cps_client', 'Client site'))
DEFAULT_PORT = 9673
EXIT_NO_FACTORY = 3
STATE_FILE = 'demo.json'
#: written once the synchronization scenario has run: a restart shows the
#: sites as they were instead of editing the demo content again
SCENARIO_DONE = 'scenario-done'


class Stop(Exception):
    """Raised by the SIGTERM handler to leave the wait loop."""


# --- set-up (runs in a child process: it holds the FileStorage lock) -------

def configure_sync(app, port, password, smtp_port=None):
    """The install notes' publication on `cps` and subscription on
    `cps_client` (see scripts/demo_sync.py), by mail with ``smtp_port``."""
    from scripts import demo_sync
    demo_sync.configure(app, f'http://localhost:{port}', ADMIN, password,
                        smtp_port=smtp_port)


def find_sample(site, limit=500):
    """Path of a content object below a folder of `site` that answers
    .../asXML (portal_repository first, as in the seed), or None."""
    from Products.CMFCore.interfaces import IContentish
    from zope.component import queryMultiAdapter
    request = site.REQUEST
    ids = sorted(site.objectIds(), key=lambda i: i != 'portal_repository')
    queue = [(site[i], 1) for i in ids]
    fallback = None
    for _ in range(limit):
        if not queue:
            break
        obj, depth = queue.pop(0)
        if IContentish.providedBy(obj) and (
                queryMultiAdapter((obj, request), name='asXML') is not None
                or getattr(obj, 'asXML', None) is not None):
            if depth > 1:
                return '/'.join(obj.getPhysicalPath())
            fallback = fallback or '/'.join(obj.getPhysicalPath())
        if getattr(obj, 'isPrincipiaFolderish', False) and depth < 3:
            queue.extend((o, depth + 1) for o in obj.objectValues())
    return fallback


def setup(var, password, port, smtp_port=None):
    """Create the admin user and (once) the sites; write demo.json."""
    import transaction
    from AccessControl.SecurityManagement import newSecurityManager
    from AccessControl.SecurityManagement import noSecurityManager
    from Testing.makerequest import makerequest
    from zope.component.hooks import setSite

    inst = instance.write_instance(var, port)
    instance.configure_zope(inst.zope_conf)
    import Zope2
    state = {'sites': {}, 'samples': {}}
    try:
        app = makerequest(Zope2.app(), environ={
            'SERVER_NAME': inst.host, 'SERVER_PORT': str(inst.port)})
        instance.add_manager(app, ADMIN, password)
        transaction.commit()
        newSecurityManager(None, app.acl_users.getUser(ADMIN).__of__(app.acl_users))
        try:
            from Products.ERP5SyncML.site.factory import add_site
        except ImportError as exc:
            print('The demo sites cannot be created: the site factory '
                  'Products.ERP5SyncML.site.factory.add_site is not available '
                  f'yet ({exc}).', file=sys.stderr)
            return EXIT_NO_FACTORY
        for site_id, title in SITES:
            if site_id in app.objectIds():
                state['sites'][site_id] = 'exists'
            else:
                print(f'  creating site {site_id} ({title})'
                      + (' with demo content' if site_id == 'cps' else ', empty'))
                # the client starts empty: its first sync brings the content
                add_site(app, site_id, title, demo=True,
                         demo_content=(site_id == 'cps'))
                transaction.commit()
                state['sites'][site_id] = 'created'
            setSite(None)
            state['samples'][site_id] = find_sample(app[site_id])
        configure_sync(app, port, password, smtp_port)
        transaction.commit()
        noSecurityManager()
        app._p_jar.close()
    finally:
        transaction.abort()
        instance.close_zope()
    (Path(var) / STATE_FILE).write_text(json.dumps(state, indent=1))
    return 0


# --- running --------------------------------------------------------------

def admin_password(var):
    """DEMO_PASSWORD, else the password stored in var/admin-password (made once)."""
    if os.environ.get('DEMO_PASSWORD'):
        return os.environ['DEMO_PASSWORD']
    path = Path(var) / 'admin-password'
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(password + '\n')
    return password


def check(url, password):
    """HTTP status of url fetched as admin (0 if no answer)."""
    token = base64.b64encode(f'{ADMIN}:{password}'.encode()).decode()
    req = urllib.request.Request(url, headers={'Authorization': 'Basic ' + token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def banner(url, password, state, var, tic_log):
    lines = [
        '',
        '=' * 72,
        f'ERP5SyncML demo running on {url}',
        f'  ZMI:               {url}/manage_main',
    ]
    for site_id, _ in SITES:
        lines.append(f'  {site_id + ":":<19}{url}/{site_id}/manage_main')
    for site_id, path in state.get('samples', {}).items():
        if path:
            lines.append(f'  object as XML:     {url}{path}/asXML')
            break
    lines += [
        f'  login:             {ADMIN} / {password}',
        f'  tic loop log:      {tic_log}',
        f'  instance:          {var}  (logs in {Path(var) / "log"})',
        'Stop with Ctrl-C (or SIGTERM): Zope and the tic loop stop cleanly.',
        '=' * 72,
        '',
    ]
    print('\n'.join(lines), flush=True)


def urls_to_check(url, state):
    urls = [url + '/manage_main'] + [f'{url}/{s}/manage_main' for s, _ in SITES]
    urls += [f'{url}{p}/asXML' for p in state.get('samples', {}).values() if p]
    return urls


def start_mail(url, password):
    """The demo's Postfix: each site's address pipes into its portal_mailin."""
    from scripts import demo_sync
    from scripts import mailserver
    if not mailserver.ensure_postfix():
        raise RuntimeError('--mail needs Postfix (installed when missing, as root)')
    mail = mailserver.MailServer()
    for site_id, address in demo_sync.MAIL_ADDRESSES.items():
        mail.aliases[address] = f'{url}/{site_id}/portal_mailin/'  # written by start
    try:
        mail.start(ADMIN, password)
    except BaseException:
        mail.stop()  # removes its directory
        raise
    print(f'Mail server (Postfix) on 127.0.0.1:{mail.port}, log {mail.log}; aliases: '
          + ', '.join(f'{a}@localhost -> {s}' for s, a in demo_sync.MAIL_ADDRESSES.items()),
          flush=True)
    return mail


def mail_summary(mail):
    """What the mail server delivered, from its log."""
    log = mail.log_text()
    from scripts import demo_sync
    hops = ', '.join(f"{log.count(f'to=<{a}@localhost>')} to {a}@localhost"
                     for a in demo_sync.MAIL_ADDRESSES.values())
    return (f'  by mail: {log.count("status=sent")} mails delivered through Postfix '
            f'({hops}), {log.count("status=bounced")} bounced, '
            f'{len(mail.queue_ids())} waiting')


def run_scenario_once(url, password, var, mail=None):
    """The synchronization scenario (by HTTP, or by mail through ``mail``)
    at the first start only; 0 when it succeeded (or ran before)."""
    marker = Path(var) / (SCENARIO_DONE + ('' if mail is None else '-mail'))
    if marker.exists():
        print('  the synchronization scenario ran at the first start: '
              'the sites are shown as they were left', flush=True)
        return 0
    from scripts import demo_sync
    try:
        failed = demo_sync.scenario(url, ADMIN, password,
                                    by=None if mail is None else 'mail')
        if mail is not None:
            print(mail_summary(mail), flush=True)
        if failed:
            return 1
    except (OSError, RuntimeError) as exc:
        print(f'  synchronization demo failed: {exc}', file=sys.stderr)
        return 1
    marker.write_text(time.strftime('%Y-%m-%d %H:%M:%S\n'))
    return 0


def run(args):
    var = Path(args.var).resolve()
    password = admin_password(var)
    print(f'Preparing the demo instance in {var}')
    env = dict(os.environ, DEMO_PASSWORD=password)  # never on a command line
    mail = None
    if args.mail:
        try:
            mail = start_mail(instance.write_instance(var, args.port).url, password)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            print(f'The mail server did not start: {exc}', file=sys.stderr)
            return 1
    try:
        return _run(args, var, password, env, mail)
    finally:
        if mail is not None:
            mail.stop()
            print('Mail server stopped.', flush=True)


def _run(args, var, password, env, mail):
    setup_cmd = [sys.executable, __file__, '--setup', '--var', str(var),
                 '--port', str(args.port)]
    if mail is not None:
        setup_cmd += ['--smtp-port', str(mail.port)]
    rc = subprocess.call(setup_cmd, env=env)
    if rc:
        return rc
    state = json.loads((var / STATE_FILE).read_text())
    inst = instance.write_instance(var, args.port)

    def on_sigterm(signum, frame):
        raise Stop()
    signal.signal(signal.SIGTERM, on_sigterm)
    # Started in the background from a script, SIGINT would be ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    zope = tic = None
    status = 0
    try:
        print(f'Starting Zope on {inst.url} ...', flush=True)
        zope = instance.start_zope(inst)
        tic_log = inst.log_dir / 'tic_loop.log'
        tic = instance.spawn(
            [sys.executable, ROOT / 'zope_tic_loop', '--url', inst.url,
             '--user', ADMIN, '--interval', str(args.tic_interval)]
            + [s for s, _ in SITES],
            tic_log, env=dict(os.environ, ZOPE_PASSWORD=password),
            death_signal=signal.SIGTERM)
        banner(inst.url, password, state, var, tic_log)
        status = run_scenario_once(inst.url, password, var, mail)
        if args.no_wait:
            for url in urls_to_check(inst.url, state):
                code = check(url, password)
                print(f'  check {code} {url}')
                if code != 200:
                    status = 1
        else:
            while zope.proc.poll() is None:
                time.sleep(0.5)
            print(f'Zope exited unexpectedly ({zope.proc.returncode}), '
                  f'see {inst.log_dir}', file=sys.stderr)
            status = 1
    except (KeyboardInterrupt, Stop):
        print('\nStopping ...', flush=True)
    except RuntimeError as exc:  # Zope did not start (port in use, ...)
        print(f'Zope did not start: {exc}', file=sys.stderr)
        status = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if tic is not None:
            instance.stop_process(tic, signal.SIGTERM, timeout=30)
        if zope is not None:
            rc = zope.stop(timeout=30)
            print(f'Zope stopped (exit {rc}); tic loop stopped.', flush=True)
            if rc:
                status = status or 1
    return status


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--port', type=int,
                        default=int(os.environ.get('DEMO_PORT', DEFAULT_PORT)),
                        help='HTTP port (default: DEMO_PORT or %(default)s)')
    parser.add_argument('--var', default=str(ROOT / 'var' / 'demo'),
                        help='instance directory (default: var/demo)')
    parser.add_argument('--tic-interval', type=float, default=1.0,
                        help='seconds between tic loop rounds (default: %(default)s)')
    parser.add_argument('--no-wait', action='store_true',
                        help='start, print the URLs, check they answer, stop')
    parser.add_argument('--mail', action='store_true',
                        help='sync by e-mail through a Postfix on 127.0.0.1')
    parser.add_argument('--setup', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--smtp-port', type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.setup:
        return setup(args.var, os.environ['DEMO_PASSWORD'], args.port, args.smtp_port)
    return run(args)


if __name__ == '__main__':
    sys.exit(main())
