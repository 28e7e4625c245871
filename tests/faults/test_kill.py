"""kill -9 of the client or the master at seeded random points of a sync.

Each trial: a fresh master site with N objects and a client site with N/10
of its own, a publication and a subscription whose messages go through a
FaultProxy; a tic loop per Zope process; Sync is pressed on the client. At
the k-th request (k drawn from the trial's seed), before it reaches the
master or after the master answered, the victim gets SIGKILL; it is then
restarted. The sync must then complete without manual action: the tic
loops keep running and, as a scheduled job would, Sync is pressed again
when the session failed or made no progress. Checked on every trial: both
sites hold exactly the N + N/10 objects, with the same asXML.

FAULT_TRIALS (trials per kind of kill, default 1) and FAULT_OBJECTS
(default 100) size the run; ``make test-faults`` runs 20 x 1,000.
"""
import json
import os
import random
import re
import threading
import time
import urllib.error

import pytest

from cluster import Cluster
from proxy import FaultProxy

pytestmark = pytest.mark.faults

TRIALS = int(os.environ.get('FAULT_TRIALS', '1'))
OBJECTS = int(os.environ.get('FAULT_OBJECTS', '100'))
SEED = int(os.environ.get('FAULT_SEED', '20240610'))
PER_MESSAGE = max(10, OBJECTS // 40)   # objects per SyncML message
STUCK_AFTER = 20       # s without progress: press Sync again
DEADLINE = 300         # s for one trial to converge
RESULTS = []


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp('faults')).start()
    yield cluster
    cluster.stop()
    if RESULTS:
        longest = max(r['seconds'] for r in RESULTS)
        for r in RESULTS:
            print('\n  %r' % (r,), end='')
        print('\nfault trials: %d, converged %d, presses %d, longest %.1f s'
              % (len(RESULTS), sum(r['converged'] for r in RESULTS),
                 sum(r['presses'] for r in RESULTS), longest))


def report(node, site_id, pub_id):
    try:
        return json.loads(node.http(
            '/%s/portal_synchronizations/getSyncReport?id=%s'
            % (site_id, pub_id)))
    except (OSError, ValueError):
        return None   # restarting


def press_sync(node, site_id, pub_id):
    tool = '/%s/portal_synchronizations' % site_id
    page = node.http(tool + '/manageSubscriptions').decode('utf-8')
    token = re.search(r'name="_authenticator"\s+value="([0-9a-f]+)"',
                      page).group(1)
    node.http(tool + '/manage_syncSubscription',
              {'id': pub_id, '_authenticator': token})


def run_trial(cluster, victim_name, index):
    rng = random.Random('%s-%s-%d' % (SEED, victim_name, index))
    master, client = cluster.master, cluster.client
    victim = master if victim_name == 'master' else client
    tag = '%s%d' % (victim_name[0], index)
    m_site, c_site, pub = 'm_' + tag, 'c_' + tag, 'P_' + tag
    # a first sync needs about N / PER_MESSAGE exchanges
    k = rng.randint(1, max(1, OBJECTS // PER_MESSAGE))
    phase = rng.choice(['request', 'response'])
    killed = threading.Event()

    def kill():
        victim.kill()
        killed.set()

    master.call('add_site', site_id=m_site)
    master.call('add_people', site_id=m_site, prefix='m', count=OBJECTS)
    client.call('add_site', site_id=c_site)
    client.call('add_people', site_id=c_site, prefix='c',
                count=max(1, OBJECTS // 10))
    proxy = FaultProxy(('127.0.0.1', master.inst.port),
                       hooks={(k, phase): kill}, lifetime=DEADLINE + 60)
    proxy.start()
    loops = []
    try:
        pub_url = '%s/%s' % (proxy.url, m_site)
        master.call('add_publication', site_id=m_site, pub_id=pub, url=pub_url,
                    max_objects=PER_MESSAGE)
        client.call('add_subscription', site_id=c_site, pub_id=pub,
                    publication_url=pub_url,
                    subscription_url='%s/%s/%s' % (client.url, c_site, pub),
                    login='manager', password=cluster.password,
                    max_objects=PER_MESSAGE)
        loops = [cluster.tic_loop(master, m_site), cluster.tic_loop(client, c_site)]
        started = time.monotonic()
        press_sync(client, c_site, pub)
        presses = 0
        last, last_change = None, time.monotonic()
        while True:
            if killed.is_set():
                killed.clear()
                victim.restart()
            now = time.monotonic()
            assert now - started < DEADLINE, (
                'no convergence in %d s (kill %s at request %d %s): %r'
                % (DEADLINE, victim_name, k, phase, last))
            state = report(client, c_site, pub)
            if state is not None and state != last:
                last, last_change = state, now
            done = state is not None and state.get('status') == 'finished'
            if done:
                break
            failed = state is not None and state.get('status') == 'failed'
            if (failed or now - last_change > STUCK_AFTER) and victim.server.proc.poll() is None:
                # what a scheduled Sync would do; never Retry/Invoke
                press_sync(client, c_site, pub)
                presses += 1
                last_change = now
            time.sleep(0.3)
        seconds = time.monotonic() - started
    finally:
        for loop in loops:
            loop.terminate()
            loop.wait(20)
        proxy.stop()
        if victim.server.proc.poll() is not None:
            victim.restart()
    master_xml = master.call('dump', site_id=m_site)
    client_xml = client.call('dump', site_id=c_site)
    expected = {'m%d' % i for i in range(OBJECTS)} | \
               {'c%d' % i for i in range(max(1, OBJECTS // 10))}
    result = {'victim': victim_name, 'k': k, 'phase': phase,
              'killed': proxy.count >= k, 'presses': presses,
              'seconds': seconds,
              'converged': master_xml == client_xml
              and set(master_xml) == expected}
    RESULTS.append(result)
    if os.environ.get('FAULT_RESULTS'):
        with open(os.environ['FAULT_RESULTS'], 'a') as out:
            out.write(json.dumps(result) + '\n')
    assert result['killed'], 'the sync ended before request %d' % k
    assert set(master_xml) == expected, sorted(set(master_xml) ^ expected)[:10]
    assert set(client_xml) == expected, sorted(set(client_xml) ^ expected)[:10]
    diff = [i for i in expected if master_xml[i] != client_xml[i]]
    assert not diff, 'asXML differs for %s' % sorted(diff)[:10]
    return result


@pytest.mark.parametrize('index', range(TRIALS))
def test_kill_client(cluster, index):
    run_trial(cluster, 'client', index)


@pytest.mark.parametrize('index', range(TRIALS))
def test_kill_master(cluster, index):
    run_trial(cluster, 'master', index)
