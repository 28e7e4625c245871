"""Permissions of Products.CMFMailIn."""
from AccessControl.Permission import addPermission

#: Post a mail to portal_mailin (what the mail alias's account needs).
ReceiveMail = 'CMFMailIn: Receive mail'
addPermission(ReceiveMail, ('Manager',))

#: Add the tool through the ZMI.
AddMailInTool = 'CMFMailIn: Add CMFMailIn Tool'
addPermission(AddMailInTool, ('Manager',))
