"""The client's database disk fills up during a sync, then space returns.

The client's ZEO FileStorage lives on a small tmpfs (mounted by the test:
it needs root, and is skipped otherwise). At a seeded request of the
first sync the test fills the filesystem to the last byte: the client's
commits fail (ENOSPC in the storage). Some seconds later the filler is
removed and, as a scheduled job would, Sync is pressed until a session
finishes. Checked: both sites hold the same objects with the same XML,
nothing lost or duplicated.
"""
import os
import random
import subprocess
import time
from pathlib import Path

import pytest

from cluster import Cluster
from test_kill import press_sync
from test_messages import RESULTS
from test_messages import SEED
from test_messages import TRIALS
from test_messages import Trial

pytestmark = pytest.mark.faults

SIZE_MB = 256
FULL_FOR = 8   # seconds the disk stays full


def _mount(path):
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip('mounting a small filesystem needs root')
    done = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%dm' % SIZE_MB,
                           'tmpfs', str(path)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip('cannot mount a tmpfs here: %s' % done.stderr.strip())


@pytest.fixture(scope='module')
def small_cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp('diskfull')
    zeo_dir = Path(base) / 'client' / 'zeo'
    _mount(zeo_dir)
    cluster = Cluster(base)
    try:
        cluster.start()
        yield cluster, zeo_dir
    finally:
        cluster.stop()
        subprocess.run(['umount', '-l', str(zeo_dir)], check=False)
        rows = [r for r in RESULTS if r['fault'] == 'disk full']
        if rows:
            print('\ndisk full trials %d, converged %d, lost %d, duplicated %d, '
                  'Sync presses %d, longest %.1f s'
                  % (len(rows), sum(r['converged'] for r in rows),
                     sum(r['lost'] for r in rows),
                     sum(r['duplicated'] for r in rows),
                     sum(r['presses'] for r in rows),
                     max(r['seconds'] for r in rows)))


def fill(directory):
    """Write a file until the filesystem is full; returns its path."""
    filler = directory / 'filler'
    chunk = b'\0' * (1 << 16)
    with open(filler, 'wb', buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        try:
            while True:
                f.write(b'\0')
        except OSError:
            pass
    return filler


@pytest.mark.parametrize('index', range(TRIALS))
def test_disk_full_during_a_sync_then_space_returns(small_cluster, index):
    cluster, zeo_dir = small_cluster
    rng = random.Random('%s-disk-%d' % (SEED, index))
    k = rng.randint(2, 4)
    state = {}

    def fill_disk():
        state['filler'] = fill(zeo_dir)
        state['filled_at'] = time.monotonic()

    with Trial(cluster, 'disk%d' % index, hooks={(k, 'request'): fill_disk}) as trial:
        started = time.monotonic()
        press_sync(trial.client, trial.c_site, trial.pub)
        while 'filler' not in state:
            assert time.monotonic() - started < 120, 'the sync never reached request %d' % k
            time.sleep(0.2)
        statvfs = os.statvfs(zeo_dir)
        assert statvfs.f_bavail * statvfs.f_frsize < 64 * 1024
        time.sleep(FULL_FOR)
        state['filler'].unlink()
        seconds = time.monotonic() - started + trial.sync()
        seconds += trial.sync()
    trial.check('disk full', seconds, 1)
