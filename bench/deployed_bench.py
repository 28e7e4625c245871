"""First and incremental sync through the path users deploy, next to the
in-process path and the physical limit, in one run.

Deployed: one ZEO, two Zope processes (runwsgi) -- the master site served
by one, the client site by the other -- each with its own zope_tic_loop at
its default interval; Sync is pressed as the button does (a POST to
manage_syncSubscription on the client's Zope). The time runs from the
press until the subscription's report says finished.
In-process: bench/inprocess.py (both sites in one process, no HTTP, no
activities: the cost of the domain, conduit and mapping layers).
Physical limit: bench/physical_limit.py.

    .venv/bin/python bench/deployed_bench.py                # N=1000,5000,10000, 3 repeats
    .venv/bin/python bench/deployed_bench.py --quick        # N=200, 1 repeat (~1 minute)
    .venv/bin/python bench/deployed_bench.py --large        # adds N=50000 (1 repeat)

Results: tables on stdout, JSON in bench/results/deployed-<timestamp>.json.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / 'results'
TIC_LOOP = ROOT / 'zope_tic_loop'
FOLDER = 'people'


def _paths():
    for path in (str(ROOT), str(ROOT / 'tests'), str(HERE)):
        if path not in sys.path:
            sys.path.insert(0, path)


# -- the deployed set-up ------------------------------------------------------

class Deployment:
    """ZEO, a master Zope and a client Zope (separate processes), and a
    tic loop per Zope while a pair is synchronizing."""

    def __init__(self, base_dir, interval):
        _paths()
        from zopeserver import ZopeServer
        self.base_dir = Path(base_dir)
        self.interval = interval
        self.zope = ZopeServer(self.base_dir / 'master')
        self.client_server = None
        self.loops = []
        self._n = 0

    def start(self):
        from scripts import instance
        self.zope.start()  # ZEO + the master's Zope (+ Zope in this process)
        inst = instance.write_instance(self.base_dir / 'client',
                                       instance.free_port(), zeo=self.zope.zeo.address)
        self.client_server = instance.start_zope(inst)

    def stop(self):
        from scripts import instance
        self.stop_loops()
        if self.client_server is not None:
            self.client_server.stop()
            self.client_server = None
        self.zope.stop()

    @property
    def pids(self):
        return {'master_zope': self.zope.server.proc.pid,
                'client_zope': self.client_server.proc.pid,
                'zeo': self.zope.zeo.proc.pid}

    def make_pair(self):
        """A master site (served by the master's Zope) with a publication,
        a client site (served by the client's Zope) with a subscription."""
        from zope.component.hooks import setSite
        self._n += 1
        master, client = 'master_%d' % self._n, 'client_%d' % self._n
        pub_id = 'People%d' % self._n
        for site_id in (master, client):
            self.zope.add_site(site_id, demo=True)
        with self.zope.app() as app:
            for site_id in (master, client):
                setSite(app[site_id])
                app[site_id].invokeFactory('Module', FOLDER)
            pub_url = '%s/%s' % (self.zope.url, master)
            app[master].portal_synchronizations.manage_addPublication(
                pub_id, publication_url=pub_url,
                destination_path='/%s/%s' % (master, FOLDER))
            app[client].portal_synchronizations.manage_addSubscription(
                pub_id, publication_url=pub_url,
                subscription_url='%s/%s/%s' % (self.client_server.url, client, pub_id),
                destination_path='/%s/%s' % (client, FOLDER), sync_mode=200,
                login=self.zope.user, password=self.zope.password)
            setSite(None)
        return master, client, pub_id

    def start_loops(self, master, client):
        """zope_tic_loop, default interval, one per Zope, for its site."""
        from scripts import instance
        env = {k: v for k, v in os.environ.items() if not k.startswith('ZOPE_')}
        env['ZOPE_PASSWORD'] = self.zope.password
        for url, site_id in ((self.zope.url, master), (self.client_server.url, client)):
            argv = [sys.executable, TIC_LOOP, '--url', url, '--user', self.zope.user,
                    '--quiet', site_id]
            if self.interval is not None:
                argv[2:2] = ['--interval', str(self.interval)]
            self.loops.append(instance.spawn(argv, self.base_dir / 'ticloop.log', env))

    def stop_loops(self):
        import signal
        from scripts import instance
        for proc in self.loops:
            instance.stop_process(proc, signal.SIGTERM)
        self.loops = []

    def press_sync(self, client, pub_id):
        """What the Sync button of the client's ZMI does: a POST."""
        from urllib.parse import urlencode
        import base64
        import http.client
        from synchelpers import csrf_token
        server = self.client_server
        # the form carries the user's CSRF token, as the ZMI page does
        body = urlencode({'id': pub_id,
                          '_authenticator': csrf_token(self.zope, client)}).encode()
        token = base64.b64encode(('%s:%s' % (self.zope.user, self.zope.password))
                                 .encode()).decode()
        conn = http.client.HTTPConnection(server.host, server.port, timeout=120)
        try:
            conn.request('POST', '/%s/portal_synchronizations/manage_syncSubscription'
                         % client, body,
                         {'Content-Type': 'application/x-www-form-urlencoded',
                          'Authorization': 'Basic ' + token})
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status not in (200, 302):
            raise RuntimeError('Sync button: HTTP %s' % response.status)

    def report(self, client, pub_id):
        import transaction
        with self.zope.app() as app:
            sub = app[client].portal_synchronizations.getSubscription(pub_id)
            report = dict(sub.getReport())
            report['counts'] = dict(report.get('counts') or {})
            transaction.abort()
        return report

    def sync(self, client, pub_id, timeout):
        """Press Sync and wait for the end; (report, seconds)."""
        started = time.perf_counter()
        self.press_sync(client, pub_id)
        while time.perf_counter() - started < timeout:
            report = self.report(client, pub_id)
            if report['status'] in ('finished', 'failed'):
                seconds = time.perf_counter() - started
                if report['status'] != 'finished':
                    raise RuntimeError('synchronization failed: %r' % (report,))
                return report, seconds
            time.sleep(0.1)
        raise RuntimeError('synchronization did not finish in %d s' % timeout)


def create_people(zope, site_id, indexes, batch=500):
    from zope.component.hooks import setSite
    from people import person_id, person_props
    indexes = list(indexes)
    for start in range(0, len(indexes), batch):
        with zope.app() as app:
            setSite(app[site_id])
            container = app[site_id][FOLDER]
            for i in indexes[start:start + batch]:
                container.invokeFactory('Person', person_id(i))
                container[person_id(i)].edit(**person_props(i))
            setSite(None)


def edit_people(zope, site_id, indexes):
    from zope.component.hooks import setSite
    from people import person_id
    with zope.app() as app:
        setSite(app[site_id])
        container = app[site_id][FOLDER]
        for i in indexes:
            container[person_id(i)].edit(title='Edited %d at %f' % (i, time.time()),
                                         age=99)
        setSite(None)


def count_objects(zope, site_id):
    with zope.app() as app:
        return len(app[site_id][FOLDER].objectIds())


def run_deployed(n, repeats, rounds, changes, interval, base_dir):
    """Every deployed measurement for one N (its own ZEO and Zopes)."""
    from sync_bench import Memory
    deployment = Deployment(base_dir, interval)
    result = {'n': n, 'first_sync': [], 'incremental': []}
    try:
        deployment.start()
        memory = Memory(deployment.pids)
        timeout = 120 + n * 0.2
        for rep in range(repeats):
            master, client, pub_id = deployment.make_pair()
            create_people(deployment.zope, master, range(n))
            deployment.start_loops(master, client)
            try:
                memory.start()
                report, seconds = deployment.sync(client, pub_id, timeout)
                counts = report['counts']
                fig = {'seconds': round(seconds, 3),
                       'objects_per_second': round(n / seconds, 1),
                       'messages': counts.get('messages_sent', 0) +
                       counts.get('messages_received', 0),
                       'bytes': counts.get('bytes_sent', 0) + counts.get('bytes_received', 0),
                       'memory': memory.sample()}
                got = count_objects(deployment.zope, client)
                if got != n:
                    raise RuntimeError('client holds %d objects, not %d' % (got, n))
                result['first_sync'].append(fig)
                print('  deployed N=%d repeat %d: first sync %.2f s (%.0f obj/s), %d '
                      'messages, %d bytes' % (n, rep + 1, seconds, n / seconds,
                                              fig['messages'], fig['bytes']), flush=True)
                if rep == repeats - 1:
                    step = max(n // changes, 1)
                    for rnd in range(rounds):
                        indexes = sorted({(k * step + rnd) % n for k in range(changes)})
                        edit_people(deployment.zope, master, indexes)
                        memory.start()
                        report, seconds = deployment.sync(client, pub_id, timeout)
                        counts = report['counts']
                        if counts.get('received_replace') != len(indexes):
                            raise RuntimeError('incremental: %r' % (counts,))
                        result['incremental'].append({
                            'seconds': round(seconds, 3),
                            'bytes': counts.get('bytes_sent', 0) +
                            counts.get('bytes_received', 0),
                            'memory': memory.sample()})
                        print('  deployed N=%d incremental round %d: %.2f s, %d bytes'
                              % (n, rnd + 1, seconds, result['incremental'][-1]['bytes']),
                              flush=True)
            finally:
                deployment.stop_loops()
    finally:
        deployment.stop()
    return result


def run_deployed_child(n, repeats, args):
    """run_deployed in a child process: Zope is configured once per process,
    and each N gets fresh processes (peak memory not inherited)."""
    with tempfile.TemporaryDirectory(prefix='deployedbench-') as tmp:
        out = Path(tmp) / 'result.json'
        cmd = [sys.executable, str(Path(__file__).resolve()), '--worker', str(n),
               '--repeat', str(repeats), '--rounds', str(args.rounds),
               '--changes', str(args.changes), '--worker-output', str(out)]
        if args.interval is not None:
            cmd += ['--interval', str(args.interval)]
        proc = subprocess.Popen(cmd, cwd=str(ROOT), env=_clean_env())
        try:
            code = proc.wait()
        except BaseException:
            proc.terminate()  # its finally stops its Zopes and ZEO
            proc.wait(timeout=60)
            raise
        if code != 0:
            raise RuntimeError('deployed run of N=%d failed (exit %d)' % (n, code))
        return json.loads(out.read_text())


def run_inprocess(n, repeats):
    rows = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, str(HERE / 'inprocess.py'), str(n), '--json'],
                             cwd=str(ROOT), capture_output=True, text=True, env=_clean_env())
        if out.returncode != 0:
            raise RuntimeError('in-process run of N=%d failed:\n%s'
                               % (n, out.stderr[-3000:]))
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def _clean_env():
    # what configuring Zope in this process put there is not for children
    return {k: v for k, v in os.environ.items() if k != 'CHAMELEON_CACHE'}


def run_physical(n):
    out = subprocess.run([sys.executable, '-c',
                          'import json, physical_limit; '
                          'print(json.dumps(physical_limit.measure(%d)))' % n],
                         cwd=str(HERE), capture_output=True, text=True, check=True,
                         env=_clean_env())
    return json.loads(out.stdout)


# -- orchestration -------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(n, deployed, inprocess, physical):
    fs, inc = deployed['first_sync'], deployed['incremental']

    def peak(rows, who):
        return median([r['memory'][who]['peak_mib'] for r in rows])
    s = {'n': n,
         'deployed_obj_s': median([r['objects_per_second'] for r in fs]),
         'deployed_seconds': median([r['seconds'] for r in fs]),
         'deployed_messages': median([r['messages'] for r in fs]),
         'deployed_bytes': median([r['bytes'] for r in fs]),
         'deployed_repeats': len(fs),
         'incremental_seconds': median([r['seconds'] for r in inc]),
         'incremental_bytes': median([r['bytes'] for r in inc]),
         'master_peak_mib': peak(fs, 'master_zope'),
         'client_peak_mib': peak(fs, 'client_zope'),
         'zeo_peak_mib': peak(fs, 'zeo'),
         'inprocess_obj_s': median([r['obj_per_s'] for r in inprocess]),
         'inprocess_incremental_seconds': median(
             [r['incremental_seconds'] for r in inprocess]),
         'physical_obj_s': physical['end_to_end']}
    s['deployed_ratio'] = s['deployed_obj_s'] / s['physical_obj_s']
    s['inprocess_ratio'] = s['inprocess_obj_s'] / s['physical_obj_s']
    return s


def fmt(value, spec):
    return '-' if value is None else spec % value


def print_table(summaries, out=sys.stdout):
    w = out.write
    w('\nMedians (raw values in the JSON file)\n\n')
    w('%6s | %-40s | %-18s | %-21s | %-17s | %s\n' % (
        'N', 'deployed first sync: s  obj/s  msgs  KB', 'incr(10): s  bytes',
        'peak MiB master/client', 'in-process obj/s', 'physical obj/s (ratio dep/inproc)'))
    w('-' * 150 + '\n')
    for s in summaries:
        w('%6d | %7s %7s %5s %9s (x%d)  | %7s %8s | %9s / %-9s | %7s %7s   | %7s (%s / %s)\n' % (
            s['n'], fmt(s['deployed_seconds'], '%.2f'), fmt(s['deployed_obj_s'], '%.0f'),
            fmt(s['deployed_messages'], '%d'),
            fmt(s['deployed_bytes'] and s['deployed_bytes'] / 1000, '%.0f'),
            s['deployed_repeats'],
            fmt(s['incremental_seconds'], '%.2f'), fmt(s['incremental_bytes'], '%d'),
            fmt(s['master_peak_mib'], '%.0f'), fmt(s['client_peak_mib'], '%.0f'),
            fmt(s['inprocess_obj_s'], '%.0f'), '',
            fmt(s['physical_obj_s'], '%.0f'), fmt(s['deployed_ratio'], '%.3f'),
            fmt(s['inprocess_ratio'], '%.3f')))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sizes', default='1000,5000,10000')
    p.add_argument('--large', action='store_true', help='add N=50000 (one repeat)')
    p.add_argument('--repeat', type=int, default=3)
    p.add_argument('--rounds', type=int, default=3, help='incremental rounds')
    p.add_argument('--changes', type=int, default=10)
    p.add_argument('--interval', type=float, default=None,
                   help="tic loop interval (default: the tic loop's own default)")
    p.add_argument('--quick', action='store_true', help='N=200, one repeat, one round')
    p.add_argument('--skip-deployed', action='store_true')
    p.add_argument('--output')
    p.add_argument('--worker', type=int, help=argparse.SUPPRESS)
    p.add_argument('--worker-output', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        import signal
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        with tempfile.TemporaryDirectory(prefix='deployedbench-') as tmp:
            result = run_deployed(args.worker, args.repeat, args.rounds,
                                  args.changes, args.interval, tmp)
        Path(args.worker_output).write_text(json.dumps(result))
        return
    sizes = sorted({int(x) for x in args.sizes.split(',') if x.strip()})
    if args.quick:
        sizes, args.repeat, args.rounds = [200], 1, 1
    if args.large:
        sizes.append(50000)
    started = time.time()
    summaries, raw = [], []
    local = {}
    for n in sizes:  # before any Zope runs, so that they do not compete
        repeats = 1 if n >= 50000 else args.repeat
        physical = run_physical(n)
        inprocess = run_inprocess(n, repeats)
        local[n] = (physical, inprocess)
        print('N=%d: physical limit %.0f obj/s; in-process %s obj/s'
              % (n, physical['end_to_end'],
                 ', '.join('%.0f' % r['obj_per_s'] for r in inprocess)), flush=True)
    for n in sizes:
        repeats = 1 if n >= 50000 else args.repeat
        physical, inprocess = local[n]
        if args.skip_deployed:
            deployed = {'first_sync': [], 'incremental': []}
        else:
            print('N=%d: deployed x%d' % (n, repeats), flush=True)
            deployed = run_deployed_child(n, repeats, args)
        raw.append({'n': n, 'physical': physical, 'inprocess': inprocess,
                    'deployed': deployed})
        if deployed['first_sync']:
            summaries.append(summarize(n, deployed, inprocess, physical))
    print_table(summaries)
    data = {'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
            'command': ' '.join(['bench/deployed_bench.py'] + list(
                argv if argv is not None else sys.argv[1:])),
            'cpus': os.cpu_count(), 'total_seconds': round(time.time() - started, 1),
            'medians': summaries, 'raw': raw}
    if args.output:
        path = Path(args.output)
    else:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / ('deployed-%s.json' % time.strftime('%Y%m%d-%H%M%S'))
    path.write_text(json.dumps(data, indent=1))
    print('\nJSON written to %s (total %.0f s)' % (path, data['total_seconds']))


if __name__ == '__main__':
    _paths()
    main()
