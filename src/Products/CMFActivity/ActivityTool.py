"""portal_activities (placeholder class, being written)."""
from OFS.SimpleItem import SimpleItem
from Products.CMFCore.utils import UniqueObject


class ActivityTool(UniqueObject, SimpleItem):
    """CMF Activity Tool."""
    id = 'portal_activities'
    meta_type = 'CMF Activity Tool'
