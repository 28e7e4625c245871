"""SyncML authentication: ``syncml:auth-basic`` and ``syncml:auth-md5``.

basic: Data = b64("user:password").
md5:   Data = b64(md5(b64(md5("user:password")) + ":" + nonce)), where the
       nonce is the *decoded* NextNonce of the server's last challenge
       (empty on a first session).
"""
import base64
import binascii
import hashlib
import hmac
import os

from .codes import StatusCode
from .errors import ProtocolError

#: the status answering credentials that cannot be read
_REFUSED = StatusCode.INVALID_CREDENTIALS

BASIC = 'syncml:auth-basic'
MD5 = 'syncml:auth-md5'
AUTH_TYPES = (BASIC, MD5)


def _bytes(value):
    if isinstance(value, str):
        return value.encode('utf-8')
    return bytes(value)


def _b64decode(text, what):
    try:
        return base64.b64decode(_bytes(text.strip() if isinstance(text, str)
                                       else text), validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError('%s is not valid base64' % what, _REFUSED) from None


def basic_credentials(user, password):
    """Cred Data for syncml:auth-basic."""
    return base64.b64encode(_bytes('%s:%s' % (user, password))).decode('ascii')


def parse_basic(data, format='b64'):
    """Return (user, password) from syncml:auth-basic Cred Data.

    Raises ProtocolError (401) when the data cannot be decoded.
    """
    if format in (None, ''):
        raw = _bytes(data)
    elif format == 'b64':
        raw = _b64decode(data, 'basic credential')
    else:
        raise ProtocolError('unsupported credential format %r' % format, _REFUSED)
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise ProtocolError('basic credential is not UTF-8', _REFUSED) from None
    user, sep, password = text.partition(':')
    if not sep or not user:
        raise ProtocolError('basic credential is not "user:password"', _REFUSED)
    return user, password


def md5_credentials(user, password, nonce=b''):
    """Cred Data for syncml:auth-md5; ``nonce`` is the decoded nonce."""
    inner = base64.b64encode(
        hashlib.md5(_bytes('%s:%s' % (user, password))).digest())
    digest = hashlib.md5(inner + b':' + _bytes(nonce)).digest()
    return base64.b64encode(digest).decode('ascii')


def md5_secret(user, password):
    """b64(md5("user:password")): what a server must keep to check md5
    credentials (it stands for the password in SyncML md5, so it is kept
    like one, but the cleartext is not needed)."""
    return base64.b64encode(
        hashlib.md5(_bytes('%s:%s' % (user, password))).digest())


def md5_from_secret(secret, nonce=b''):
    """Cred Data for syncml:auth-md5 from ``md5_secret``."""
    digest = hashlib.md5(_bytes(secret) + b':' + _bytes(nonce)).digest()
    return base64.b64encode(digest).decode('ascii')


def check_md5(data, secret, nonce):
    """True when md5 Cred ``data`` was made from ``secret`` and ``nonce``
    (compared in constant time)."""
    expected = md5_from_secret(secret, nonce).encode('ascii')
    given = _bytes(data.strip() if isinstance(data, str) else data)
    return hmac.compare_digest(expected, given)


def new_nonce(size=16):
    """A fresh random nonce (raw bytes)."""
    return os.urandom(size)


def encode_nonce(nonce):
    """The NextNonce text of a Chal (b64 of the raw nonce)."""
    return base64.b64encode(_bytes(nonce)).decode('ascii')


def decode_nonce(text):
    """The raw nonce of a Chal's NextNonce (b64); ProtocolError when bad."""
    return _b64decode(text or '', 'NextNonce')


def credentials_for(auth_type, user, password, nonce=b''):
    """Cred Data answering a challenge of ``auth_type``."""
    if auth_type == MD5:
        return md5_credentials(user, password, nonce)
    if auth_type == BASIC:
        return basic_credentials(user, password)
    raise ProtocolError('unsupported authentication %r' % (auth_type,),
                        _REFUSED)
