"""portal_synchronizations: publications, subscriptions and the sync entry points.

The tool stores the configuration, shows the ZMI tabs, handles their forms
and receives messages (``readResponse`` over HTTP, ``SubSync`` and
``PubSync`` for mail and scripts). The work is done by the domain services:
``domain.dispatch`` (decode and route a message), ``domain.delivery``
(queue and send), ``domain.authentication``, ``domain.reports`` and
``domain.conflict``.
"""
import logging
from urllib.parse import quote

from AccessControl import ClassSecurityInfo
from AccessControl.class_init import InitializeClass
from BTrees.OOBTree import OOBTree
from OFS.SimpleItem import SimpleItem
from Products.CMFCore.utils import UniqueObject
from Products.CMFCore.utils import registerToolInterface
from Products.PageTemplates.PageTemplateFile import PageTemplateFile
from zExceptions import BadRequest
from zExceptions import Forbidden
from zope.interface import implementer

from .domain import conflict as conflicts
from .domain import delivery
from .domain import dispatch
from .domain import fields
from .domain import reports
from .domain.authentication import authenticate
from .domain.journal import ChangeJournal
from .domain.publication import Publication
from .domain.subscription import SYNC_MODES
from .domain.subscription import Subscription
from .interfaces import ISynchronizationTool
from .permissions import AddSynchronizationTool
from .permissions import ManagePortal
from .permissions import ResolveConflicts
from .permissions import Synchronize

logger = logging.getLogger('Products.ERP5SyncML')

MAX_REQUEST_SIZE = 32 * 1024 * 1024
SYNCML_CONTENT_TYPE = 'application/vnd.syncml+xml; charset=utf-8'


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

    #
    #   ZMI methods
    #
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

    @security.private
    def _redirect(self, RESPONSE, tab, message):
        if RESPONSE is not None:
            RESPONSE.redirect('%s/%s?manage_tabs_message=%s'
                              % (self.absolute_url(), tab, quote(message)))

    @security.protected(ManagePortal)
    def manage_addPublication(self, id, publication_url='', destination_path='',
                              query='objectValues', xml_mapping='asXML',
                              gpg_key='', REQUEST=None, RESPONSE=None, **kw):
        """Add a publication (on the master)."""
        kw = fields.from_form(Publication, REQUEST, kw, exclude=fields.NAMED)
        id = fields.new_id(id, self._publications)
        with fields.bad_values():
            pub = Publication(id, publication_url=publication_url,
                              destination_path=destination_path, query=query,
                              xml_mapping=xml_mapping, gpg_key=gpg_key,
                              **fields.checked(Publication, kw))
        self._publications[id] = pub
        self._updatePrefixes()
        logger.info('publication %s added for %s', id, destination_path)
        self._redirect(RESPONSE, 'managePublications', 'Publication %s added' % id)
        return self.getPublication(id)

    @security.protected(ManagePortal)
    def manage_addSubscription(self, id, publication_url='', subscription_url='',
                               destination_path='', query='objectValues',
                               xml_mapping='asXML', gpg_key='', REQUEST=None,
                               RESPONSE=None, **kw):
        """Add a subscription (on a client)."""
        kw = fields.from_form(Subscription, REQUEST, kw, exclude=fields.NAMED)
        id = fields.new_id(id, self._subscriptions)
        with fields.bad_values():
            sub = Subscription(id, publication_url=publication_url,
                               subscription_url=subscription_url,
                               destination_path=destination_path, query=query,
                               xml_mapping=xml_mapping, gpg_key=gpg_key,
                               **fields.checked(Subscription, kw))
        self._subscriptions[id] = sub
        self._updatePrefixes()
        logger.info('subscription %s added for %s', id, destination_path)
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s added' % id)
        return self.getSubscription(id)

    @security.protected(ManagePortal)
    def manage_editPublication(self, id, REQUEST=None, RESPONSE=None, **kw):
        """Change a publication's fields."""
        kw = fields.from_form(Publication, REQUEST, kw)
        pub = self._getPublication(id)
        with fields.bad_values():
            pub.edit(**fields.checked(Publication, kw))
        self._updatePrefixes()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s changed' % id)

    @security.protected(ManagePortal)
    def manage_editSubscription(self, id, REQUEST=None, RESPONSE=None, **kw):
        """Change a subscription's fields."""
        kw = fields.from_form(Subscription, REQUEST, kw)
        sub = self._getSubscription(id)
        if kw.get('password', None) == '':
            kw.pop('password')  # an empty password field keeps the old one
        with fields.bad_values():
            sub.edit(**fields.checked(Subscription, kw))
        self._updatePrefixes()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s changed' % id)

    @security.protected(ManagePortal)
    def manage_deletePublication(self, id, RESPONSE=None):
        """Delete a publication and everything known of its subscribers."""
        self._getPublication(id)
        del self._publications[id]
        self._updatePrefixes()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s deleted' % id)

    @security.protected(ManagePortal)
    def manage_deleteSubscription(self, id, RESPONSE=None):
        """Delete a subscription."""
        self._getSubscription(id)
        del self._subscriptions[id]
        self._updatePrefixes()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s deleted' % id)

    @security.protected(ManagePortal)
    def manage_resetPublication(self, id, RESPONSE=None):
        """Forget all subscribers: their next syncs are slow syncs."""
        self._getPublication(id).reset()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s reset' % id)

    @security.protected(ManagePortal)
    def manage_resetSubscription(self, id, RESPONSE=None):
        """Forget signatures and anchors: the next sync is a slow sync."""
        self._getSubscription(id).reset()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s reset' % id)

    @security.protected(Synchronize)
    def manage_syncSubscription(self, id, RESPONSE=None):
        """The Sync button: start a session (the activity queue sends it)."""
        self.SubSync(id)
        self._redirect(RESPONSE, 'manageSubscriptions',
                       'Synchronization of %s started: the activity queue runs it' % id)

    #
    #   Accessors
    #
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
            raise BadRequest('no publication %r' % id)
        return pub

    @security.private
    def _getSubscription(self, id):
        sub = self.getSubscription(id)
        if sub is None:
            raise BadRequest('no subscription %r' % id)
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

    @security.private
    def _updatePrefixes(self):
        self._destination_prefixes = fields.destination_prefixes(
            list(self._publications.values()) + list(self._subscriptions.values()))

    #
    #   Entry points of SyncML messages
    #
    @security.protected(Synchronize)
    def SubSync(self, id, msg=None):
        """Client entry point: without ``msg``, start a session; with the
        master's message, process it and send our answer."""
        sub = self._getSubscription(id)
        if msg is None:
            return dispatch.start_session(sub)
        return dispatch.receive_for_subscription(sub, msg)

    @security.protected(Synchronize)
    def PubSync(self, id, msg=None):
        """Master entry point for a message that did not come by HTTP (mail,
        file): process it and send the answer back to the client's URL."""
        pub = self._getPublication(id)
        if msg is None:
            return None
        return dispatch.serve_and_answer(self, dispatch.decode_or_refuse(msg),
                                         publication=pub)

    @security.public
    def readResponse(self, text=None, sync_id=None, REQUEST=None, RESPONSE=None):
        """SyncML over HTTP: POST a message (raw body, or form field ``text``);
        the answer is the response body."""
        if REQUEST is not None and text is None:
            length = REQUEST.get_header('Content-Length')
            if length and int(length) > MAX_REQUEST_SIZE:
                raise BadRequest('message larger than %d bytes' % MAX_REQUEST_SIZE)
            text = REQUEST.get('BODY')
        if not text:
            raise BadRequest('no SyncML message in the request')
        message = dispatch.decode_or_refuse(text)
        authenticate(self, message, REQUEST)
        sub = dispatch.subscription_for(self, message)
        if sub is not None:
            dispatch.receive_for_subscription(sub, text)
            reply = b''
        else:
            publication = self._getPublication(sync_id) if sync_id else None
            reply = dispatch.serve(self, message, publication=publication,
                                   size=len(text))
        if RESPONSE is not None:
            RESPONSE.setHeader('Content-Type', SYNCML_CONTENT_TYPE)
        return reply

    @security.private
    def sendSyncMessage(self, subscription_id, data, attempt=1, session_id=None):
        """Activity: deliver a client message and process the answer."""
        delivery.deliver_client_message(
            self._getSubscription(subscription_id), data, attempt, session_id,
            receive=lambda reply: self.SubSync(subscription_id, reply))

    @security.private
    def sendReply(self, url, data):
        """Activity: deliver the master's answer to a file/mail client."""
        delivery.send_reply(url, data)

    @security.private
    def processMessage(self, data):
        """Process a message that came by file or mail, on whichever side it
        is for (Python only)."""
        return dispatch.process(self, data)

    @security.protected(Synchronize)
    def sync(self):
        """Start every subscription (for a cron job or the tic loop)."""
        return delivery.start_due_sessions(self)

    #
    #   Reports and conflicts
    #
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
    def getConflictList(self, obj=None):
        """Open conflicts of every publication, or only those of ``obj``."""
        return conflicts.site_conflicts(self, obj)

    @security.protected(ResolveConflicts)
    def manage_resolveConflict(self, publication, subscriber, gid, choice,
                               property_id=None, path='', RESPONSE=None):
        """Resolve one conflict (``property_id`` given) or all conflicts of an
        object and client; ``choice`` is 'publisher' or 'subscriber'."""
        if choice not in ('publisher', 'subscriber'):
            raise BadRequest('choice must be publisher or subscriber')
        found = conflicts.find_conflicts(self, publication, subscriber, gid,
                                         property_id, path)
        conflicts.resolve_found(found, choice, whole_object=property_id is None)
        self._redirect(RESPONSE, 'manageConflicts', 'Conflict resolved: %s value kept'
                       % ('master' if choice == 'publisher' else 'client'))

    @security.protected(ResolveConflicts)
    def getConflictDocuments(self, publication, subscriber, gid):
        """(master XML, client XML) of an object in conflict, side by side;
        the client's is '' until its copy is made."""
        return conflicts.documents_of(
            conflicts.find_conflicts(self, publication, subscriber, gid)[0])

    @security.protected(ResolveConflicts)
    def manage_makeConflictCopy(self, publication, subscriber, gid,
                                REQUEST=None, RESPONSE=None):
        """Make the copy of an object in conflict with the client's values
        (POST), to compare both versions."""
        if REQUEST is not None and REQUEST.get('REQUEST_METHOD') != 'POST':
            raise Forbidden('making a conflict copy needs a POST request')
        conflicts.find_conflicts(self, publication, subscriber,
                                 gid)[0].makeSubscriberDocument()
        if RESPONSE is not None:
            RESPONSE.redirect('%s/manageConflictDocuments?publication=%s'
                              '&subscriber=%s&gid=%s'
                              % (self.absolute_url(), quote(publication),
                                 quote(subscriber), quote(gid)))


InitializeClass(SynchronizationTool)
registerToolInterface('portal_synchronizations', ISynchronizationTool)


manage_addSynchronizationToolForm = PageTemplateFile(
    'www/addTool', globals(), __name__='manage_addSynchronizationToolForm')


def manage_addSynchronizationTool(self, id='portal_synchronizations', REQUEST=None):
    """Add portal_synchronizations to a CMF site."""
    from zope.component import getSiteManager
    tool = SynchronizationTool()
    self._setObject(tool.getId(), tool)
    tool = self._getOb(tool.getId())
    try:
        getSiteManager(self).registerUtility(tool, ISynchronizationTool)
    except Exception:  # not a site: the tool is still usable by acquisition
        logger.debug('no site manager to register the tool in', exc_info=True)
    if REQUEST is not None:
        REQUEST.RESPONSE.redirect(self.absolute_url() + '/manage_main')
    return tool


def initialize(context):
    """Register the tool in the ZMI add menu."""
    context.registerClass(
        SynchronizationTool,
        permission=AddSynchronizationTool,
        constructors=(manage_addSynchronizationToolForm,
                      manage_addSynchronizationTool),
        icon=None)
