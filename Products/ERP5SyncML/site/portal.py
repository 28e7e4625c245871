"""The portal class of an 'ERP5SyncML Site'."""
from AccessControl.class_init import InitializeClass
from AccessControl.SecurityInfo import ClassSecurityInfo
from zope.interface import implementer

from Products.CMFCore.permissions import AddPortalContent
from Products.CMFCore.PortalObject import PortalObjectBase

from .interfaces import IERP5SyncMLSite


@implementer(IERP5SyncMLSite)
class ERP5SyncMLSite(PortalObjectBase):
    """A CMF portal (tools are local utilities of its site manager).

    Built by ``Products.ERP5SyncML.site.factory.add_site``; its tools and
    types come from the GenericSetup profile ``Products.ERP5SyncML:default``.
    """

    meta_type = 'ERP5SyncML Site'
    security = ClassSecurityInfo()

    @security.protected(AddPortalContent)
    def invokeFactory(self, type_name, id, RESPONSE=None, *args, **kw):
        """Create a ``type_name`` object ``id`` in the portal.

        Uses this portal's own types tool, so it works without
        ``setSite`` (CMFCore asks the current site's utility).
        """
        return self._getOb('portal_types').constructContent(
            type_name, self, id, RESPONSE, *args, **kw)


InitializeClass(ERP5SyncMLSite)
