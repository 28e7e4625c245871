"""Marker interfaces of the ERP5SyncML site and its demo content types."""
from Products.CMFCore.interfaces import IFolderish
from Products.CMFCore.interfaces import ISiteRoot


class IERP5SyncMLSite(ISiteRoot):
    """A CMF portal created by ``add_site`` ('ERP5SyncML Site')."""


class IModule(IFolderish):
    """A (BTree based) container of demo content ('Module')."""


class IPerson(IFolderish):
    """A demo person with typed properties; persons may contain persons."""
