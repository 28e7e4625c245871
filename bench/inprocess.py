"""First sync of N objects between two sites of one in-process Zope
(DemoStorage, no HTTP, no activities): the per-object cost of the domain,
conduit and mapping layers alone, with an optional cProfile.

    .venv/bin/python bench/inprocess.py 1000 [--profile] [--repeat 3]

Each message is committed, as the activity that handles it would.
"""
import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / 'tests'), str(HERE)]


def run(n, profile=False, changes=10):
    import transaction
    from zope.component.hooks import setSite
    from Products.ERP5SyncML.site.testing import TestEnvironment
    from unit.test_engine_pair import Pair
    from people import person_id, person_props

    env = TestEnvironment()
    env.setUp()
    try:
        with env.app() as app:
            pair = Pair(app)
            folder = pair.folder('master')
            for i in range(n):
                folder.invokeFactory('Person', person_id(i))
                folder[person_id(i)].edit(**person_props(i))
                if i % 500 == 499:
                    transaction.commit()
            transaction.commit()
            setSite(None)

            def sync():
                data = pair.client_engine().start()
                transaction.commit()
                messages = 1
                while True:
                    reply = pair.serve(data)
                    transaction.commit()
                    if reply is None:
                        break
                    data = pair.answer(reply)
                    transaction.commit()
                    messages += 2
                    if data is None:
                        break
                return messages

            prof = cProfile.Profile() if profile else None
            t0 = time.perf_counter()
            if prof:
                prof.enable()
            messages = sync()
            if prof:
                prof.disable()
            first = time.perf_counter() - t0
            report = pair.sub.getReport()
            assert report['status'] == 'finished', report
            assert len(pair.folder('client').objectIds()) == n
            # incremental: ``changes`` objects edited on the master, twice:
            # the first one also re-examines what was created less than the
            # journal's safety margin before the first sync (see README)
            step = max(n // changes, 1)
            for rnd in range(2):
                folder = pair.folder('master')
                for k in range(changes):
                    folder[person_id(k * step + rnd)].edit(
                        title='edited %d %d' % (k, rnd), age=99)
                transaction.commit()
                setSite(None)
                t0 = time.perf_counter()
                sync()
                incremental = time.perf_counter() - t0
            counts = pair.sub.getReport()['counts']
            if prof:
                stats = pstats.Stats(prof)
                stats.sort_stats('tottime').print_stats(30)
                stats.sort_stats('cumulative').print_stats(45)
            return {'n': n, 'first_seconds': first, 'obj_per_s': n / first,
                    'messages': messages, 'incremental_seconds': incremental,
                    'incremental_received': counts.get('received_replace')}
    finally:
        env.tearDown()


def main():
    p = argparse.ArgumentParser()
    p.add_argument('n', type=int, nargs='?', default=1000)
    p.add_argument('--profile', action='store_true')
    p.add_argument('--repeat', type=int, default=1)
    p.add_argument('--json', action='store_true', help='last line: the figures as JSON')
    args = p.parse_args()
    rows = [run(args.n, args.profile) for _ in range(args.repeat)]
    if args.json:
        import json
        print(json.dumps(rows[-1] if len(rows) == 1 else rows))
        return
    for r in rows:
        print('N=%(n)d first sync %(first_seconds).2f s = %(obj_per_s).0f obj/s, '
              '%(messages)d messages; incremental(10) %(incremental_seconds).3f s '
              '(%(incremental_received)s Replace)' % r)
    if len(rows) > 1:
        print('median: %.0f obj/s' % statistics.median(r['obj_per_s'] for r in rows))


if __name__ == '__main__':
    main()
