"""SyncML credentials: authenticate a request that HTTP authentication
left anonymous with the ``Cred`` of the message header; SyncML accounts
and challenges (basic, md5) for standard SyncML clients."""
import hmac
import logging

from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager
from Acquisition import aq_base
from Acquisition import aq_inner
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..syncml import auth
from ..syncml import model as m
from ..syncml.codes import StatusCode

logger = logging.getLogger('Products.ERP5SyncML')


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


# -- standard SyncML clients (phones, SyncEvolution) ------------------------
#
# The md5 scheme needs b64(md5("login:password")) on the server, which Zope
# user folders do not keep (they store salted hashes).  So a publication can
# hold its own SyncML accounts: a login, that md5 secret (never the
# cleartext) and the Zope user the sync runs as.  Basic credentials are
# checked against those accounts first, then against the user folders.

class SyncMLAccounts(Persistent):
    """A publication's SyncML accounts, and the last nonce given to each
    device (the md5 nonce chain)."""

    def __init__(self):
        self._accounts = OOBTree()   # login -> (md5 secret, Zope user id)
        self._nonces = OOBTree()     # device id -> raw nonce

    def set(self, login, password, user_id):
        if not login or ':' in login:
            raise ValueError('a SyncML login is required, without ":"')
        if not password:
            raise ValueError('a SyncML account needs a password')
        if not user_id:
            raise ValueError('a SyncML account runs as a Zope user: name it')
        self._accounts[login] = (auth.md5_secret(login, password), user_id)

    def remove(self, login):
        self._accounts.pop(login, None)

    def logins(self):
        return [(login, value[1]) for login, value in self._accounts.items()]

    def get(self, login):
        return self._accounts.get(login or '')

    def __len__(self):
        return len(self._accounts)

    def nonce(self, device):
        return self._nonces.get(device, b'')

    def next_nonce(self, device):
        """A new nonce for ``device``: stored, and returned as a Chal."""
        nonce = auth.new_nonce()
        self._nonces[device] = nonce
        return auth.encode_nonce(nonce)


def accounts(publication):
    """The SyncML accounts of ``publication`` (made on first use)."""
    store = getattr(aq_base(publication), '_syncml_accounts', None)
    if store is None:
        store = SyncMLAccounts()
        aq_base(publication)._syncml_accounts = store
    return store


def _zope_user(context, user_id):
    for acl_users in _user_folders(context):
        user = acl_users.getUserById(user_id)
        if user is not None:
            return user.__of__(acl_users)
    return None


def _user_folders(context):
    # aq_inner: an acquired user folder must sit in its own container, or
    # its users have no roles on the objects around it
    for acl_users in (getattr(context, 'acl_users', None),
                      getattr(context.getPhysicalRoot(), 'acl_users', None)):
        if acl_users is not None:
            yield aq_inner(acl_users)


class Refused(Exception):
    """Credentials missing or wrong: ``status`` (401/407) and a ``chal``."""

    def __init__(self, status, chal, reason):
        Exception.__init__(self, reason)
        self.status = int(status)
        self.chal = chal


def challenge_type(publication):
    """md5 when the publication has accounts that can check it."""
    return auth.MD5 if len(accounts(publication)) else auth.BASIC


def _chal(publication, device, auth_type):
    store = accounts(publication)
    if auth_type == auth.MD5 and len(store):
        return m.Chal(type=auth.MD5, format='b64',
                      next_nonce=store.next_nonce(device))
    return m.Chal(type=auth.BASIC, format='b64')


def refresh_chal(publication, device, auth_type):
    """The Chal to put on our header Status after an md5 login: the nonce
    the device must use next time."""
    if auth_type != auth.MD5:
        return None
    return _chal(publication, device, auth.MD5)


def check_credentials(publication, context, message, request):
    """The Zope user the message's Cred names, and the auth type used.

    Raises ``Refused`` (407 without Cred, 401 with wrong ones) carrying
    the Chal to send; the device's nonce is renewed then.
    """
    header = message.header
    device = header.source.uri
    cred = header.cred
    if cred is None:
        raise Refused(StatusCode.MISSING_CREDENTIALS,
                      _chal(publication, device, challenge_type(publication)),
                      'no credentials')
    store = accounts(publication)
    user = None
    if cred.type == auth.MD5:
        login = header.source.name or ''
        account = store.get(login)
        nonce = store.nonce(device)
        # an empty nonce makes a credential that can be replayed forever
        if account is not None and nonce and \
                auth.check_md5(cred.data, account[0], nonce):
            user = _zope_user(context, account[1])
    elif cred.type == auth.BASIC:
        try:
            login, password = auth.parse_basic(cred.data, cred.format)
        except Exception:
            login = password = None
        if login is not None:
            account = store.get(login)
            if account is not None:
                if hmac.compare_digest(auth.md5_secret(login, password),
                                       account[0]):
                    user = _zope_user(context, account[1])
            else:
                for acl_users in _user_folders(context):
                    found = acl_users.authenticate(login, password, request)
                    if found is not None:
                        user = found.__of__(acl_users)
                        break
    if user is None:
        wanted = cred.type if cred.type in auth.AUTH_TYPES and (
            cred.type == auth.BASIC or len(store)) else \
            challenge_type(publication)
        logger.warning('publication %s: %s credentials of %s refused',
                       publication.getId(), cred.type, device)
        raise Refused(StatusCode.INVALID_CREDENTIALS,
                      _chal(publication, device, wanted),
                      'invalid credentials')
    return user, cred.type


def session_user(context, user_id):
    """The Zope user a session authenticated as (None when gone)."""
    return _zope_user(context, user_id)


def run_as(request, user):
    """Make ``user`` the current user for the rest of the request."""
    newSecurityManager(request, user)


def current_user():
    """The authenticated user of this request, or None when anonymous."""
    user = getSecurityManager().getUser()
    if user is None or user.getUserName() == 'Anonymous User':
        return None
    return user
