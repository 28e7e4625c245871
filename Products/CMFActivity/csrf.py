"""Cross-site request forgery protection for state-changing ZMI actions.

A form carries ``_authenticator`` = ``token(tool)``: an HMAC of the
authenticated user's id under a random secret kept on the tool (so every
Zope process of a ZEO cluster agrees on it).  A method that changes state
calls ``protect(self, REQUEST)`` first: when the method is the object the
request publishes, the request must be a POST with the right token;
Python callers (scripts, the activity queue, tests) are not affected.

Products.ERP5SyncML uses it too: it lives here because ERP5SyncML depends
on CMFActivity, not the other way round.
"""
import hashlib
import hmac
import secrets

from AccessControl import getSecurityManager
from Acquisition import aq_base
from zExceptions import Forbidden
from zope.globalrequest import getRequest

FIELD = '_authenticator'
_SECRET_ATTR = '_csrf_secret'


def _secret(obj):
    base = aq_base(obj)
    secret = getattr(base, _SECRET_ATTR, None)
    if secret is None:
        # made once per object; a tool created before this existed gets it
        # at its first form
        secret = secrets.token_bytes(32)
        setattr(base, _SECRET_ATTR, secret)
    return secret


def token(obj):
    """The token the current user's forms on ``obj`` must carry."""
    user = getSecurityManager().getUser()
    user_id = user.getId() if user is not None else None
    message = ('%s' % (user_id or 'Anonymous User')).encode('utf-8')
    return hmac.new(_secret(obj), message, hashlib.sha256).hexdigest()


def _published_here(obj, request):
    """True when ``request`` publishes a method of ``obj`` (a web call), as
    opposed to Python code calling the method."""
    published = request.get('PUBLISHED', None) if request is not None else None
    owner = getattr(published, '__self__', None)
    return owner is not None and aq_base(owner) is aq_base(obj)


def protect(obj, request):
    """Refuse a web call of a state-changing method of ``obj`` that is not
    a POST carrying the current user's token (``Forbidden``, HTTP 403)."""
    if request is None:
        request = getRequest()
    if not _published_here(obj, request):
        return
    if request.get('REQUEST_METHOD', 'GET').upper() != 'POST':
        raise Forbidden('this action changes data: it needs a POST from its form')
    sent = request.form.get(FIELD, '')
    if not isinstance(sent, str) or not hmac.compare_digest(sent, token(obj)):
        raise Forbidden('the form has expired or did not come from this site:'
                        ' reload the page and try again')
