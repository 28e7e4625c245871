"""SyncML credentials: authenticate a request that HTTP authentication
left anonymous with the ``Cred`` of the message header."""
from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager

from ..syncml import auth


def authenticate(context, message, request):
    """Make the user named by the message's credentials the current user,
    unless the request is already authenticated; Unauthorized otherwise.

    The user is looked up in the user folder of ``context``'s site first,
    then in the Zope root's.
    """
    user = getSecurityManager().getUser()
    if user is not None and user.getUserName() != 'Anonymous User':
        return
    cred = message.header.cred
    if cred is None or request is None:
        raise Unauthorized('SyncML synchronization needs authentication')
    try:
        login, password = auth.parse_basic(cred.data, cred.format)
    except Exception:
        raise Unauthorized('unsupported SyncML credentials')
    for acl_users in (getattr(context, 'acl_users', None),
                      getattr(context.getPhysicalRoot(), 'acl_users', None)):
        if acl_users is None:
            continue
        user = acl_users.authenticate(login, password, request)
        if user is not None:
            newSecurityManager(request, user.__of__(acl_users))
            return
    raise Unauthorized('invalid SyncML credentials')
