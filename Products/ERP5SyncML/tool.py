"""portal_synchronizations: publications, subscriptions and the sync entry points.

The protocol work happens in ``domain.engine``; this tool stores the
configuration, exposes the ZMI tabs and the HTTP/mail entry points
(``readResponse``, ``SubSync``, ``PubSync``), and hands outgoing messages
to the activity queue.
"""
import contextlib
import logging
import time

import transaction

from AccessControl import ClassSecurityInfo
from AccessControl import Unauthorized
from AccessControl import getSecurityManager
from AccessControl.class_init import InitializeClass
from AccessControl.SecurityManagement import newSecurityManager
from BTrees.OOBTree import OOBTree
from OFS.SimpleItem import SimpleItem
from Products.CMFCore.utils import UniqueObject
from Products.CMFCore.utils import registerToolInterface
from Products.PageTemplates.PageTemplateFile import PageTemplateFile
from zExceptions import BadRequest
from ZODB.POSException import ConflictError
from zope.interface import implementer

from . import transports
from .domain import signature as sigstates
from .domain.engine import ClientEngine
from .domain.engine import ServerEngine
from .domain.journal import ChangeJournal
from .domain.publication import Publication
from .domain.subscription import SYNC_MODES
from .domain.subscription import Subscription
from .interfaces import ISynchronizationTool
from .permissions import AddSynchronizationTool
from .permissions import ManagePortal
from .permissions import ResolveConflicts
from .permissions import Synchronize
from .syncml import codec
from .syncml.errors import ProtocolError

logger = logging.getLogger('Products.ERP5SyncML')

MAX_REQUEST_SIZE = 32 * 1024 * 1024
SEND_ATTEMPTS = 5
RETRY_DELAY = 30  # seconds, multiplied by the attempt number
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

    def _redirect(self, RESPONSE, tab, message):
        if RESPONSE is not None:
            from urllib.parse import quote
            RESPONSE.redirect('%s/%s?manage_tabs_message=%s'
                              % (self.absolute_url(), tab, quote(message)))

    security.declareProtected(ManagePortal, 'manage_addPublication')

    def manage_addPublication(self, id, publication_url='', destination_path='',
                              query='objectValues', xml_mapping='asXML',
                              gpg_key='', REQUEST=None, RESPONSE=None, **kw):
        """Add a publication (on the master)."""
        kw = self._formFields(Publication, REQUEST, kw)
        id = self._checkNewId(id, self._publications)
        with _bad_values():
            pub = Publication(id, publication_url=publication_url,
                              destination_path=destination_path, query=query,
                              xml_mapping=xml_mapping, gpg_key=gpg_key,
                              **self._fieldArgs(Publication, kw))
        self._publications[id] = pub
        self._updatePrefixes()
        logger.info('publication %s added for %s', id, destination_path)
        self._redirect(RESPONSE, 'managePublications', 'Publication %s added' % id)
        return self.getPublication(id)

    security.declareProtected(ManagePortal, 'manage_addSubscription')

    def manage_addSubscription(self, id, publication_url='', subscription_url='',
                               destination_path='', query='objectValues',
                               xml_mapping='asXML', gpg_key='', REQUEST=None,
                               RESPONSE=None, **kw):
        """Add a subscription (on a client)."""
        kw = self._formFields(Subscription, REQUEST, kw)
        id = self._checkNewId(id, self._subscriptions)
        with _bad_values():
            sub = Subscription(id, publication_url=publication_url,
                               subscription_url=subscription_url,
                               destination_path=destination_path, query=query,
                               xml_mapping=xml_mapping, gpg_key=gpg_key,
                               **self._fieldArgs(Subscription, kw))
        self._subscriptions[id] = sub
        self._updatePrefixes()
        logger.info('subscription %s added for %s', id, destination_path)
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s added' % id)
        return self.getSubscription(id)

    @staticmethod
    def _formFields(klass, REQUEST, kw):
        """Fields beyond the named arguments, from a ZMI form post."""
        if REQUEST is None or kw:
            return kw
        form = getattr(REQUEST, 'form', None) or {}
        named = ('id', 'publication_url', 'subscription_url', 'destination_path',
                 'query', 'xml_mapping', 'gpg_key')
        names = {f[0] for f in klass.fields} - set(named)
        return {k: v for k, v in form.items() if k in names}

    @staticmethod
    def _fieldArgs(klass, kw):
        names = {f[0] for f in klass.fields}
        unknown = set(kw) - names - {'REQUEST', 'submit'}
        if unknown:
            raise BadRequest('unknown field(s): %s' % ', '.join(sorted(unknown)))
        return {k: v for k, v in kw.items() if k in names}

    @staticmethod
    def _editFields(klass, REQUEST, kw):
        if REQUEST is None or kw:
            return kw
        form = getattr(REQUEST, 'form', None) or {}
        names = {f[0] for f in klass.fields}
        return {k: v for k, v in form.items() if k in names}

    @staticmethod
    def _checkNewId(id, container):
        id = (id or '').strip()
        if not id:
            raise BadRequest('an id is required')
        if id in container:
            raise BadRequest('the id %r is already used' % id)
        return id

    security.declareProtected(ManagePortal, 'manage_editPublication')

    def manage_editPublication(self, id, REQUEST=None, RESPONSE=None, **kw):
        """Change a publication's fields."""
        kw = self._editFields(Publication, REQUEST, kw)
        pub = self._getPublication(id)
        with _bad_values():
            pub.edit(**self._fieldArgs(Publication, kw))
        self._updatePrefixes()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s changed' % id)

    security.declareProtected(ManagePortal, 'manage_editSubscription')

    def manage_editSubscription(self, id, REQUEST=None, RESPONSE=None, **kw):
        """Change a subscription's fields."""
        kw = self._editFields(Subscription, REQUEST, kw)
        sub = self._getSubscription(id)
        if kw.get('password', None) == '':
            kw.pop('password')  # an empty password field keeps the old one
        with _bad_values():
            sub.edit(**self._fieldArgs(Subscription, kw))
        self._updatePrefixes()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s changed' % id)

    security.declareProtected(ManagePortal, 'manage_deletePublication')

    def manage_deletePublication(self, id, RESPONSE=None):
        """Delete a publication and everything known of its subscribers."""
        self._getPublication(id)
        del self._publications[id]
        self._updatePrefixes()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s deleted' % id)

    security.declareProtected(ManagePortal, 'manage_deleteSubscription')

    def manage_deleteSubscription(self, id, RESPONSE=None):
        """Delete a subscription."""
        self._getSubscription(id)
        del self._subscriptions[id]
        self._updatePrefixes()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s deleted' % id)

    security.declareProtected(ManagePortal, 'manage_resetPublication')

    def manage_resetPublication(self, id, RESPONSE=None):
        """Forget all subscribers: their next syncs are slow syncs."""
        self._getPublication(id).reset()
        self._redirect(RESPONSE, 'managePublications', 'Publication %s reset' % id)

    security.declareProtected(ManagePortal, 'manage_resetSubscription')

    def manage_resetSubscription(self, id, RESPONSE=None):
        """Forget signatures and anchors: the next sync is a slow sync."""
        self._getSubscription(id).reset()
        self._redirect(RESPONSE, 'manageSubscriptions', 'Subscription %s reset' % id)

    security.declareProtected(Synchronize, 'manage_syncSubscription')

    def manage_syncSubscription(self, id, RESPONSE=None):
        """The Sync button: start a session (the activity queue sends it)."""
        self.SubSync(id)
        self._redirect(RESPONSE, 'manageSubscriptions',
                       'Synchronization of %s started: the activity queue runs it' % id)

    #
    #   interface methods
    #
    security.declareProtected(ManagePortal, 'getPublicationList')

    def getPublicationList(self):
        """All publications of this site."""
        return [p.__of__(self) for p in self._publications.values()]

    security.declareProtected(ManagePortal, 'getSubscriptionList')

    def getSubscriptionList(self):
        """All subscriptions of this site."""
        return [s.__of__(self) for s in self._subscriptions.values()]

    security.declareProtected(ManagePortal, 'getPublication')

    def getPublication(self, id):
        """The publication ``id`` or None."""
        pub = self._publications.get(id)
        return None if pub is None else pub.__of__(self)

    security.declareProtected(ManagePortal, 'getSubscription')

    def getSubscription(self, id):
        """The subscription ``id`` or None."""
        sub = self._subscriptions.get(id)
        return None if sub is None else sub.__of__(self)

    def _getPublication(self, id):
        pub = self.getPublication(id)
        if pub is None:
            raise BadRequest('no publication %r' % id)
        return pub

    def _getSubscription(self, id):
        sub = self.getSubscription(id)
        if sub is None:
            raise BadRequest('no subscription %r' % id)
        return sub

    def getSyncModes(self):
        return SYNC_MODES

    security.declareProtected(ManagePortal, 'getPublicationFields')

    def getPublicationFields(self):
        """(name, title, type, default) of the publication add form."""
        return [f for f in Publication.fields if f[0] != 'title']

    security.declareProtected(ManagePortal, 'getSubscriptionFields')

    def getSubscriptionFields(self):
        """(name, title, type, default) of the subscription add form."""
        return [f for f in Subscription.fields if f[0] != 'title']

    def _updatePrefixes(self):
        prefixes = set()
        for domain in list(self._publications.values()) + list(self._subscriptions.values()):
            try:
                # physical paths start with the root's empty id
                prefixes.add(('',) + domain.getDestinationPathTuple())
            except ValueError:
                pass
        self._destination_prefixes = tuple(sorted(prefixes))

    # -- client side -------------------------------------------------------

    security.declareProtected(Synchronize, 'SubSync')

    def SubSync(self, id, msg=None):
        """Client entry point: without ``msg``, start a session; with the
        master's message, process it and send our answer."""
        sub = self._getSubscription(id)
        engine = ClientEngine(sub)
        if msg is None:
            data = engine.start()
        else:
            try:
                raw = _as_bytes(msg)
                message = codec.decode(raw)
                data = engine.receive(message, size=len(raw))
            except ProtocolError as exc:
                session = sub.session
                if session is not None:
                    engine.fail(session, 'bad message from the master: %s' % exc)
                return None
        if data is not None:
            self._queueSend(sub, data)
        return data

    def _queueSend(self, sub, data):
        self.activate(activity='SQLQueue', tag='erp5syncml:%s' % sub.getId(),
                      serialization_tag='erp5syncml:%s' % sub.getId()
                      ).sendSyncMessage(sub.getId(), data,
                                        session_id=sub.session.session_id)

    security.declareProtected(Synchronize, 'sendSyncMessage')

    def sendSyncMessage(self, subscription_id, data, attempt=1, session_id=None):
        """Activity: deliver a client message and process the answer."""
        sub = self._getSubscription(subscription_id)
        session = sub.session
        if session is None or session.state in ('finished', 'failed') or \
                (session_id is not None and session.session_id != session_id):
            # Sync was pressed again meanwhile: this message belongs to a
            # session that is over, sending it would disturb the new one
            logger.warning('subscription %s: message of a session that is over'
                           ' dropped', subscription_id)
            return
        try:
            reply = transports.send(sub.publication_url, data, login=sub.login,
                                    password=sub.password)
        except transports.TransportError as exc:
            engine = ClientEngine(sub)
            retry = getattr(exc, 'retry', True)
            if retry and attempt < SEND_ATTEMPTS:
                delay = RETRY_DELAY * attempt
                sub.setReport('retrying', '%s (attempt %d of %d, next in %ds)'
                              % (exc, attempt, SEND_ATTEMPTS, delay), session.counts)
                logger.warning('subscription %s: %s; retry in %ds', subscription_id,
                               exc, delay)
                self.activate(activity='SQLQueue', at_date=time.time() + delay,
                              tag='erp5syncml:%s' % sub.getId(),
                              serialization_tag='erp5syncml:%s' % sub.getId()
                              ).sendSyncMessage(subscription_id, data, attempt + 1,
                                                session_id=session.session_id)
            else:
                engine.fail(session, str(exc))
            return
        if not reply:
            return
        savepoint = transaction.savepoint()
        try:
            self.SubSync(subscription_id, reply)
        except ConflictError:
            raise  # the activity queue retries it; the master answers the same
        except Exception as exc:
            # a deterministic failure would fail again: stop the session and
            # say why, instead of retrying in a loop
            savepoint.rollback()
            logger.exception('subscription %s: cannot apply the master\'s answer',
                             subscription_id)
            ClientEngine(sub).fail(session, 'cannot apply the master\'s answer: %s: %s'
                                   % (type(exc).__name__, exc))

    # -- server side -------------------------------------------------------

    security.declareProtected(Synchronize, 'PubSync')

    def PubSync(self, id, msg=None):
        """Master entry point for a message that did not come by HTTP (mail,
        file): process it and send the answer back to the client's URL."""
        pub = self._getPublication(id)
        if msg is None:
            return None
        message = self._decode(msg)
        reply = self._serve(message, publication=pub)
        target = message.header.source.uri
        if reply is not None and not transports.is_request_response(target):
            self.activate(activity='SQLQueue').sendReply(target, reply)
        return reply

    security.declareProtected(Synchronize, 'sendReply')

    def sendReply(self, url, data):
        """Activity: deliver the master's answer to a file/mail client."""
        transports.send(url, data)

    def _decode(self, data):
        try:
            return codec.decode(_as_bytes(data))
        except ProtocolError as exc:
            logger.warning('bad SyncML message refused: %s', exc)
            raise BadRequest('bad SyncML message: %s' % exc)

    def _findPublication(self, message):
        alert = _first_sync_alert(message)
        if alert is not None:
            names = [i.target.uri for i in alert.items or () if i.target]
            for name in names:
                pub = self.getPublication(name)
                if pub is not None:
                    return pub, alert
            raise BadRequest('no publication %s on this site' % ', '.join(names))
        source = message.header.source.uri
        for pub in self.getPublicationList():
            if pub.getSubscriber(source) is not None:
                return pub, None
        raise BadRequest('no session for %s: a session starts with an Alert' % source)

    def _serve(self, message, publication=None, size=0):
        pub, alert = self._findPublication(message)
        if publication is not None and pub.getId() != publication.getId():
            raise BadRequest('message is for publication %s' % pub.getId())
        if not getSecurityManager().checkPermission(Synchronize, pub):
            raise Unauthorized('synchronizing %s needs the %r permission'
                               % (pub.getId(), Synchronize))
        source = message.header.source.uri
        subscriber = pub.getSubscriber(source)
        if subscriber is None:
            if alert is None:
                raise BadRequest('unknown subscriber %s' % source)
            subscriber = pub.addSubscriber(source)
            logger.info('publication %s: new subscriber %s', pub.getId(), source)
        subscriber.user_id = getSecurityManager().getUser().getId()
        try:
            return ServerEngine(subscriber).receive(message, alert=alert, size=size)
        except ProtocolError as exc:
            raise BadRequest(str(exc))

    security.declarePublic('readResponse')

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
        message = self._decode(text)
        self._authenticate(message, REQUEST)
        size = len(text)
        sub = self._isForSubscription(message)
        if sub is not None:
            self.SubSync(sub.getId(), text)
            reply = b''
        else:
            publication = self._getPublication(sync_id) if sync_id else None
            reply = self._serve(message, publication=publication, size=size)
        if RESPONSE is not None:
            RESPONSE.setHeader('Content-Type', SYNCML_CONTENT_TYPE)
        return reply

    def _isForSubscription(self, message):
        target = message.header.target.uri
        for sub in self.getSubscriptionList():
            if sub.subscription_url == target:
                return sub
        return None

    def _authenticate(self, message, request):
        """Use SyncML credentials when HTTP authentication gave no user."""
        user = getSecurityManager().getUser()
        if user is not None and user.getUserName() != 'Anonymous User':
            return
        cred = message.header.cred
        if cred is None or request is None:
            raise Unauthorized('SyncML synchronization needs authentication')
        from .syncml import auth
        try:
            login, password = auth.parse_basic(cred.data, cred.format)
        except Exception:
            raise Unauthorized('unsupported SyncML credentials')
        found = None
        # the site's user folder first, then the Zope root's
        for acl_users in (getattr(self, 'acl_users', None),
                          getattr(self.getPhysicalRoot(), 'acl_users', None)):
            if acl_users is None:
                continue
            user = acl_users.authenticate(login, password, request)
            if user is not None:
                found = user.__of__(acl_users)
                break
        if found is None:
            raise Unauthorized('invalid SyncML credentials')
        newSecurityManager(request, found)

    # -- file transport (tests) ------------------------------------------

    def _readFile(self, url):
        """Process the message waiting at a file:// URL (tests only, never
        reachable over the web)."""
        from .transports import file as file_transport
        data = file_transport.receive(url)
        if data is None:
            return False
        self._processMessage(data)
        return True

    def _processMessage(self, data):
        """Process a message that came by file or mail, on whichever side it
        is for; the master's answer goes back through the activity queue."""
        message = self._decode(data)
        sub = self._isForSubscription(message)
        if sub is not None:
            self.SubSync(sub.getId(), data)
            return None
        reply = self._serve(message)
        target = message.header.source.uri
        if reply is not None and not transports.is_request_response(target):
            self.activate(activity='SQLQueue').sendReply(target, reply)
        return reply

    # -- reporting ---------------------------------------------------------

    security.declareProtected(ManagePortal, 'getSyncReport')

    def getSyncReport(self, id, RESPONSE=None):
        """The last synchronization report of subscription ``id`` as JSON
        (status, reason, date, counts, session state), for scripts."""
        import json
        sub = self._getSubscription(id)
        report = dict(sub.getReport())
        session = sub.session
        report['session_state'] = session.state if session is not None else None
        report['conflicts'] = sub.getConflictCount()
        if RESPONSE is not None:
            RESPONSE.setHeader('Content-Type', 'application/json')
        return json.dumps(report, sort_keys=True)

    security.declareProtected(ManagePortal, 'getSynchronizationState')

    def getSynchronizationState(self, obj):
        """[(peer URL, state)] for ``obj`` in every publication/subscription
        whose folder holds it (state: synchronized, not synchronized,
        conflict, ...)."""
        path = obj.getPhysicalPath()
        result = []
        domains = [(s.subscription_url, s) for p in self.getPublicationList()
                   for s in p.getSubscriberList()]
        domains += [(s.publication_url, s) for s in self.getSubscriptionList()]
        for url, domain in domains:
            try:
                prefix = domain.getDestinationPathTuple()
            except ValueError:
                continue
            root_depth = len(domain.getPhysicalRoot().getPhysicalPath())
            prefix = domain.getPhysicalRoot().getPhysicalPath()[:root_depth] + prefix
            if path[:len(prefix)] != prefix or len(path) <= len(prefix):
                continue
            sig = domain.signatures.getByObjectId(path[len(prefix)])
            if sig is None:
                state = sigstates.NOT_SYNCHRONIZED
            elif sig.conflicts or sig.status == sigstates.CONFLICT:
                state = sigstates.CONFLICT
            elif sig.status == sigstates.SYNCHRONIZED and \
                    self._changedSince(domain, sig, path[:len(prefix) + 1]):
                state = sigstates.NOT_SYNCHRONIZED  # edited here since
            else:
                state = sig.status
            result.append((url, state))
        return result

    # -- conflicts ---------------------------------------------------------

    security.declareProtected(ResolveConflicts, 'getConflictList')

    def getConflictList(self, obj=None):
        """Open conflicts of every publication, or only those of ``obj``."""
        from .domain.conflict import conflicts_of
        result = []
        for pub in self.getPublicationList():
            result.extend(conflicts_of(pub, obj))
        return result

    def _findConflicts(self, publication, subscriber, gid, property_id=None, path=''):
        path = tuple(p for p in (path or '').split('/') if p)
        found = []
        for conflict in self.getConflictList():
            if conflict.getPublicationId() != publication or \
                    conflict.getSubscriber() != subscriber or conflict.getGid() != gid:
                continue
            if property_id is not None and (conflict.getPropertyId() != property_id
                                            or conflict.getPath() != path):
                continue
            found.append(conflict)
        if not found:
            raise BadRequest('no such conflict (already resolved?)')
        return found

    security.declareProtected(ResolveConflicts, 'manage_resolveConflict')

    def manage_resolveConflict(self, publication, subscriber, gid, choice,
                               property_id=None, path='', RESPONSE=None):
        """Resolve one conflict (``property_id`` given) or all conflicts of an
        object and client; ``choice`` is 'publisher' or 'subscriber'."""
        if choice not in ('publisher', 'subscriber'):
            raise BadRequest('choice must be publisher or subscriber')
        conflicts = self._findConflicts(publication, subscriber, gid, property_id, path)
        if property_id is None:
            conflict = conflicts[0]
            if choice == 'publisher':
                conflict.applyPublisherDocument()
            else:
                conflict.applySubscriberDocument()
        else:
            for conflict in conflicts:
                if choice == 'publisher':
                    conflict.applyPublisherValue()
                else:
                    conflict.applySubscriberValue()
        self._redirect(RESPONSE, 'manageConflicts', 'Conflict resolved: %s value kept'
                       % ('master' if choice == 'publisher' else 'client'))

    security.declareProtected(ResolveConflicts, 'getConflictDocuments')

    def getConflictDocuments(self, publication, subscriber, gid):
        """(master XML, client XML) of an object in conflict, side by side."""
        from .mapping import asXML
        conflict = self._findConflicts(publication, subscriber, gid)[0]
        master = conflict.getPublisherDocument()
        copy = conflict.getSubscriberDocument()
        return (asXML(master) if master is not None else '',
                asXML(copy) if copy is not None else '')

    @staticmethod
    def _changedSince(domain, sig, top_path):
        from .domain import xmldata
        obj = domain.getPhysicalRoot().unrestrictedTraverse(top_path, None)
        if obj is None:
            return True
        return xmldata.object_xml(domain, obj, sig.gid) != sig.xml

    security.declareProtected(Synchronize, 'sync')

    def sync(self):
        """Start every subscription (for a cron job or the tic loop)."""
        started = []
        for sub in self.getSubscriptionList():
            session = sub.session
            if session is not None and session.state not in ('finished', 'failed') \
                    and time.time() - session.started < 3600:
                continue
            self.SubSync(sub.getId())
            started.append(sub.getId())
        return started

    def formatDate(self, stamp):
        if not stamp:
            return ''
        return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(stamp))


InitializeClass(SynchronizationTool)
registerToolInterface('portal_synchronizations', ISynchronizationTool)


@contextlib.contextmanager
def _bad_values():
    """A wrong field value is the user's input error: HTTP 400."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        raise BadRequest(str(exc)) from None


def _as_bytes(data):
    if isinstance(data, str):
        return data.encode('utf-8')
    return bytes(data)


def _first_sync_alert(message):
    from .syncml import model as m
    for command in message.commands:
        if isinstance(command, m.Alert) and 200 <= int(command.code) <= 205:
            return command
    return None


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
