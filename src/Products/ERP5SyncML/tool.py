"""portal_synchronizations (placeholder class, being written)."""
from OFS.SimpleItem import SimpleItem
from Products.CMFCore.utils import UniqueObject


class SynchronizationTool(UniqueObject, SimpleItem):
    """ERP5SyncML Tool."""
    id = 'portal_synchronizations'
    meta_type = 'ERP5SyncML Tool'


def initialize(context):
    """Register the tool class (filled in later)."""
