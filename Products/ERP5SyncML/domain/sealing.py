"""GPG on the way in and out: open an incoming sealed message, or seal an
outgoing one, with the keys of the publication/subscription it belongs to.

The gpg work itself is in ``transports.gpg``; this module decides which
keys apply and records a refusal where the administrator looks for it (the
report of the publication or subscription). A refused message is applied
nowhere.
"""
import logging

from AccessControl import getSecurityManager

from ..transports import gpg

logger = logging.getLogger('Products.ERP5SyncML')

#: a message that does not pass the GPG checks (the text says why)
Refused = gpg.GPGError


def seal(domain, data):
    """``data`` as ``domain`` sends it: signed and encrypted when it has a
    GPG key, unchanged otherwise (None stays None)."""
    return gpg.seal_for(domain, data)


def open_for_subscription(sub, raw):
    """The plain message ``raw`` carries for subscription ``sub``; Refused
    when it does not pass ``sub``'s GPG rules."""
    return gpg.open_for(sub, raw)


def open_for_master(tool, raw, publication=None):
    """(plain bytes, the publication whose keys opened it or None) for a
    message arriving on the master; every GPG publication is tried when
    the caller does not know which one it is for."""
    candidates = [publication] if publication is not None else tool.getPublicationList()
    return gpg.open_for_any(candidates, raw)


def check_opened(pub, opened_by):
    """Refused unless a message for ``pub`` was opened with ``pub``'s keys
    (when ``pub`` has a GPG key)."""
    gpg.check_opened(pub, opened_by)


def record(domain, exc):
    """Show why a message was refused on ``domain``'s report (a running
    session keeps its counts and goes on: a forged message must not end
    it). ``domain`` None: only logged."""
    domain = domain if domain is not None else getattr(exc, 'domain', None)
    if domain is None:
        logger.warning('GPG: %s', exc)
        return
    logger.warning('%s %s: %s', domain.meta_type, domain.getId(), exc)
    session = getattr(domain, 'session', None)
    counts = session.counts if session is not None and session.running else None
    domain.setReport('refused', str(exc), counts)


def refused_over_http(publication, exc, RESPONSE):
    """Answer an HTTP request whose message was refused: HTTP 403 with the
    reason. Recorded on the publication only for an authenticated peer
    (an anonymous caller cannot fill the report)."""
    user = getSecurityManager().getUser()
    if user is not None and user.getUserName() != 'Anonymous User':
        record(publication, exc)
    else:
        logger.warning('anonymous GPG refusal: %s', exc)
    if RESPONSE is not None:
        RESPONSE.setStatus(403)
        RESPONSE.setHeader('Content-Type', 'text/plain; charset=utf-8')
        RESPONSE.setHeader('X-Content-Type-Options', 'nosniff')
    return str(exc) + '\n'
