"""Object factories: the inverse of the ``portal_type``/``meta_type``
attributes of the object XML.

CMF content (non-empty portal_type) is built by the site's types tool
(``invokeFactory``), OFS objects by their ``manage_add*`` function. Both
run as the current user and check the add permission. A site can register
its own ``IObjectFactory`` utility named ``portal_type:<type>`` or
``meta_type:<meta type>``; those win over the built-in ones.
"""
import threading

import transaction
from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from Acquisition import aq_base
from zope.component import queryUtility
from zope.interface import implementer

from ..interfaces import IObjectFactory
from .adapters import check_permission


class UnknownTypeError(ValueError):
    """No factory knows how to create an object of this type."""


#: per thread: (transaction, {(user, container, portal_type): type info})
_checked = threading.local()


def _standard_invoke_factories():
    from Products.CMFCore.PortalFolder import PortalFolderBase
    found = [PortalFolderBase.invokeFactory]
    try:
        from ..site.content import SyncContentMixin
        found.append(SyncContentMixin.invokeFactory)
    except ImportError:  # pragma: no cover - the demo site is optional
        pass
    return found


def _checked_type_info(container, portal_type):
    """The type info to build ``portal_type`` in ``container`` once the
    checks of ``invokeFactory`` passed (add permission, allowed sub-type,
    construction allowed), or None where the container's invokeFactory is
    not the standard one. The checks are made once per transaction, user,
    container and type: a message adds many objects to one folder."""
    if getattr(type(aq_base(container)), 'invokeFactory', None) not in \
            _standard_invoke_factories():
        return None
    txn = transaction.get()
    state = getattr(_checked, 'state', None)
    if state is None or state[0] is not txn:
        state = _checked.state = (txn, {})
    user = getSecurityManager().getUser()
    key = (user.getId(), user.getUserName(), container.getPhysicalPath(),
           portal_type)
    info = state[1].get(key)
    if info is not None:
        return info
    check_permission('Add portal content', container, 'add %s' % portal_type)
    from Products.CMFCore.utils import getToolByName
    types = getToolByName(container, 'portal_types')
    mine = types.getTypeInfo(container)
    if mine is not None and not mine.allowType(portal_type):
        raise ValueError('Disallowed subobject type: %s' % portal_type)
    info = types.getTypeInfo(portal_type)
    if info is None:
        raise ValueError('No such content type: %s' % portal_type)
    if not info.isConstructionAllowed(container):
        raise Unauthorized('Cannot create %s' % portal_type)
    state[1][key] = info
    return info


@implementer(IObjectFactory)
class CMFFactory:
    """CMF content by portal_type, through the types tool."""

    def __call__(self, container, object_id, portal_type, meta_type):
        try:
            info = _checked_type_info(container, portal_type)
            if info is not None:
                # what invokeFactory does after its checks
                new_id = info._constructInstance(container, object_id).getId()
            elif getattr(aq_base(container), 'invokeFactory', None) is not None:
                check_permission('Add portal content', container,
                                 'add %s %r' % (portal_type, object_id))
                new_id = container.invokeFactory(portal_type, object_id)
            else:
                check_permission('Add portal content', container,
                                 'add %s %r' % (portal_type, object_id))
                from Products.CMFCore.utils import getToolByName
                types = getToolByName(container, 'portal_types')
                new_id = types.constructContent(portal_type, container,
                                                object_id)
        except Unauthorized:
            raise
        except ValueError as exc:
            # unknown or disallowed portal_type
            raise UnknownTypeError('cannot add %r of portal_type %r in %s: %s'
                                   % (object_id, portal_type,
                                      '/'.join(container.getPhysicalPath()),
                                      exc)) from None
        return container._getOb(new_id or object_id)


@implementer(IObjectFactory)
class OFSFactory:
    """A plain OFS object made by its ``manage_add*`` function."""

    def __init__(self, add_function, permission, **kw):
        self.add_function = add_function
        self.permission = permission
        self.kw = kw

    def __call__(self, container, object_id, portal_type, meta_type):
        check_permission(self.permission, container,
                         'add %s %r' % (meta_type, object_id))
        self.add_function(container, object_id, **self.kw)
        return container._getOb(object_id)


def _ofs_factories():
    from OFS.DTMLDocument import addDTMLDocument
    from OFS.DTMLMethod import addDTMLMethod
    from OFS.Folder import manage_addFolder
    from OFS.Image import manage_addFile
    from OFS.Image import manage_addImage
    from Products.PageTemplates.ZopePageTemplate import manage_addPageTemplate
    from Products.PythonScripts.PythonScript import manage_addPythonScript
    files = 'Add Documents, Images, and Files'
    return {
        'Folder': OFSFactory(manage_addFolder, 'Add Folders'),
        'File': OFSFactory(manage_addFile, files, file=b''),
        'Image': OFSFactory(manage_addImage, files, file=b''),
        'Page Template': OFSFactory(manage_addPageTemplate,
                                    'Add Page Templates'),
        'Script (Python)': OFSFactory(manage_addPythonScript,
                                      'Add Python Scripts'),
        'DTML Document': OFSFactory(addDTMLDocument, files),
        'DTML Method': OFSFactory(addDTMLMethod, files),
    }


_builtin = {}


def getObjectFactory(portal_type, meta_type):
    """The factory for objects of this type; UnknownTypeError if none."""
    if portal_type:
        factory = queryUtility(IObjectFactory, 'portal_type:' + portal_type)
        return factory if factory is not None else CMFFactory()
    factory = queryUtility(IObjectFactory, 'meta_type:' + (meta_type or ''))
    if factory is not None:
        return factory
    if not _builtin:
        _builtin.update(_ofs_factories())
    factory = _builtin.get(meta_type)
    if factory is None:
        raise UnknownTypeError('no factory for objects of meta_type %r '
                               '(and no portal_type)' % (meta_type,))
    return factory


def createObject(container, object_id, portal_type, meta_type):
    """Create an empty ``portal_type``/``meta_type`` object with id
    ``object_id`` in ``container`` and return it (wrapped)."""
    if not object_id:
        raise ValueError('cannot create an object without id')
    if container._getOb(object_id, None) is not None:
        raise ValueError('%s already contains %r'
                         % ('/'.join(container.getPhysicalPath()), object_id))
    from ..conduit.policy import check_new_object
    check_new_object(object_id, portal_type,
                     (meta_type, _content_meta_type(container, portal_type)))
    factory = getObjectFactory(portal_type, meta_type)
    return factory(container, object_id, portal_type, meta_type)


def _content_meta_type(container, portal_type):
    """The meta type the types tool makes for ``portal_type`` (the XML's
    meta_type attribute is the peer's word only)."""
    if not portal_type:
        return ''
    from Products.CMFCore.utils import getToolByName
    types = getToolByName(container, 'portal_types', None)
    info = types.getTypeInfo(portal_type) if types is not None else None
    return getattr(info, 'content_meta_type', '') or ''
