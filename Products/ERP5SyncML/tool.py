"""portal_synchronizations: publications, subscriptions and the sync entry points.

The tool stores the configuration, shows the ZMI tabs, handles their forms
and receives messages (``readResponse`` over HTTP, ``SubSync`` and
``PubSync`` for mail and scripts). The work is done by the domain services:
``domain.dispatch`` (decode and route a message), ``domain.delivery``
(queue and send), ``domain.sealing`` (GPG), ``domain.authentication``,
``domain.reports`` and ``domain.conflict``.
"""
import logging
from urllib.parse import quote

from AccessControl import ClassSecurityInfo
from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from AccessControl.class_init import InitializeClass
from AccessControl.requestmethod import requestmethod
from BTrees.OOBTree import OOBTree
from OFS.SimpleItem import SimpleItem
from Products.CMFActivity import csrf
from Products.CMFCore.utils import UniqueObject
from Products.CMFCore.utils import registerToolInterface
from Products.PageTemplates.PageTemplateFile import PageTemplateFile
from zope.interface import implementer

from .domain import conflict as conflicts
from .domain import delivery
from .domain import dispatch
from .domain import fields
from .domain import httpentry
from .domain import reports
from .domain import running
from .domain import schedule
from .domain import standard
from .domain.journal import ChangeJournal
from .domain.publication import Publication
from .domain.subscription import SYNC_MODES
from .domain.subscription import Subscription
from .interfaces import ISynchronizationTool
from .permissions import ManagePortal
from .permissions import ResolveConflicts
from .permissions import Synchronize

logger = logging.getLogger('Products.ERP5SyncML')


@implementer(ISynchronizationTool)
class SynchronizationTool(UniqueObject, SimpleItem):
    """Synchronize folders with other sites through SyncML."""

    id = 'portal_synchronizations'
    title = 'Synchronizations'
    meta_type = 'ERP5SyncML Tool'
    zmi_icon = 'fas fa-sync'

    security = ClassSecurityInfo()
    security.declareObjectProtected(ManagePortal)

    manage_options = (
        {'label': 'Overview', 'action': 'manage_overview'},
        {'label': 'Publications', 'action': 'managePublications'},
        {'label': 'Subscriptions', 'action': 'manageSubscriptions'},
        {'label': 'Conflicts', 'action': 'manageConflicts'},
    ) + SimpleItem.manage_options

    def __init__(self, id=None):
        self._publications = OOBTree()
        self._subscriptions = OOBTree()
        self._journal = ChangeJournal()
        self._destination_prefixes = ()

    # -- ZMI tabs and their forms
    security.declareProtected(ManagePortal, 'manage_overview')
    manage_overview = PageTemplateFile('www/overview', globals())
    security.declareProtected(ManagePortal, 'managePublications')
    managePublications = PageTemplateFile('www/publications', globals())
    security.declareProtected(ManagePortal, 'manageSubscriptions')
    manageSubscriptions = PageTemplateFile('www/subscriptions', globals())
    security.declareProtected(ResolveConflicts, 'manageConflicts')
    manageConflicts = PageTemplateFile('www/conflicts', globals())
    security.declareProtected(ResolveConflicts, 'manageConflictDocuments')
    manageConflictDocuments = PageTemplateFile('www/conflictDocuments', globals())
    security.declareProtected(ManagePortal, 'reportTemplate')
    reportTemplate = PageTemplateFile('www/report', globals())

    # no docstring: templates call it, the web cannot
    @security.public
    def getCSRFToken(self):
        return csrf.token(self)

    @security.private
    def _redirect(self, RESPONSE, tab, message):
        if RESPONSE is not None:
            RESPONSE.redirect('%s/%s?manage_tabs_message=%s'
                              % (self.absolute_url(), tab, quote(message)))

    @security.private
    def _changed(self, RESPONSE, tab, message):
        """After a configuration change: journal the right folders, redirect."""
        self._destination_prefixes = fields.destination_prefixes(
            list(self._publications.values()) + list(self._subscriptions.values()))
        self._redirect(RESPONSE, tab, message)

    @security.protected(ManagePortal)
    def manage_addPublication(self, id, publication_url='', destination_path='',
                              query='objectValues', xml_mapping='asXML',
                              gpg_key='', REQUEST=None, RESPONSE=None, **kw):
        """Add a publication (on the master)."""
        csrf.protect(self, REQUEST)
        pub = fields.add(self._publications, Publication, id, REQUEST, kw,
                         publication_url=publication_url, query=query,
                         destination_path=destination_path,
                         xml_mapping=xml_mapping, gpg_key=gpg_key)
        logger.info('publication %s added for %s', pub.id, destination_path)
        self._changed(RESPONSE, 'managePublications', 'Publication %s added' % pub.id)
        return self.getPublication(pub.id)

    @security.protected(ManagePortal)
    def manage_addSubscription(self, id, publication_url='', subscription_url='',
                               destination_path='', query='objectValues',
                               xml_mapping='asXML', gpg_key='', REQUEST=None,
                               RESPONSE=None, **kw):
        """Add a subscription (on a client)."""
        csrf.protect(self, REQUEST)
        sub = fields.add(self._subscriptions, Subscription, id, REQUEST, kw,
                         publication_url=publication_url, query=query,
                         subscription_url=subscription_url,
                         destination_path=destination_path,
                         xml_mapping=xml_mapping, gpg_key=gpg_key)
        logger.info('subscription %s added for %s', sub.id, destination_path)
        self._changed(RESPONSE, 'manageSubscriptions', 'Subscription %s added' % sub.id)
        return self.getSubscription(sub.id)

    @security.protected(ManagePortal)
    def manage_editPublication(self, id, REQUEST=None, RESPONSE=None, **kw):
        """Change a publication's fields."""
        csrf.protect(self, REQUEST)
        fields.edit(self._getPublication(id), REQUEST, kw)
        self._changed(RESPONSE, 'managePublications', 'Publication %s changed' % id)

    @security.protected(ManagePortal)
    def manage_editSubscription(self, id, REQUEST=None, RESPONSE=None, **kw):
        """Change a subscription's fields (an empty password keeps the old one)."""
        csrf.protect(self, REQUEST)
        fields.edit(self._getSubscription(id), REQUEST, kw)
        self._changed(RESPONSE, 'manageSubscriptions', 'Subscription %s changed' % id)

    @security.protected(ManagePortal)
    def manage_deletePublication(self, id, REQUEST=None, RESPONSE=None):
        """Delete a publication and everything known of its subscribers."""
        csrf.protect(self, REQUEST)
        del self._publications[self._getPublication(id).getId()]
        self._changed(RESPONSE, 'managePublications', 'Publication %s deleted' % id)

    @security.protected(ManagePortal)
    def manage_deleteSubscription(self, id, REQUEST=None, RESPONSE=None):
        """Delete a subscription."""
        csrf.protect(self, REQUEST)
        del self._subscriptions[self._getSubscription(id).getId()]
        self._changed(RESPONSE, 'manageSubscriptions', 'Subscription %s deleted' % id)

    @security.protected(ManagePortal)
    def manage_resetPublication(self, id, REQUEST=None, RESPONSE=None):
        """Forget all subscribers: their next syncs are slow syncs."""
        csrf.protect(self, REQUEST)
        self._getPublication(id).reset()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s reset' % id)

    @security.protected(ManagePortal)
    def manage_resetSubscription(self, id, REQUEST=None, RESPONSE=None):
        """Forget signatures and anchors: the next sync is a slow sync."""
        csrf.protect(self, REQUEST)
        self._getSubscription(id).reset()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s reset' % id)

    @security.protected(Synchronize)
    def manage_syncSubscription(self, id, REQUEST=None, RESPONSE=None):
        """The Sync button: start a session (the activity queue sends it),
        unless one is running."""
        csrf.protect(self, REQUEST)
        outcome, _data = running.start(self._getSubscription(id))
        self._redirect(RESPONSE, 'manageSubscriptions', running.MESSAGES[outcome] % id)

    @security.protected(Synchronize)
    @requestmethod('POST')
    def manage_abortSubscription(self, id, REQUEST=None, RESPONSE=None):
        """End the running session of subscription ``id`` as failed."""
        csrf.protect(self, REQUEST)
        user = getSecurityManager().getUser().getUserName()
        done = running.abort(self._getSubscription(id), user)
        self._redirect(RESPONSE, 'manageSubscriptions',
                       ('Synchronization of %s aborted' if done else
                        'No synchronization of %s is running') % id)

    # -- accessors
    @security.protected(ManagePortal)
    def getPublicationList(self):
        """All publications of this site."""
        return [p.__of__(self) for p in self._publications.values()]

    @security.protected(ManagePortal)
    def getSubscriptionList(self):
        """All subscriptions of this site."""
        return [s.__of__(self) for s in self._subscriptions.values()]

    @security.protected(ManagePortal)
    def getPublication(self, id):
        """The publication ``id`` or None."""
        pub = self._publications.get(id)
        return None if pub is None else pub.__of__(self)

    @security.protected(ManagePortal)
    def getSubscription(self, id):
        """The subscription ``id`` or None."""
        sub = self._subscriptions.get(id)
        return None if sub is None else sub.__of__(self)

    @security.private
    def _getPublication(self, id):
        pub = self.getPublication(id)
        if pub is None:
            raise fields.bad_request('no publication %r' % (id,))
        return pub

    @security.private
    def _getSubscription(self, id):
        sub = self.getSubscription(id)
        if sub is None:
            raise fields.bad_request('no subscription %r' % (id,))
        return sub

    @security.protected(ManagePortal)
    def getSyncModes(self):
        """(code, title) of the sync modes a subscription may use."""
        return SYNC_MODES

    @security.protected(ManagePortal)
    def getPublicationFields(self):
        """(name, title, type, default) of the publication add form."""
        return [f for f in Publication.fields if f[0] != 'title']

    @security.protected(ManagePortal)
    def getSubscriptionFields(self):
        """(name, title, type, default) of the subscription add form."""
        return [f for f in Subscription.fields if f[0] != 'title']

    @security.private
    def getChangeJournal(self):
        return self._journal

    @security.private
    def getDestinationPrefixes(self):
        return self._destination_prefixes

    # -- entry points of SyncML messages
    @security.protected(Synchronize)
    def SubSync(self, id, msg=None, REQUEST=None, bounce=None):
        """Client entry point: without ``msg``, start a session; with the
        master's message, process it and send our answer (a Manager only:
        our answer goes out with the stored credentials); ``bounce``: a
        mail of ours came back (see delivery.bounced)."""
        csrf.protect(self, REQUEST)
        sub = self._getSubscription(id)
        if bounce is not None:
            return delivery.bounced(sub, bounce)
        if msg is None:
            return running.start(sub)[1]
        if not getSecurityManager().checkPermission(ManagePortal, self):
            raise Unauthorized('only a Manager may hand a message to a'
                               ' subscription')
        return dispatch.receive_for_subscription(sub, msg)

    @security.protected(Synchronize)
    def PubSync(self, id, msg=None, REQUEST=None, reply_id=None):
        """Master entry point for a message that did not come by HTTP (mail,
        file): the answer goes to the client's URL (by mail, for ``reply_id``)."""
        csrf.protect(self, REQUEST)
        pub = self._getPublication(id)
        if msg is None:
            return None
        return dispatch.serve_mail(self, msg, pub, reply_id)

    @security.public
    def readResponse(self, text=None, sync_id=None, REQUEST=None, RESPONSE=None):
        """SyncML over HTTP: POST a message (raw body, or form field ``text``);
        the answer is the response body (SyncML; plain text when the body
        is not a SyncML message)."""
        return httpentry.read_response(self, text, sync_id, REQUEST, RESPONSE)

    @security.public
    def syncml(self, REQUEST=None, RESPONSE=None):
        """SyncML over HTTP for standard clients (phones, SyncEvolution):
        POST a message (XML or WBXML); the answer is the response body."""
        if REQUEST is None or REQUEST.get('REQUEST_METHOD') != 'POST':
            raise fields.bad_request('POST a SyncML message')
        return standard.handle(self, REQUEST, RESPONSE)

    @security.private
    def sendSyncMessage(self, subscription_id, data, attempt=1, session_id=None):
        """Activity: deliver a client message and process the answer."""
        sub = self._getSubscription(subscription_id)
        delivery.deliver_client_message(
            sub, data, attempt, session_id,
            receive=lambda reply: dispatch.receive_for_subscription(
                sub, reply, answer_to_us=True))

    @security.private
    def sendReply(self, url, data, **kw):
        """Activity: deliver the master's answer to a file/mail client."""
        delivery.send_reply(self, url, data, **kw)

    @security.private
    def processMessage(self, data):
        """Process a message that came by file or mail, on whichever side it
        is for (Python only)."""
        return dispatch.process(self, data)

    @security.private
    def runScheduledSync(self, subscription_id, planned_at):
        """Activity: a scheduled sync of a subscription (domain.schedule)."""
        schedule.run(self, subscription_id, planned_at)

    @security.protected(Synchronize)
    @requestmethod('POST')
    def sync(self, REQUEST=None):
        """Start every subscription (POST, for a cron job or the tic loop:
        no form token, it changes no configuration)."""
        return delivery.start_due_sessions(self)

    # -- reports and conflicts
    @security.protected(ManagePortal)
    def getSyncReport(self, id, RESPONSE=None):
        """The last synchronization report of subscription ``id`` as JSON
        (status, reason, date, counts, session state), for scripts."""
        report = reports.sync_report(self._getSubscription(id))
        if RESPONSE is not None:
            RESPONSE.setHeader('Content-Type', 'application/json')
        return report

    @security.protected(ManagePortal)
    def getSynchronizationState(self, obj):
        """[(peer URL, state)] for ``obj`` in every publication/subscription
        whose folder holds it (state: synchronized, not synchronized,
        conflict, ...)."""
        return reports.synchronization_state(self, obj)

    @security.protected(ManagePortal)
    def formatDate(self, stamp):
        """A report date for the ZMI."""
        return reports.format_date(stamp)

    @security.protected(ResolveConflicts)
    def getConflictList(self, obj=None, subtree=False):
        """Open conflicts of every publication, or only those of ``obj``
        (and of its sub-objects when ``subtree`` is true)."""
        return conflicts.site_conflicts(self, obj, subtree)

    @security.protected(ResolveConflicts)
    def manage_resolveConflict(self, publication, subscriber, gid, choice,
                               property_id=None, path='', REQUEST=None,
                               RESPONSE=None):
        """Resolve one conflict (``property_id`` given) or all conflicts of an
        object and client; ``choice`` is 'publisher' or 'subscriber'."""
        csrf.protect(self, REQUEST)
        conflicts.resolve_chosen(self, publication, subscriber, gid, choice,
                                 property_id, path)
        self._redirect(RESPONSE, 'manageConflicts', 'Conflict resolved: %s value kept'
                       % ('master' if choice == 'publisher' else 'client'))

    @security.protected(ResolveConflicts)
    def getConflictDocuments(self, publication, subscriber, gid):
        """(master XML, client XML) of an object in conflict, side by side;
        the client's is '' until its copy is made."""
        return conflicts.documents_of(
            conflicts.find_conflicts(self, publication, subscriber, gid)[0])

    @security.protected(ResolveConflicts)
    @requestmethod('POST')
    def manage_makeConflictCopy(self, publication, subscriber, gid,
                                REQUEST=None, RESPONSE=None):
        """Make the copy of an object in conflict with the client's values
        (POST), to compare both versions."""
        csrf.protect(self, REQUEST)
        conflicts.find_conflicts(self, publication, subscriber,
                                 gid)[0].makeSubscriberDocument()
        if RESPONSE is not None:
            RESPONSE.redirect('%s/manageConflictDocuments?publication=%s'
                              '&subscriber=%s&gid=%s'
                              % (self.absolute_url(), quote(publication),
                                 quote(subscriber), quote(gid)))


InitializeClass(SynchronizationTool)
registerToolInterface('portal_synchronizations', ISynchronizationTool)
