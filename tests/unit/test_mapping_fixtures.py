"""In-process fixtures for the object <-> XML tests (no server, no ZODB).

An OFS root folder, a tiny CMF site (types tool + a folderish content type
with a property of every type), and the ZCML of the mapping and conduit.
Imported by test_mapping*.py, test_conduit*.py and test_xupdate*.py.
"""
import pytest
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import noSecurityManager
from AccessControl.users import system
from DateTime import DateTime
from OFS.Folder import Folder
from zope.component import getGlobalSiteManager
from zope.component.factory import Factory
from zope.component.interfaces import IFactory

from Products.CMFCore.PortalFolder import PortalFolder
from Products.CMFCore.PortalFolder import PortalFolderBase
from Products.CMFCore.PortalObject import PortalObjectBase
from Products.CMFCore.TypesTool import FactoryTypeInformation
from Products.CMFCore.TypesTool import TypesTool
from Products.CMFCore.interfaces import ITypesTool

#: one value per property type, including the awkward ones
ALL_TYPES = [
    ('s_string', 'string', 'Zoë <&> ]]> -- "q" \'a\''),
    ('s_text', 'text', 'line 1\nline 2\r\nline 3\r\n\ttabbed  '),
    ('s_ustring', 'ustring', '日本語 \U0001F600'),
    ('s_utext', 'utext', ' leading and trailing '),
    ('s_choice', 'selection', 'b'),
    ('s_control', 'string', 'bell\x07 null\x00 esc\x1b ff\x0c \ufffe'),
    ('s_blank', 'string', ' \n\t '),
    ('s_empty', 'string', ''),
    ('n_int', 'int', -42),
    ('n_long', 'long', 2 ** 80),
    ('n_float', 'float', 0.1 + 0.2),
    ('n_inf', 'float', float('-inf')),
    ('b_true', 'boolean', True),
    ('b_false', 'boolean', False),
    ('d_date', 'date', DateTime('2001-02-03T04:05:06.123456+05:30')),
    ('d_paris', 'date', DateTime('2021/07/14 23:59:59.999999 Europe/Paris')),
    ('d_none', 'date', None),
    ('l_lines', 'lines', ('a', '', ' ', 'b\x01', 'é')),
    ('l_empty', 'lines', ()),
    ('l_tokens', 'tokens', ('x', 'y')),
    ('l_multi', 'multiple selection', ('a', 'c')),
    ('z_photo', 'base64', bytes(range(256)) * 3),
    ('z_none', 'none', None),
]


class Sample(PortalFolderBase):
    """A folderish CMF content type with a property of every type."""

    meta_type = 'ERP5SyncML Test Sample'
    choices = ('a', 'b', 'c')
    _properties = PortalFolderBase._properties + tuple(
        dict(id=pid, type=type, mode='w',
             **({'select_variable': 'choices'} if 'selection' in type else {}))
        for pid, type, value in ALL_TYPES)

    def __init__(self, id, title=''):
        PortalFolderBase.__init__(self, id, title)
        for pid, type, value in ALL_TYPES:
            setattr(self, pid, {'lines': (), 'tokens': (),
                                'multiple selection': (), 'base64': b'',
                                'none': None, 'date': None,
                                'boolean': False, 'int': 0, 'long': 0,
                                'float': 0.0}.get(type, ''))


def fill(obj):
    for pid, type, value in ALL_TYPES:
        obj._updateProperty(pid, value) if not isinstance(value, str) \
            else obj._setPropValue(pid, value)
    return obj


_zcml = []


def load_zcml():
    """Load the mapping and conduit ZCML once per process."""
    if _zcml:
        return
    from zope.configuration import xmlconfig
    import AccessControl
    import Products.Five
    import Products.ERP5SyncML.conduit
    import Products.ERP5SyncML.mapping
    context = xmlconfig.file('meta.zcml', Products.Five)
    context = xmlconfig.file('permissions.zcml', AccessControl, context)
    context = xmlconfig.file('configure.zcml', Products.ERP5SyncML.mapping,
                             context)
    xmlconfig.file('configure.zcml', Products.ERP5SyncML.conduit, context)
    _zcml.append(True)


@pytest.fixture
def as_system():
    newSecurityManager(None, system)
    yield
    noSecurityManager()


@pytest.fixture
def root(as_system):
    """An OFS folder standing for the Zope root."""
    app = Folder('app')
    app._setObject('root', Folder('root'))
    return app.root


@pytest.fixture
def site(as_system):
    """A minimal CMF site: types tool with 'Sample' and 'Folder' types."""
    gsm = getGlobalSiteManager()
    app = Folder('app')
    app._setObject('site', PortalObjectBase('site'))
    site = app.site
    site._setObject('portal_types', TypesTool())
    types = site.portal_types
    for name, klass in (('Sample', Sample), ('Folder', PortalFolder)):
        factory_name = 'erp5syncml.test.' + name
        gsm.registerUtility(Factory(klass), IFactory, factory_name)
        types._setObject(name, FactoryTypeInformation(
            name, product='', factory=factory_name, global_allow=True,
            content_meta_type=klass.meta_type,
            filter_content_types=False))
    gsm.registerUtility(types.aq_base, ITypesTool)
    # what five:registerClass does for a real product
    import Products
    saved = getattr(Products, 'meta_types', ())
    Products.meta_types = saved + tuple(
        {'name': klass.meta_type, 'action': '', 'product': 'ERP5SyncML',
         'permission': 'Add portal content', 'visibility': 'Global'}
        for klass in (Sample, PortalFolder))
    yield site
    Products.meta_types = saved
    gsm.unregisterUtility(types.aq_base, ITypesTool)
    for name in ('Sample', 'Folder'):
        gsm.unregisterUtility(provided=IFactory,
                              name='erp5syncml.test.' + name)
