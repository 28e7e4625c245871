"""SyncML credentials: authenticate a request that HTTP authentication
left anonymous with the ``Cred`` of the message header; SyncML accounts
and challenges (basic, md5) for standard SyncML clients."""
import hashlib
import hmac
import logging

from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager
from Acquisition import aq_base
from Acquisition import aq_inner
from BTrees.IOBTree import IOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from ..syncml import auth
from ..syncml import codec
from ..syncml import model as m
from ..syncml.codes import StatusCode

logger = logging.getLogger('Products.ERP5SyncML')


class SyncMLRefusal(Exception):
    """Credentials refused: ``reply`` is the SyncML answer (401/407 with
    a Chal on SyncHdr)."""

    def __init__(self, reply):
        Exception.__init__(self, 'credentials refused')
        self.reply = reply


def _publication_of(tool, message):
    """The publication a message to the master is for, or None."""
    for command in message.commands:
        if isinstance(command, m.Alert) and 200 <= int(command.code) <= 205:
            for item in command.items or ():
                if item.target is not None:
                    pub = tool.getPublication(item.target.uri)
                    if pub is not None:
                        return pub
    source = message.header.source.uri
    for pub in tool.getPublicationList():
        if pub.getSubscriber(source) is not None:
            return pub
    return None


def _next_msg_id(pub, message):
    """Our next MsgID in the session of ``message`` (1 outside one)."""
    subscriber = pub.getSubscriber(message.header.source.uri)
    session = subscriber.session if subscriber is not None else None
    if session is not None and \
            session.session_id == str(message.header.session_id):
        return session.next_msg_id
    return 1


def authenticate(context, message, request):
    """Make the user named by the message's credentials the current user,
    unless the request is already authenticated.

    A message for one of ``context``'s publications is checked like a
    standard client's (SyncML accounts, then user folders; basic or md5):
    refused, it raises ``SyncMLRefusal`` with the 401/407 + Chal answer;
    accepted, the result is a callable giving the Chal (the next md5
    nonce) for our answers, or None.  Any other message needs basic
    credentials of a user folder (``Unauthorized`` otherwise).
    """
    user = getSecurityManager().getUser()
    if user is not None and user.getUserName() != 'Anonymous User':
        return None
    pub = None
    if request is not None and hasattr(context, 'getPublicationList'):
        pub = _publication_of(context, message)
    if pub is not None:
        try:
            user, auth_type = check_credentials(pub, context, message,
                                                request)
        except Refused as refused:
            reply = m.error_reply(message, refused.status,
                                  _next_msg_id(pub, message))
            reply.commands[0].chal = refused.chal
            raise SyncMLRefusal(codec.encode(reply))
        newSecurityManager(request, user)
        device = message.header.source.uri
        return lambda: refresh_chal(pub, device, auth_type)
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
            return None
    raise Unauthorized('invalid SyncML credentials')


# -- standard SyncML clients (phones, SyncEvolution) ------------------------
#
# The md5 scheme needs b64(md5("login:password")) on the server, which Zope
# user folders do not keep (they store salted hashes).  So a publication can
# hold its own SyncML accounts: a login, that md5 secret (never the
# cleartext) and the Zope user the sync runs as.  Basic credentials are
# checked against those accounts first, then against the user folders.

#: devices whose last nonce is kept: anyone may ask for a challenge, so
#: the oldest are forgotten (such a device gets 401 and a new nonce)
MAX_NONCES = 1000
#: a longer device id is kept as its hash
MAX_DEVICE_KEY = 100


def _device_key(device):
    device = device or ''
    if len(device) <= MAX_DEVICE_KEY:
        return device
    return 'sha256:' + hashlib.sha256(device.encode('utf-8')).hexdigest()


class SyncMLAccounts(Persistent):
    """A publication's SyncML accounts, and the last nonce given to each
    device (the md5 nonce chain) for the ``MAX_NONCES`` latest devices."""

    _issued = None
    _serial = 0

    def __init__(self):
        self._accounts = OOBTree()   # login -> (md5 secret, Zope user id)
        self._nonces = OOBTree()     # device key -> raw nonce
        self._issued = IOBTree()     # serial -> device key, oldest first
        self._serial_of = OOBTree()  # device key -> its serial

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

    def _remember(self, key):
        self._serial += 1
        self._issued[self._serial] = key
        self._serial_of[key] = self._serial

    def nonce(self, device):
        return self._nonces.get(_device_key(device), b'')

    def next_nonce(self, device):
        """A new nonce for ``device``: stored, and returned as a Chal."""
        nonce = auth.new_nonce()
        key = _device_key(device)
        if self._issued is None:   # a store made before the bound
            self._issued, self._serial_of = IOBTree(), OOBTree()
            for old in list(self._nonces.keys()):
                self._remember(old)
        old = self._serial_of.get(key)
        if old is not None:
            del self._issued[old]
        self._remember(key)
        self._nonces[key] = nonce
        while len(self._issued) > MAX_NONCES:
            gone = self._issued.pop(self._issued.minKey())
            del self._serial_of[gone]
            self._nonces.pop(gone, None)
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
    """The Chal to put on our header Status after a login with a SyncML
    account (``auth_type`` is then md5, or basic with an account): md5
    and the nonce the device must use next."""
    if auth_type not in (auth.MD5, ACCOUNT_BASIC):
        return None
    return _chal(publication, device, auth.MD5)


#: a basic login with a SyncML account: the answer asks for md5 next time
ACCOUNT_BASIC = 'account:' + auth.BASIC


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
                    if user is not None:
                        return user, ACCOUNT_BASIC
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
