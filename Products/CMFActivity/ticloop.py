"""Drive the activity queues of Zope sites: distribute, then tic, forever.

Each round, for each site:
    GET {url}/{site}/portal_activities/distribute?node_count:int=N
    GET {url}/{site}/portal_activities/tic?processing_node:int=P
with HTTP basic auth, then sleep --interval seconds.

The password comes from ZOPE_PASSWORD or --password-file (or the URL's
userinfo); it is never printed or logged.  The log holds what changed: the
first answer of each URL, every failure that starts or changes, a reminder
while a failure lasts (every --remind seconds) and the recovery; every call
is logged only with --verbose.  --once (or --rounds N) exits with status 1
when any call failed.  SIGINT/SIGTERM end the loop after
the current call (exit 0).  Standard library only, so it runs without the
Zope virtualenv:

    ZOPE_USER=admin ZOPE_PASSWORD=... nohup ./zope_tic_loop cps cps_client &
"""
import argparse
import base64
import logging
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

log = logging.getLogger('zope_tic_loop')

DEFAULT_URL = 'http://localhost:9673'
DEFAULT_SITES = 'cps cps_client'


def split_url(url):
    """Return (url without userinfo, user or None, password or None)."""
    parts = urllib.parse.urlsplit(url)
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    netloc = parts.hostname or ''
    if ':' in netloc:  # IPv6 literal
        netloc = f'[{netloc}]'
    if parts.port:
        netloc += f':{parts.port}'
    clean = urllib.parse.urlunsplit(
        (parts.scheme, netloc, parts.path.rstrip('/'), '', ''))
    return clean, user, password


class TicLoop:
    """Call distribute and tic on each site; stop() ends it between calls."""

    def __init__(self, url, sites, user=None, password=None, interval=5.0,
                 node_count=1, processing_node=1, timeout=300, remind=600):
        self.url, url_user, url_password = split_url(url)
        self.sites = list(sites)
        self.user = user or url_user
        password = password if password is not None else url_password
        self._auth = None
        if self.user:
            token = f'{self.user}:{password or ""}'.encode()
            self._auth = 'Basic ' + base64.b64encode(token).decode()
        self.interval = interval
        self.node_count = node_count
        self.processing_node = processing_node
        self.timeout = timeout
        self.remind = remind
        self.failures = 0          # failed calls since start
        self._state = {}           # url -> (outcome, since, repeats, last log)
        self._stop = threading.Event()

    def stop(self, *_ignored):
        self._stop.set()

    @property
    def stopped(self):
        return self._stop.is_set()

    def calls(self, site):
        base = f'{self.url}/{site}/portal_activities'
        return (f'{base}/distribute?node_count:int={self.node_count}',
                f'{base}/tic?processing_node:int={self.processing_node}')

    def call(self, url):
        """GET url; return the status (0: no answer). Logs state changes."""
        request = urllib.request.Request(url)
        if self._auth:
            request.add_header('Authorization', self._auth)
        start = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                body = resp.read(200).decode('utf-8', 'replace')
                status, detail = resp.status, ''
        except urllib.error.HTTPError as exc:
            status, detail, body = exc.code, ' ' + (exc.reason or ''), ''
        except (OSError, ValueError) as exc:
            status, detail, body = 0, f' error: {exc.__class__.__name__}: {exc}', ''
        elapsed = time.monotonic() - start
        ok = 200 <= status < 300
        if not ok:
            self.failures += 1
        # self.url carries no userinfo, so nothing secret reaches the log.
        line = '%s %s %.3fs%s' % (status or '---', url, elapsed, detail)
        log.debug('%s %s', line, body.strip())
        self._log_change(url, ok, status, detail, line)
        return status

    def _log_change(self, url, ok, status, detail, line):
        outcome = 'ok' if ok else (status, detail.split(':')[0])
        now = time.monotonic()
        previous = self._state.get(url)
        if previous is None or previous[0] != outcome:
            if ok:
                suffix = '' if previous is None else ' (recovered after %d failure(s))' % previous[2]
                log.info('%s%s', line, suffix)
            else:
                log.warning('%s', line)
            self._state[url] = (outcome, now, 1, now)
            return
        _, since, repeats, logged = previous
        repeats += 1
        if not ok and now - logged >= self.remind:
            log.warning('%s (still failing: %d times in %.0f s)', line, repeats,
                        now - since)
            logged = now
        self._state[url] = (outcome, since, repeats, logged)

    def run_once(self):
        for site in self.sites:
            for url in self.calls(site):
                if self.stopped:
                    return
                self.call(url)

    def run(self, once=False, rounds=None):
        """Loop until stopped (or for ``rounds`` rounds; once: one round)."""
        if once:
            rounds = 1
        done = 0
        while not self.stopped:
            self.run_once()
            done += 1
            if rounds is not None and done >= rounds:
                break
            self._stop.wait(self.interval)
        return self.failures


def run_until(url, sites, done, user=None, password=None, max_rounds=60,
              pause=0.05):
    """Run rounds of distribute + tic over HTTP on ``sites`` until
    ``done()`` is true after a round; return the number of rounds.

    The deployed path of ``process_all``, for tests, scripts and benchmarks
    that drive separate Zope processes. A call not answered 200, or
    ``max_rounds`` rounds without ``done()``, raise RuntimeError.
    """
    loop = TicLoop(url, sites, user, password, interval=pause)
    for rounds in range(1, max_rounds + 1):
        for site in loop.sites:
            for call in loop.calls(site):
                status = loop.call(call)
                if status != 200:
                    raise RuntimeError('%s answered %s' % (call, status or 'nothing'))
        if done():
            return rounds
        time.sleep(pause)
    raise RuntimeError('not done after %d rounds of distribute + tic on %s'
                       % (max_rounds, ', '.join(loop.sites)))


def parse_args(argv=None, environ=os.environ):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='Environment: ZOPE_URL, ZOPE_USER, ZOPE_PASSWORD, ZOPE_SITES.')
    parser.add_argument('sites', nargs='*',
                        help='site ids (default: ZOPE_SITES or "%s")' % DEFAULT_SITES)
    parser.add_argument('--url', default=environ.get('ZOPE_URL', DEFAULT_URL),
                        help='Zope URL (default: ZOPE_URL or %(default)s)')
    parser.add_argument('--user', default=environ.get('ZOPE_USER'),
                        help='Zope user (default: ZOPE_USER)')
    parser.add_argument('--password-file',
                        help='file whose first line is the password '
                             '(default: ZOPE_PASSWORD)')
    parser.add_argument('--interval', type=float, default=5.0,
                        help='seconds between rounds (default: %(default)s)')
    parser.add_argument('--node-count', type=int, default=1)
    parser.add_argument('--processing-node', type=int, default=1)
    parser.add_argument('--timeout', type=float, default=300,
                        help='seconds to wait for one call (default: %(default)s)')
    parser.add_argument('--once', action='store_true',
                        help='one round, then exit (status 1 if a call failed)')
    parser.add_argument('--rounds', type=int,
                        help='N rounds, then exit (status 1 if a call failed)')
    parser.add_argument('--remind', type=float, default=600,
                        help='seconds between reminders of a lasting failure '
                             '(default: %(default)s)')
    parser.add_argument('--quiet', action='store_true', help='log only failures')
    parser.add_argument('--verbose', action='store_true',
                        help='log every call and its answer')
    args = parser.parse_args(argv)
    if not args.sites:
        args.sites = environ.get('ZOPE_SITES', DEFAULT_SITES).replace(',', ' ').split()
    if args.password_file:
        try:
            with open(args.password_file, encoding='utf-8') as f:
                args.password = f.readline().rstrip('\r\n')
        except OSError as exc:
            parser.error(f'cannot read --password-file: {exc.strerror}')
    else:
        args.password = environ.get('ZOPE_PASSWORD')
    if (args.interval < 0 or args.node_count < 1 or args.processing_node < 1
            or (args.rounds is not None and args.rounds < 1) or args.remind < 0):
        parser.error('--interval and --remind must be >= 0, --node-count, '
                     '--processing-node and --rounds >= 1')
    if not args.sites:
        parser.error('no site ids given')
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, format='%(asctime)s %(levelname)s %(message)s',
        level=(logging.DEBUG if args.verbose else
               logging.WARNING if args.quiet else logging.INFO))
    loop = TicLoop(args.url, args.sites, args.user, args.password,
                   args.interval, args.node_count, args.processing_node,
                   args.timeout, args.remind)
    signal.signal(signal.SIGTERM, loop.stop)
    signal.signal(signal.SIGINT, loop.stop)
    log.info('tic loop on %s for %s every %ss', loop.url, ' '.join(loop.sites),
             args.interval)
    failures = loop.run(once=args.once, rounds=args.rounds)
    log.info('tic loop stopped (%d failed call(s))', failures)
    if (args.once or args.rounds) and failures:
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
