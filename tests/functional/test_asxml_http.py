"""``.../object/asXML`` over real HTTP: CMF content, OFS Folder, OFS File."""
import pytest

pytest.importorskip('zopeserver')

from OFS.Folder import manage_addFolder  # noqa: E402
from OFS.Image import manage_addFile  # noqa: E402

from Products.ERP5SyncML.mapping import asXML  # noqa: E402
from Products.ERP5SyncML.syncml.xmlsafe import parse  # noqa: E402


@pytest.fixture(scope='module')
def asxml_site(zope):
    site_id = zope.add_site(zope.new_site_id('asxml'), demo=True)
    with zope.app() as app:
        site = app[site_id]
        manage_addFolder(site, 'ofs_folder', title='OFS <folder> été')
        manage_addFile(site.ofs_folder, 'blob', file=bytes(range(256)) * 300,
                       content_type='application/octet-stream', title='Blob')
        manage_addFolder(site.ofs_folder, 'inner')
        person = site.portal_repository.objectValues()[0]
        paths = {
            'cms': '/'.join(person.getPhysicalPath()),
            'folder': '/'.join(site.ofs_folder.getPhysicalPath()),
            'file': '/'.join(site.ofs_folder.blob.getPhysicalPath()),
        }
    return paths


def _expected(zope, path):
    with zope.app() as app:
        return asXML(app.unrestrictedTraverse(path)).encode('utf-8')


@pytest.mark.parametrize('kind', ['cms', 'folder', 'file'])
def test_asxml_by_url(zope, asxml_site, kind):
    path = asxml_site[kind]
    status, headers, body = zope.http('GET', path + '/asXML')
    assert status == 200, body[:500]
    assert headers['content-type'] == 'text/xml; charset=utf-8'
    assert body == _expected(zope, path)
    element = parse(body)
    assert element.tag == 'object' and element.get('id') == path.split('/')[-1]
    # deterministic over HTTP too
    assert zope.http('GET', path + '/asXML')[2] == body


def test_asxml_content_of_an_ofs_folder(zope, asxml_site):
    body = zope.http('GET', asxml_site['folder'] + '/asXML')[2]
    element = parse(body)
    assert element.get('meta_type') == 'Folder'
    assert element.get('portal_type') == ''
    assert element.findtext('title') == 'OFS <folder> été'
    assert [o.get('id') for o in element.findall('object')] == ['blob', 'inner']
    data = element.find("object[@id='blob']/data")
    assert data.get('type') == 'base64'


def test_asxml_of_a_cmf_object_carries_its_portal_type(zope, asxml_site):
    element = parse(zope.http('GET', asxml_site['cms'] + '/asXML')[2])
    assert element.get('portal_type')
    assert element.find('photo') is None or \
        element.find('photo').get('type') == 'base64'


def test_asxml_needs_view_permission(zope, asxml_site):
    with zope.app() as app:
        folder = app.unrestrictedTraverse(asxml_site['folder'])
        folder.manage_permission('View', ['Manager'], acquire=0)
    status, _, _ = zope.http('GET', asxml_site['folder'] + '/asXML', auth=None)
    assert status == 401


def test_person_round_trips_through_the_conduit(zope, asxml_site):
    from zope.component.hooks import setSite
    from Products.ERP5SyncML.conduit import getConduit
    with zope.app() as app:
        person = app.unrestrictedTraverse(asxml_site['cms'])
        container = person.aq_parent
        setSite(container.aq_parent)
        xml = asXML(person)
        copy = getConduit().addNode(container, xml, object_id='p_copy')
        assert asXML(copy) == xml.replace(
            'id="%s"' % person.getId(), 'id="p_copy"', 1)
        assert copy.photo == person.photo and copy.birthday == person.birthday
        setSite(None)
    status, _, body = zope.http(
        'GET', asxml_site['cms'].rsplit('/', 1)[0] + '/p_copy/asXML')
    assert status == 200 and b'<object id="p_copy"' in body


def test_scripts_and_templates_by_url(zope, asxml_site):
    from Products.PageTemplates.ZopePageTemplate import manage_addPageTemplate
    from Products.PythonScripts.PythonScript import manage_addPythonScript
    with zope.app() as app:
        folder = app.unrestrictedTraverse(asxml_site['folder'])
        manage_addPythonScript(folder, 'py')
        manage_addPageTemplate(folder, 'zpt', text='<p>x</p>')
    for name, meta_type in (('py', 'Script (Python)'),
                            ('zpt', 'Page Template')):
        path = asxml_site['folder'] + '/' + name
        status, headers, body = zope.http('GET', path + '/asXML')
        assert status == 200, body[:300]
        assert headers['content-type'] == 'text/xml; charset=utf-8'
        assert parse(body).get('meta_type') == meta_type
        assert body == _expected(zope, path)
