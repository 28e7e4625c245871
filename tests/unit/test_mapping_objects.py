"""IXMLMapping adapters and factories on OFS and CMF objects (in-process)."""
import pytest
from AccessControl import Unauthorized
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.users import nobody
from OFS.Folder import manage_addFolder
from OFS.Image import Pdata
from OFS.Image import manage_addFile
from OFS.Image import manage_addImage
from zope.component import queryAdapter
from zope.component import queryMultiAdapter

from Products.ERP5SyncML.conduit import getConduit
from Products.ERP5SyncML.interfaces import IXMLMapping
from Products.ERP5SyncML.mapping import asXML
from Products.ERP5SyncML.mapping import createObject
from Products.ERP5SyncML.mapping import getXMLMapping
from Products.ERP5SyncML.mapping.adapters import FileMapping
from Products.ERP5SyncML.mapping.adapters import PropertyManagerMapping
from Products.ERP5SyncML.mapping.factories import UnknownTypeError
from Products.ERP5SyncML.syncml.xmlsafe import parse

from test_mapping_fixtures import ALL_TYPES
from test_mapping_fixtures import fill
from test_mapping_fixtures import load_zcml
from test_mapping_fixtures import root  # noqa: F401 - fixture
from test_mapping_fixtures import as_system  # noqa: F401 - fixture
from test_mapping_fixtures import site  # noqa: F401 - fixture

GIF = (b'GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9'
       b'\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02'
       b'\x02D\x01\x00;')


def _ofs_tree(root):
    """A folder holding one object of every supported OFS type."""
    from OFS.DTMLDocument import addDTMLDocument
    from OFS.DTMLMethod import addDTMLMethod
    from Products.PageTemplates.ZopePageTemplate import manage_addPageTemplate
    from Products.PythonScripts.PythonScript import manage_addPythonScript
    manage_addFolder(root, 'src', title='Source <&>')
    src = root.src
    src.manage_addProperty('tags', ['a', 'b'], 'lines')
    manage_addFile(src, 'small', file=b'\x00\x01 small \xff', title='Small',
                   content_type='application/octet-stream')
    big = bytes(range(256)) * 1200   # > 2 chunks: stored as a Pdata chain
    manage_addFile(src, 'big', file=big, content_type='application/x-big')
    manage_addImage(src, 'pixel', GIF, title='Pixel')
    manage_addPageTemplate(src, 'pt', title='PT',
                           text='<p tal:content="string:été">x</p>')
    manage_addPythonScript(src, 'add', title='Script')
    src.add.ZPythonScript_edit('a, b=2', 'return a + b  # <&>\n')
    addDTMLDocument(src, 'doc', title='Doc', file='<dtml-var title> é')
    addDTMLMethod(src, 'meth', title='Meth', file='<dtml-var id>\n')
    manage_addFolder(src, 'sub')
    manage_addFolder(src.sub, 'subsub', title='three levels')
    manage_addFile(src.sub.subsub, 'leaf', file=b'leaf')
    src.manage_setLocalRoles('alice', ['Owner', 'Editor'])
    return src, big


def test_ofs_round_trip_object_xml_object(root):
    src, big = _ofs_tree(root)
    assert isinstance(src.big.data, Pdata)
    xml = asXML(src)
    element = parse(xml)
    assert [c.get('id') for c in element.findall('object')] == \
        ['add', 'big', 'doc', 'meth', 'pixel', 'pt', 'small', 'sub']
    data = element.find("object[@id='big']/data")
    assert data.get('type') == 'base64' and len(data.text) > len(big)
    manage_addFolder(root, 'dst')
    copy = getConduit().addNode(root.dst, element)
    assert copy.getId() == 'src'
    assert asXML(copy) == xml
    assert bytes(copy.big.data) == big
    assert str(copy.pixel.width) == '1' and copy.pixel.content_type == 'image/gif'
    assert copy.add(1) == 3
    assert copy.pt.read() == src.pt.read()
    assert copy.meth.read_raw() == '<dtml-var id>\n'
    assert copy.get_local_roles_for_userid('alice') == ('Editor', 'Owner')
    assert copy.sub.subsub.leaf.data == b'leaf'


def test_xml_is_deterministic(root):
    src, _ = _ofs_tree(root)
    first = asXML(src)
    assert asXML(src) == first
    assert getXMLMapping(src).asXML() == first
    assert not first.startswith('<?xml')


def test_cmf_content_with_every_type_round_trips(site):
    site.invokeFactory('Sample', 'p1')
    p1 = fill(site.p1)
    p1.invokeFactory('Sample', 'child')
    p1.child.invokeFactory('Folder', 'grandchild')
    p1.manage_setLocalRoles('bob', ['Reviewer'])
    xml = asXML(p1)
    element = parse(xml)
    assert element.get('portal_type') == 'Sample'
    assert [e.get('id') for e in element.iter('object')] == \
        ['p1', 'child', 'grandchild']
    for pid, type, value in ALL_TYPES:
        assert element.find(pid) is not None and \
            element.find(pid).get('type') == type
    site.invokeFactory('Folder', 'other')
    copy = getConduit().addNode(site.other, xml, object_id='renamed')
    assert copy.getId() == 'renamed' and copy.portal_type == 'Sample'
    assert asXML(copy) == xml.replace('id="p1"', 'id="renamed"', 1)
    assert copy.z_photo == p1.z_photo and copy.s_control == p1.s_control
    assert copy.child.grandchild.portal_type == 'Folder'


def test_tools_and_portal_ids_stay_home_at_the_site_root(site):
    site.invokeFactory('Folder', 'portal_like')
    site.invokeFactory('Folder', 'docs')
    site.docs.invokeFactory('Folder', 'portal_kept')
    ids = [o.getId() for o in getXMLMapping(site).getSubObjects()]
    assert ids == ['docs']      # no portal_types (tool), no portal_like
    assert [o.getId() for o in getXMLMapping(site.docs).getSubObjects()] \
        == ['portal_kept']


def test_zcml_registers_adapters_and_the_asxml_view(root):
    load_zcml()
    src, _ = _ofs_tree(root)
    assert type(queryAdapter(src, IXMLMapping)) is PropertyManagerMapping
    assert type(queryAdapter(src.pixel, IXMLMapping)) is FileMapping
    from Testing.makerequest import makerequest
    request = makerequest(root.aq_parent).REQUEST
    from zope.interface import alsoProvides
    from zope.publisher.interfaces.browser import IDefaultBrowserLayer
    alsoProvides(request, IDefaultBrowserLayer)
    for obj in (src, src.small):
        view = queryMultiAdapter((obj, request), name='asXML')
        body = view()
        assert body == asXML(obj).encode('utf-8')
        assert request.response.getHeader('Content-Type') == \
            'text/xml; charset=utf-8'
    from Products.ERP5SyncML.interfaces import IConduit
    from zope.component import queryUtility
    assert queryUtility(IConduit, 'ERP5Conduit') is not None
    assert type(getConduit('')) is type(getConduit('ERP5Conduit'))


def test_unknown_types_are_clear_errors(root, site):
    with pytest.raises(UnknownTypeError, match='Z SQL Method'):
        createObject(root, 'x', '', 'Z SQL Method')
    with pytest.raises(UnknownTypeError, match='Nope'):
        createObject(site, 'x', 'Nope', 'Whatever')
    manage_addFolder(root, 'taken')
    with pytest.raises(ValueError, match='already contains'):
        createObject(root, 'taken', '', 'Folder')
    assert 'x' not in root.objectIds() and 'x' not in site.objectIds()


def test_edits_and_creation_are_permission_checked(root):
    src, _ = _ofs_tree(root)
    before = asXML(src)
    newSecurityManager(None, nobody)
    mapping = getXMLMapping(src)
    with pytest.raises(Unauthorized, match='Manage properties'):
        mapping.setProperty('title', 'string', 'hacked')
    with pytest.raises(Unauthorized, match='Change local roles'):
        mapping.setLocalRoles('mallory', ['Manager'])
    with pytest.raises(Unauthorized, match='Change Python Scripts'):
        getXMLMapping(src.add).setProperty('body', 'text', 'return 0')
    with pytest.raises(Unauthorized, match='Add Folders'):
        createObject(src, 'new', '', 'Folder')
    with pytest.raises(Unauthorized, match='Delete objects'):
        getConduit().deleteNode(src, 'small')
    assert asXML(src) == before


def test_property_added_retyped_and_deleted(root):
    manage_addFolder(root, 'f')
    mapping = getXMLMapping(root.f)
    mapping.setProperty('extra', 'int', 3)
    assert root.f.getPropertyType('extra') == 'int' and root.f.extra == 3
    mapping.setProperty('extra', 'lines', ('a',))
    assert root.f.getPropertyType('extra') == 'lines'
    assert root.f.extra == ('a',)
    mapping.setProperty('crlf', 'text', 'a\r\nb')
    assert root.f.crlf == 'a\r\nb'
    assert mapping.deleteProperty('extra') is True
    assert not root.f.hasProperty('extra')
    assert mapping.deleteProperty('missing') is False


def test_mappings_conduit_and_factories_provide_their_interfaces(root, site):
    from zope.interface.verify import verifyObject
    from Products.ERP5SyncML.interfaces import IConduit
    from Products.ERP5SyncML.interfaces import IObjectFactory
    from Products.ERP5SyncML.mapping.factories import getObjectFactory
    src, _ = _ofs_tree(root)
    site.invokeFactory('Sample', 'p')
    for obj in [src, site.p, site] + list(src.objectValues()):
        assert verifyObject(IXMLMapping, getXMLMapping(obj))
    assert verifyObject(IConduit, getConduit())
    assert verifyObject(IObjectFactory, getObjectFactory('', 'File'))
    assert verifyObject(IObjectFactory, getObjectFactory('Sample', ''))


def test_cmf_creation_checks_are_made_per_user_container_and_type(site):
    """The add checks of a CMF folder are cached within a transaction for
    one user, container and type: another user, type or container is
    checked again."""
    import transaction
    from AccessControl.SpecialUsers import system
    site.invokeFactory('Folder', 'box')
    box = site.box
    box.portal_type = 'Folder'
    first = createObject(box, 's1', 'Sample', '')
    assert first.getId() == 's1' and first.portal_type == 'Sample'
    assert createObject(box, 's2', 'Sample', '').getId() == 's2'
    newSecurityManager(None, nobody)
    with pytest.raises(Unauthorized, match='Add portal content'):
        createObject(box, 's3', 'Sample', '')
    newSecurityManager(None, system)
    # the folder type now allows only Folders inside: the checks made in
    # this transaction hold until it ends
    info = site.portal_types.Folder
    info.filter_content_types = True
    info.allowed_content_types = ('Folder',)
    assert createObject(box, 's3', 'Sample', '').getId() == 's3'
    transaction.abort()
    with pytest.raises(UnknownTypeError, match='Disallowed'):
        createObject(box, 's4', 'Sample', '')
    assert createObject(box, 'f1', 'Folder', '').getId() == 'f1'
    assert sorted(box.objectIds()) == ['f1', 's1', 's2', 's3']
