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

from .errors import ProtocolError

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
        raise ProtocolError('%s is not valid base64' % what, 401) from None


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
        raise ProtocolError('unsupported credential format %r' % format, 401)
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        raise ProtocolError('basic credential is not UTF-8', 401) from None
    user, sep, password = text.partition(':')
    if not sep or not user:
        raise ProtocolError('basic credential is not "user:password"', 401)
    return user, password


def md5_credentials(user, password, nonce=b''):
    """Cred Data for syncml:auth-md5; ``nonce`` is the decoded nonce."""
    inner = base64.b64encode(
        hashlib.md5(_bytes('%s:%s' % (user, password))).digest())
    digest = hashlib.md5(inner + b':' + _bytes(nonce)).digest()
    return base64.b64encode(digest).decode('ascii')


def verify_md5(data, user, password, nonce=b''):
    """True when ``data`` is the md5 credential of user/password/nonce."""
    expected = md5_credentials(user, password, nonce)
    return hmac.compare_digest(_bytes(expected), _bytes(data.strip()))


def verify_basic(data, user, password, format='b64'):
    """True when basic Cred ``data`` names ``user`` with ``password``."""
    try:
        got_user, got_password = parse_basic(data, format)
    except ProtocolError:
        return False
    return (hmac.compare_digest(_bytes(got_user), _bytes(user))
            and hmac.compare_digest(_bytes(got_password), _bytes(password)))


def new_nonce(size=16):
    """A fresh random nonce (bytes)."""
    return os.urandom(size)


def encode_nonce(nonce):
    """NextNonce text (format b64) for a nonce."""
    return base64.b64encode(_bytes(nonce)).decode('ascii')


def decode_nonce(text, format='b64'):
    """The nonce bytes of a Chal NextNonce."""
    if text is None:
        return b''
    if format in (None, ''):
        return _bytes(text)
    if format != 'b64':
        raise ProtocolError('unsupported nonce format %r' % format, 401)
    return _b64decode(text, 'NextNonce')
