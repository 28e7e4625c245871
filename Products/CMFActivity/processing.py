"""Running queued messages: distribute, claim, execute, retry, error state.

Every step runs in its own transaction of the tool's connection:

1. ``distribute`` gives waiting messages to processing nodes 1..N;
2. ``tic`` claims one of its node's runnable messages (writes ``processing``
   on it and commits: a node claiming the same message concurrently gets a
   ConflictError and skips it), then runs it as the user who queued it and
   removes it from the store in the same transaction as the call's changes;
3. a failure aborts the call; the message is retried later with a growing
   delay and goes to the error state after ``max_retries`` failures. A
   ConflictError only delays it (bounded by ``max_conflict_retries``).
"""
import logging
import time
import traceback
import zlib

from AccessControl.SecurityManagement import getSecurityManager
from AccessControl.SecurityManagement import newSecurityManager
from AccessControl.SecurityManagement import setSecurityManager
from AccessControl.users import nobody
from AccessControl.users import system
from Acquisition import aq_chain
from ZODB.POSException import ConflictError
from zope.component.hooks import getSite
from zope.component.hooks import setSite
from zope.component.interfaces import ISite

from . import leases
from .buffer import transaction_manager_for
from .message import DICT
from .message import ERROR
from .message import WAITING

logger = logging.getLogger('Products.CMFActivity')

MAX_ERROR_TEXT = 20000
BOOKKEEPING_TRIES = 5
LEASE_MEMORY = 24 * 3600     # leases expired longer ago are forgotten
RUN_NOTE_INTERVAL = 30       # s between two records of "the queue ran"


class InvalidMessage(Exception):
    """The message cannot run at all (object, method or user is gone)."""


def now():
    return time.time()


# -- scheduling rules --------------------------------------------------------

def blocked_by_tags(store, message):
    """True while a message with one of its after_tags is pending."""
    for tag in message.after_tag:
        if any(uid != message.uid for uid in store.tag_uids(tag)):
            return True
    return False


def blocked_by_serialization(store, message):
    tag = message.serialization_tag
    if not tag:
        return False
    lock = store.serial_lock(tag)
    if lock is not None and lock != message.uid:
        return True
    return store.first_in_serial(tag) != message.uid


def is_runnable(store, message, node, when):
    """May ``node`` run ``message`` now?"""
    return (message.processing_node == node
            and not message.processing
            and message.not_before <= when
            and not blocked_by_tags(store, message)
            and not blocked_by_serialization(store, message))


def dict_twins(store, message, when):
    """Other Dict messages for the same path and method that may be merged."""
    if message.activity != DICT:
        return []
    return [m for m in store.for_path(message.url, message.method_id)
            if m.uid != message.uid and m.activity == DICT
            # a twin's tag must survive for the messages waiting on it
            and m.tag == message.tag
            and not m.processing and not m.failed
            and m.not_before <= when and not m.serialization_tag
            and not blocked_by_tags(store, m)]


def retry_delay(tool, retry):
    base = float(getattr(tool, 'retry_delay', 10))
    return min(base * 2 ** max(retry - 1, 0),
               float(getattr(tool, 'max_retry_delay', 3600)))


# -- transactions helpers ------------------------------------------------------

def _note(tm, text):
    try:
        tm.get().note(text)
    except Exception:   # a note is cosmetic
        pass


def _bookkeeping(tool, uid, change):
    """Apply ``change(store, message)`` in its own transaction, retrying
    on ConflictError (e.g. a concurrent enqueue that split a bucket)."""
    tm = transaction_manager_for(tool)
    for attempt in range(BOOKKEEPING_TRIES):
        try:
            store = tool._getStore()
            message = store.get(uid)
            if message is None:
                tm.abort()
                return None
            result = change(store, message)
            _note(tm, 'CMFActivity: update message %s' % uid)
            tm.commit()
            return result
        except ConflictError:
            tm.abort()
            if attempt == BOOKKEEPING_TRIES - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


# -- distribute ----------------------------------------------------------------

def dead_claim(store, message, when, timeout):
    """Why the claim on ``message`` is dead (its holder is gone), or None."""
    owner = message.claimed_by
    if owner is None:
        # A claim made before claims carried their holder.
        if (message.processing_date or 0) < when - timeout:
            return 'claimed since %s' % time.ctime(message.processing_date or 0)
        return None
    reason = leases.gone_reason(owner)
    if reason:
        return reason
    lease = store.leases().get(owner)
    if lease is None:
        # Leases are renewed before claiming; none at all: a crash between.
        if (message.processing_date or 0) < when - timeout:
            return 'no lease'
        return None
    if lease.until < when:
        return 'lease expired at %s' % time.ctime(lease.until)
    return None


def release_dead_claim(tool, store, message, reason, when=None):
    """Put a message whose holder died back in the queue.

    The holder's transaction never committed, so running the message again
    is safe. It counts as a failed run: a message that kills its process
    every time ends in the error state instead of looping.
    """
    logger.warning('message %s %s/%s: claim of %s released (%s)',
                   message.uid, message.url, message.method_id,
                   message.claimed_by or 'node %s' % message.processing_node,
                   reason)
    _release(store, message)
    message.retry += 1
    error = ('claim lost: %s held it and stopped (%s)\n'
             % (message.claimed_by or 'a processing node', reason))
    if message.retry >= int(getattr(tool, 'max_retries', 5)):
        _to_error(tool, store, message, error)
        return
    message.error = error
    message.error_date = now()
    message.processing_node = WAITING
    message.not_before = now() if when is None else when


def _forget_old_leases(store, when, keep):
    leases_ = store.leases()
    for owner in [o for o, lease in leases_.items()
                  if lease.until < when - keep]:
        del leases_[owner]


def distribute(tool, node_count=1, nodes=None):
    """Release dead claims, then give waiting messages to processing nodes;
    returns how many messages were given."""
    nodes = list(nodes or range(1, int(node_count) + 1))
    if not nodes:
        raise ValueError('node_count must be at least 1')
    tm = transaction_manager_for(tool)
    tm.commit()   # what the caller queued becomes visible to the nodes
    timeout = float(getattr(tool, 'claim_timeout', 6 * 3600))
    for attempt in range(BOOKKEEPING_TRIES):
        try:
            when = now()
            store = tool._getStore()
            assigned = released = 0
            robin = 0
            for message in store.ordered():
                if message.processing:
                    reason = dead_claim(store, message, when, timeout)
                    if reason is None:
                        continue
                    release_dead_claim(tool, store, message, reason, when)
                    released += 1
                if message.failed or message.processing_node in nodes:
                    continue
                if message.not_before > when:
                    continue
                # Keep related messages on one node: fewer claim conflicts.
                if message.serialization_tag:
                    key = message.serialization_tag
                elif message.activity == DICT:
                    key = '%s %s' % (message.url, message.method_id)
                else:
                    key = None
                if key is None:
                    node = nodes[robin % len(nodes)]
                    robin += 1
                else:
                    node = nodes[zlib.crc32(key.encode('utf-8')) % len(nodes)]
                message.processing_node = node
                assigned += 1
            if released:
                _forget_old_leases(store, when, LEASE_MEMORY)
            if assigned or released:
                _note(tm, 'CMFActivity: distribute %d messages, release %d'
                      % (assigned, released))
                tm.commit()
            else:
                tm.abort()
            note_run(tool, 'distribute')
            return assigned
        except ConflictError:
            tm.abort()
    logger.info('distribute: conflicts on every try, will do it next time')
    return 0


def note_run(tool, what):
    """Record when the queue last ran (for getQueueHealth), at most once
    per RUN_NOTE_INTERVAL s: a write per tic would only grow the database."""
    tm = transaction_manager_for(tool)
    try:
        store = tool._getStore()
        last = store.last_run(what)
        when = now()
        if last is not None and 0 <= when - last < RUN_NOTE_INTERVAL:
            tm.abort()
            return
        store.note_run(what, when)
        _note(tm, 'CMFActivity: %s ran' % what)
        tm.commit()
    except ConflictError:
        tm.abort()   # another process noted it at the same moment


# -- running one message -------------------------------------------------------

def resolve_user(root, ref):
    if not ref or ref == ('anonymous',):
        return nobody
    if ref == ('system',):
        return system
    folder_path, user_id = ref
    folder = root.unrestrictedTraverse(folder_path, None)
    getter = getattr(folder, 'getUserById', None)
    user = getter(user_id) if getter is not None else None
    if user is None:
        raise InvalidMessage('user %r no longer exists in %s'
                             % (user_id, '/'.join(folder_path) or '/'))
    if not hasattr(user, 'aq_base'):
        user = user.__of__(folder)
    return user


def _site_of(obj):
    for item in aq_chain(obj):
        if ISite.providedBy(item):
            return item
    return None


def claim(tool, uid, node, force=False):
    """Mark message ``uid`` as running; merge its Dict twins into it.

    Returns the message, or None when it is gone, not runnable, or claimed
    by someone else meanwhile (ConflictError).
    """
    tm = transaction_manager_for(tool)
    try:
        when = now()
        store = tool._getStore()
        message = store.get(uid)
        if message is None or message.processing:
            tm.abort()
            return None
        if not force and not is_runnable(store, message, node, when):
            tm.abort()
            return None
        twins = dict_twins(store, message, when)
        if twins:
            # The most recent call's arguments win.
            newest = max([message] + twins, key=lambda m: m.date)
            message.args, message.kw = newest.args, dict(newest.kw)
            for twin in twins:
                store.remove(twin.uid)
            logger.info('message %s absorbs %d queued twin(s) of %s.%s',
                        uid, len(twins), message.url, message.method_id)
        message.processing = True
        message.processing_date = when
        message.claimed_by = leases.owner_id()
        if node is not None:
            message.processing_node = node
        store.lock_serial(message)
        _note(tm, 'CMFActivity: claim message %s' % uid)
        tm.commit()
        return message
    except ConflictError:
        tm.abort()
        return None


def execute(tool, message):
    """Run a claimed message and remove it, in one transaction."""
    tm = transaction_manager_for(tool)
    root = tool.getPhysicalRoot()
    old_manager = getSecurityManager()
    old_site = getSite()
    try:
        newSecurityManager(None, resolve_user(root, message.user))
        try:
            obj = root.unrestrictedTraverse(message.path)
        except (KeyError, AttributeError, LookupError) as exc:
            raise InvalidMessage('object %s not found: %r'
                                 % (message.url, exc)) from exc
        except Exception as exc:
            if exc.__class__.__name__ == 'NotFound':
                raise InvalidMessage('object %s not found: %r'
                                     % (message.url, exc)) from exc
            raise
        method = getattr(obj, message.method_id, None)
        if method is None:
            raise InvalidMessage('%s has no method %r'
                                 % (message.url, message.method_id))
        site = _site_of(obj)
        if site is not None:
            setSite(site)
        method(*message.args, **message.kw)
        tool._getStore().remove(message.uid)
        _note(tm, 'CMFActivity: %s/%s' % (message.url, message.method_id))
        tm.commit()
    finally:
        setSecurityManager(old_manager)
        setSite(old_site)


def _release(store, message):
    message.processing = False
    message.processing_date = None
    message.claimed_by = None
    store.unlock_serial(message)


def _to_error(tool, store, message, error):
    _release(store, message)
    message.processing_node = ERROR
    message.error = error[-MAX_ERROR_TEXT:]
    message.error_date = now()


def on_conflict(tool, uid):
    limit = int(getattr(tool, 'max_conflict_retries', 50))

    def change(store, message):
        _release(store, message)
        message.conflict_retry += 1
        if message.conflict_retry >= limit:
            _to_error(tool, store, message, 'ConflictError on %d runs'
                      % message.conflict_retry)
            return 'error'
        message.not_before = now()
        return 'conflict'
    result = _bookkeeping(tool, uid, change)
    if result == 'error':
        logger.error('message %s: %d conflicts, now in error state',
                     uid, limit)
    else:
        logger.info('message %s: ConflictError, will retry', uid)
    return result


def on_failure(tool, uid, error, invalid=False):
    limit = int(getattr(tool, 'max_retries', 5))

    def change(store, message):
        message.retry += 1
        if invalid or message.retry >= limit:
            _to_error(tool, store, message, error)
            return 'error', message.retry
        _release(store, message)
        message.error = error[-MAX_ERROR_TEXT:]
        message.error_date = now()
        delay = retry_delay(tool, message.retry)
        message.not_before = now() + delay
        message.processing_node = WAITING   # any node may take it next time
        return delay, message.retry
    result = _bookkeeping(tool, uid, change)
    if result is None:
        return 'gone'
    outcome, tries = result
    if outcome == 'error':
        logger.error('message %s failed %d time(s), now in error state',
                     uid, tries)
        return 'error'
    logger.info('message %s will be retried in %.0f s (failure %d of %d)',
                uid, outcome, tries, limit)
    return 'retry'


def run_message(tool, uid, node=None, force=False):
    """Claim and run one message.

    Returns 'done', 'failed' (will be retried or went to error state),
    'conflict' or 'skipped' (not runnable, or claimed by another node).
    """
    keeper = leases.LeaseKeeper.for_tool(tool)
    if keeper is None:
        return _run_claimed(tool, uid, node, force)
    keeper.hold(float(getattr(tool, 'claim_lease', 60)))
    try:
        return _run_claimed(tool, uid, node, force)
    finally:
        keeper.release()


def _run_claimed(tool, uid, node, force):
    message = claim(tool, uid, node, force=force)
    if message is None:
        return 'skipped'
    tm = transaction_manager_for(tool)
    label = '%s %s/%s' % (uid, message.url, message.method_id)
    started = time.time()
    try:
        execute(tool, message)
    except ConflictError:
        tm.abort()
        on_conflict(tool, uid)
        return 'conflict'
    except InvalidMessage as exc:
        tm.abort()
        logger.error('message %s cannot run: %s', label, exc)
        on_failure(tool, uid, 'InvalidMessage: %s\n' % exc, invalid=True)
        return 'failed'
    except Exception:
        tm.abort()
        text = traceback.format_exc()
        logger.warning('message %s failed', label, exc_info=True)
        on_failure(tool, uid, text)
        return 'failed'
    except BaseException:
        tm.abort()
        _bookkeeping(tool, uid, lambda store, m: _release(store, m))
        raise
    logger.info('message %s done in %.3f s', label, time.time() - started)
    return 'done'


# -- tic -----------------------------------------------------------------------

def tic(tool, processing_node=1, max_messages=None):
    """Run the runnable messages of ``processing_node``; returns counts."""
    counts = _tic(tool, processing_node, max_messages)
    note_run(tool, 'tic')
    return counts


def _tic(tool, processing_node, max_messages):
    tm = transaction_manager_for(tool)
    tm.commit()   # store what the caller queued; start from a clean state
    node = int(processing_node)
    counts = {'processed': 0, 'failed': 0, 'conflicts': 0, 'skipped': 0}
    attempted = set()
    while True:
        when = now()
        store = tool._getStore()
        candidates = [m.uid for m in store.ordered()
                      if m.uid not in attempted
                      and is_runnable(store, m, node, when)]
        tm.abort()   # reading only; free the snapshot
        if not candidates:
            break
        for uid in candidates:
            if max_messages is not None and len(attempted) >= max_messages:
                return counts
            attempted.add(uid)
            result = run_message(tool, uid, node)
            key = {'done': 'processed', 'failed': 'failed',
                   'conflict': 'conflicts'}.get(result, 'skipped')
            counts[key] += 1
    return counts


def process_all(tool, max_rounds=100, processing_node=1, max_messages=None):
    """distribute + tic until nothing is runnable; returns summed counts.

    Messages not yet due (at_date, retry delay) or in error state stop it.
    """
    from .active import find_tool
    from .interfaces import IActivityTool
    if not IActivityTool.providedBy(tool):
        tool = find_tool(tool)
        if tool is None:
            raise ValueError('no portal_activities tool found')
    total = {'processed': 0, 'failed': 0, 'conflicts': 0, 'skipped': 0,
             'rounds': 0}
    for _ in range(max_rounds):
        distribute(tool, nodes=[processing_node])
        left = None
        if max_messages is not None:
            left = max_messages - total['processed'] - total['failed']
            if left <= 0:
                break
        counts = tic(tool, processing_node, max_messages=left)
        total['rounds'] += 1
        for key, value in counts.items():
            total[key] += value
        if not (counts['processed'] or counts['failed']
                or counts['conflicts']):
            break
    store = tool._getStore()
    total['remaining'] = len(store)
    total['errors'] = sum(1 for m in store.ordered() if m.failed)
    transaction_manager_for(tool).abort()
    return total
