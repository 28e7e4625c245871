"""The Overview's data over HTTP (@@sync-status), Sync all and the schedule
(POST + CSRF token), scheduled and after-change syncs through the activity
queue, getConflictList(obj) and the client's conflict rows."""
import json
import re

import pytest
import transaction
from zope.component.hooks import setSite

from Products.CMFActivity import csrf
from Products.ERP5SyncML.domain import schedule

from synchelpers import FOLDER
from synchelpers import add_person
from synchelpers import edit_person
from synchelpers import make_sites
from synchelpers import sync

pytestmark = pytest.mark.functional


def tool_path(site_id, view=''):
    return '/%s/portal_synchronizations/%s' % (site_id, view)


def token(zope, site_id):
    with zope.app() as app:
        return csrf.token(app[site_id].portal_synchronizations)


def scheduled(app, site_id):
    return app[site_id].portal_activities.getMessageList(method_id='runScheduledSync')


def test_status_json_follows_a_sync(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        setSite(app[pair.master])
        for i in range(3):
            add_person(app, pair.master, 'p%d' % i, first_name='P%d' % i)
        setSite(None)
    status, headers, body = zope.http('GET', tool_path(pair.client, '@@sync-status'))
    assert status == 200 and headers['content-type'].startswith('application/json')
    (row,) = json.loads(body)['domains']
    assert (row['kind'], row['id'], row['state']) == ('subscription', pair.pub_id, 'never run')
    assert (row['done'], row['total']) == (0, 0)
    sync(pair)
    data = json.loads(zope.http('GET', tool_path(pair.client, '@@sync-status'))[2])
    (row,) = data['domains']
    assert row['state'] == 'finished' and (row['done'], row['total']) == (3, 3)
    assert row['objects'] == 3 and row['last_sync'] and row['conflicts'] == 0
    assert data['queue']['waiting'] == 0 and data['queue']['stale'] is False
    master = json.loads(zope.http('GET', tool_path(pair.master, '@@sync-status'))[2])
    (row,) = master['domains']
    assert row['kind'] == 'subscriber' and row['publication'] == pair.pub_id
    assert (row['done'], row['total']) == (3, 3)
    # anonymous users see nothing
    assert zope.http('GET', tool_path(pair.client, '@@sync-status'), auth=None)[0] == 401


def test_sync_all_and_schedule_need_a_post_with_the_token(zope):
    pair = make_sites(zope)
    for view, data in (('@@sync-all', {}),
                       ('@@sync-schedule', {'id': pair.pub_id, 'interval': '5'})):
        assert zope.http('GET', tool_path(pair.client, view), data)[0] == 403
        assert zope.http('POST', tool_path(pair.client, view),
                         dict(data, _authenticator='forged'))[0] == 403
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.session is None and schedule.interval(sub) == 0
        assert scheduled(app, pair.client) == []
    status, headers, _ = zope.http('POST', tool_path(pair.client, '@@sync-all'),
                                   {'_authenticator': token(zope, pair.client)})
    assert status == 302 and 'manage_overview' in headers['location']
    with zope.app() as app:
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert sub.session is not None and not sub.session.finished


def test_periodic_schedule_runs_from_the_activity_queue(zope):
    pair = make_sites(zope)
    status, _, body = zope.http('POST', tool_path(pair.client, '@@sync-schedule'), {
        'id': pair.pub_id, 'interval': 'ten', '_authenticator': token(zope, pair.client)})
    assert status == 400 and b'whole number of minutes' in body
    status, headers, _ = zope.http('POST', tool_path(pair.client, '@@sync-schedule'), {
        'id': pair.pub_id, 'interval': '10', '_authenticator': token(zope, pair.client)})
    assert status == 302 and 'every%2010%20minutes' in headers['location']
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        sub = tool.getSubscription(pair.pub_id)
        planned = schedule.next_sync(sub)
        (message,) = scheduled(app, pair.client)
        assert message.args == (pair.pub_id, planned)
        # the activity runs when it is due: here, called as the queue would
        assert tool.runScheduledSync(pair.pub_id, planned) is None
        assert sub.session is not None and not sub.session.finished
        assert schedule.next_sync(sub) > planned - 1  # the next one is planned
        # an outdated run (replaced by another plan) does nothing
        session = sub.session
        assert schedule.run(tool, pair.pub_id, planned) is False
        assert sub.session is session
        # a due run while that session runs starts nothing...
        due = schedule.next_sync(sub)
        assert schedule.run(tool, pair.pub_id, due, now=due) is False
        assert sub.session is session and not session.finished
        # ...unless the session made no progress for too long: replaced
        schedule.plan(sub, due)
        later = due + 24 * 3600
        assert schedule.run(tool, pair.pub_id, due, now=later) is True
        assert session.failed and 'no progress' in session.error
        assert sub.session is not session and not sub.session.finished


def test_local_changes_plan_one_debounced_sync(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        tool = app[pair.client].portal_synchronizations
        schedule.configure(tool.getSubscription(pair.pub_id), 0, True)
        setSite(app[pair.client])
        add_person(app, pair.client, 'a', first_name='A')
        setSite(None)
    with zope.app() as app:
        setSite(app[pair.client])
        edit_person(app, pair.client, 'a', first_name='B')
        add_person(app, pair.client, 'b', first_name='C')
        setSite(None)
    with zope.app() as app:
        (message,) = scheduled(app, pair.client)
        sub = app[pair.client].portal_synchronizations.getSubscription(pair.pub_id)
        assert message.args == (pair.pub_id, schedule.next_sync(sub))
        # a change applied by a sync is not a local change: the master plans nothing
        assert scheduled(app, pair.master) == []


def test_conflicts_of_an_object_and_of_its_subtree(zope):
    pair = make_sites(zope)
    with zope.app() as app:
        setSite(app[pair.master])
        add_person(app, pair.master, 'parent', first_name='P')
        add_person(app, pair.master, 'child', ('parent',), first_name='C')
        setSite(None)
    sync(pair)
    with zope.app() as app:
        for site_id, value in ((pair.master, 'M'), (pair.client, 'K')):
            setSite(app[site_id])
            edit_person(app, site_id, 'parent/child', first_name=value)
        setSite(None)
    sync(pair)
    with zope.app() as app:
        setSite(app[pair.master])
        tool = app[pair.master].portal_synchronizations
        parent = app[pair.master][FOLDER]['parent']
        assert tool.getConflictList(parent) == []
        assert len(tool.getConflictList(parent, subtree=True)) == 1
        assert len(tool.getConflictList(parent['child'])) == 1
        setSite(app[pair.client])
        client_tool = app[pair.client].portal_synchronizations
        rows = client_tool.restrictedTraverse('@@sync-status').client_conflicts()
        count = client_tool.getSubscription(pair.pub_id).getConflictCount()
        assert count >= 1 and len(rows) == count
        setSite(None)
    body = zope.http('GET', tool_path(pair.client, 'manageConflicts'))[2].decode()
    assert len(re.findall(r'<tr>\s*<td>%s</td>' % pair.pub_id, body)) == count
    transaction.abort()


def test_settings_form_checks_keeps_values_and_confirms(zope):
    pair = make_sites(zope)
    form = tool_path(pair.master, '@@sync-form')
    tok = token(zope, pair.master)
    bad = {'kind': 'publication', 'new_id': 'Other', 'action': 'save',
           'publication_url': 'gopher://x', 'destination_path': '/nowhere',
           'max_objects': '-3', '_authenticator': tok}
    assert zope.http('POST', form, dict(bad, _authenticator='forged'))[0] == 403
    assert zope.http('GET', form, bad)[0] == 403
    status, _, body = zope.http('POST', form, bad)
    body = body.decode()
    assert status == 200 and 'Nothing was saved' in body
    assert 'unsupported address' in body and 'no such folder: /nowhere' in body
    assert 'a positive number, please' in body
    assert 'value="gopher://x"' in body and 'value="Other"' in body
    with zope.app() as app:
        assert app[pair.master].portal_synchronizations.getPublication('Other') is None
    # Delete asks first
    delete = {'kind': 'publication', 'id': pair.pub_id, 'action': 'delete',
              '_authenticator': tok}
    status, _, body = zope.http('POST', form, delete)
    assert status == 200 and 'confirm-box' in body.decode()
    with zope.app() as app:
        assert app[pair.master].portal_synchronizations.getPublication(pair.pub_id)
    status, headers, _ = zope.http('POST', form, dict(delete, confirmed='yes'))
    assert status == 302 and 'deleted' in headers['location']
    with zope.app() as app:
        assert app[pair.master].portal_synchronizations.getPublication(pair.pub_id) is None
