"""portal_activities driven over real HTTP, as the tic loop drives it."""
from pathlib import Path

import pytest

if not (Path(__file__).parent.parent / 'zopeserver.py').exists():
    pytest.skip('tests/zopeserver.py is not available',
                allow_module_level=True)

from OFS.Folder import manage_addFolder  # noqa: E402

from Products.CMFActivity import activate  # noqa: E402
from Products.CMFActivity.ActivityTool import manage_addActivityTool  # noqa: E402


def _site_factory_available():
    try:
        import Products.ERP5SyncML.site.factory  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def site_id(zope):
    """A site with a portal_activities tool and a 'target' folder."""
    site_id = zope.new_site_id('activities')
    if _site_factory_available():
        zope.add_site(site_id)
    else:
        with zope.app() as app:
            manage_addFolder(app, site_id)
    with zope.app() as app:
        site = app[site_id]
        if 'portal_activities' not in site.objectIds():
            manage_addActivityTool(site)
        manage_addFolder(site, 'target', title='before')
    return site_id


def _get(zope, url, auth=True):
    status, headers, body = zope.http('GET', url, auth=auth)
    return status, body.decode('utf-8', 'replace')


def test_distribute_and_tic_urls_process_a_message(zope, site_id):
    with zope.app() as app:
        target = app[site_id].target
        activate(target, activity='SQLQueue').manage_changeProperties(
            title='set by tic')
    tool_url = f'/{site_id}/portal_activities'

    status, body = _get(zope, f'{tool_url}/distribute?node_count:int=1')
    assert status == 200
    assert body == '1 messages distributed to 1 node(s)'
    status, body = _get(zope, f'{tool_url}/tic?processing_node:int=1')
    assert status == 200
    assert body == '1 messages processed, 0 failed'

    assert _get(zope, f'/{site_id}/target/title_or_id') == (200, 'set by tic')
    with zope.app() as app:
        assert app[site_id].portal_activities.countMessage() == 0
    # nothing left: a second round is a no-op
    assert _get(zope, f'{tool_url}/tic?processing_node:int=1') == (
        200, '0 messages processed, 0 failed')


def test_only_managers_may_tic(zope, site_id):
    with zope.app() as app:
        activate(app[site_id].target, activity='SQLQueue').manage_changeProperties(
            title='must wait')
    zope.add_user('activity_member', 'member-pw', ['Member'])
    tool_url = f'/{site_id}/portal_activities'
    for url in (f'{tool_url}/distribute?node_count:int=1',
                f'{tool_url}/tic?processing_node:int=1',
                f'{tool_url}/manageActivities'):
        assert _get(zope, url, auth=None)[0] == 401
        assert _get(zope, url, auth=('activity_member', 'member-pw'))[0] == 401
    with zope.app() as app:
        assert app[site_id].portal_activities.countMessage() == 1
        assert app[site_id].target.title == 'before'


def test_failure_goes_to_error_state_and_shows_in_zmi(zope, site_id):
    import synchelpers
    with zope.app() as app:
        tool = app[site_id].portal_activities
        tool.max_retries = 1
        activate(app[site_id].target, activity='SQLQueue').manage_delObjects(
            ['no_such_object'])
    tool_url = f'/{site_id}/portal_activities'
    _get(zope, f'{tool_url}/distribute?node_count:int=1')
    assert _get(zope, f'{tool_url}/tic?processing_node:int=1') == (
        200, '0 messages processed, 1 failed')
    with zope.app() as app:
        [message] = app[site_id].portal_activities.getFailedMessageList()
        assert 'no_such_object' in message.error
        uid = message.uid

    status, body = _get(zope, f'{tool_url}/manageActivities')
    assert status == 200
    assert 'manage_delObjects' in body and 'no_such_object' in body

    # cancel it from the ZMI form
    status, headers, _ = zope.http(
        'POST', f'{tool_url}/manage_messages', data={'cancel:int': str(uid), '_authenticator': synchelpers.csrf_token(
            zope, site_id, 'portal_activities')})
    assert status == 302
    with zope.app() as app:
        assert app[site_id].portal_activities.countMessage() == 0


RECORD_USER = """\
from AccessControl import getSecurityManager
context.target.manage_changeProperties(
    title=getSecurityManager().getUser().getId())
"""


def _queue_record_user(zope, site_id, user):
    from AccessControl.SecurityManagement import newSecurityManager
    from Products.PythonScripts.PythonScript import manage_addPythonScript
    with zope.app() as app:
        site = app[site_id]
        if 'record_user' not in site.objectIds():
            manage_addPythonScript(site, 'record_user')
            site.record_user.ZPythonScript_edit('', RECORD_USER)
        uf = app.acl_users
        newSecurityManager(None, uf.getUserById(user).__of__(uf))
        activate(site, activity='SQLQueue').record_user()


def test_message_runs_as_the_user_who_queued_it(zope, site_id):
    """The queued Python Script runs with the queuing user's permissions."""
    zope.add_user('activity_owner', 'owner-pw', ['Manager'])
    zope.add_user('activity_guest', 'guest-pw', ['Member'])
    tool_url = f'/{site_id}/portal_activities'
    with zope.app() as app:
        app[site_id].portal_activities.max_retries = 1

    _queue_record_user(zope, site_id, 'activity_owner')
    _get(zope, f'{tool_url}/distribute?node_count:int=1')
    assert _get(zope, f'{tool_url}/tic?processing_node:int=1') == (
        200, '1 messages processed, 0 failed')
    assert _get(zope, f'/{site_id}/target/title_or_id') == (
        200, 'activity_owner')

    # a Member may not change properties: the same call fails for them
    _queue_record_user(zope, site_id, 'activity_guest')
    _get(zope, f'{tool_url}/distribute?node_count:int=1')
    assert _get(zope, f'{tool_url}/tic?processing_node:int=1') == (
        200, '0 messages processed, 1 failed')
    with zope.app() as app:
        [message] = app[site_id].portal_activities.getFailedMessageList()
        assert 'Unauthorized' in message.error
        assert app[site_id].target.title == 'activity_owner'


def test_zmi_add_menu_creates_the_tool(zope):
    folder_id = zope.new_site_id('activities_add')
    with zope.app() as app:
        manage_addFolder(app, folder_id)
    status, body = _get(zope, f'/{folder_id}/manage_main')
    assert status == 200 and 'CMF Activity Tool' in body
    status, headers, _ = zope.http(
        'POST', f'/{folder_id}/manage_addProduct/CMFActivity/'
                'manage_addActivityTool')
    assert status == 302
    with zope.app() as app:
        tool = app[folder_id].portal_activities
        assert tool.meta_type == 'CMF Activity Tool'
        # activate() was installed on every OFS item at start-up
        app[folder_id].activate(activity='SQLQueue').manage_changeProperties(
            title='via method')
    assert _get(zope, f'/{folder_id}/portal_activities/distribute'
                      '?node_count:int=1')[0] == 200
    _get(zope, f'/{folder_id}/portal_activities/tic?processing_node:int=1')
    assert _get(zope, f'/{folder_id}/title_or_id') == (200, 'via method')


# -- a Zope process killed while it runs a message ----------------------------

class _BlackHole:
    """A TCP server that accepts connections and never answers: an HTTP
    send to it blocks, so the sending activity keeps its claim."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.accepted = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.sock.getsockname()[1]

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def close(self):
        for conn in self.conns:
            conn.close()
        self.sock.close()


def _get_url(url, auth):
    import base64
    import urllib.request
    token = base64.b64encode(('%s:%s' % auth).encode()).decode()
    request = urllib.request.Request(
        url, headers={'Authorization': 'Basic ' + token})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read()


def _start_second_zope(zope, path):
    from scripts import instance
    inst = instance.write_instance(path, instance.free_port(),
                                   zeo=zope.zeo.address)
    return inst, instance.start_zope(inst)


def test_a_killed_process_does_not_block_its_serialization_tag(zope, tmp_path):
    """kill -9 of a Zope process while its activity sends a sync message;
    after a restart the queue completes with no manual retry."""
    import signal
    import threading

    import synchelpers
    from zope.component.hooks import setSite
    from scripts import instance

    pair = synchelpers.make_sites(zope)
    with zope.app() as app:
        synchelpers.add_person(app, pair.master, 'p1', title='from master')
    hole = _BlackHole()
    inst, second = _start_second_zope(zope, tmp_path / 'second')
    try:
        with zope.app() as app:
            tool = app[pair.client].portal_synchronizations
            real_url = tool.getSubscription(pair.pub_id).publication_url
            setSite(app[pair.client])
            tool.manage_editSubscription(pair.pub_id,
                                         publication_url=hole.url + '/x')
            tool.manage_syncSubscription(pair.pub_id)
            setSite(None)
        queue = f'{second.url}/{pair.client}/portal_activities'
        auth = (zope.user, zope.password)

        def tic_on_second():
            for call in ('distribute?node_count:int=1',
                         'tic?processing_node:int=1'):
                try:
                    _get_url(f'{queue}/{call}', auth)
                except OSError:
                    return   # killed meanwhile
        ticker = threading.Thread(target=tic_on_second, daemon=True)
        ticker.start()
        assert hole.accepted.wait(60), 'the second Zope never sent the message'
        with zope.app() as app:
            [held] = [m for m in app[pair.client].portal_activities.getMessageList()
                      if m.method_id == 'sendSyncMessage']
            assert held.processing
            assert held.claimed_by.split(':')[1] == str(second.proc.pid)
            setSite(app[pair.client])
            app[pair.client].portal_synchronizations.manage_editSubscription(
                pair.pub_id, publication_url=real_url)
            setSite(None)

        second.proc.send_signal(signal.SIGKILL)
        second.proc.wait(30)
        ticker.join(30)
        second = instance.start_zope(inst)   # the restart

        # the restarted process runs the client's queue: no Retry, no Sync
        # pressed again
        for _ in range(60):
            for base, site_id in ((second.url, pair.client),
                                  (zope.url, pair.master)):
                for call in ('distribute?node_count:int=1',
                             'tic?processing_node:int=1'):
                    _get_url(f'{base}/{site_id}/portal_activities/{call}', auth)
            report = synchelpers.subscription_report(pair, pair.client)
            if report['status'] in ('finished', 'failed'):
                break
        assert report['status'] == 'finished', report
        with zope.app() as app:
            assert synchelpers.folder_xml(app, pair.client) == \
                synchelpers.folder_xml(app, pair.master)
            assert app[pair.client].portal_activities.countMessage() == 0
    finally:
        hole.close()
        second.stop()
