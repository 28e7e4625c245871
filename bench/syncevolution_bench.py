"""SyncEvolution as a client: our vCard publication against SyncEvolution's
own server (syncevo-http-server), on the same machine, in the same run.

After one small warm-up sync on each server, for every size N: N small vCards in a fresh client directory, one slow
sync to our server (a real Zope over ZEO, portal_synchronizations/syncml)
and one to syncevo-http-server (file backend), each with a fresh
datastore.  Measured: wall time of the ``syncevolution`` command, round
trips (server answers the client processed, from the client's log) and
how many cards the server holds afterwards.  Ours and theirs alternate,
--repeat times each (default 2), and the best run of each counts.  Prints a table and the ratio
(ours / theirs; below 1 means we are faster) and writes JSON.

    .venv/bin/python bench/syncevolution_bench.py                # 1000, 5000
    .venv/bin/python bench/syncevolution_bench.py --sizes 200 --encoding wbxml
"""
import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / 'tests')]

ROUND_TRIP = re.compile(r'Started Processing of message #\d+')


def cards(n):
    return {'c%05d.vcf' % i: (
        'BEGIN:VCARD\nVERSION:3.0\nN:Family%05d;Given%05d;;;\n'
        'FN:Given%05d Family%05d\nEMAIL:p%05d@example.org\n'
        'TEL;TYPE=CELL:+1 555 %05d\nEND:VCARD' % ((i,) * 6))
        for i in range(n)}


def timed_sync(client, timeout):
    t0 = time.perf_counter()
    run = client.sync('slow', timeout=timeout)
    seconds = time.perf_counter() - t0
    if not run.ok:
        raise RuntimeError('sync failed\n' + run.describe())
    return {'seconds': round(seconds, 3),
            'round_trips': len(ROUND_TRIP.findall(run.log))}


def our_server(zope, n_index):
    """A fresh site with a vCard publication; its syncml URL and site."""
    from synchelpers import make_vcard_site
    site = make_vcard_site(zope, 'bench', [('alice', 'secret', zope.user)])
    return '%s/%s/portal_synchronizations/syncml' % (zope.url, site), site


def count_people(zope, site):
    import transaction
    with zope.app() as app:
        n = len(app[site]['people'].objectIds())
        transaction.abort()
    return n


def run(sizes, wbxml, base, timeout, repeat=1):
    import syncevolution as se
    from zopeserver import ZopeServer
    se.ensure_installed()
    zope = ZopeServer(base / 'zope')
    theirs = se.HttpServer(base / 'syncevo')
    results = []
    try:
        zope.start()
        devices = {}
        for n in sizes:
            for rep in range(repeat):
                device = 'bench-theirs-%d-%d' % (n, rep)
                devices[device] = theirs.add_client(device, 'alice', 'secret')
        warm = theirs.add_client('bench-warm', 'alice', 'secret')
        theirs.start()
        # one small sync on each server first: process start-up, D-Bus
        # activation and caches are not what is measured
        url, _site = our_server(zope, 0)
        for name, target, uri in (('warm-ours', url, 'contacts'),
                                  ('warm-theirs', theirs.url, 'addressbook')):
            client = se.Client(base / name, target, 'alice', 'secret',
                               'bench-' + name.split('-')[1] if
                               name == 'warm-ours' else 'bench-warm',
                               uri=uri, wbxml=wbxml)
            se.write_vcards(client.data, cards(10))
            timed_sync(client, timeout)
        assert warm.exists()
        for n in sizes:
            data = cards(n)
            runs = {'ours': [], 'syncevo_http_server': []}
            # ours and theirs alternate, each on a fresh datastore: the
            # machine's load falls on both alike; the best run counts
            for rep in range(repeat):
                url, site = our_server(zope, n)
                client = se.Client(base / ('ours-%d-%d' % (n, rep)), url,
                                   'alice', 'secret',
                                   'bench-ours-%d-%d' % (n, rep),
                                   uri='contacts', wbxml=wbxml,
                                   properties={'RetryDuration': '0'})
                se.write_vcards(client.data, data)
                figures = timed_sync(client, timeout)
                figures['server_count'] = count_people(zope, site)
                runs['ours'].append(figures)
                device = 'bench-theirs-%d-%d' % (n, rep)
                client = se.Client(base / ('theirs-%d-%d' % (n, rep)),
                                   theirs.url, 'alice', 'secret', device,
                                   wbxml=wbxml,
                                   properties={'RetryDuration': '0'})
                se.write_vcards(client.data, data)
                figures = timed_sync(client, timeout)
                figures['server_count'] = len(list(devices[device].iterdir()))
                runs['syncevo_http_server'].append(figures)
            best = {k: min(v, key=lambda f: f['seconds'])
                    for k, v in runs.items()}
            results.append({'n': n, 'ours': best['ours'],
                            'syncevo_http_server': best['syncevo_http_server'],
                            'runs': runs,
                            'time_ratio': round(best['ours']['seconds'] /
                                                best['syncevo_http_server']
                                                ['seconds'], 3)})
    finally:
        theirs.stop()
        zope.stop()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='1000,5000')
    parser.add_argument('--encoding', choices=('xml', 'wbxml'), default='xml')
    parser.add_argument('--timeout', type=int, default=900)
    parser.add_argument('--repeat', type=int, default=2,
                        help='runs per size and server; the best counts')
    parser.add_argument('--output', default=None)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(',') if s]
    with tempfile.TemporaryDirectory(prefix='syncevo-bench-') as tmp:
        results = run(sizes, args.encoding == 'wbxml', Path(tmp),
                      args.timeout, args.repeat)
    print('%-6s %-6s %12s %8s %12s %8s %8s' % (
        'N', 'enc', 'ours s', 'ours rt', 'theirs s', 'their rt', 'ratio'))
    for r in results:
        print('%-6d %-6s %12.2f %8d %12.2f %8d %8.2f' % (
            r['n'], args.encoding, r['ours']['seconds'],
            r['ours']['round_trips'], r['syncevo_http_server']['seconds'],
            r['syncevo_http_server']['round_trips'], r['time_ratio']))
    report = {'encoding': args.encoding, 'repeat': args.repeat,
              'results': results}
    if args.output:
        Path(args.output).write_text(json.dumps(report, indent=2))
    else:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
