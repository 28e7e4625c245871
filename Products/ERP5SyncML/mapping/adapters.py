"""IXMLMapping adapters: PropertyManager objects (CMF content, folders,
OFS Folder), OFS File/Image, Page Template, Python Script, DTML.

Registered in configure.zcml; ``default_mapping`` gives the same answer
without the component registry (scripts, early start-up).
"""
import logging

from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from Acquisition import aq_base
from lxml import etree
from OFS.interfaces import IPropertyManager
from zope.event import notify
from zope.interface import implementer
from zope.lifecycleevent import ObjectModifiedEvent

from ..interfaces import IXMLMapping
from .serializer import serialize
from .values import LIST_TYPES
from .values import TYPES
from .values import to_element

logger = logging.getLogger('Products.ERP5SyncML')

MODIFY_PORTAL_CONTENT = 'Modify portal content'
MANAGE_PROPERTIES = 'Manage properties'
CHANGE_LOCAL_ROLES = 'Change local roles'


def _is_cmf(obj):
    from Products.CMFCore.interfaces import IDynamicType
    return IDynamicType.providedBy(obj)


def check_permission(permission, obj, action):
    """Raise Unauthorized unless the current user has ``permission`` on obj."""
    if not getSecurityManager().checkPermission(permission, obj):
        user = getSecurityManager().getUser()
        raise Unauthorized('%s: user %r lacks permission %r on %s'
                           % (action, user.getId() if user else None,
                              permission, '/'.join(obj.getPhysicalPath())))


def travels(container, obj):
    """Whether ``obj`` (contained in ``container``) is exported as a
    sub-object: every contained object with an XML mapping, except tools
    (CMF UniqueObject) and, in a CMF site root, ids starting 'portal_'."""
    from Products.CMFCore.interfaces import ISiteRoot
    from Products.CMFCore.utils import UniqueObject
    if isinstance(aq_base(obj), UniqueObject):
        return False
    if obj.getId().startswith('portal_') and ISiteRoot.providedBy(container):
        return False
    if getattr(aq_base(obj), '_erp5syncml_copy', False):
        return False  # conflict copies are private to their site
    from . import queryXMLMapping
    return queryXMLMapping(obj) is not None


@implementer(IXMLMapping)
class XMLMapping:
    """Shape shared by every mapping: <object id portal_type meta_type>,
    sorted property elements, local roles, sub-objects."""

    #: permission needed to change the object's properties
    edit_permission = MANAGE_PROPERTIES
    _edit_checked = False

    def __init__(self, context):
        self.context = context

    # -- reading -------------------------------------------------------------

    def getPortalType(self):
        if _is_cmf(self.context):
            return self.context.getPortalTypeName() or ''
        return ''

    def getMetaType(self):
        return getattr(aq_base(self.context), 'meta_type', '') or ''

    def getPropertyItems(self):
        raise NotImplementedError

    def getPropertyElements(self):
        """The property elements, sorted by property id."""
        return [to_element(pid, type, value)
                for pid, type, value in self.getPropertyItems()]

    def getLocalRoles(self):
        getter = getattr(self.context, 'get_local_roles', None)
        if getter is None:
            return []
        return sorted((user, tuple(sorted(roles)))
                      for user, roles in getter() if roles)

    def getLocalRoleElements(self):
        elements = []
        for user, roles in self.getLocalRoles():
            element = etree.Element('local_role', id=user)
            for role in roles:
                etree.SubElement(element, 'role').text = role
            elements.append(element)
        return elements

    def getSubObjects(self):
        return []

    def toElement(self, recursive=True):
        element = etree.Element('object')
        element.set('id', self.context.getId())
        element.set('portal_type', self.getPortalType())
        element.set('meta_type', self.getMetaType())
        element.extend(self.getPropertyElements())
        element.extend(self.getLocalRoleElements())
        if recursive:
            from . import getXMLMapping
            for sub in self.getSubObjects():
                element.append(getXMLMapping(sub).toElement())
        return element

    def asXML(self):
        return serialize(self.toElement()).decode('utf-8')

    # -- writing -------------------------------------------------------------

    def checkEdit(self):
        # one check per mapping: it is made for one object, one operation
        if self._edit_checked:
            return
        check_permission(self.edit_permission, self.context, 'edit')
        self._edit_checked = True

    def setProperty(self, property_id, type, value):
        raise NotImplementedError

    def deleteProperty(self, property_id):
        return False

    def setLocalRoles(self, user_id, roles):
        context = self.context
        check_permission(CHANGE_LOCAL_ROLES, context, 'change local roles')
        if roles:
            context.manage_setLocalRoles(user_id, list(roles))
        elif user_id in dict(context.get_local_roles()):
            context.manage_delLocalRoles([user_id])
        reindex = getattr(aq_base(context), 'reindexObjectSecurity', None)
        if reindex is not None:
            context.reindexObjectSecurity()

    def notifyModified(self):
        context = self.context
        notify(ObjectModifiedEvent(context))
        if getattr(aq_base(context), 'reindexObject', None) is not None:
            context.reindexObject()


class PropertyManagerMapping(XMLMapping):
    """Any PropertyManager: CMF content and folders, OFS Folder.

    Properties come from ``propertyMap()``; folderish objects export the
    contained objects that travel (see ``travels``).
    """

    def __init__(self, context):
        XMLMapping.__init__(self, context)
        if _is_cmf(context):
            self.edit_permission = MODIFY_PORTAL_CONTENT

    def _propertyTypes(self):
        return {p['id']: p.get('type', 'string')
                for p in self.context._propertyMap()}

    def getPropertyItems(self):
        context = self.context
        items = []
        for pid, type in self._propertyTypes().items():
            if type not in TYPES:
                logger.warning('%s: property %r of type %r is not exported',
                               '/'.join(context.getPhysicalPath()), pid, type)
                continue
            items.append((pid, type, getattr(aq_base(context), pid, None)))
        return sorted(items)

    def setProperty(self, property_id, type, value):
        self.checkEdit()
        context = self.context
        types = self._propertyTypes()
        if property_id in types and types[property_id] != type:
            if self.deleteProperty(property_id):
                types.pop(property_id)
            else:
                logger.warning('%s: property %r keeps its type %r (not %r)',
                               '/'.join(context.getPhysicalPath()),
                               property_id, types[property_id], type)
        if property_id not in types:
            if type in ('selection', 'multiple selection'):
                # a selection needs a select variable the XML does not carry
                type = 'lines' if type in LIST_TYPES else 'string'
            context._setProperty(property_id, value, type)
        elif isinstance(value, str) and '\r' in value:
            # _updateProperty would normalise the line ends of text
            context._setPropValue(property_id, value)
        else:
            context._updateProperty(property_id, value)

    def deleteProperty(self, property_id):
        self.checkEdit()
        context = self.context
        for prop in context._propertyMap():
            if prop['id'] == property_id:
                if ('d' not in prop.get('mode', 'wd')
                        or property_id in context._reserved_names):
                    return False
                context._delProperty(property_id)
                return True
        return False

    def getSubObjects(self):
        context = self.context
        if not getattr(aq_base(context), 'isPrincipiaFolderish', False) or \
                getattr(aq_base(context), 'objectValues', None) is None:
            return []
        subs = [obj for obj in context.objectValues() if travels(context, obj)]
        return sorted(subs, key=lambda obj: obj.getId())


class FileMapping(PropertyManagerMapping):
    """OFS File and Image: their properties plus ``data`` (base64)."""

    edit_permission = 'Change Images and Files'

    def getPropertyItems(self):
        data = aq_base(self.context).data
        if not isinstance(data, bytes):
            data = bytes(data)  # a Pdata chain
        items = PropertyManagerMapping.getPropertyItems(self)
        return sorted(items + [('data', 'base64', data)])

    def setProperty(self, property_id, type, value):
        if property_id != 'data':
            return PropertyManagerMapping.setProperty(
                self, property_id, type, value)
        self.checkEdit()
        import io
        context = self.context
        content_type = context.content_type
        data, size = context._read_data(io.BytesIO(value or b''))
        context.update_data(data, None, size)
        # an Image guesses its type from the data; the XML says which
        context.content_type = content_type


class PageTemplateMapping(PropertyManagerMapping):
    """Page Template: its properties plus ``text`` (the source)."""

    edit_permission = 'Change Page Templates'

    def getPropertyItems(self):
        items = PropertyManagerMapping.getPropertyItems(self)
        return sorted(items + [('text', 'text', aq_base(self.context)._text)])

    def setProperty(self, property_id, type, value):
        context = self.context
        if property_id == 'text':
            self.checkEdit()
            context.pt_edit(value, context.content_type,
                            keep_output_encoding=True)
        elif property_id == 'content_type':
            self.checkEdit()
            context.pt_edit(context._text, value, keep_output_encoding=True)
        else:
            PropertyManagerMapping.setProperty(self, property_id, type, value)


class DTMLDocumentMapping(PropertyManagerMapping):
    """DTML Document: its properties plus ``raw`` (the source)."""

    edit_permission = 'Change DTML Documents'

    def getPropertyItems(self):
        items = PropertyManagerMapping.getPropertyItems(self)
        return sorted(items + [('raw', 'text', self.context.read_raw())])

    def setProperty(self, property_id, type, value):
        context = self.context
        if property_id == 'raw':
            self.checkEdit()
            context.manage_edit(value, context.title)
        else:
            PropertyManagerMapping.setProperty(self, property_id, type, value)


class FieldsMapping(XMLMapping):
    """Objects without a property sheet: a fixed list of typed fields."""

    #: {property id: type}
    fields = {}

    def getPropertyItems(self):
        return sorted((pid, type, self.getField(pid))
                      for pid, type in self.fields.items())

    def setProperty(self, property_id, type, value):
        if property_id not in self.fields:
            raise KeyError('%s has no field %r' % (self.getMetaType(),
                                                   property_id))
        self.checkEdit()
        self.setField(property_id, value)

    def getField(self, property_id):
        raise NotImplementedError

    def setField(self, property_id, value):
        raise NotImplementedError


class PythonScriptMapping(FieldsMapping):
    """Script (Python): ``title``, ``params`` and ``body``."""

    edit_permission = 'Change Python Scripts'
    fields = {'title': 'string', 'params': 'string', 'body': 'text'}

    def getField(self, property_id):
        context = aq_base(self.context)
        return {'title': lambda: context.title,
                'params': context.params,
                'body': context.body}[property_id]()

    def setField(self, property_id, value):
        context = self.context
        if property_id == 'title':
            context.ZPythonScript_setTitle(value)
        elif property_id == 'params':
            context.ZPythonScript_edit(value, context.body())
        else:
            context.ZPythonScript_edit(context.params(), value)


class DTMLMethodMapping(FieldsMapping):
    """DTML Method: ``title`` and ``raw``."""

    edit_permission = 'Change DTML Methods'
    fields = {'title': 'string', 'raw': 'text'}

    def getField(self, property_id):
        context = self.context
        if property_id == 'title':
            return aq_base(context).title
        return context.read_raw()

    def setField(self, property_id, value):
        context = self.context
        if property_id == 'title':
            context.manage_edit(context.read_raw(), value)
        else:
            context.manage_edit(value, context.title)


def default_mapping(obj):
    """The mapping of ``obj`` by class, as configure.zcml registers it,
    or None."""
    from OFS.DTMLDocument import DTMLDocument
    from OFS.DTMLMethod import DTMLMethod
    from OFS.Image import File
    from Products.PageTemplates.ZopePageTemplate import ZopePageTemplate
    from Products.PythonScripts.PythonScript import PythonScript
    base = aq_base(obj)
    for klass, mapping in ((File, FileMapping),
                           (ZopePageTemplate, PageTemplateMapping),
                           (PythonScript, PythonScriptMapping),
                           (DTMLDocument, DTMLDocumentMapping),
                           (DTMLMethod, DTMLMethodMapping)):
        if isinstance(base, klass):
            return mapping(obj)
    if IPropertyManager.providedBy(obj):
        return PropertyManagerMapping(obj)
    return None
