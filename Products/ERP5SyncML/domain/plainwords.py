"""Synchronization errors in plain words for administrators; the technical
text stays available (folded in the ZMI) and goes to the site's error_log."""
import logging
import sys

logger = logging.getLogger('Products.ERP5SyncML')

#: (lower-case fragment of the technical reason, what it means)
_MEANINGS = (
    ('connection refused', 'The master could not be reached: is it running, '
                           'and is the Publication Url right?'),
    ('name or service not known', 'The master\'s host name is unknown: check '
                                  'the Publication Url.'),
    ('timed out', 'The master did not answer in time.'),
    ('401', 'The master refused the login: check the Login and Password.'),
    ('unauthorized', 'The master refused the login: check the Login and Password.'),
    ('authentication', 'The master refused the login: check the Login and Password.'),
    ('404', 'The master has no such address: check the Publication Url.'),
    ('no publication', 'The master has no publication of that id: check '
                       '"Publication id on the master".'),
    ('empty answer', 'The master answered with nothing: look at its error log.'),
    ("cannot apply the master's answer", 'This site could not apply the changes '
                                         'the master sent: look at the error log.'),
    ('abort', 'The synchronization was stopped before its end.'),
)


def plain(reason):
    """What a failure ``reason`` means, in one sentence ('' for none)."""
    if not reason:
        return ''
    text = str(reason).lower()
    for fragment, meaning in _MEANINGS:
        if fragment in text:
            return meaning
    return 'The synchronization stopped with an error.'


def plain_object_error(detail):
    """What the refusal of one object means, in one sentence."""
    text = str(detail or '').lower()
    if 'unauthorized' in text:
        return 'Not allowed: the account used for the synchronization may not change it.'
    if 'conflict' in text:
        return 'It changed on both sites: see the Conflicts tab.'
    if 'notfound' in text or 'keyerror' in text or 'not found' in text:
        return 'It does not exist (any more) on this site.'
    return 'It could not be applied.'


class SynchronizationFailed(Exception):
    """A session that ended in failure, as the error_log records it."""


def log_failure(domain, reason):
    """Record a failed session in the site's error_log (if it has one)."""
    error_log = getattr(domain, 'error_log', None)
    if error_log is None:
        return
    try:
        raise SynchronizationFailed('%s %s: %s -- %s' % (
            domain.meta_type, domain.getId(), plain(reason), reason))
    except SynchronizationFailed:
        try:
            error_log.raising(sys.exc_info())
        except Exception:
            logger.debug('error_log did not take the failure', exc_info=True)
