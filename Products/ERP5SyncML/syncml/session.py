"""The SyncML DS session as one table-driven state machine.

SyncML over HTTP is half duplex: the client sends a message, the server
answers, and so on.  So one conversation state says whose turn it is, and
one table, ``ROWS``, says for each (sender, state, event) the next state
and what the side that *received* the message does then (its reaction).
The same table serves both sides: a ``Session`` playing CLIENT checks its
own messages with ``send(event)`` and the server's with ``receive(event)``,
and the other way round for a SERVER.  An event the table does not allow
raises ``ProtocolError`` (with the SyncML status to answer) and leaves the
state unchanged.  ``state`` is a plain string, so it can be stored on a
persistent object and a ``Session`` rebuilt from it.

Package flow (pkg = package of the DS protocol):

=================  ======  ===========  ================  ==================
state              sender  event        next state        receiver then
=================  ======  ===========  ================  ==================
INITIAL            client  INIT         INIT_SENT         ANSWER_INIT
INIT_SENT          server  CHALLENGE    CHALLENGED        AUTHENTICATE
INIT_SENT          server  INIT_REPLY   CLIENT_MODS       APPLY, SEND_DATA
CHALLENGED         client  INIT         INIT_SENT         ANSWER_INIT
CLIENT_MODS        client  SYNC_MORE    CLIENT_MODS_MORE  APPLY, ASK_NEXT
CLIENT_MODS_MORE   server  NEXT         CLIENT_MODS       APPLY, SEND_DATA
CLIENT_MODS        client  SYNC         SERVER_MODS       APPLY,
                                                          PEER_DATA_DONE,
                                                          SEND_DATA
SERVER_MODS        server  SYNC_MORE    SERVER_MODS_MORE  APPLY, ASK_NEXT
SERVER_MODS_MORE   client  NEXT         SERVER_MODS       APPLY, SEND_DATA
SERVER_MODS        server  SYNC         SERVER_MODS_DONE  APPLY,
                                                          PEER_DATA_DONE,
                                                          SEND_STATUS
SERVER_MODS_DONE   client  STATUS_MORE  STATUS_MORE       APPLY, ASK_NEXT
STATUS_MORE        server  NEXT         SERVER_MODS_DONE  APPLY, SEND_STATUS
SERVER_MODS_DONE   client  STATUS       STATUS_SENT       APPLY, CLOSE
STATUS_SENT        server  MAP_ACK      DONE              APPLY, FINISH
(any but over)     either  ABORT        ERROR             FAIL
=================  ======  ===========  ================  ==================

The messages: pkg1 is the client's Alert with anchors [+Cred]; a
CHALLENGE is Status 401/407 + Chal; pkg2 (INIT_REPLY) the Statuses
(212/200, 508) and the Alert with the agreed mode; pkg3 / pkg4 the
client's / server's Sync, in several messages when large: every message
but the last has no Final (SYNC_MORE) and is answered by Statuses and
Alert 222 (NEXT); an object too large for one message travels as items
with MoreData, one chunk per message, inside such a package.  pkg5
(STATUS) holds the client's Statuses [+ Map] for pkg4, pkg6 (MAP_ACK) the
server's Statuses for pkg5.  An error Status on SyncHdr is ABORT.

The sync mode changes what the packages hold (``codes.sends_data``), not
which packages are exchanged: in a one-way sync the silent side sends an
empty Sync.  ``PEER_DATA_DONE`` is where a refresh from the peer (203 on
the server, 205 on the client) removes what the peer did not send
(``refresh_from_peer``).  ``negotiate_mode`` is the server's choice of mode
in pkg2.
"""
from collections import namedtuple

from . import codes
from .codes import CLIENT, SERVER
from .codes import StatusCode
from .errors import ProtocolError

# states
INITIAL = 'INITIAL'
INIT_SENT = 'INIT_SENT'
CHALLENGED = 'CHALLENGED'
CLIENT_MODS = 'CLIENT_MODS'
CLIENT_MODS_MORE = 'CLIENT_MODS_MORE'
SERVER_MODS = 'SERVER_MODS'
SERVER_MODS_MORE = 'SERVER_MODS_MORE'
SERVER_MODS_DONE = 'SERVER_MODS_DONE'
STATUS_MORE = 'STATUS_MORE'
STATUS_SENT = 'STATUS_SENT'
DONE = 'DONE'
ERROR = 'ERROR'

# events (one per kind of message, plus ABORT)
INIT = 'INIT'
CHALLENGE = 'CHALLENGE'
INIT_REPLY = 'INIT_REPLY'
SYNC = 'SYNC'
SYNC_MORE = 'SYNC_MORE'
NEXT = 'NEXT'
STATUS = 'STATUS'
# STATUS_MORE is both an event and the state it leads to
MAP_ACK = 'MAP_ACK'
ABORT = 'ABORT'

# reactions: what the side that received a message does next, in order
APPLY = 'APPLY'                    # take the message's Statuses, Alerts, Sync
ANSWER_INIT = 'ANSWER_INIT'        # server: agree on the mode, send pkg2
AUTHENTICATE = 'AUTHENTICATE'      # client: send pkg1 again with Cred
SEND_DATA = 'SEND_DATA'            # the next message of our Sync package
ASK_NEXT = 'ASK_NEXT'              # Statuses + Alert 222, no Final
PEER_DATA_DONE = 'PEER_DATA_DONE'  # the peer's Sync package is complete
SEND_STATUS = 'SEND_STATUS'        # client: pkg5, Statuses for pkg4
CLOSE = 'CLOSE'                    # server: pkg6, then the session is done
FINISH = 'FINISH'                  # client: the session is done
FAIL = 'FAIL'                      # the peer gave up (error Status)

Row = namedtuple('Row', 'sender state event next_state reaction')

ROWS = (
    Row(CLIENT, INITIAL, INIT, INIT_SENT, (ANSWER_INIT,)),
    Row(SERVER, INIT_SENT, CHALLENGE, CHALLENGED, (AUTHENTICATE,)),
    Row(SERVER, INIT_SENT, INIT_REPLY, CLIENT_MODS, (APPLY, SEND_DATA)),
    Row(CLIENT, CHALLENGED, INIT, INIT_SENT, (ANSWER_INIT,)),
    Row(CLIENT, CLIENT_MODS, SYNC_MORE, CLIENT_MODS_MORE, (APPLY, ASK_NEXT)),
    Row(SERVER, CLIENT_MODS_MORE, NEXT, CLIENT_MODS, (APPLY, SEND_DATA)),
    Row(CLIENT, CLIENT_MODS, SYNC, SERVER_MODS,
        (APPLY, PEER_DATA_DONE, SEND_DATA)),
    Row(SERVER, SERVER_MODS, SYNC_MORE, SERVER_MODS_MORE, (APPLY, ASK_NEXT)),
    Row(CLIENT, SERVER_MODS_MORE, NEXT, SERVER_MODS, (APPLY, SEND_DATA)),
    Row(SERVER, SERVER_MODS, SYNC, SERVER_MODS_DONE,
        (APPLY, PEER_DATA_DONE, SEND_STATUS)),
    Row(CLIENT, SERVER_MODS_DONE, STATUS_MORE, STATUS_MORE, (APPLY, ASK_NEXT)),
    Row(SERVER, STATUS_MORE, NEXT, SERVER_MODS_DONE, (APPLY, SEND_STATUS)),
    Row(CLIENT, SERVER_MODS_DONE, STATUS, STATUS_SENT, (APPLY, CLOSE)),
    Row(SERVER, STATUS_SENT, MAP_ACK, DONE, (APPLY, FINISH)),
)
STATES = (INITIAL, INIT_SENT, CHALLENGED, CLIENT_MODS, CLIENT_MODS_MORE,
          SERVER_MODS, SERVER_MODS_MORE, SERVER_MODS_DONE, STATUS_MORE,
          STATUS_SENT, DONE, ERROR)
FINISHED = (DONE, ERROR)

# Either side may give up at any time while the session lives.
ROWS += tuple(Row(role, state, ABORT, ERROR, (FAIL,))
              for role in (CLIENT, SERVER)
              for state in STATES if state not in FINISHED)

#: sender -> state -> event -> next state (derived from ROWS)
TRANSITIONS = {CLIENT: {}, SERVER: {}}
#: (sender, state, event) -> what the receiver does then
REACTIONS = {}
for _row in ROWS:
    TRANSITIONS[_row.sender].setdefault(_row.state, {})[_row.event] = \
        _row.next_state
    REACTIONS[_row.sender, _row.state, _row.event] = _row.reaction
del _row

#: the status answering a message the table does not allow now
NOT_ALLOWED = StatusCode.COMMAND_NOT_ALLOWED


def _other(role):
    return SERVER if role == CLIENT else CLIENT


def turn(state):
    """The role whose message is expected in ``state`` (None when over)."""
    for role in (CLIENT, SERVER):
        if set(TRANSITIONS[role].get(state, ())) - {ABORT}:
            return role
    return None


class Session:
    """One side of a SyncML DS session.

    ``Session(CLIENT)`` or ``Session(SERVER, state=stored_state)``;
    ``send(event)`` for the messages this side emits, ``receive(event)`` for
    those of the peer.  Both return the new state; ``reaction`` is then
    what this side must do after the last message it received.
    """

    def __init__(self, role, state=INITIAL):
        if role not in codes.ROLES:
            raise ValueError('unknown role %r' % (role,))
        if state not in STATES:
            raise ValueError('unknown session state %r' % (state,))
        self.role = role
        self.state = state
        self.reaction = ()

    def __repr__(self):
        return '<Session %s %s>' % (self.role, self.state)

    @property
    def peer(self):
        return _other(self.role)

    @property
    def our_turn(self):
        """True when this side is the one to send the next message."""
        return turn(self.state) == self.role

    @property
    def finished(self):
        """True when the session is over, well or not."""
        return self.state in FINISHED

    @property
    def failed(self):
        return self.state == ERROR

    @property
    def succeeded(self):
        return self.state == DONE

    @property
    def running(self):
        return not self.finished

    def allowed(self, sender=None):
        """Events ``sender`` (default: this side) may emit now."""
        sender = sender or self.role
        return sorted(TRANSITIONS[sender].get(self.state, ()))

    def _apply(self, sender, event):
        next_state = TRANSITIONS[sender].get(self.state, {}).get(event)
        if next_state is None:
            direction = 'send' if sender == self.role else 'receive'
            raise ProtocolError(
                '%s cannot %s %s in state %s (allowed: %s)'
                % (self.role, direction, event, self.state,
                   ', '.join(self.allowed(sender)) or 'nothing'),
                NOT_ALLOWED)
        self.reaction = REACTIONS[sender, self.state, event] \
            if sender != self.role else ()
        self.state = next_state
        return next_state

    def send(self, event):
        """Record that this side sends ``event``; return the new state."""
        return self._apply(self.role, event)

    def receive(self, event):
        """Record that the peer sent ``event``; return the new state."""
        return self._apply(self.peer, event)

    def send_message(self, message):
        """Check our decoded ``message`` against the table; record it."""
        return self.send(infer_event(self.state, self.role, message))

    def receive_message(self, message):
        """Take the peer's decoded ``message``: return what to do now.

        Returns the reaction (a tuple of ANSWER_INIT, SEND_DATA, ...).
        Raises ProtocolError, state unchanged, when the table does not
        allow the message now.
        """
        self.receive(infer_event(self.state, self.peer, message))
        return self.reaction

    def abort(self):
        """This side gives up (a local failure); idempotent."""
        if not self.finished:
            self.state = ERROR
        return self.state


_CHALLENGE_CODES = (StatusCode.INVALID_CREDENTIALS,
                    StatusCode.MISSING_CREDENTIALS)


def infer_event(state, sender, message):
    """The event a decoded ``message`` from ``sender`` is, in ``state``.

    Only whose turn it is, the Final flag and the Status of the header
    matter: an error Status on the header is ABORT, a 401/407 answer to
    pkg1 is CHALLENGE.  Raises ProtocolError when ``sender`` may not speak
    now.
    """
    expected = turn(state)
    if expected != sender:
        raise ProtocolError('%s sent a message in state %s, where %s'
                            % (sender, state, 'the session is over'
                               if expected is None else
                               'the %s speaks' % expected), NOT_ALLOWED)
    events = TRANSITIONS[sender][state]
    header_status = message.header_status()
    if header_status is not None and codes.is_error(header_status.code):
        if CHALLENGE in events and header_status.code in _CHALLENGE_CODES:
            return CHALLENGE
        return ABORT
    if NEXT in events:
        return NEXT
    if INIT in events:
        return INIT
    if MAP_ACK in events:
        return MAP_ACK
    if INIT_REPLY in events:
        if not message.final:
            raise ProtocolError('multi-message initialization packages are '
                                'not supported',
                                StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
        return INIT_REPLY
    if SYNC in events:
        return SYNC if message.final else SYNC_MORE
    return STATUS if message.final else STATUS_MORE


def refresh_from_peer(mode, role):
    """True in a refresh sync from the peer (203 on the server, 205 on the
    client): the peer's data wins, and once it is all in, ``role``
    removes what the peer did not send."""
    return codes.is_refresh(mode) and not codes.sends_data(mode, role)


def negotiate_mode(requested, client_last, server_last):
    """The server's answer to a client's sync Alert: (status, mode).

    Slow and refresh modes are granted as asked.  An incremental mode
    (200, 202, 204) is granted when the client's Last anchor equals the
    Next anchor the server stored at the end of the last sync; otherwise
    the answer is 508 (refresh required) with a slow sync (201).  Raises
    ProtocolError (406) for a code that is not a client sync mode.
    """
    try:
        requested = int(requested)
    except (TypeError, ValueError):
        raise ProtocolError('sync mode %r is not a number' % (requested,),
                            StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED) from None
    if requested not in codes.CLIENT_MODES:
        raise ProtocolError('%s is not a sync mode a client may request'
                            % codes.describe(requested),
                            StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
    if codes.requires_slow(requested):
        return StatusCode.OK, codes.AlertCode(requested)
    if not client_last or not server_last or client_last != server_last:
        return StatusCode.REFRESH_REQUIRED, codes.AlertCode.SLOW
    return StatusCode.OK, codes.AlertCode(requested)
