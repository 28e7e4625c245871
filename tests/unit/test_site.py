"""ERP5SyncML Site: add_site, profiles, install_tools, demo types (in-process,
no Zope server: see Products.ERP5SyncML.site.testing)."""
import datetime

import Products
import pytest
from Acquisition import aq_base
from DateTime import DateTime
from zExceptions import BadRequest
from zope.component import getGlobalSiteManager
from zope.component import getMultiAdapter
from zope.component import queryUtility
from zope.component.hooks import getSite
from zope.component.hooks import setSite
from zope.dottedname.resolve import resolve
from zope.lifecycleevent.interfaces import IObjectModifiedEvent
from zope.publisher.defaultview import queryDefaultViewName

from Products.CMFCore import interfaces as cmf
from Products.CMFCore.PortalObject import PortalObjectBase
from Products.ERP5SyncML.site import demo
from Products.ERP5SyncML.site import factory
from Products.ERP5SyncML.site.content import Person
from Products.ERP5SyncML.site.testing import TestEnvironment

CMF_TOOLS = {
    'portal_actions': cmf.IActionsTool,
    'portal_catalog': cmf.ICatalogTool,
    'portal_memberdata': cmf.IMemberDataTool,
    'portal_membership': cmf.IMembershipTool,
    'portal_skins': cmf.ISkinsTool,
    'portal_types': cmf.ITypesTool,
    'portal_url': cmf.IURLTool,
    'portal_workflow': cmf.IWorkflowTool,
}


@pytest.fixture(scope='module')
def env():
    environment = TestEnvironment()
    environment.setUp()
    yield environment
    environment.tearDown()


@pytest.fixture
def root(env):
    """The Zope root of a fresh transaction (aborted after the test)."""
    with env.app() as app:
        yield app


@pytest.fixture
def site(root):
    return factory.add_site(root, 'cps', 'CPS', demo=True)


def _utilities(site):
    return {r.component.getId(): r.provided
            for r in site.getSiteManager().registeredUtilities()}


def _catalog_paths(site, **query):
    brains = site.portal_catalog.unrestrictedSearchResults(**query)
    return sorted(b.getPath() for b in brains)


# -- add_site -----------------------------------------------------------------

def test_add_site_creates_tools_registered_as_local_utilities(root):
    site = factory.add_site(root, 'plain', 'Plain')
    assert site.meta_type == 'ERP5SyncML Site'
    assert site.Title() == 'Plain'
    assert aq_base(root.plain) is aq_base(site)
    utilities = _utilities(site)
    expected = dict(CMF_TOOLS)
    expected.update({name: resolve(iface)
                     for name, (_k, iface) in factory.TOOLS.items()})
    for tool_id, iface in expected.items():
        tool = site._getOb(tool_id)
        assert utilities[tool_id] is iface, tool_id
        with factory.using_site(site):
            assert aq_base(queryUtility(iface)) is aq_base(tool)
    assert site.portal_activities.meta_type == 'CMF Activity Tool'
    assert site.portal_synchronizations.__class__.__name__ == \
        'SynchronizationTool'
    assert site.portal_setup.getBaselineContextID() == \
        factory.DEFAULT_PROFILE
    # no demo parts without demo=True
    assert 'portal_repository' not in site.objectIds()
    assert site.portal_types.objectIds() == ['Folder']


def test_add_site_restores_the_current_site(root):
    assert getSite() is None
    factory.add_site(root, 'one')
    assert getSite() is None
    other = factory.add_site(root, 'two')
    setSite(other)
    factory.add_site(root, 'three')
    assert aq_base(getSite()) is aq_base(other)


def test_default_profile_configures_tools(site):
    catalog = site.portal_catalog
    for index in ('id', 'portal_type', 'Title', 'path', 'modified',
                  'meta_type'):
        assert index in catalog.indexes(), index
    for column in ('id', 'portal_type', 'Title', 'meta_type', 'modified'):
        assert column in catalog.schema(), column
    skins = site.portal_skins
    assert 'custom' in skins.objectIds()
    assert 'custom' in skins.getSkinPath(skins.getDefaultSkin()).split(',')
    assert (site.MailHost.smtp_host, site.MailHost.smtp_port) == \
        (factory.SMTP_HOST, factory.SMTP_PORT)
    assert site.portal_workflow.getDefaultChain() == ()


def test_skin_layer_holds_mail_received(site):
    skins = site.portal_skins
    assert 'erp5syncml' in skins.objectIds()
    layers = skins.getSkinPath('Basic').split(',')
    assert layers.index('custom') < layers.index('erp5syncml')
    script = getattr(skins.getSkinByName('Basic'), 'mail_received')
    assert script.meta_type == 'Filesystem Script (Python)'
    script.read()  # filesystem scripts load their source lazily
    assert script.params() == 'theMail'


def test_tools_profile_adds_the_skin_layer_after_custom(root):
    site = factory.add_site(root, 'plain', 'Plain')
    skins = site.portal_skins
    skins.manage_delObjects(['erp5syncml'])
    skins.addSkinSelection('Basic', 'custom')
    factory.apply_profile(site, factory.TOOLS_PROFILE)
    assert skins.getSkinPath('Basic').split(',') == ['custom', 'erp5syncml']


def test_add_site_bad_input_changes_nothing(root):
    factory.add_site(root, 'taken')
    before = sorted(root.objectIds())
    with pytest.raises(BadRequest):
        factory.add_site(root, 'taken')
    with pytest.raises(BadRequest):
        factory.add_site(root, 'bad id/')
    with pytest.raises(ValueError):
        factory.add_site(root, 'nodemo', demo=False, demo_content=True)
    assert sorted(root.objectIds()) == before


def test_demo_without_content_has_empty_modules(root):
    site = factory.add_site(root, 'cps_client', demo=True, demo_content=False)
    assert sorted(site.portal_types.objectIds()) == \
        ['Folder', 'Module', 'Person']
    for module_id in demo.MODULES:
        module = site._getOb(module_id)
        assert module.meta_type == 'ERP5SyncML Module'
        assert module.getPortalTypeName() == 'Module'
        assert list(module.objectIds()) == []


def test_demo_content(site):
    repository = site.portal_repository
    assert sorted(repository.objectIds()) == ['p1', 'p2', 'p3']
    assert list(site.person_module.objectIds()) == []
    p1 = repository.p1
    assert p1.first_name == 'Sébastien' and p1.last_name == 'Müller'
    assert '—' in p1.description and p1.description.endswith('\n')
    assert isinstance(p1.birthday, DateTime)
    assert p1.tags == ('client', 'ami', 'VIP')
    assert p1.photo == demo.PHOTO and b'\x00' in p1.photo
    assert (p1.age, p1.active) == (44, True)
    deepest = repository.p1.p1_1.p1_1_1
    assert deepest.getPortalTypeName() == 'Person'
    assert deepest.Title() == 'Level three'
    # creating the same content again adds nothing
    assert demo.populate(site) == []


# -- content types ------------------------------------------------------------

def test_invoke_factory_and_nesting_three_levels(site):
    module_id = site.invokeFactory('Module', 'people', title='People')
    assert module_id == 'people'
    people = site.people
    people.invokeFactory('Person', 'a', first_name='Ann')
    people.a.invokeFactory('Person', 'b', first_name='Bob')
    people.a.b.invokeFactory('Person', 'c', first_name='Cy', age='7')
    c = people.a.b.c
    assert c.meta_type == 'ERP5SyncML Person'
    assert c.age == 7
    assert c.getPhysicalPath()[-4:] == ('people', 'a', 'b', 'c')
    # persons hold persons only; modules are not addable everywhere
    with pytest.raises(ValueError):
        people.a.invokeFactory('Module', 'm')
    with pytest.raises(ValueError):
        people.a.invokeFactory('Folder', 'f')


def test_invoke_factory_without_current_site(site):
    # tools are found by acquisition: no setSite needed, and the object
    # lands in its own site's catalog
    assert getSite() is None
    site.portal_repository.invokeFactory('Person', 'nosite',
                                         first_name='Nina')
    assert _catalog_paths(site, id='nosite') == \
        ['/cps/portal_repository/nosite']


def test_bad_constructor_arguments_add_nothing(site):
    repository = site.portal_repository
    before = sorted(repository.objectIds())
    with pytest.raises(BadRequest):
        repository.invokeFactory('Person', 'x', nickname='X')
    with pytest.raises(ValueError):
        repository.invokeFactory('Person', 'y', age='old')
    assert sorted(repository.objectIds()) == before


def test_edit_round_trips_typed_values(site):
    person = site.portal_repository.p2
    person.edit(
        first_name='Ünïcödé', description='two\r\nlines  ', age='12',
        active='0', birthday='2001/02/03 04:05:06 GMT+1',
        tags='a\nb', photo=b'\x00\xff', language='de', format='text/html',
        email='x@example.org', telephone='0123')
    assert person.getProperty('first_name') == 'Ünïcödé'
    assert person.description == 'two\r\nlines  '   # kept exactly
    assert person.age == 12 and person.active is False
    assert person.birthday == DateTime('2001/02/03 04:05:06 GMT+1')
    assert person.tags == ('a', 'b')
    assert person.photo == b'\x00\xff'
    person.edit(birthday=datetime.date(1999, 12, 31), active=True,
                tags=['x'], age=5)
    assert person.birthday.strftime('%Y-%m-%d') == '1999-12-31'
    assert person.active is True and person.tags == ('x',)
    person.edit(birthday=None)
    assert person.birthday is None
    types = {p['id']: p['type'] for p in person.propertyMap()}
    assert types == {
        'title': 'string', 'first_name': 'string', 'last_name': 'string',
        'email': 'string', 'telephone': 'string', 'organisation': 'string',
        'address': 'text', 'description': 'text',
        'language': 'string', 'format': 'string', 'birthday': 'date',
        'age': 'int', 'active': 'boolean', 'tags': 'lines',
        'photo': 'base64'}


@pytest.mark.parametrize('kw, error', [
    ({'age': 'many'}, ValueError),
    ({'active': 'maybe'}, ValueError),
    ({'birthday': 'not a date'}, ValueError),
    ({'photo': 'text is not binary'}, TypeError),
    ({'tags': 3}, TypeError),
    ({'first_name': 'ok', 'unknown': 1}, BadRequest),
])
def test_edit_bad_input_changes_nothing(site, kw, error):
    person = site.portal_repository.p1
    before = dict(person.propertyItems())
    with pytest.raises(error):
        person.edit(**kw)
    assert dict(person.propertyItems()) == before


def test_edit_notifies_and_reindexes(site):
    events = []
    gsm = getGlobalSiteManager()

    def handler(obj, event):
        events.append(obj.getId())
    gsm.registerHandler(handler, (Person, IObjectModifiedEvent))
    try:
        person = site.portal_repository.p3
        old_modified = person.modified()
        person.edit(title='Renamed person')
    finally:
        gsm.unregisterHandler(handler, (Person, IObjectModifiedEvent))
    assert events == ['p3']
    assert person.modified() >= old_modified
    assert _catalog_paths(site, Title='Renamed person') == \
        ['/cps/portal_repository/p3']
    assert _catalog_paths(site, Title='Ana García') == []


def test_title_falls_back_to_the_name(site):
    person = site.portal_repository.p3
    assert person.Title() == 'Ana García'
    assert person.Description() == ''


def test_catalog_finds_persons(site):
    assert _catalog_paths(site, portal_type='Person') == [
        '/cps/portal_repository/p1', '/cps/portal_repository/p1/p1_1',
        '/cps/portal_repository/p1/p1_1/p1_1_1',
        '/cps/portal_repository/p2', '/cps/portal_repository/p3']
    assert _catalog_paths(site, meta_type='ERP5SyncML Module') == [
        '/cps/person_module', '/cps/portal_repository']
    assert _catalog_paths(site, path='/cps/portal_repository/p1') == [
        '/cps/portal_repository/p1', '/cps/portal_repository/p1/p1_1',
        '/cps/portal_repository/p1/p1_1/p1_1_1']
    site.portal_repository.manage_delObjects(['p2'])
    assert '/cps/portal_repository/p2' not in \
        _catalog_paths(site, portal_type='Person')


def test_person_xml_uses_the_documented_types(site):
    from Products.ERP5SyncML.mapping import asXML
    xml = asXML(site.portal_repository.p1)
    assert xml.startswith('<object id="p1" portal_type="Person" '
                          'meta_type="ERP5SyncML Person">')
    for fragment in ('<age type="int">44</age>',
                     '<active type="boolean">1</active>',
                     '<birthday type="date">1980-05-17T10:30:00',
                     '<tags type="lines"><item>client</item>',
                     '<photo type="base64">iVBORw0KGgo',
                     '<object id="p1_1" portal_type="Person"'):
        assert fragment in xml, fragment


# -- install_tools and profiles on existing sites -------------------------------

def _bare_cmf_site(root, site_id='bare'):
    root._setObject(site_id, PortalObjectBase(site_id))
    return root._getOb(site_id)


def test_install_tools_on_a_bare_cmf_site(root):
    site = _bare_cmf_site(root)
    with pytest.raises(ValueError):
        factory.install_tools(site, ['portal_nonsense', 'MailHost'])
    assert 'MailHost' not in site.objectIds()
    created = factory.install_tools(site)
    assert sorted(created) == sorted(factory.TOOLS)
    utilities = _utilities(site)
    for tool_id in factory.TOOLS:
        assert tool_id in utilities
    assert 'portal_types' not in site.objectIds()
    assert factory.install_tools(site) == []
    assert len(_utilities(site)) == len(utilities)


def test_install_tools_keeps_existing_objects_and_registers_them(root):
    from Products.MailHost.MailHost import MailHost
    site = _bare_cmf_site(root)
    site._setObject('MailHost', MailHost('MailHost', smtp_host='mail.test'))
    assert factory.install_tools(site, 'MailHost') == []
    assert site.MailHost.smtp_host == 'mail.test'
    assert 'MailHost' in _utilities(site)
    assert 'portal_activities' not in site.objectIds()


def test_tools_profile_on_an_existing_cmf_site(root):
    site = _bare_cmf_site(root)
    factory.apply_profile(site, factory.TOOLS_PROFILE)
    assert {'portal_setup', *factory.TOOLS} <= set(site.objectIds())
    assert 'portal_catalog' not in site.objectIds()
    assert set(factory.TOOLS) <= set(_utilities(site))


def test_profiles_applied_twice_are_harmless(site):
    tools = {i: site._getOb(i)._p_oid for i in site.objectIds()}
    person = site.portal_repository.p1
    person.edit(first_name='Changed')
    utilities = _utilities(site)
    indexes = sorted(site.portal_catalog.indexes())
    persons = _catalog_paths(site, portal_type='Person')
    for profile in (factory.DEFAULT_PROFILE, factory.DEMO_PROFILE,
                    factory.TOOLS_PROFILE):
        factory.apply_profile(site, profile)
    assert {i: site._getOb(i)._p_oid for i in site.objectIds()} == tools
    assert _utilities(site) == utilities
    assert sorted(site.portal_catalog.indexes()) == indexes
    assert _catalog_paths(site, portal_type='Person') == persons
    assert site.portal_repository.p1.first_name == 'Changed'
    assert sorted(site.portal_types.objectIds()) == \
        ['Folder', 'Module', 'Person']


# -- ZMI and views ----------------------------------------------------------------

def test_zmi_registration(root):
    from Products.ERP5SyncML.permissions import AddSite
    infos = {mt['name']: mt for mt in Products.meta_types}
    info = infos['ERP5SyncML Site']
    assert info['permission'] == AddSite
    assert info['action'] == \
        'manage_addProduct/ERP5SyncML/manage_addERP5SyncMLSiteForm'
    for name in ('ERP5SyncML Person', 'ERP5SyncML Module'):
        assert infos[name]['visibility'] == 'Global'
    # addable at the root, not inside a portal
    assert 'ERP5SyncML Site' in [m['name'] for m in root.all_meta_types()]
    site = factory.add_site(root, 'zmi')
    assert 'ERP5SyncML Site' not in [m['name'] for m in site.all_meta_types()]
    assert 'ERP5SyncML Person' in [m['name'] for m in site.all_meta_types()]
    assert 'ERP5SyncML Person' not in [m['name'] for m in root.all_meta_types()]


def test_zmi_constructor(root):
    dispatcher = root.manage_addProduct['ERP5SyncML']
    html = dispatcher.manage_addERP5SyncMLSiteForm()
    assert 'action="manage_addERP5SyncMLSite"' in html
    assert 'name="demo:boolean"' in html
    new_id = dispatcher.manage_addERP5SyncMLSite('viazmi', 'Via ZMI',
                                                 demo=True,
                                                 REQUEST=root.REQUEST)
    assert new_id == 'viazmi'
    assert root.REQUEST.RESPONSE.getHeader('Location').endswith(
        '/viazmi/manage_main')
    assert sorted(root.viazmi.portal_repository.objectIds()) == \
        ['p1', 'p2', 'p3']


def test_zmi_properties_tab_hides_binary_data(site):
    person = site.portal_repository.p3   # birthday None, photo empty
    person.edit(photo=b'\x00binary')
    html = person.manage_propertiesForm(person, site.REQUEST)
    assert 'name="first_name' in html
    assert 'photo' not in html
    site.REQUEST.form.update({'first_name': 'Anna', 'age': '3'})
    person.manage_editProperties(site.REQUEST)
    assert (person.first_name, person.age) == ('Anna', 3)
    assert person.photo == b'\x00binary' and person.birthday is None


def test_listing_is_the_default_view(site):
    request = site.REQUEST
    assert queryDefaultViewName(site, request) == 'listing'
    view = getMultiAdapter((site.portal_repository, request), name='listing')
    with factory.using_site(site):   # as during publishing
        assert view() == 'p1\np2\np3\n'
    fti = site.portal_types.Person
    assert fti.queryMethodID('(Default)') == '@@listing'


def test_zmi_constructors_of_the_demo_types(site):
    dispatcher = site.portal_repository.manage_addProduct['ERP5SyncML']
    html = dispatcher.manage_addPersonForm()
    assert 'action="manage_addPerson"' in html and 'Add Person' in html
    assert dispatcher.manage_addPerson('zmi_person', 'Zed') == 'zmi_person'
    person = site.portal_repository.zmi_person
    assert (person.getPortalTypeName(), person.Title()) == ('Person', 'Zed')
    assert _catalog_paths(site, id='zmi_person') == \
        ['/cps/portal_repository/zmi_person']
    html = site.manage_addProduct['ERP5SyncML'].manage_addModuleForm()
    assert 'action="manage_addModule"' in html
