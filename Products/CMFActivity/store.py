"""The persistent message store of a portal_activities tool.

Messages live in BTrees keyed so that concurrent writers rarely touch the
same keys: uids are random, every index is a tree set of unique tuples and the
count is a ``BTrees.Length``. Two ZODB clients (ZEO, RelStorage) that queue
messages at the same time therefore commit without conflicts; BTrees resolve
concurrent inserts of different keys.
"""
import secrets

from BTrees.LOBTree import LOBTree
from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet
from persistent import Persistent


def _upto(*prefix):
    """(min, max) of the keys whose first items equal ``prefix``.

    The last prefix item is a str; ``str + '\\x00'`` sorts after that str and
    before any longer one, so no key of another prefix falls in the range.
    """
    return prefix, prefix[:-1] + (prefix[-1] + '\x00',)


class MessageStore(Persistent):
    """Messages by uid plus the indexes the scheduler needs."""

    _leases = None      # owner id -> leases.Lease (stores of older versions)
    _runs = None        # 'distribute' / 'tic' -> when the queue last ran

    def __init__(self):
        self._messages = LOBTree()          # uid -> Message
        self._order = OOTreeSet()           # (priority, date, uid)
        self._by_path = OOTreeSet()         # (path, method_id, uid)
        self._by_tag = OOTreeSet()          # (tag, uid)
        self._by_serial = OOTreeSet()       # (serialization_tag, priority, date, uid)
        self._serial_locks = OOBTree()      # serialization_tag -> uid running
        self._length = Length()

    # -- writing --------------------------------------------------------

    def new_uid(self):
        while True:
            uid = secrets.randbits(62) + 1
            if uid not in self._messages:
                return uid

    def add(self, message):
        if message.uid in self._messages:
            raise KeyError('duplicate message uid %s' % message.uid)
        self._messages[message.uid] = message
        self._order.add(message.order_key)
        self._by_path.add((message.url, message.method_id, message.uid))
        if message.tag:
            self._by_tag.add((message.tag, message.uid))
        if message.serialization_tag:
            self._by_serial.add((message.serialization_tag,) + message.order_key)
        self._length.change(1)

    def remove(self, uid):
        message = self._messages.pop(uid)
        self._order.remove(message.order_key)
        self._by_path.remove((message.url, message.method_id, uid))
        if message.tag:
            self._by_tag.remove((message.tag, uid))
        if message.serialization_tag:
            self._by_serial.remove((message.serialization_tag,) + message.order_key)
            self.unlock_serial(message)
        # Writing to the removed message makes a concurrent claim of it conflict.
        message.processing_node = None
        self._length.change(-1)
        return message

    def lock_serial(self, message):
        """Mark the serialization tag of ``message`` as running.

        Two nodes that lock the same tag in concurrent transactions write the
        same BTree key: the second commit raises ConflictError.
        """
        tag = message.serialization_tag
        if tag:
            self._serial_locks[tag] = message.uid

    def unlock_serial(self, message):
        tag = message.serialization_tag
        if tag and self._serial_locks.get(tag) == message.uid:
            del self._serial_locks[tag]

    def leases(self, create=False):
        """owner id -> Lease of the processes that claimed messages."""
        if self._leases is None and create:
            self._leases = OOBTree()
        return self._leases if self._leases is not None else {}

    def note_run(self, what, when):
        if self._runs is None:
            self._runs = OOBTree()
        self._runs[what] = when

    def last_run(self, what):
        return None if self._runs is None else self._runs.get(what)

    # -- reading --------------------------------------------------------

    def __len__(self):
        return self._length()

    def __contains__(self, uid):
        return uid in self._messages

    def get(self, uid, default=None):
        return self._messages.get(uid, default)

    def ordered(self):
        """All messages, by priority then date."""
        for key in list(self._order):
            message = self._messages.get(key[-1])
            if message is not None:
                yield message

    def for_path(self, path, method_id=None):
        """Messages for the object at ``path`` (a '/'-joined string)."""
        if method_id is None:
            low, high = _upto(path)
        else:
            low, high = _upto(path, method_id)
        keys = self._by_path.keys(min=low, max=high, excludemax=True)
        return [self._messages[k[-1]] for k in keys if k[-1] in self._messages]

    def tag_uids(self, tag):
        low, high = _upto(tag)
        return [k[-1] for k in self._by_tag.keys(min=low, max=high, excludemax=True)]

    def first_in_serial(self, tag):
        """uid of the message that must run next for a serialization tag."""
        low, high = _upto(tag)
        for key in self._by_serial.keys(min=low, max=high, excludemax=True):
            return key[-1]
        return None

    def serial_lock(self, tag):
        return self._serial_locks.get(tag)
