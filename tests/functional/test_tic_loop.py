"""zope_tic_loop --once runs the activities queued on a real site, over HTTP."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

LOOP = Path(__file__).resolve().parents[2] / 'zope_tic_loop'


@pytest.fixture(scope='module')
def sites(zope):
    return zope.add_site(zope.new_site_id('tic')), zope.add_site(zope.new_site_id('tic'))


def run_loop(zope, *site_ids, password=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith('ZOPE_')}
    env['ZOPE_PASSWORD'] = zope.password if password is None else password
    return subprocess.run(
        [sys.executable, str(LOOP), '--once', '--url', zope.url, '--user', zope.user,
         *site_ids], env=env, capture_output=True, text=True, timeout=120)


def queue_title_change(zope, site_id, title):
    with zope.app() as app:
        person = app[site_id].portal_repository.p1
        person.activate().manage_changeProperties(title=title)
    with zope.app() as app:
        assert app[site_id].portal_activities.countMessage() == 1
        assert app[site_id].portal_repository.p1.title != title


def test_loop_processes_queued_activity(zope, sites):
    first, second = sites
    queue_title_change(zope, first, 'set by the tic loop')
    queue_title_change(zope, second, 'set on the second site')

    result = run_loop(zope, first, second)

    assert result.returncode == 0, result.stderr
    assert result.stderr.count(' 200 ') == 4, result.stderr
    assert zope.password not in result.stderr + result.stdout
    with zope.app() as app:
        for site_id, title in ((first, 'set by the tic loop'),
                               (second, 'set on the second site')):
            assert app[site_id].portal_repository.p1.title == title
            assert app[site_id].portal_activities.countMessage() == 0


def test_loop_with_wrong_password_processes_nothing(zope, sites):
    first, _ = sites
    queue_title_change(zope, first, 'not yet')

    result = run_loop(zope, first, password='wrong')

    assert result.returncode == 1  # --once reports the failed calls
    assert result.stderr.count(' 401 ') == 2, result.stderr
    with zope.app() as app:
        assert app[first].portal_activities.countMessage() == 1
        assert app[first].portal_repository.p1.title != 'not yet'
    assert run_loop(zope, first).returncode == 0  # clean up for other tests
    with zope.app() as app:
        assert app[first].portal_repository.p1.title == 'not yet'


def test_the_tool_shows_when_the_queue_last_ran(zope):
    site_id = zope.add_site(zope.new_site_id('tic'))
    with zope.app() as app:
        health = app[site_id].portal_activities.getQueueHealth()
    assert health['last_tic'] is None and health['stale']
    status, _h, body = zope.http('GET', f'/{site_id}/portal_activities/manageActivities')
    assert status == 200 and b'is the tic loop' in body

    assert run_loop(zope, site_id).returncode == 0

    with zope.app() as app:
        health = app[site_id].portal_activities.getQueueHealth()
    assert health['last_tic'] is not None and not health['stale']
    assert health['last_distribute'] is not None
    status, _h, body = zope.http('GET', f'/{site_id}/portal_activities/manageActivities')
    assert status == 200 and b'Last tic:' in body
    assert b'is the tic loop' not in body


def test_queue_information_is_not_public(zope):
    site_id = zope.add_site(zope.new_site_id('tic'))
    for method in ('getQueueHealth', 'countMessage', 'hasActivity',
                   'getMessageInfoList'):
        status, _h, _b = zope.http(
            'GET', f'/{site_id}/portal_activities/{method}', auth=False)
        assert status == 401, method
    status, _h, body = zope.http('GET', f'/{site_id}/portal_activities/getQueueHealth')
    assert status == 200 and b'stale' in body
