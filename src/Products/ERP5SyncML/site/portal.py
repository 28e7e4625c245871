"""The portal class of an 'ERP5SyncML Site'."""
from AccessControl.class_init import InitializeClass
from zope.interface import implementer

from Products.CMFCore.PortalObject import PortalObjectBase

from .interfaces import IERP5SyncMLSite


@implementer(IERP5SyncMLSite)
class ERP5SyncMLSite(PortalObjectBase):
    """A CMF portal (tools are local utilities of its site manager).

    Built by ``Products.ERP5SyncML.site.factory.add_site``; its tools and
    types come from the GenericSetup profile ``Products.ERP5SyncML:default``.
    """

    meta_type = 'ERP5SyncML Site'


InitializeClass(ERP5SyncMLSite)
