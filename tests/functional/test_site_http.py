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


def _browser_post(zope, form_path, ticked, values):
    """Post the real add form as a browser does: text fields from
    ``values``, checkboxes only when named in ``ticked``."""
    from lxml import html
    status, _h, body = zope.http('GET', form_path)
    assert status == 200, body[:500]
    form = html.fromstring(body).xpath('//form[@class="zmi-add"]')[0]
    data = {}
    for field in form.xpath('.//input'):
        name, kind = field.get('name'), field.get('type')
        if kind == 'checkbox':
            if field.get('id') in ticked:
                data[name] = field.get('value')
        elif kind == 'submit':
            data[name] = field.get('value')
        else:
            data[name] = values.get(field.get('id'), '')
    action = form.get('action')
    return zope.http('POST', form_path.rsplit('/', 1)[0] + '/' + action, data=data)


@pytest.mark.parametrize('demo_content', [False, True])
def test_add_form_demo_content_box_is_obeyed(zope, demo_content):
    site_id = zope.new_site_id('formdemo')
    ticked = {'demo', 'demo_content'} if demo_content else {'demo'}
    status, headers, body = _browser_post(
        zope, '/manage_addProduct/ERP5SyncML/manage_addERP5SyncMLSiteForm',
        ticked, {'id': site_id, 'title': 'Demo box'})
    assert status == 302, body[:500]
    with zope.app() as app:
        site = app[site_id]
        assert sorted(site.portal_types.objectIds()) == ['Folder', 'Module', 'Person']
        people = sorted(site.portal_repository.objectIds())
        assert people == (['p1', 'p2', 'p3'] if demo_content else [])
