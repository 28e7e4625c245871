"""The session server answers over HTTP and shares its ZODB with pytest (ZEO)."""
import re

from OFS.Folder import manage_addFolder


def test_server_answers(zope):
    status, headers, body = zope.http('GET', '/')
    assert status == 200
    assert zope.url.startswith('http://127.0.0.1:')


def test_manage_main_needs_manager(zope):
    assert zope.http('GET', '/manage_main', auth=None)[0] == 401
    assert zope.http('GET', '/manage_main', auth=(zope.user, 'wrong'))[0] == 401
    status, _, body = zope.http('GET', '/manage_main')
    assert status == 200
    assert b'acl_users' in body


def test_added_user_can_log_in(zope):
    zope.add_user('viewer', 'secret-1', ['Member'])
    assert zope.http('GET', '/manage_main', auth=('viewer', 'secret-1'))[0] == 401
    status, _, body = zope.http('GET', '/acl_users/getId', auth=('viewer', 'secret-1'))
    assert (status, body) == (200, b'acl_users')


def test_object_created_in_process_is_served(zope):
    folder_id = zope.new_site_id('folder')
    with zope.app() as app:
        manage_addFolder(app, folder_id, title='made in pytest')
    status, _, body = zope.http('GET', f'/{folder_id}/title_or_id')
    assert (status, body) == (200, b'made in pytest')


def test_object_created_over_http_is_seen_in_process(zope):
    folder_id = zope.new_site_id('folder')
    status, headers, _ = zope.http(
        'POST', '/manage_addProduct/OFSP/manage_addFolder',
        data={'id': folder_id, 'title': 'made over HTTP'})
    assert status in (200, 302)
    with zope.app() as app:
        assert app[folder_id].title == 'made over HTTP'


def test_change_in_process_visible_over_http_at_once(zope):
    folder_id = zope.new_site_id('folder')
    with zope.app() as app:
        manage_addFolder(app, folder_id, title='v1')
    assert zope.http('GET', f'/{folder_id}/title_or_id')[2] == b'v1'
    with zope.app() as app:
        app[folder_id].title = 'v2'
    assert zope.http('GET', f'/{folder_id}/title_or_id')[2] == b'v2'


def test_app_aborts_on_exception(zope):
    folder_id = zope.new_site_id('folder')
    try:
        with zope.app() as app:
            manage_addFolder(app, folder_id)
            raise RuntimeError('boom')
    except RuntimeError:
        pass
    with zope.app() as app:
        assert folder_id not in app.objectIds()
    assert zope.http('GET', f'/{folder_id}/getId')[0] == 404


def test_app_fixture_is_logged_in_manager(zope, app):
    from AccessControl import getSecurityManager
    user = getSecurityManager().getUser()
    assert user.getId() == zope.user
    assert 'Manager' in user.getRolesInContext(app)
    assert app.REQUEST is not None


def test_products_are_loaded_in_both_processes(zope, app):
    from OFS.Application import get_products
    names = {name for _, name, _, _ in get_products()}
    assert {'ERP5SyncML', 'CMFActivity'} <= names
    # Whatever our products let a Manager add at the root in-process, the
    # server offers too: it loaded the same products.
    ours = {mt['name'] for mt in app.filtered_meta_types()
            if mt.get('product') in ('ERP5SyncML', 'CMFActivity', 'CMFMailIn')}
    assert ours
    status, _, body = zope.http('GET', '/manage_main')
    assert status == 200
    offered = set(re.findall(r'<option[^>]*>([^<]+)</option>', body.decode()))
    assert ours <= offered


def test_in_process_site_finds_its_local_utilities(zope):
    from Acquisition import aq_base
    from Products.CMFCore.interfaces import ITypesTool
    from zope.component import queryUtility
    from zope.component.hooks import setSite
    site_id = zope.add_site(zope.new_site_id('hooks'), demo=False)
    with zope.app() as app:
        site = app[site_id]
        setSite(site)
        assert aq_base(queryUtility(ITypesTool)) is aq_base(site.portal_types)
    with zope.app():
        assert queryUtility(ITypesTool) is None  # app() starts with no site
