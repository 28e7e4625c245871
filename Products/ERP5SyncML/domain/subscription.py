"""Subscriptions: a client's copy of a master's publication."""
import secrets

from AccessControl import ClassSecurityInfo
from AccessControl.class_init import InitializeClass

from ..permissions import ManagePortal
from .base import COMMON_FIELDS
from .base import SyncDomain
from .publication import CONTENT_TYPES

SYNC_MODES = (
    (200, 'two-way'),
    (201, 'slow sync (two-way, full comparison)'),
    (202, 'one-way from client'),
    (203, 'refresh from client'),
    (204, 'one-way from server'),
    (205, 'refresh from server'),
)

SUBSCRIPTION_FIELDS = COMMON_FIELDS[:2] + (
    ('subscription_url', 'Subscription Url', 'string', ''),
) + COMMON_FIELDS[2:] + (
    ('sync_mode', 'Sync mode', 'int', 200),
    ('target_database', 'Publication id on the master', 'string', ''),
    ('login', 'Login on the master', 'string', ''),
    ('password', 'Password on the master', 'password', ''),
    # a vCard type: the master is a standard SyncML server (SyncEvolution)
    ('content_type', 'Content type (asXML, text/vcard, text/x-vcard)',
     'string', 'asXML'),
    ('stale_after', 'Seconds without progress before Sync may replace a '
     'running session', 'int', 600),
)


class Subscription(SyncDomain):
    """A folder kept in sync with a master's publication."""

    meta_type = 'ERP5SyncML Subscription'
    fields = SUBSCRIPTION_FIELDS
    security = ClassSecurityInfo()
    session_counter = 0
    content_type = 'asXML'
    stale_after = 600

    def edit(self, **kw):
        if 'content_type' in kw:
            value = (kw['content_type'] or '').strip() or 'asXML'
            if value not in CONTENT_TYPES:
                raise ValueError('content type must be one of %s, not %r'
                                 % (', '.join(CONTENT_TYPES), value[:40]))
            kw['content_type'] = value
        if 'sync_mode' in kw and kw['sync_mode'] not in (None, ''):
            mode = int(kw['sync_mode'])
            if mode not in dict(SYNC_MODES):
                raise ValueError('unknown sync mode %r' % mode)
        SyncDomain.edit(self, **kw)

    def getTargetDatabase(self):
        """The publication id on the master (defaults to our own id)."""
        return self.target_database or self.id

    def getOrigin(self):
        return ('sub', self.getId())

    def nextSessionId(self):
        """A new session id: random, so that nobody can guess the id of a
        running session and forge a message of it (``session_counter``
        still counts the sessions)."""
        self.session_counter += 1
        return secrets.token_hex(8)

    @security.protected(ManagePortal)
    def isSyncRunning(self):
        """True while a session runs (Sync then starts nothing)."""
        from .running import is_running
        return is_running(self.session)

    @security.protected(ManagePortal)
    def getRunningInfo(self):
        """(session started, last progress, stale) of the running session,
        or None."""
        from . import running
        session = self.session
        if not running.is_running(session):
            return None
        return (session.started, running.last_activity(session),
                running.is_stale(self, session))

    def getSyncModeTitle(self):
        return dict(SYNC_MODES).get(self.sync_mode, str(self.sync_mode))


InitializeClass(Subscription)
