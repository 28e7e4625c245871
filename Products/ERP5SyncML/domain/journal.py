"""Change journal: which synchronized objects changed, and when.

An incremental sync asks the journal for the objects changed since the
previous session instead of walking the whole folder, so its cost follows
the number of changes, not the size of the site. Entries are written by
object events (OFS objects) and by a CMF index-queue processor (CMF
content that is reindexed), in the transaction that makes the change.

Each entry remembers its *origin*: the sync domain whose incoming data
caused it (None for a local edit), so a change applied from a peer is not
sent back to that same peer.
"""
import contextlib
import threading
import time

from Acquisition import aq_base
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet
from persistent import Persistent
from zope.interface import implementer

from Products.CMFCore.interfaces import IIndexQueueProcessor

from ..interfaces import IChangeJournal
from ..interfaces import ISynchronizationTool

TOOL_ID = 'portal_synchronizations'
MIXED = '*'

_local = threading.local()


@contextlib.contextmanager
def changes_from(origin):
    """Attribute the changes made inside the block to ``origin``."""
    previous = getattr(_local, 'origin', None)
    _local.origin = origin
    try:
        yield
    finally:
        _local.origin = previous


def current_origin():
    return getattr(_local, 'origin', None)


@implementer(IChangeJournal)
class ChangeJournal(Persistent):
    """Top-level synchronized object path -> (stamp, origin).

    Entries are also ordered by (origin, stamp), so that a peer asking for
    the changes it did not make itself reads only those: after a large
    first sync, the objects it sent here are not walked again.
    """

    def __init__(self):
        self._by_path = OOBTree()
        self._by_origin = OOBTree()   # (origin key, stamp, path) -> None
        self._origins = OOTreeSet()   # origin keys in use

    def record(self, path, origin=None, stamp=None):
        stamp = time.time() if stamp is None else stamp
        old = self._by_path.get(path)
        if old is not None:
            old_stamp, old_origin = old
            if old_origin != origin and stamp - old_stamp < 3600:
                # two sources touched it recently: every peer must look at it
                origin = MIXED
            self._by_origin.pop((_key(old_origin), old_stamp, path), None)
        self._by_path[path] = (stamp, origin)
        key = _key(origin)
        self._by_origin[(key, stamp, path)] = None
        if key not in self._origins:
            self._origins.add(key)

    def changedSince(self, since, prefix, exclude_origin=None):
        """Yield ids of objects directly under ``prefix`` changed after
        ``since`` by anyone but ``exclude_origin``."""
        depth = len(prefix)
        excluded = _key(exclude_origin) if exclude_origin is not None else None
        seen = set()
        for key in list(self._origins):
            if key == excluded:
                continue
            for _key_, _stamp, path in self._by_origin.keys(
                    min=(key, since), max=(key, float('inf'))):
                if len(path) != depth + 1 or path[:depth] != prefix:
                    continue
                if path[-1] not in seen:
                    seen.add(path[-1])
                    yield path[-1]

    def __len__(self):
        return len(self._by_path)


def _key(origin):
    # origins are tuples or None; BTree keys need one comparable type
    return repr(origin)


def _tool_for(obj):
    # acquisition up to the site; cheap, and None outside a synced site
    tool = getattr(obj, TOOL_ID, None)
    if tool is None or not ISynchronizationTool.providedBy(tool):
        return None
    return tool


def record_change(context, path):
    """Record that the object at physical ``path`` changed, if it lies in a
    synchronized folder of the site that ``context`` belongs to."""
    tool = _tool_for(context)
    if tool is None:
        return
    for prefix in tool.getDestinationPrefixes():
        depth = len(prefix)
        if len(path) > depth and path[:depth] == prefix:
            top = path[:depth + 1]
            seen = _seen_in_transaction()
            # the first record of a transaction wins: the CMF index queue
            # replays conduit edits at commit time, outside changes_from()
            key = (id(aq_base(tool)), top)
            if key in seen:
                return
            seen.add(key)
            tool.getChangeJournal().record(top, current_origin())
            if current_origin() is None:
                from .schedule import local_change
                local_change(tool, top)  # subscriptions that sync after changes
            return


def forget_recorded():
    """After a savepoint rollback the journal entries written since are gone:
    let the next change of those objects write them again."""
    _local.seen = None


def _seen_in_transaction():
    import transaction
    txn = transaction.get()
    seen = getattr(_local, 'seen', None)
    if seen is None or seen[0] is not txn:
        seen = (txn, set())
        _local.seen = seen
    return seen[1]


# --- event subscribers (registered in configure.zcml) ----------------------

def object_modified(obj, event):
    try:
        path = obj.getPhysicalPath()
    except AttributeError:
        return
    record_change(obj, path)


def object_moved(obj, event):
    for parent, name in ((event.oldParent, event.oldName),
                         (event.newParent, event.newName)):
        if parent is None or name is None:
            continue
        try:
            path = parent.getPhysicalPath() + (name,)
        except AttributeError:
            continue
        record_change(parent, path)


def published_object_changed(event):
    """Before a web request commits: the object whose method it published
    (a ZMI form: ``manage_edit``, ``pt_editAction``, ``manage_upload``,
    ``manage_changeProperties``...) is journaled when that call changed
    it, even though many stock OFS forms fire no event."""
    request = event.request
    published = request.get('PUBLISHED', None)
    obj = getattr(published, '__self__', published)
    base = aq_base(obj) if obj is not None else None
    if base is None or not getattr(base, '_p_changed', False):
        return
    try:
        path = obj.getPhysicalPath()
    except (AttributeError, TypeError):
        return
    record_change(obj, path)


@implementer(IIndexQueueProcessor)
class JournalIndexProcessor:
    """Sees every CMF (re)index/unindex, including edits that fire no event."""

    def index(self, obj, attributes=None):
        self._record(obj)

    def reindex(self, obj, attributes=None, update_metadata=1):
        self._record(obj)

    def unindex(self, obj):
        self._record(obj)

    def _record(self, obj):
        try:
            path = obj.getPhysicalPath()
        except AttributeError:
            return
        record_change(obj, path)

    def begin(self):
        pass

    def commit(self):
        pass

    def abort(self):
        pass
