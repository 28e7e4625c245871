"""portal_activities: the CMF Activity Tool.

The scheduling and running logic lives in ``processing``; the message store
in ``store``; this class is the Zope face: security, URLs, ZMI.
"""
import time

from AccessControl.class_init import InitializeClass
from AccessControl.requestmethod import requestmethod
from AccessControl.SecurityInfo import ClassSecurityInfo
from OFS.PropertyManager import PropertyManager
from OFS.SimpleItem import SimpleItem
from Products.CMFCore.permissions import AccessContentsInformation
from Products.CMFCore.utils import UniqueObject
from Products.CMFCore.utils import registerToolInterface
from Products.PageTemplates.PageTemplateFile import PageTemplateFile
from zope.interface import implementer

from . import csrf
from . import processing
from .active import TOOL_ID
from .active import current_user_ref
from .buffer import get_buffer
from .buffer import transaction_manager_for
from .interfaces import IActivityTool
from .message import ERROR
from .message import WAITING
from .message import Message
from .permissions import ManagePortal
from .permissions import ViewManagementScreens
from .store import MessageStore


def _path_string(obj):
    """'/site/doc' for an object, a path tuple or a path string."""
    if obj is None:
        return None
    if isinstance(obj, str):
        return obj.rstrip('/') if obj != '/' else ''
    if isinstance(obj, (tuple, list)):
        return '/'.join(obj)
    return '/'.join(obj.getPhysicalPath())


def _date_text(value):
    if not value:
        return ''
    return time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(value))


def _summary(counts):
    text = '%d messages processed, %d failed' % (counts['processed'],
                                                 counts['failed'])
    if counts.get('conflicts'):
        text += ', %d conflicts' % counts['conflicts']
    return text


@implementer(IActivityTool)
class ActivityTool(UniqueObject, PropertyManager, SimpleItem):
    """CMF Activity Tool: deferred method calls stored in the ZODB."""

    id = TOOL_ID
    meta_type = 'CMF Activity Tool'
    zmi_icon = 'fas fa-tasks'
    title = ''

    # Tunables (Properties tab).
    max_retries = 5             # failures before the error state
    max_conflict_retries = 50   # ConflictErrors before the error state
    retry_delay = 10            # seconds before the 1st retry; doubles each time
    max_retry_delay = 3600
    claim_timeout = 6 * 3600    # claims made without a holder identity
    claim_lease = 60.0          # a holder that stops renewing loses its claims
    stale_after = 300.0         # the queue has not run for this long: warn

    _properties = (
        {'id': 'title', 'type': 'string', 'mode': 'w'},
        {'id': 'max_retries', 'type': 'int', 'mode': 'w'},
        {'id': 'max_conflict_retries', 'type': 'int', 'mode': 'w'},
        {'id': 'retry_delay', 'type': 'float', 'mode': 'w'},
        {'id': 'max_retry_delay', 'type': 'float', 'mode': 'w'},
        {'id': 'claim_timeout', 'type': 'float', 'mode': 'w'},
        {'id': 'claim_lease', 'type': 'float', 'mode': 'w'},
        {'id': 'stale_after', 'type': 'float', 'mode': 'w'},
    )

    _store = None

    security = ClassSecurityInfo()
    security.declareObjectProtected(AccessContentsInformation)

    manage_options = (({'label': 'Activities', 'action': 'manageActivities'},)
                      + PropertyManager.manage_options
                      + SimpleItem.manage_options)

    def __init__(self, id=None):
        self._store = MessageStore()

    @security.private
    def _getStore(self):
        store = self._store
        if store is None:
            store = self._store = MessageStore()
        return store

    #
    #   Queueing (called by ActiveWrapper and the transaction buffer)
    #
    @security.private
    def _queueMessage(self, obj, method_id, args, kw, **activity_kw):
        message = Message(
            uid=self._getStore().new_uid(),
            path=obj.getPhysicalPath(), method_id=method_id,
            args=args, kw=kw, user=current_user_ref(), **activity_kw)
        get_buffer(self).add(message)
        return message

    @security.private
    def _flushMessages(self, messages):
        store = self._getStore()
        for message in messages:
            while message.uid in store:
                message.uid = store.new_uid()
            store.add(message)

    #
    #   Processing (also published: the tic loop calls these URLs)
    #
    @security.protected(ManagePortal)
    def distribute(self, node_count=1, REQUEST=None):
        """Give waiting messages to processing nodes 1..node_count."""
        count = processing.distribute(self, node_count=node_count)
        return self._text('%d messages distributed to %d node(s)'
                          % (count, int(node_count)), REQUEST)

    @security.protected(ManagePortal)
    def tic(self, processing_node=1, max_messages=None, REQUEST=None):
        """Run the runnable messages of a node, each in its own transaction.

        Commits the current transaction first. Returns a summary such as
        '3 messages processed, 0 failed'.
        """
        counts = processing.tic(self, processing_node, max_messages)
        return self._text(_summary(counts), REQUEST)

    @security.protected(ManagePortal)
    def processAll(self, max_messages=None, max_rounds=100,
                   processing_node=1):
        """distribute + tic until nothing is runnable; returns a dict of
        counts (processed, failed, conflicts, rounds, remaining, errors)."""
        return processing.process_all(self, max_rounds=max_rounds,
                                      processing_node=processing_node,
                                      max_messages=max_messages)

    @security.protected(ManagePortal)
    def getQueueHealth(self):
        """When the queue last ran and what it holds, as a dict:
        last_distribute, last_tic (epoch seconds or None, with *_text),
        waiting, running, failed, stale (no tic for ``stale_after`` s)."""
        store = self._getStore()
        waiting = running = failed = 0
        for message in store.ordered():
            if message.failed:
                failed += 1
            elif message.processing:
                running += 1
            else:
                waiting += 1
        when = time.time()
        last_tic = store.last_run('tic')
        last_distribute = store.last_run('distribute')
        stale_after = float(self.stale_after)
        return {
            'last_tic': last_tic,
            'last_tic_text': _date_text(last_tic) or 'never',
            'last_distribute': last_distribute,
            'last_distribute_text': _date_text(last_distribute) or 'never',
            'waiting': waiting,
            'running': running,
            'failed': failed,
            'stale_after': stale_after,
            'stale': last_tic is None or when - last_tic > stale_after,
        }

    def _text(self, text, REQUEST):
        if REQUEST is not None:
            REQUEST.RESPONSE.setHeader('Content-Type',
                                       'text/plain; charset=utf-8')
        return text

    #
    #   Queries
    #
    @security.protected(ManagePortal)
    def getMessageList(self, path=None, method_id=None, tag=None,
                       activity=None, processing_node=None, failed=None):
        """Stored messages, by priority then date, filtered by the
        arguments that are not None (path: object, tuple or string)."""
        path = _path_string(path)
        if path is not None:
            candidates = self._getStore().for_path(path, method_id)
            candidates.sort(key=lambda m: m.order_key)
        else:
            candidates = self._getStore().ordered()
        result = []
        for message in candidates:
            if method_id is not None and message.method_id != method_id:
                continue
            if tag is not None and message.tag != tag:
                continue
            if activity is not None and message.activity != activity:
                continue
            if (processing_node is not None
                    and message.processing_node != processing_node):
                continue
            if failed is not None and bool(message.failed) != bool(failed):
                continue
            result.append(message)
        return result

    @security.protected(ManagePortal)
    def getFailedMessageList(self):
        """Stored messages in error state."""
        return self.getMessageList(failed=True)

    @security.protected(ManagePortal)
    def countMessage(self, **kw):
        """Number of stored messages; keywords as for getMessageList."""
        if not kw:
            return len(self._getStore())
        return len(self.getMessageList(**kw))

    @security.protected(ManagePortal)
    def hasActivity(self, obj=None, method_id=None, tag=None,
                    only_valid=False):
        """Is a matching message queued, stored or in this transaction?

        only_valid: ignore messages in error state.
        """
        path = _path_string(obj)

        def match(message):
            return ((path is None or message.url == path)
                    and (method_id is None or message.method_id == method_id)
                    and (tag is None or message.tag == tag)
                    and not (only_valid and message.failed))
        buf = get_buffer(self, create=False)
        if buf is not None and any(match(m) for m in buf.messages):
            return True
        if path is not None:
            messages = self._getStore().for_path(path, method_id)
        elif tag is not None:
            store = self._getStore()
            messages = [store.get(uid) for uid in store.tag_uids(tag)]
        else:
            messages = self._getStore().ordered()
        return any(m is not None and match(m) for m in messages)

    @security.protected(ManagePortal)
    def hasErrorActivity(self, obj=None, method_id=None):
        """Is a matching message in error state?"""
        path = _path_string(obj)
        if path is not None:
            messages = self._getStore().for_path(path, method_id)
        else:
            messages = self._getStore().ordered()
        return any(m.failed for m in messages
                   if method_id is None or m.method_id == method_id)

    #
    #   Management (one message)
    #
    @security.protected(ManagePortal)
    @requestmethod('POST')
    def manageInvoke(self, uid, REQUEST=None):
        """Run message ``uid`` now, whatever its node, date or state.

        Commits the current transaction first, then runs the message in its
        own transaction as the user who queued it. Returns 'done', 'failed',
        'conflict' or 'skipped'.
        """
        csrf.protect(self, REQUEST)
        transaction_manager_for(self).commit()
        result = processing.run_message(self, int(uid), force=True)
        return self._back(REQUEST, 'Message %s: %s' % (uid, result)) or result

    @security.protected(ManagePortal)
    @requestmethod('POST')
    def manageCancel(self, uid, REQUEST=None):
        """Delete message ``uid`` (in the current transaction)."""
        csrf.protect(self, REQUEST)
        store = self._getStore()
        uid = int(uid)
        if uid not in store:
            raise KeyError('no message %s' % uid)
        store.remove(uid)
        return self._back(REQUEST, 'Message %s cancelled' % uid)

    @security.protected(ManagePortal)
    @requestmethod('POST')
    def manageRetry(self, uid, REQUEST=None):
        """Queue message ``uid`` again now, with its retry counts reset."""
        csrf.protect(self, REQUEST)
        store = self._getStore()
        message = store.get(int(uid))
        if message is None:
            raise KeyError('no message %s' % uid)
        message.processing = False
        message.processing_date = None
        message.claimed_by = None
        store.unlock_serial(message)
        message.processing_node = WAITING
        message.retry = message.conflict_retry = 0
        message.error = message.error_date = None
        message.not_before = time.time()
        return self._back(REQUEST, 'Message %s will be retried' % uid)

    # no docstring: the Activities tab calls it, the web cannot
    @security.public
    def getCSRFToken(self):
        return csrf.token(self)

    def _back(self, REQUEST, text):
        if REQUEST is not None:
            REQUEST.RESPONSE.redirect('%s/manageActivities?'
                                      'manage_tabs_message=%s'
                                      % (self.absolute_url(),
                                         text.replace(' ', '+')))
            return text
        return None

    #
    #   ZMI
    #
    security.declareProtected(ViewManagementScreens, 'manageActivities')
    manageActivities = PageTemplateFile('www/manageActivities.zpt', globals())

    @security.protected(ViewManagementScreens)
    def getMessageInfoList(self, failed=None):
        """Messages as dicts (with dates as text), for the Activities tab."""
        result = []
        for message in self.getMessageList(failed=failed):
            info = message.info()
            info['date_text'] = _date_text(info['date'])
            info['not_before_text'] = (_date_text(info['not_before'])
                                       if info['not_before'] > time.time()
                                       else '')
            node = info['processing_node']
            info['node_text'] = {WAITING: 'waiting', ERROR: 'error'}.get(
                node, str(node))
            if info['processing']:
                info['node_text'] += ' (running in %s)' % (
                    info['claimed_by'] or 'an unknown process')
            result.append(info)
        return result

    @security.protected(ManagePortal)
    @requestmethod('POST')
    def manage_messages(self, invoke=None, retry=None, cancel=None,
                        uids=(), bulk=None, REQUEST=None):
        """Form handler of the Activities tab."""
        csrf.protect(self, REQUEST)
        done = []
        if invoke is not None:
            done.append('%s: %s' % (invoke, self.manageInvoke(invoke)))
        elif retry is not None:
            self.manageRetry(retry)
            done.append('%s retried' % retry)
        elif cancel is not None:
            self.manageCancel(cancel)
            done.append('%s cancelled' % cancel)
        elif bulk == 'invoke_all':
            counts = processing.process_all(self)
            done.append(_summary(counts))
        elif bulk == 'cancel_failed':
            for message in self.getFailedMessageList():
                self.manageCancel(message.uid)
            done.append('failed messages cancelled')
        elif bulk in ('invoke', 'retry', 'cancel'):
            for uid in uids:
                if int(uid) in self._getStore():
                    getattr(self, 'manage' + bulk.capitalize())(uid)
            done.append('%d message(s): %s' % (len(uids), bulk))
        return self._back(REQUEST, '; '.join(done) or 'Nothing done')


InitializeClass(ActivityTool)
registerToolInterface(TOOL_ID, IActivityTool)


def manage_addActivityTool(self, REQUEST=None):
    """Add a portal_activities tool here (ZMI add menu)."""
    if TOOL_ID not in self.objectIds():
        self._setObject(TOOL_ID, ActivityTool())
    if REQUEST is not None:
        REQUEST.RESPONSE.redirect('%s/manage_main' % self.absolute_url())
    return self._getOb(TOOL_ID)

