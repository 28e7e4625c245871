"""Publications (on the master) and their subscribers (one per client)."""
from AccessControl import ClassSecurityInfo
from AccessControl.class_init import InitializeClass
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet

from ..permissions import ManagePortal
from . import authentication
from .base import COMMON_FIELDS
from .base import SyncDomain


#: what a publication serves: objects as XML, or Persons as vCards
CONTENT_TYPES = ('asXML', 'text/vcard', 'text/x-vcard')


class Subscriber(SyncDomain):
    """What the master knows of one client of a publication.

    Configuration (folder, query, mapping...) is acquired from the
    publication; the subscriber holds that client's signatures, anchors and
    session state.
    """

    meta_type = 'ERP5SyncML Subscriber'
    fields = ()
    security = ClassSecurityInfo()
    user_id = None

    def __init__(self, subscription_url):
        SyncDomain.__init__(self, subscription_url)
        self.subscription_url = subscription_url

    def getOrigin(self):
        """Journal origin of changes applied from this client."""
        return ('pub', self.aq_parent.getId(), self.subscription_url)

    _past_sessions = None

    def getReport(self):
        """The last report; a session whose client went silent for longer
        than the stale delay shows as interrupted, not running."""
        from . import running
        from .reports import format_date
        report = SyncDomain.getReport(self)
        session = self.session
        if report.get('status') == 'running' and running.is_running(session) \
                and running.is_stale(self, session):
            report = dict(report, status='interrupted', reason=(
                'no message from the client since %s'
                % format_date(running.last_activity(session))))
        return report

    def isPastSession(self, session_id):
        """Did a session ``session_id`` of this client run here before the
        current one? Its messages, replayed, must change nothing."""
        past = self._past_sessions
        return past is not None and str(session_id) in past

    def replaceSession(self, session):
        """Make ``session`` the current one; the previous one is past."""
        old = self.session
        if old is not None:
            if self._past_sessions is None:
                self._past_sessions = OOTreeSet()
            self._past_sessions.add(str(old.session_id))
        self.session = session


InitializeClass(Subscriber)


class Publication(SyncDomain):
    """A folder the master shares with its clients."""

    meta_type = 'ERP5SyncML Publication'
    fields = COMMON_FIELDS + (
        # who may get answers by mail (mailto: publications only)
        ('mail_subscribers', 'Mail subscribers (addresses or @domains)', 'string', ''),
        ('content_type', 'Content type (asXML, text/vcard, text/x-vcard)',
         'string', 'asXML'),
    )
    security = ClassSecurityInfo()
    content_type = 'asXML'

    @security.protected(ManagePortal)
    def edit(self, **kw):
        """Change configuration fields; unknown names are an error."""
        if 'content_type' in kw:
            value = (kw['content_type'] or '').strip() or 'asXML'
            if value not in CONTENT_TYPES:
                raise ValueError('content type must be one of %s, not %r'
                                 % (', '.join(CONTENT_TYPES), value[:40]))
            kw['content_type'] = value
        SyncDomain.edit(self, **kw)

    @security.protected(ManagePortal)
    def setSyncMLAccount(self, login, password, user_id):
        """Let a standard SyncML client log in as ``login`` (basic or md5)
        and synchronize as the Zope user ``user_id``."""
        authentication.accounts(self).set(login, password, user_id)

    @security.protected(ManagePortal)
    def delSyncMLAccount(self, login):
        """Remove the SyncML account ``login``."""
        authentication.accounts(self).remove(login)

    @security.protected(ManagePortal)
    def getSyncMLAccountList(self):
        """[(login, Zope user id)] of the SyncML accounts."""
        return authentication.accounts(self).logins()

    def __init__(self, id, **kw):
        SyncDomain.__init__(self, id, **kw)
        self._subscribers = OOBTree()

    @security.protected(ManagePortal)
    def getSubscriber(self, subscription_url):
        sub = self._subscribers.get(subscription_url)
        return None if sub is None else sub.__of__(self)

    @security.protected(ManagePortal)
    def getSubscriberList(self):
        return [s.__of__(self) for s in self._subscribers.values()]

    def addSubscriber(self, subscription_url):
        sub = Subscriber(subscription_url)
        self._subscribers[subscription_url] = sub
        return sub.__of__(self)

    @security.protected(ManagePortal)
    def delSubscriber(self, subscription_url):
        self._subscribers.pop(subscription_url, None)

    def reset(self):
        """Forget every subscriber: each client's next sync is a slow sync."""
        self._subscribers.clear()
        SyncDomain.reset(self)

    def getOrigin(self):
        return ('pub', self.getId(), None)

    def getConflictCount(self):
        return sum(s.getConflictCount() for s in self.getSubscriberList())


InitializeClass(Publication)
