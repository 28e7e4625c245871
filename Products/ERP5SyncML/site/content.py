"""Demo content types: 'Module' (BTree container) and 'Person' (typed
properties, folderish so persons can contain persons).

CMFCore 3 looks tools up as local utilities of the *current* site, so
outside a request nothing would be indexed or constructed unless the
caller set the site. These classes find their own site's tools by
acquisition instead. (CMFCore's indexing queue still resolves the catalog
through the current site when one is set: keep it the right one.)
"""
import datetime

from AccessControl.class_init import InitializeClass
from AccessControl.Permissions import manage_properties
from AccessControl.SecurityInfo import ClassSecurityInfo
from Acquisition import Implicit
from Acquisition import aq_get
from DateTime import DateTime
from DateTime.interfaces import DateTimeError
from OFS.PropertyManager import PropertyManager
from zExceptions import BadRequest
from zope.component.factory import Factory
from zope.event import notify
from zope.interface import implementer
from zope.lifecycleevent import ObjectModifiedEvent
from ZPublisher import zpublish

from Products.CMFCore.CMFBTreeFolder import CMFBTreeFolder
from Products.CMFCore.CMFCatalogAware import CatalogAware
from Products.CMFCore.CMFCatalogAware import WorkflowAware
from Products.CMFCore.interfaces import IContentish
from Products.CMFCore.permissions import AddPortalContent
from Products.CMFCore.permissions import ModifyPortalContent
from Products.CMFCore.permissions import View
from Products.CMFCore.PortalFolder import PortalFolder

from .interfaces import IModule
from .interfaces import IPerson

#: Property types whose value cannot come from a ZMI form field.
BINARY_TYPES = ('base64',)

_TRUE = ('1', 'true', 'yes', 'on')
_FALSE = ('0', 'false', 'no', 'off', '')


def _text(value, pid):
    if isinstance(value, bytes):
        return value.decode('utf-8')
    if isinstance(value, str):
        return value
    raise TypeError(f'{pid}: expected text, got {type(value).__name__}')


def _int(value, pid):
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f'{pid}: not an integer: {value!r}')


def _boolean(value, pid):
    if isinstance(value, (bool, int)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f'{pid}: not a boolean: {value!r}')


def _date(value, pid):
    if value is None or isinstance(value, DateTime):
        return value
    if isinstance(value, datetime.datetime):
        return DateTime(value)
    if isinstance(value, datetime.date):
        return DateTime(value.year, value.month, value.day)
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return DateTime(value)
        except (DateTimeError, SyntaxError, ValueError, IndexError):
            pass
    raise ValueError(f'{pid}: not a date: {value!r}')


def _lines(value, pid):
    if isinstance(value, str):
        return tuple(value.splitlines())
    if isinstance(value, (list, tuple)):
        return tuple(_text(item, pid) for item in value)
    raise TypeError(f'{pid}: expected a sequence of text, '
                    f'got {type(value).__name__}')


def _binary(value, pid):
    if value is None:
        return b''
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f'{pid}: expected bytes, got {type(value).__name__}')


#: Converters used by ``edit()``: (value, property id) -> stored value.
CONVERTERS = {
    'string': _text,
    'text': _text,
    'int': _int,
    'boolean': _boolean,
    'date': _date,
    'lines': _lines,
    'base64': _binary,
}


class _PropertiesFormClient(Implicit):
    """Client of the stock Properties form with another property map.

    The form looks names up on its client before its keyword arguments,
    so the map is handed over by this acquisition wrapper; everything
    else is acquired from the object."""

    __allow_access_to_unprotected_subobjects__ = 1

    def __init__(self, property_map):
        self._property_map = property_map

    def propertyMap(self):
        return self._property_map


class SyncContentMixin(CatalogAware, WorkflowAware):
    """Catalog awareness (CMF folders have none), typed ``edit()``,
    acquisition-based tool lookup, modification date and a ZMI Properties
    tab that survives binary and unset date values."""

    security = ClassSecurityInfo()

    _created = None
    _modified = None

    # -- tools by acquisition (see module docstring) -----------------------

    def _getCatalogTool(self):
        return aq_get(self, 'portal_catalog', None)

    def _getWorkflowTool(self):
        return aq_get(self, 'portal_workflow', None)

    @security.public
    def getTypeInfo(self):
        """Return the type information of this object, or None."""
        ttool = aq_get(self, 'portal_types', None)
        return None if ttool is None else ttool.getTypeInfo(self)

    @security.protected(AddPortalContent)
    def invokeFactory(self, type_name, id, RESPONSE=None, *args, **kw):
        """Create a ``type_name`` object ``id`` here (this site's types)."""
        ttool = aq_get(self, 'portal_types', None)
        if ttool is None:
            raise ValueError('No portal_types above %s' % self.getId())
        my_type = ttool.getTypeInfo(self)
        if my_type is not None and not my_type.allowType(type_name):
            raise ValueError('Disallowed subobject type: %s' % type_name)
        return ttool.constructContent(type_name, self, id, RESPONSE,
                                      *args, **kw)

    # -- dates --------------------------------------------------------------

    @security.protected(View)
    def created(self):
        """Date of creation (DateTime)."""
        return self._created

    @security.protected(View)
    def modified(self):
        """Date of the last modification (DateTime)."""
        return self._modified or self._created

    @security.protected(ModifyPortalContent)
    def notifyModified(self):
        """Stamp the modification date (called by ``reindexObject``)."""
        self._modified = DateTime()

    # -- typed properties ---------------------------------------------------

    def _convertProperties(self, kw):
        """Return {id: converted value}; raise before changing anything."""
        unknown = sorted(k for k in kw if not self.hasProperty(k))
        if unknown:
            raise BadRequest('Unknown properties for %s: %s'
                             % (self.meta_type, ', '.join(unknown)))
        converted = {}
        for pid, value in kw.items():
            ptype = self.getPropertyType(pid) or 'string'
            converter = CONVERTERS.get(ptype)
            converted[pid] = value if converter is None else converter(
                value, pid)
        return converted

    def _edit(self, **kw):
        for pid, value in self._convertProperties(kw).items():
            self._updateProperty(pid, value)

    @security.protected(ModifyPortalContent)
    def edit(self, **kw):
        """Set properties from keyword arguments (typed values or their
        text form); unknown ids or bad values raise and change nothing.
        Notifies IObjectModifiedEvent and reindexes the object."""
        self._edit(**kw)
        notify(ObjectModifiedEvent(self))
        self.reindexObject()

    @zpublish
    @security.protected(manage_properties)
    def manage_changeProperties(self, REQUEST=None, **kw):
        """Change properties (the PropertyManager API), notifying the change
        like ``edit`` so that catalogs and synchronization see it."""
        if REQUEST is None:
            values = {}
        elif isinstance(REQUEST, dict):
            values = dict(REQUEST)
        else:
            values = dict(REQUEST.form)
        values.update(kw)
        self.edit(**{k: v for k, v in values.items() if self.hasProperty(k)})
        if REQUEST is not None and not isinstance(REQUEST, dict):
            return self.manage_propertiesForm(
                self, REQUEST, manage_tabs_message='Saved changes.')

    def _updateProperty(self, id, value):
        # Our converters keep text exactly (ZPublisher's rewrites newlines)
        # and accept typed values; other types go the stock way.
        converter = CONVERTERS.get(self.getPropertyType(id))
        if converter is None or not self.hasProperty(id):
            return PropertyManager._updateProperty(self, id, value)
        self._wrapperCheck(value)
        self._setPropValue(id, converter(value, id))

    # -- ZMI ------------------------------------------------------------------

    def _zmiPropertyMap(self):
        """Properties as the ZMI form may show them: binary values hidden,
        unset dates read-only (the stock form cannot render None)."""
        result = []
        for prop in self._propertyMap():
            if prop.get('type') in BINARY_TYPES:
                continue
            if prop.get('type') == 'date' and \
                    self.getProperty(prop['id']) is None:
                prop = dict(prop, mode='')
            result.append(prop)
        return tuple(result)

    @zpublish
    @security.protected(manage_properties)
    def manage_propertiesForm(self, client=None, REQUEST=None, RESPONSE=None,
                              **kw):
        """The Properties tab (binary properties are not shown)."""
        view = _PropertiesFormClient(self._zmiPropertyMap()).__of__(self)
        form = PropertyManager.manage_propertiesForm.__of__(view)
        return form(view, REQUEST, RESPONSE, **kw)

    @zpublish
    @security.protected(manage_properties)
    def manage_editProperties(self, REQUEST):
        """Save the Properties tab (properties it does not show are kept)."""
        form = REQUEST.form
        values = {}
        for prop in self._zmiPropertyMap():
            if 'w' not in prop.get('mode', 'wd'):
                continue
            pid = prop['id']
            if prop['type'] == 'boolean':
                values[pid] = bool(form.get(pid))
            else:
                values[pid] = form.get(pid, '')
        self.edit(**values)
        return self.manage_propertiesForm(
            self, REQUEST, manage_tabs_message='Saved changes.')


InitializeClass(SyncContentMixin)


@implementer(IModule, IContentish)
class Module(SyncContentMixin, CMFBTreeFolder):
    """A BTree based container of demo content (many children, no
    conflicts on the folder's id list)."""

    meta_type = 'ERP5SyncML Module'
    portal_type = 'Module'
    security = ClassSecurityInfo()

    _properties = (
        {'id': 'title', 'type': 'string', 'mode': 'w'},
        {'id': 'description', 'type': 'text', 'mode': 'w'},
    )
    title = ''
    description = ''

    manage_options = CMFBTreeFolder.manage_options

    def __init__(self, id, title='', description='', **kw):
        CMFBTreeFolder.__init__(self, id)
        self._created = self._modified = DateTime()
        self._edit(title=title, description=description, **kw)


InitializeClass(Module)


@implementer(IPerson, IContentish)
class Person(SyncContentMixin, PortalFolder):
    """A person with typed properties; may contain other persons."""

    meta_type = 'ERP5SyncML Person'
    portal_type = 'Person'
    security = ClassSecurityInfo()

    _properties = (
        {'id': 'title', 'type': 'string', 'mode': 'w'},
        {'id': 'first_name', 'type': 'string', 'mode': 'w'},
        {'id': 'last_name', 'type': 'string', 'mode': 'w'},
        {'id': 'email', 'type': 'string', 'mode': 'w'},
        {'id': 'telephone', 'type': 'string', 'mode': 'w'},
        {'id': 'organisation', 'type': 'string', 'mode': 'w'},
        {'id': 'address', 'type': 'text', 'mode': 'w'},
        {'id': 'description', 'type': 'text', 'mode': 'w'},
        {'id': 'language', 'type': 'string', 'mode': 'w'},
        {'id': 'format', 'type': 'string', 'mode': 'w'},
        {'id': 'birthday', 'type': 'date', 'mode': 'w'},
        {'id': 'age', 'type': 'int', 'mode': 'w'},
        {'id': 'active', 'type': 'boolean', 'mode': 'w'},
        {'id': 'tags', 'type': 'lines', 'mode': 'w'},
        {'id': 'photo', 'type': 'base64', 'mode': 'w'},
    )
    title = ''
    first_name = ''
    last_name = ''
    email = ''
    telephone = ''
    organisation = ''
    address = ''
    description = ''
    language = ''
    format = ''
    birthday = None
    age = 0
    active = False
    tags = ()
    photo = b''

    # the Sync tab: this object's state with every peer (browser/objectstate.py)
    manage_options = PortalFolder.manage_options + (
        {'label': 'Sync', 'action': '@@sync-state'},)

    def __init__(self, id, title='', **kw):
        PortalFolder.__init__(self, id)
        self._created = self._modified = DateTime()
        self._edit(title=title, **kw)

    @security.protected(View)
    def Title(self):
        """The title, or else 'first_name last_name'."""
        if self.title:
            return self.title
        return ' '.join(n for n in (self.first_name, self.last_name) if n)

    @security.protected(View)
    def Description(self):
        """The description text."""
        return self.description


InitializeClass(Person)

ModuleFactory = Factory(Module, title='Module')
PersonFactory = Factory(Person, title='Person')


def _add(container, ob, REQUEST):
    container._setObject(ob.getId(), ob)
    if REQUEST is not None:
        REQUEST.RESPONSE.redirect(container.absolute_url() + '/manage_main')
    return ob.getId()


def manage_addModule(dispatcher, id, title='', REQUEST=None):
    """Add a Module (ZMI constructor; CMF code uses invokeFactory)."""
    return _add(dispatcher.Destination(), Module(id, title=title), REQUEST)


def manage_addPerson(dispatcher, id, title='', REQUEST=None):
    """Add a Person (ZMI constructor; CMF code uses invokeFactory)."""
    return _add(dispatcher.Destination(), Person(id, title=title), REQUEST)
