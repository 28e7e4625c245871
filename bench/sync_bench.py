"""Synchronization benchmark: first sync, incremental sync, bytes, memory.

Runs a real Zope server (ZEO + runwsgi, see tests/zopeserver.py) and
synchronizes a master and a client site over HTTP through the activity
queue, exactly as the functional tests do (tests/synchelpers.py)::

    .venv/bin/python bench/sync_bench.py                  # full set
    .venv/bin/python bench/sync_bench.py --quick          # N=100, 1 repeat
    .venv/bin/python bench/sync_bench.py --sizes 1000 --incremental-sizes 1000,10000 --repeat 3

Every size N runs in a fresh child process with its own server, so the
peak memory figures of one N are not inherited from another. Results:
a table on stdout and JSON in bench/results/<timestamp>.json.
See bench/README.txt for what each figure means.
"""
import argparse
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / 'results'

# -- memory ------------------------------------------------------------------


def proc_status(pid='self'):
    """VmRSS/VmHWM of a process in KiB ({} if it is gone)."""
    values = {}
    try:
        with open('/proc/%s/status' % pid) as f:
            for line in f:
                key, _, rest = line.partition(':')
                if key in ('VmRSS', 'VmHWM'):
                    values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


def reset_peak(pid='self'):
    """Reset VmHWM to the current RSS (Linux clear_refs 5); False if refused."""
    try:
        with open('/proc/%s/clear_refs' % pid, 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class Memory:
    """Per-phase peak RSS of the Zope server, ZEO and this process."""

    def __init__(self, processes):
        self.processes = processes  # {'zope': pid, 'zeo': pid, 'bench': 'self'}
        self.resettable = all([reset_peak(pid) for pid in processes.values()])

    def start(self):
        for pid in self.processes.values():
            reset_peak(pid)

    def sample(self):
        """{name: {'peak_mib', 'rss_mib'}} since the last start()."""
        result = {}
        for name, pid in self.processes.items():
            st = proc_status(pid)
            result[name] = {'peak_mib': round(st.get('VmHWM', 0) / 1024, 1),
                            'rss_mib': round(st.get('VmRSS', 0) / 1024, 1)}
        return result


# -- one size, in a child process ---------------------------------------------


from people import person_id, person_props  # noqa: E402  (bench/ is on sys.path)


def create_people(zope, site_id, n, batch):
    """n Person objects in the site's people folder, ``batch`` per commit."""
    from synchelpers import folder
    for start in range(0, n, batch):
        with zope.app() as app:
            container = folder(app, site_id)
            for i in range(start, min(n, start + batch)):
                container.invokeFactory('Person', person_id(i))
                container[person_id(i)].edit(**person_props(i))


def edit_people(zope, site_id, indexes, **props):
    from synchelpers import folder
    with zope.app() as app:
        container = folder(app, site_id)
        for i in indexes:
            values = dict(props) or dict(title='Edited %d at %f' % (i, time.time()),
                                         age=99, description='edited\n')
            container[person_id(i)].edit(**values)


def replace_size(zope, pair, object_id):
    """Bytes of the Replace the master would send now for ``object_id``
    (built as the engine builds it; nothing is changed)."""
    import transaction
    from zope.component.hooks import setSite
    from Products.ERP5SyncML.domain.outgoing import CommandFactory
    from Products.ERP5SyncML.domain.session import SyncSession
    from Products.ERP5SyncML.syncml import codec
    try:
        with zope.app() as app:
            setSite(app[pair.master])
            pub = app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
            sub_url = '%s/%s/%s' % (zope.url, pair.client, pair.pub_id)
            subscriber = pub.getSubscriber(sub_url)
            session = SyncSession('bench', 200, 'server')
            built = CommandFactory(subscriber, session, 'server').for_object_id(object_id)
            size = None if built is None else codec.encoded_size(built[0])
            transaction.abort()
        return size
    except Exception as exc:  # a figure we cannot compute is reported, not fatal
        print('  (Replace size not available: %s: %s)' % (type(exc).__name__, exc),
              file=sys.stderr)
        return None


def drive(pair, max_rounds):
    """Press Sync on the client and run distribute/tic over HTTP on both
    sites until the session is over. Returns (report, rounds, seconds)."""
    from zope.component.hooks import setSite
    from synchelpers import subscription_report
    zope = pair.zope
    started = time.perf_counter()
    with zope.app() as app:
        setSite(app[pair.client])
        app[pair.client].portal_synchronizations.manage_syncSubscription(pair.pub_id)
        setSite(None)
    from Products.CMFActivity.ticloop import run_until
    rounds = run_until(zope.url, (pair.client, pair.master), lambda: (
        subscription_report(pair, pair.client)['status'] in ('finished', 'failed')),
        zope.user, zope.password, max_rounds, pause=0)
    seconds = time.perf_counter() - started
    report = subscription_report(pair, pair.client)
    if report['status'] != 'finished':
        raise RuntimeError('synchronization failed: %r' % (report,))
    return report, rounds, seconds


def examined(plans):
    """{'client': n, 'master': n}: objects each side examined (built XML for)."""
    import re
    result = {}
    for plan in plans:
        who, _, text = plan.partition(': ')
        numbers = [int(x) for x in re.findall(r'(\d+) (?:objects|changed|pending)', text)]
        result[who] = result.get(who, 0) + sum(numbers)
    return result


class PlanLog:
    """What each side decided to examine ('objects to examine: ...' lines of
    the server's event log), for the syncs since the last call."""

    MARK = 'objects to examine: '

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def new(self):
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        plans = []
        for line in data.decode('utf-8', 'replace').splitlines():
            if self.MARK in line:
                who = 'master' if 'Subscriber ' in line else 'client'
                plans.append('%s: %s' % (who, line.split(self.MARK, 1)[1]))
        return plans


def sync_figures(report, rounds, seconds, objects=None):
    counts = report['counts']
    fig = {
        'seconds': round(seconds, 3),
        'rounds': rounds,
        'messages': counts.get('messages_sent', 0) + counts.get('messages_received', 0),
        'bytes_sent': counts.get('bytes_sent', 0),
        'bytes_received': counts.get('bytes_received', 0),
        'bytes': counts.get('bytes_sent', 0) + counts.get('bytes_received', 0),
        'received_add': counts.get('received_add', 0),
        'received_replace': counts.get('received_replace', 0),
    }
    if objects:
        fig['objects_per_second'] = round(objects / seconds, 1) if seconds else None
    return fig


def check_folder_size(zope, pair, n):
    from synchelpers import folder
    with zope.app() as app:
        sizes = [len(folder(app, s).objectIds()) for s in (pair.master, pair.client)]
    if sizes != [n, n]:
        raise RuntimeError('after the first sync master/client hold %s objects, '
                           'expected %d each' % (sizes, n))


def run_size(n, first_repeats, rounds, changes, batch, settle, base_dir):
    """Every measurement for one N, with a server of its own."""
    sys.path[:0] = [str(ROOT), str(ROOT / 'tests')]
    from synchelpers import make_sites
    from zopeserver import ZopeServer

    zope = ZopeServer(Path(base_dir))
    result = {'n': n, 'first_sync': [], 'incremental': [], 'one_property': [],
              'creation': []}
    try:
        zope.start()
        memory = Memory({'zope': zope.server.proc.pid, 'zeo': zope.zeo.proc.pid,
                         'bench': 'self'})
        result['peak_reset_supported'] = memory.resettable
        result['server_started'] = memory.sample()
        plans = PlanLog(zope.instance.log_dir / 'event.log')
        max_rounds = 20 + 4 * (n // 50 + 1)
        pair = None
        for rep in range(first_repeats):
            pair = make_sites(zope)
            memory.start()
            t0 = time.perf_counter()
            create_people(zope, pair.master, n, batch)
            result['creation'].append({
                'seconds': round(time.perf_counter() - t0, 3),
                'memory': memory.sample()})
            print('  N=%d repeat %d: %d objects created in %.1f s'
                  % (n, rep + 1, n, result['creation'][-1]['seconds']), flush=True)
            if rep == first_repeats - 1 and settle:
                # this pair's incremental syncs must not see the creation
                # through the journal's safety margin (see README)
                time.sleep(settle)
            memory.start()
            report, nrounds, seconds = drive(pair, max_rounds)
            fig = sync_figures(report, nrounds, seconds, objects=n)
            fig['memory'] = memory.sample()
            fig['plan'] = plans.new()
            fig['examined'] = examined(fig['plan'])
            result['first_sync'].append(fig)
            print('  N=%d repeat %d: first sync %.2f s (%s obj/s), %d messages, '
                  '%d bytes, server peak %.0f MiB'
                  % (n, rep + 1, seconds, fig['objects_per_second'], fig['messages'],
                     fig['bytes'], fig['memory']['zope']['peak_mib']), flush=True)
            check_folder_size(zope, pair, n)
        # incremental rounds on the last pair: each edits other objects
        step = max(n // changes, 1)
        for rnd in range(rounds):
            indexes = sorted({(k * step + rnd) % n for k in range(changes)})
            edit_people(zope, pair.master, indexes)
            memory.start()
            report, nrounds, seconds = drive(pair, max_rounds)
            fig = sync_figures(report, nrounds, seconds)
            fig['round'] = rnd + 1
            fig['changed'] = len(indexes)
            fig['memory'] = memory.sample()
            fig['plan'] = plans.new()
            fig['examined'] = examined(fig['plan'])
            if fig['received_replace'] != len(indexes):
                raise RuntimeError('incremental sync: %d objects edited, the client '
                                   'received %d Replace' % (len(indexes),
                                                           fig['received_replace']))
            result['incremental'].append(fig)
            print('  N=%d incremental round %d: %d changes in %.3f s, %d bytes, '
                  '%d messages' % (n, rnd + 1, len(indexes), seconds, fig['bytes'],
                                   fig['messages']), flush=True)

            target = (rnd * 7 + 3) % n
            edit_people(zope, pair.master, [target],
                        language='pt' if rnd % 2 == 0 else 'es')
            cmd_size = replace_size(zope, pair, person_id(target))
            memory.start()
            report, nrounds, seconds = drive(pair, max_rounds)
            fig = sync_figures(report, nrounds, seconds)
            fig['round'] = rnd + 1
            fig['replace_command_bytes'] = cmd_size
            fig['memory'] = memory.sample()
            fig['plan'] = plans.new()
            fig['examined'] = examined(fig['plan'])
            result['one_property'].append(fig)
            print('  N=%d one-property edit round %d: %d bytes on the wire '
                  '(Replace command %s bytes), %.3f s'
                  % (n, rnd + 1, fig['bytes'], cmd_size, seconds), flush=True)
        result['data_fs_mib'] = round(
            (Path(base_dir) / 'zeo' / 'Data.fs').stat().st_size / 2**20, 1)
    finally:
        zope.stop()
        result['bench_maxrss_mib'] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


# -- orchestration ---------------------------------------------------------------


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(result):
    """Medians of one size's raw figures."""
    def med(rows, key, sub=None):
        if sub:
            return median([r['memory'][key][sub] for r in rows])
        return median([r.get(key) for r in rows])
    s = {'n': result['n']}
    fs, inc, one = result['first_sync'], result['incremental'], result['one_property']
    s['first_sync'] = {k: med(fs, k) for k in
                       ('seconds', 'objects_per_second', 'messages', 'bytes')}
    s['first_sync']['repeats'] = len(fs)
    s['first_sync']['zope_peak_mib'] = med(fs, 'zope', 'peak_mib')
    s['incremental'] = {k: med(inc, k) for k in ('seconds', 'messages', 'bytes')}
    s['incremental']['repeats'] = len(inc)
    # the first incremental after a first sync can differ from the later ones
    s['incremental']['round1_seconds'] = inc[0]['seconds'] if inc else None
    s['incremental']['later_rounds_median_seconds'] = med(inc[1:], 'seconds')
    for side in ('client', 'master'):
        s['incremental']['examined_' + side] = median(
            [r.get('examined', {}).get(side) for r in inc])
        s['incremental']['round1_examined_' + side] = \
            inc[0].get('examined', {}).get(side) if inc else None
    s['incremental']['zope_peak_mib'] = med(inc, 'zope', 'peak_mib')
    s['one_property'] = {k: med(one, k) for k in
                         ('seconds', 'bytes', 'bytes_sent', 'bytes_received',
                          'replace_command_bytes')}
    s['one_property']['repeats'] = len(one)
    s['creation_seconds'] = median([c['seconds'] for c in result['creation']])
    s['zope_peak_mib_overall'] = max(
        [r['memory']['zope']['peak_mib'] for r in fs + inc + one
         + result['creation']] or [0])
    s['bench_maxrss_mib'] = result.get('bench_maxrss_mib')
    return s


def fmt(value, spec='%.3f'):
    return '-' if value is None else spec % value


def print_table(summaries, out=sys.stdout):
    w = out.write
    w('\nMedians (all raw values are in the JSON file)\n\n')
    w('%7s | %-36s | %-28s | %-26s | %s\n' % (
        'N', 'first sync: s  obj/s  msgs  bytes (k)', 'incremental(10): s  msgs  bytes',
        '1-property: bytes  Replace', 'peak RSS MiB: zope first/incr  bench'))
    w('-' * 150 + '\n')
    for s in summaries:
        fs, inc, one = s['first_sync'], s['incremental'], s['one_property']
        w('%7d | %8s %7s %5s %9s (x%d) | %8s %5s %8s (x%d) | %8s %8s (x%d) | %7s %7s %7s\n' % (
            s['n'], fmt(fs['seconds'], '%.2f'), fmt(fs['objects_per_second'], '%.0f'),
            fmt(fs['messages'], '%d'), fmt(fs['bytes'] and fs['bytes'] / 1000, '%.0f'),
            fs['repeats'],
            fmt(inc['seconds']), fmt(inc['messages'], '%d'), fmt(inc['bytes'], '%d'),
            inc['repeats'],
            fmt(one['bytes'], '%d'), fmt(one['replace_command_bytes'], '%d'),
            one['repeats'],
            fmt(fs['zope_peak_mib'], '%.0f'), fmt(inc['zope_peak_mib'], '%.0f'),
            fmt(s['bench_maxrss_mib'], '%.0f')))
    w('\nIncremental sync, round 1 (right after the first sync) and later rounds;'
      ' objects examined (XML built) by client/master\n\n')
    w('%7s | %9s %9s | %-19s | %s\n' % ('N', 'round1 s', 'later s',
                                        'round1 examined c/m', 'median examined c/m'))
    for s in summaries:
        inc = s['incremental']
        w('%7d | %9s %9s | %8s / %-8s | %6s / %s\n' % (
            s['n'], fmt(inc['round1_seconds']), fmt(inc['later_rounds_median_seconds']),
            fmt(inc['round1_examined_client'], '%d'), fmt(inc['round1_examined_master'], '%d'),
            fmt(inc['examined_client'], '%d'), fmt(inc['examined_master'], '%d')))
    incs = [(s['n'], s['incremental']['seconds']) for s in summaries
            if s['incremental']['seconds']]
    if len(incs) >= 2:
        (n0, t0), (n1, t1) = incs[0], incs[-1]
        w('\nincremental sync of 10 changes: %.3f s at N=%d, %.3f s at N=%d '
          '(ratio %.2f for %.0fx the objects)\n' % (t0, n0, t1, n1, t1 / t0, n1 / n0))


def parse_sizes(text):
    return sorted({int(x) for x in text.split(',') if x.strip()})


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--sizes', default='1000,5000',
                   help='N for the repeated first sync (comma separated)')
    p.add_argument('--incremental-sizes', default='1000,10000',
                   help='N for the incremental sync; a size not in --sizes gets '
                   'one first sync, then the incremental rounds')
    p.add_argument('--repeat', type=int, default=3,
                   help='repeats of each measurement (medians are reported)')
    p.add_argument('--changes', type=int, default=10,
                   help='objects edited before each incremental sync')
    p.add_argument('--batch', type=int, default=500,
                   help='objects created per transaction (not measured)')
    p.add_argument('--settle', type=float, default=None,
                   help='seconds to wait between creating the objects and the '
                   'first sync whose pair is used for the incremental syncs '
                   '(default: the journal margin + 1)')
    p.add_argument('--quick', action='store_true',
                   help='N=100, one repeat: checks that the benchmark works')
    p.add_argument('--output', help='JSON file (default bench/results/<timestamp>.json)')
    p.add_argument('--worker', type=int, help=argparse.SUPPRESS)
    p.add_argument('--first-repeats', type=int, help=argparse.SUPPRESS)
    p.add_argument('--worker-output', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.incremental_sizes, args.repeat = '100', '100', 1
    if args.settle is None:
        from Products.ERP5SyncML.domain.outgoing import JOURNAL_MARGIN
        args.settle = JOURNAL_MARGIN + 1
    if args.repeat < 1:
        p.error('--repeat must be at least 1')
    return args


def worker_main(args):
    # the parent stops us with SIGTERM: unwind so that the server is stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix='syncbench-') as tmp:
        result = run_size(args.worker, args.first_repeats, args.repeat,
                          args.changes, args.batch, args.settle, tmp)
    Path(args.worker_output).write_text(json.dumps(result))


def run_child(n, first_repeats, args, tmp):
    out = Path(tmp) / ('n%d.json' % n)
    cmd = [sys.executable, str(Path(__file__).resolve()), '--worker', str(n),
           '--first-repeats', str(first_repeats), '--repeat', str(args.repeat),
           '--changes', str(args.changes), '--batch', str(args.batch),
           '--settle', str(args.settle),
           '--worker-output', str(out)]
    proc = subprocess.Popen(cmd, cwd=str(ROOT))
    try:
        code = proc.wait()
    except BaseException:
        proc.terminate()  # its finally: stops its Zope and ZEO
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        raise
    if code != 0:
        raise RuntimeError('benchmark of N=%d failed (exit %d)' % (n, code))
    return json.loads(out.read_text())


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    first_sizes = parse_sizes(args.sizes)
    incr_sizes = parse_sizes(args.incremental_sizes)
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory(prefix='syncbench-') as tmp:
        for n in sorted(set(first_sizes) | set(incr_sizes)):
            first_repeats = args.repeat if n in first_sizes else 1
            print('N=%d: %d first sync(s), %d incremental round(s)'
                  % (n, first_repeats, args.repeat), flush=True)
            results.append(run_child(n, first_repeats, args, tmp))
    summaries = [summarize(r) for r in results]
    print_table(summaries)
    data = {
        'date': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
        'total_seconds': round(time.time() - started, 1),
        'command': ' '.join([Path(sys.executable).name, 'bench/sync_bench.py']
                            + list(argv if argv is not None else sys.argv[1:])),
        'machine': {'cpus': os.cpu_count(), 'python': platform.python_version(),
                    'platform': platform.platform()},
        'settings': {'sizes': first_sizes, 'incremental_sizes': incr_sizes,
                     'repeat': args.repeat, 'changes': args.changes,
                     'batch': args.batch},
        'medians': summaries,
        'raw': results,
    }
    if args.output:
        path = Path(args.output)
    else:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / (time.strftime('%Y%m%d-%H%M%S') + '.json')
    path.write_text(json.dumps(data, indent=1))
    print('\nJSON written to %s (total %.0f s)' % (path, data['total_seconds']))


if __name__ == '__main__':
    main()
