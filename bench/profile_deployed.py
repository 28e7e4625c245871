"""Sampling profile of both Zope processes during a deployed first sync.

The set-up of bench/deployed_bench.py (ZEO, a master and a client Zope,
a tic loop each, Sync pressed by POST); py-spy samples each Zope process
from the press until the report says finished, idle threads left out.

    .venv/bin/python bench/profile_deployed.py 5000
    .venv/bin/python bench/profile_deployed.py 5000 --top 40 --interval 1

Writes <out>/master.txt and <out>/client.txt (py-spy's collapsed stacks)
and prints, for each process, the functions with the most samples, self
and inclusive.  Needs py-spy (pip install py-spy) and ptrace rights.
"""
import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import deployed_bench  # noqa: E402


def py_spy():
    found = shutil.which('py-spy') or str(Path(sys.executable).parent / 'py-spy')
    if not os.path.exists(found):
        raise SystemExit('py-spy not found: pip install py-spy')
    return found


def summarize(path, top):
    """(total samples, [(self, name)], [(inclusive, name)]) from collapsed stacks."""
    own, incl = collections.Counter(), collections.Counter()
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(' ')
        if not stack:
            continue
        count = int(count)
        total += count
        frames = [f.split(' (')[0] + ' (' + f.split(' (')[-1].split(':')[0].rsplit('/', 1)[-1]
                  + ')' if ' (' in f else f for f in stack.split(';')]
        own[frames[-1]] += count
        for name in set(frames):
            incl[name] += count
    return total, own.most_common(top), incl.most_common(top)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('n', type=int)
    p.add_argument('--top', type=int, default=30)
    p.add_argument('--rate', type=int, default=200)
    p.add_argument('--interval', type=float, default=None)
    p.add_argument('--out', default=str(HERE / 'results' / 'profile'))
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    spy = py_spy()
    with tempfile.TemporaryDirectory(prefix='profiledeployed-') as tmp:
        deployment = deployed_bench.Deployment(tmp, args.interval)
        try:
            deployment.start()
            master, client, pub_id = deployment.make_pair()
            deployed_bench.create_people(deployment.zope, master, range(args.n))
            deployment.start_loops(master, client)
            pids = deployment.pids
            spies = [subprocess.Popen(
                [spy, 'record', '--pid', str(pids[who + '_zope']), '--rate', str(args.rate),
                 '--format', 'raw', '--output', str(out / (who + '.txt'))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for who in ('master', 'client')]
            time.sleep(1)
            print('Sync pressed at %s' % time.strftime('%H:%M:%S'), flush=True)
            try:
                report, seconds = deployment.sync(client, pub_id, 120 + args.n * 0.2)
            finally:
                for proc in spies:
                    proc.send_signal(signal.SIGINT)
                for proc in spies:
                    proc.wait(timeout=60)
            print('first sync of %d: %.2f s (%.0f obj/s)' % (args.n, seconds,
                                                             args.n / seconds))
        finally:
            deployment.stop()
            for log in Path(tmp).rglob('*.log'):
                shutil.copy(log, out / ('%s-%s' % (log.parent.parent.name, log.name)))
    for who in ('master', 'client'):
        total, own, incl = summarize(out / (who + '.txt'), args.top)
        print('\n== %s: %d samples at %d Hz' % (who, total, args.rate))
        print('-- self')
        for name, count in own:
            print('%6.1f%%  %s' % (100.0 * count / total, name))
        print('-- inclusive')
        for name, count in incl:
            print('%6.1f%%  %s' % (100.0 * count / total, name))


if __name__ == '__main__':
    deployed_bench._paths()
    main()
