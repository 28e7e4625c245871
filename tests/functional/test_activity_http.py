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
        'POST', f'{tool_url}/manage_messages', data={'cancel:int': str(uid)})
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
