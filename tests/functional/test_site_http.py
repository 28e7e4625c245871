"""ERP5SyncML Site over real HTTP: default views, ZMI add form and
constructor, Properties tab of a Person."""
import pytest

pytest.importorskip('zopeserver')

pytestmark = pytest.mark.functional


@pytest.fixture(scope='module')
def demo_site(zope):
    return zope.add_site(zope.new_site_id('sitehttp'), demo=True)


def test_folders_and_portal_have_a_default_view(zope, demo_site):
    status, headers, body = zope.http('GET', '/%s' % demo_site, auth=None)
    assert status == 200, body[:300]
    assert headers['content-type'].startswith('text/plain')
    assert body.decode().splitlines() == ['person_module', 'portal_repository']
    status, _h, body = zope.http(
        'GET', '/%s/portal_repository' % demo_site, auth=None)
    assert (status, body) == (200, b'p1\np2\np3\n')
    status, _h, body = zope.http(
        'GET', '/%s/portal_repository/p1/p1_1' % demo_site, auth=None)
    assert (status, body) == (200, b'p1_1_1\n')
    status, _h, body = zope.http(
        'GET', '/%s/portal_repository/p1/view' % demo_site, auth=None)
    assert (status, body) == (200, b'p1_1\n')


def test_person_properties_tab(zope, demo_site):
    path = '/%s/portal_repository/p1/manage_propertiesForm' % demo_site
    assert zope.http('GET', path, auth=None)[0] == 401
    status, _h, body = zope.http('GET', path)
    assert status == 200, body[:500]
    assert 'Müller'.encode() in body
    assert b'photo' not in body


def test_zmi_add_form_and_constructor(zope):
    status, _h, body = zope.http(
        'GET', '/manage_addProduct/ERP5SyncML/manage_addERP5SyncMLSiteForm')
    assert status == 200, body[:500]
    assert b'Add ERP5SyncML Site' in body
    assert b'ERP5SyncML Site' in zope.http('GET', '/manage_main')[2]

    site_id = zope.new_site_id('zmiadd')
    url = '/manage_addProduct/ERP5SyncML/manage_addERP5SyncMLSite'
    form = {'id': site_id, 'title': 'From the ZMI', 'demo:boolean': '1',
            'demo_content:boolean': ''}
    status, _h, _b = zope.http('POST', url, data=form, auth=None)
    assert status == 401
    with zope.app() as app:
        assert site_id not in app.objectIds()
    status, headers, body = zope.http('POST', url, data=form)
    assert status == 302, body[:500]
    assert headers['location'].endswith('/%s/manage_main' % site_id)
    with zope.app() as app:
        site = app[site_id]
        assert site.meta_type == 'ERP5SyncML Site'
        assert site.Title() == 'From the ZMI'
        assert list(site.portal_repository.objectIds()) == []
        assert sorted(site.portal_types.objectIds()) == \
            ['Folder', 'Module', 'Person']
