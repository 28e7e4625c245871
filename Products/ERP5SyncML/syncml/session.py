"""The SyncML DS session as one table-driven state machine.

SyncML over HTTP is half duplex: the client sends a message, the server
answers, and so on.  So one conversation state says whose turn it is, and
one table, ``TRANSITIONS[sender role][state][event] -> next state``, serves
both sides: a ``Session`` playing CLIENT looks up ``send(event)`` under
CLIENT and ``receive(event)`` under SERVER, and the other way round for a
SERVER.  An event the table does not allow raises ``ProtocolError`` and
leaves the state unchanged.  ``state`` is a plain string, so it can be
stored on a persistent object and a ``Session`` rebuilt from it.

Package flow (pkg = package of the DS protocol; "..." = may repeat):

=================  =======  ===========  ================  ===========================
state              sender   event        next state        message
=================  =======  ===========  ================  ===========================
INITIAL            client   INIT         INIT_SENT         pkg1: Alert + anchors [+Cred]
INIT_SENT          server   CHALLENGE    CHALLENGED        Status 401/407 + Chal
INIT_SENT          server   INIT_REPLY   CLIENT_MODS       pkg2: Status (212/200, 508)
                                                           + Alert with the agreed mode
CHALLENGED         client   INIT         INIT_SENT         pkg1 again, with Cred
CLIENT_MODS        client   SYNC_MORE    CLIENT_MODS_MORE  pkg3 message without Final
CLIENT_MODS_MORE   server   NEXT         CLIENT_MODS       Statuses [+ Alert 222]
CLIENT_MODS        client   SYNC         SERVER_MODS       last pkg3 message (Final)
SERVER_MODS        server   SYNC_MORE    SERVER_MODS_MORE  pkg4 message without Final
SERVER_MODS_MORE   client   NEXT         SERVER_MODS       Statuses [+ Map] [+ Alert 222]
SERVER_MODS        server   SYNC         SERVER_MODS_DONE  last pkg4 message (Final)
SERVER_MODS_DONE   client   STATUS_MORE  STATUS_MORE       pkg5 message without Final
STATUS_MORE        server   NEXT         SERVER_MODS_DONE  Statuses [+ Alert 222]
SERVER_MODS_DONE   client   STATUS       STATUS_SENT       pkg5: Statuses [+ Map], Final
STATUS_SENT        server   MAP_ACK      DONE              pkg6: Statuses for pkg5
(any but DONE)     either   ABORT        ERROR             error Status / local failure
=================  =======  ===========  ================  ===========================

The sync mode changes what the packages hold (see ``codes.sends_data``),
not which packages are exchanged: in a one-way sync the silent side sends
an empty Sync.  ``negotiate_mode`` is the server's choice of mode in pkg2.
"""
from . import codes
from .codes import CLIENT, SERVER
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

TRANSITIONS = {
    CLIENT: {
        INITIAL: {INIT: INIT_SENT},
        CHALLENGED: {INIT: INIT_SENT},
        CLIENT_MODS: {SYNC_MORE: CLIENT_MODS_MORE, SYNC: SERVER_MODS},
        SERVER_MODS_MORE: {NEXT: SERVER_MODS},
        SERVER_MODS_DONE: {STATUS_MORE: STATUS_MORE, STATUS: STATUS_SENT},
    },
    SERVER: {
        INIT_SENT: {CHALLENGE: CHALLENGED, INIT_REPLY: CLIENT_MODS},
        CLIENT_MODS_MORE: {NEXT: CLIENT_MODS},
        SERVER_MODS: {SYNC_MORE: SERVER_MODS_MORE, SYNC: SERVER_MODS_DONE},
        STATUS_MORE: {NEXT: SERVER_MODS_DONE},
        STATUS_SENT: {MAP_ACK: DONE},
    },
}
STATES = (INITIAL, INIT_SENT, CHALLENGED, CLIENT_MODS, CLIENT_MODS_MORE,
          SERVER_MODS, SERVER_MODS_MORE, SERVER_MODS_DONE, STATUS_MORE,
          STATUS_SENT, DONE, ERROR)
FINISHED = (DONE, ERROR)

# Either side may give up at any time while the session lives.
for _role in TRANSITIONS:
    for _state in STATES:
        if _state not in FINISHED:
            TRANSITIONS[_role].setdefault(_state, {})[ABORT] = ERROR
del _role, _state


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
    those of the peer.  Both return the new state.
    """

    def __init__(self, role, state=INITIAL):
        if role not in codes.ROLES:
            raise ValueError('unknown role %r' % (role,))
        if state not in STATES:
            raise ValueError('unknown session state %r' % (state,))
        self.role = role
        self.state = state

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
        return self.state in FINISHED

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
                   ', '.join(self.allowed(sender)) or 'nothing'))
        self.state = next_state
        return next_state

    def send(self, event):
        """Record that this side sends ``event``; return the new state."""
        return self._apply(self.role, event)

    def receive(self, event):
        """Record that the peer sent ``event``; return the new state."""
        return self._apply(self.peer, event)

    def abort(self):
        """Give up (local failure or error status); idempotent."""
        if not self.finished:
            self.state = ERROR
        return self.state


_CHALLENGE_CODES = (401, 407)


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
                               'the %s speaks' % expected))
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
                                'not supported', 406)
        return INIT_REPLY
    if SYNC in events:
        return SYNC if message.final else SYNC_MORE
    return STATUS if message.final else STATUS_MORE


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
                            406) from None
    if requested not in codes.CLIENT_MODES:
        raise ProtocolError('%s is not a sync mode a client may request'
                            % codes.describe(requested), 406)
    if codes.requires_slow(requested):
        return codes.StatusCode.OK, codes.AlertCode(requested)
    if not client_last or not server_last or client_last != server_last:
        return codes.StatusCode.REFRESH_REQUIRED, codes.AlertCode.SLOW
    return codes.StatusCode.OK, codes.AlertCode(requested)
