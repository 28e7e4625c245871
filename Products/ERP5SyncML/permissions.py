"""Permissions of the ERP5SyncML product."""
from AccessControl.Permission import addPermission
from Products.CMFCore.permissions import ManagePortal  # noqa: F401
from Products.CMFCore.permissions import View  # noqa: F401

#: Run a synchronization (the Sync button, SubSync/PubSync, readResponse).
Synchronize = 'ERP5SyncML: Synchronize'
addPermission(Synchronize, ('Manager',))

#: Resolve synchronization conflicts.
ResolveConflicts = 'ERP5SyncML: Resolve conflicts'
addPermission(ResolveConflicts, ('Manager',))

#: Add the tool through the ZMI.
AddSynchronizationTool = 'ERP5SyncML: Add ERP5SyncML Tool'
addPermission(AddSynchronizationTool, ('Manager',))

#: Add an ERP5SyncML Site through the ZMI.
AddSite = 'ERP5SyncML: Add ERP5SyncML Site'
addPermission(AddSite, ('Manager',))
