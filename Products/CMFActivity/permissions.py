"""Permissions of Products.CMFActivity."""
from AccessControl.Permission import addPermission
from Products.CMFCore.permissions import ManagePortal  # noqa: F401
from Products.CMFCore.permissions import ViewManagementScreens  # noqa: F401

AddActivityTool = 'Add CMFActivity Tools'
addPermission(AddActivityTool, ('Manager',))
