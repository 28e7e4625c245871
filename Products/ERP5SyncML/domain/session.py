"""Persistent state of one SyncML session, for one subscription or subscriber."""
import time
import zlib

from BTrees.OOBTree import OOTreeSet
from persistent import Persistent

from ..syncml import codes
from ..syncml import session as protocol

#: objects listed per kind of change in a session's report
MAX_LISTED = 200

_ROLES = {'client': codes.CLIENT, 'server': codes.SERVER}


def as_role(role):
    """codes.CLIENT or codes.SERVER (also from 'client' / 'server')."""
    role = _ROLES.get(role, role)
    if role not in codes.ROLES:
        raise ValueError('unknown role %r' % (role,))
    return role


def _compressed(name):
    """A bytes attribute kept compressed: a message is mostly repeated
    markup, and only a duplicate of the last one ever needs it again."""
    key = '_z_' + name

    def get(self):
        data = getattr(self, key, None)
        if data is None:
            return self.__dict__.get(name)  # sessions stored before
        return zlib.decompress(data)

    def set(self, value):
        setattr(self, key, None if value is None else zlib.compress(value, 1))
    return property(get, set)


class SyncSession(Persistent):
    """Everything that must survive between two messages of a session.

    A new instance is made for every session, so nothing leaks from one
    session to the next.
    """

    moved = {}  # count key -> ((gid, detail), ...): the objects of the report
    #: MaxMsgSize the peer stated in its last message (None: not stated)
    peer_max_msg_size = None
    last_reply = _compressed('last_reply')
    last_sent = _compressed('last_sent')

    def __init__(self, session_id, mode=None, role=codes.CLIENT):
        self.session_id = str(session_id)
        self.role = as_role(role)
        self.mode = mode
        self.protocol_state = protocol.INITIAL  # the one state: syncml.session
        self.started = time.time()
        self.ended = None
        self.next_msg_id = 1
        self.last_received_msg_id = None
        self.last_reply = None          # bytes: resent when a message comes twice
        self.last_sent = None           # bytes: last message sent (client)
        self.pending_statuses = []      # statuses owed to the peer
        self.pending_ids = OOTreeSet()  # local object ids still to examine
        self.pending_deletes = OOTreeSet()  # GIDs to delete at the peer
        self.received_gids = OOTreeSet()    # GIDs the peer sent (refresh/slow)
        self.planned = False            # outgoing data list computed
        self.data_done = False          # all our data commands are sent
        self.peer_final = False         # peer's current package ended
        self.chunk = None               # (gid, cmd, remaining str, meta) being sent
        self.incoming_chunk = None      # (gid, cmd, received str, meta) being received
        self.error = None
        self.counts = {
            'sent_add': 0, 'sent_replace': 0, 'sent_delete': 0,
            'received_add': 0, 'received_replace': 0, 'received_delete': 0,
            'conflicts': 0, 'errors': 0, 'messages_sent': 0,
            'messages_received': 0, 'bytes_sent': 0, 'bytes_received': 0,
        }

    # -- the state, as the protocol table sees it --------------------------

    def table(self):
        """The protocol state machine at this session's state; after using
        it, ``advance(table)`` stores what it became."""
        return protocol.Session(self.role, self.protocol_state)

    def advance(self, table):
        self.protocol_state = table.state

    @property
    def finished(self):
        """True once the session is over, well or not."""
        return self.table().finished

    @property
    def failed(self):
        return self.table().failed

    @property
    def running(self):
        return self.table().running

    @property
    def state(self):
        """'finished', 'failed', or the protocol state while it runs (for
        reports and scripts)."""
        table = self.table()
        if table.succeeded:
            return 'finished'
        if table.failed:
            return 'failed'
        return table.state.lower()

    def end(self, table):
        """Store the final state and the time the session ended."""
        self.advance(table)
        self.ended = time.time()

    def newMsgId(self):
        msg_id = self.next_msg_id
        self.next_msg_id += 1
        return msg_id

    def count(self, key, n=1, gid=None, detail=''):
        """Add ``n`` to a count; with ``gid``, also list the object in the
        report (the first MAX_LISTED of each count)."""
        counts = dict(self.counts)
        counts[key] = counts.get(key, 0) + n
        self.counts = counts
        if gid is not None:
            moved = dict(self.moved)
            listed = moved.get(key, ())
            if len(listed) < MAX_LISTED:
                moved[key] = listed + ((gid, detail),)
                self.moved = moved

    def addStatus(self, status):
        self.pending_statuses = self.pending_statuses + [status]

    def takeStatuses(self):
        statuses = self.pending_statuses
        self.pending_statuses = []
        return statuses


class SessionWork:
    """Work done on one domain's folder during one session."""

    def __init__(self, domain, session, role):
        self.domain = domain
        self.session = session
        self.role = as_role(role)
        self.folder = domain.getDestination()
        self.sigs = domain.signatures
