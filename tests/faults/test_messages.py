"""Lost, duplicated, delayed and reordered messages; a stale message
replayed; edits made on both sites while a sync runs.

Each trial: a fresh master site with N objects, a client site with N/10,
messages through a FaultProxy, a tic loop per Zope process, Sync pressed
on the client. Nobody presses Retry; Sync is pressed again only as a
scheduled job would (the session failed, or made no progress for a while).
Checked on every trial: both sites hold exactly the expected objects with
the same asXML (nothing lost, nothing duplicated), with the values of the
last edits, and no conflict.

FAULT_TRIALS (trials per fault, default 1) and FAULT_MESSAGE_OBJECTS
(default 60) size the run; ``make test-faults`` runs 20 of each.
"""
import base64
import json
import os
import random
import time
import urllib.error
import urllib.request

import pytest

from cluster import Cluster
from proxy import FaultProxy
from test_kill import press_sync
from test_kill import report

pytestmark = pytest.mark.faults

TRIALS = int(os.environ.get('FAULT_TRIALS', '1'))
OBJECTS = int(os.environ.get('FAULT_MESSAGE_OBJECTS', '60'))
SEED = int(os.environ.get('FAULT_SEED', '20240610'))
PER_MESSAGE = max(5, OBJECTS // 10)
FAULT_RATE = 0.25
MAX_FAULTS = 6         # per trial: bounded whatever the draw
STUCK_AFTER = 20       # s without progress: a scheduled Sync
DEADLINE = 300         # s for one trial to converge
ACTIONS = ('drop_request', 'drop_response', 'duplicate', 'delay:1', 'reorder')
SHORT = {'drop_request': 'dreq', 'drop_response': 'dresp', 'duplicate': 'dup',
         'delay:1': 'delay', 'reorder': 'reord'}
RESULTS = []


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp('messages')).start()
    yield cluster
    cluster.stop()
    if RESULTS:
        print('\nmessage fault trials:')
        for fault in sorted({r['fault'] for r in RESULTS}):
            rows = [r for r in RESULTS if r['fault'] == fault]
            print('  %-14s trials %d, converged %d, without manual action %d, '
                  'faults injected %d, lost %d, duplicated %d, longest %.1f s'
                  % (fault, len(rows), sum(r['converged'] for r in rows),
                     sum(r['converged'] and not r['presses'] for r in rows),
                     sum(r['faults'] for r in rows),
                     sum(r['lost'] for r in rows),
                     sum(r['duplicated'] for r in rows),
                     max(r['seconds'] for r in rows)))


class Trial:
    """Two sites, a publication and a subscription through a proxy."""

    def __init__(self, cluster, tag, plan=None, hooks=None, keep_bodies=False):
        self.cluster = cluster
        self.master, self.client = cluster.master, cluster.client
        self.m_site, self.c_site, self.pub = 'm_' + tag, 'c_' + tag, 'P_' + tag
        self.proxy = FaultProxy(('127.0.0.1', self.master.inst.port),
                                plan=plan, hooks=hooks, lifetime=DEADLINE * 3,
                                keep_bodies=keep_bodies)
        self.loops = []
        self.presses = 0

    def __enter__(self):
        master, client = self.master, self.client
        master.call('add_site', site_id=self.m_site)
        master.call('add_people', site_id=self.m_site, prefix='m', count=OBJECTS)
        client.call('add_site', site_id=self.c_site)
        client.call('add_people', site_id=self.c_site, prefix='c',
                    count=max(1, OBJECTS // 10))
        self.proxy.start()
        pub_url = '%s/%s' % (self.proxy.url, self.m_site)
        master.call('add_publication', site_id=self.m_site, pub_id=self.pub,
                    url=pub_url, max_objects=PER_MESSAGE)
        client.call('add_subscription', site_id=self.c_site, pub_id=self.pub,
                    publication_url=pub_url,
                    subscription_url='%s/%s/%s' % (client.url, self.c_site, self.pub),
                    login='manager', password=self.cluster.password,
                    max_objects=PER_MESSAGE)
        self.loops = [self.cluster.tic_loop(master, self.m_site),
                      self.cluster.tic_loop(client, self.c_site)]
        return self

    def __exit__(self, *exc):
        for loop in self.loops:
            loop.terminate()
            loop.wait(20)
        self.proxy.stop()

    def status(self):
        return report(self.client, self.c_site, self.pub)

    def sync(self):
        """Press Sync and wait until a session finished; seconds taken."""
        started = time.monotonic()
        before = self.status()
        press_sync(self.client, self.c_site, self.pub)
        last, last_change = None, time.monotonic()
        while True:
            now = time.monotonic()
            state = self.status()
            assert now - started < DEADLINE, 'no convergence: %r' % (state,)
            if state is not None and state != last:
                last, last_change = state, now
            if state is not None and state != before and \
                    state.get('status') == 'finished':
                return now - started
            if state is not None and (state.get('status') == 'failed' or
                                      now - last_change > STUCK_AFTER):
                press_sync(self.client, self.c_site, self.pub)
                self.presses += 1
                last_change = now
            time.sleep(0.2)

    def check(self, fault, seconds, faults, titles=None):
        master_xml = self.master.call('dump', site_id=self.m_site)
        client_xml = self.client.call('dump', site_id=self.c_site)
        expected = {'m%d' % i for i in range(OBJECTS)} | \
                   {'c%d' % i for i in range(max(1, OBJECTS // 10))}
        found = set(master_xml) | set(client_xml)
        result = {
            'fault': fault, 'seconds': seconds, 'presses': self.presses,
            'faults': faults,
            'lost': len(expected - set(master_xml)) + len(expected - set(client_xml)),
            'duplicated': len(found - expected),
            'converged': master_xml == client_xml and set(master_xml) == expected,
        }
        RESULTS.append(result)
        if os.environ.get('FAULT_RESULTS'):
            # one line per trial, so that the figures of a run cut short remain
            with open(os.environ['FAULT_RESULTS'], 'a') as out:
                out.write(json.dumps(result) + '\n')
        assert set(master_xml) == expected, sorted(set(master_xml) ^ expected)[:10]
        assert set(client_xml) == expected, sorted(set(client_xml) ^ expected)[:10]
        diff = [i for i in expected if master_xml[i] != client_xml[i]]
        assert not diff, 'asXML differs for %s' % sorted(diff)[:10]
        for object_id, title in (titles or {}).items():
            assert '>%s<' % title in master_xml[object_id], object_id
        assert self.master.call('conflicts', site_id=self.m_site) == 0
        assert self.client.call('conflicts', site_id=self.c_site) == 0
        return result


def _faulty_plan(action, rng):
    injected = []

    def plan(n):
        if len(injected) < MAX_FAULTS and rng.random() < FAULT_RATE:
            injected.append(n)
            return action
        return 'forward'
    return plan, injected


@pytest.mark.parametrize('index', range(TRIALS))
@pytest.mark.parametrize('action', ACTIONS)
def test_proxy_faults(cluster, action, index):
    rng = random.Random('%s-%s-%d' % (SEED, action, index))
    plan, injected = _faulty_plan(action, rng)
    tag = '%s%d' % (SHORT[action], index)
    with Trial(cluster, tag, plan=plan) as trial:
        seconds = trial.sync()
        # a second session finds nothing left to do
        seconds += trial.sync()
    trial.check(action, seconds, len(injected))


@pytest.mark.parametrize('index', range(TRIALS))
def test_stale_messages_replayed(cluster, index):
    with Trial(cluster, 'stale%d' % index, keep_bodies=True) as trial:
        seconds = trial.sync()
        first_session = list(trial.proxy.bodies)
        seconds += trial.sync()
        rng = random.Random('%s-stale-%d' % (SEED, index))
        replayed = rng.sample(first_session, len(first_session))
        for body in replayed:
            code = _post(cluster, trial.master, trial.m_site, body)
            assert code in (200, 400), code
        seconds += trial.sync()
        after = trial.status()
    assert after['counts'].get('received_add', 0) == 0, after
    assert after['counts'].get('sent_add', 0) == 0, after
    trial.check('stale replay', seconds, len(replayed))


@pytest.mark.parametrize('index', range(TRIALS))
def test_concurrent_edits_during_a_sync(cluster, index):
    rng = random.Random('%s-edits-%d' % (SEED, index))
    master_ids = rng.sample(['m%d' % i for i in range(OBJECTS)], 5)
    client_ids = rng.sample(['c%d' % i for i in range(max(1, OBJECTS // 10))],
                            min(3, max(1, OBJECTS // 10)))
    titles = {}
    holder = {}

    def edit():
        trial = holder['trial']
        text_m, text_c = 'master edit %d' % index, 'client edit %d' % index
        trial.master.call('edit_titles', site_id=trial.m_site, ids=master_ids,
                          text=text_m)
        trial.client.call('edit_titles', site_id=trial.c_site, ids=client_ids,
                          text=text_c)
        titles.update({i: text_m for i in master_ids})
        titles.update({i: text_c for i in client_ids})

    k = rng.randint(2, 4)
    with Trial(cluster, 'edits%d' % index, hooks={(k, 'request'): edit}) as trial:
        holder['trial'] = trial
        seconds = trial.sync()
        assert titles, 'the edits were not made during the sync'
        # the next scheduled syncs carry what was edited meanwhile
        seconds += trial.sync()
        seconds += trial.sync()
    trial.check('concurrent edits', seconds, 1, titles=titles)


def _post(cluster, node, site_id, body):
    token = base64.b64encode(('manager:%s' % cluster.password).encode()).decode()
    request = urllib.request.Request(
        '%s/%s/portal_synchronizations/readResponse' % (node.url, site_id),
        data=body, headers={'Authorization': 'Basic ' + token,
                            'Content-Type': 'application/vnd.syncml+xml'})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
