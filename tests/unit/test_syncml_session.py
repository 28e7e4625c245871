"""The SyncML session state machine and the server's choice of sync mode."""
import itertools

import pytest

from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import session as s
from Products.ERP5SyncML.syncml.codes import CLIENT, SERVER
from Products.ERP5SyncML.syncml.errors import ProtocolError

EVENTS = (s.INIT, s.CHALLENGE, s.INIT_REPLY, s.SYNC, s.SYNC_MORE, s.NEXT,
          s.STATUS, s.STATUS_MORE, s.MAP_ACK, s.ABORT)


class Pair:
    """A client and a server session kept in step by every message."""

    def __init__(self):
        self.client = s.Session(CLIENT)
        self.server = s.Session(SERVER)

    def client_sends(self, event):
        self.client.send(event)
        self.server.receive(event)
        assert self.client.state == self.server.state
        return self.client.state

    def server_sends(self, event):
        self.server.send(event)
        self.client.receive(event)
        assert self.client.state == self.server.state
        return self.server.state


def test_full_session_with_challenge_and_multi_message_packages():
    pair = Pair()
    assert pair.client.our_turn and not pair.server.our_turn
    assert pair.client_sends(s.INIT) == s.INIT_SENT          # pkg1, no Cred
    assert pair.server_sends(s.CHALLENGE) == s.CHALLENGED    # 407 + Chal
    assert pair.client_sends(s.INIT) == s.INIT_SENT          # pkg1 + Cred
    assert pair.server_sends(s.INIT_REPLY) == s.CLIENT_MODS  # pkg2
    assert pair.client_sends(s.SYNC_MORE) == s.CLIENT_MODS_MORE
    assert pair.server.our_turn
    assert pair.server_sends(s.NEXT) == s.CLIENT_MODS        # 222
    assert pair.client_sends(s.SYNC) == s.SERVER_MODS        # end of pkg3
    assert pair.server_sends(s.SYNC_MORE) == s.SERVER_MODS_MORE
    assert pair.client_sends(s.NEXT) == s.SERVER_MODS        # statuses+Map
    assert pair.server_sends(s.SYNC) == s.SERVER_MODS_DONE   # end of pkg4
    assert pair.client_sends(s.STATUS_MORE) == s.STATUS_MORE
    assert pair.server_sends(s.NEXT) == s.SERVER_MODS_DONE
    assert pair.client_sends(s.STATUS) == s.STATUS_SENT      # pkg5
    assert pair.server_sends(s.MAP_ACK) == s.DONE            # pkg6
    assert pair.client.finished and pair.server.finished
    assert not pair.client.our_turn and not pair.server.our_turn


def test_shortest_session():
    pair = Pair()
    for sender, event in [(CLIENT, s.INIT), (SERVER, s.INIT_REPLY),
                          (CLIENT, s.SYNC), (SERVER, s.SYNC),
                          (CLIENT, s.STATUS), (SERVER, s.MAP_ACK)]:
        (pair.client_sends if sender == CLIENT else pair.server_sends)(event)
    assert pair.client.state == s.DONE


def test_every_table_entry_and_every_illegal_event():
    for state, role, event in itertools.product(s.STATES, (CLIENT, SERVER),
                                                EVENTS):
        expected = s.TRANSITIONS[role].get(state, {}).get(event)
        # the sender's own session sends, the peer's session receives
        sender = s.Session(role, state)
        receiver = s.Session(SERVER if role == CLIENT else CLIENT, state)
        if expected is None:
            for session, call in ((sender, sender.send),
                                  (receiver, receiver.receive)):
                with pytest.raises(ProtocolError) as info:
                    call(event)
                assert event in str(info.value) and state in str(info.value)
                assert session.state == state  # unchanged
        else:
            assert sender.send(event) == expected
            assert receiver.receive(event) == expected


def test_table_is_half_duplex_and_everything_is_reachable():
    reached = {s.INITIAL}
    todo = [s.INITIAL]
    while todo:
        state = todo.pop()
        speakers = [role for role in (CLIENT, SERVER)
                    if set(s.TRANSITIONS[role].get(state, ())) - {s.ABORT}]
        assert len(speakers) <= 1, state
        for role in (CLIENT, SERVER):
            for next_state in s.TRANSITIONS[role].get(state, {}).values():
                if next_state not in reached:
                    reached.add(next_state)
                    todo.append(next_state)
    assert reached == set(s.STATES)
    assert s.turn(s.DONE) is None and s.turn(s.ERROR) is None


@pytest.mark.parametrize('state', [st for st in s.STATES
                                   if st not in s.FINISHED])
def test_abort_from_any_live_state(state):
    for role in (CLIENT, SERVER):
        assert s.Session(role, state).send(s.ABORT) == s.ERROR
        assert s.Session(role, state).receive(s.ABORT) == s.ERROR
        assert s.Session(role, state).abort() == s.ERROR


def test_finished_sessions_accept_nothing():
    for state in s.FINISHED:
        session = s.Session(CLIENT, state)
        assert session.allowed() == [] and session.allowed(SERVER) == []
        with pytest.raises(ProtocolError, match='allowed: nothing'):
            session.send(s.ABORT)
        assert session.abort() == state


def test_session_is_rebuilt_from_its_state_string():
    session = s.Session(SERVER)
    session.receive(s.INIT)
    session.send(s.INIT_REPLY)
    stored = session.state
    assert isinstance(stored, str)
    rebuilt = s.Session(SERVER, stored)
    assert rebuilt.allowed(CLIENT) == [s.ABORT, s.SYNC, s.SYNC_MORE]
    assert rebuilt.receive(s.SYNC) == s.SERVER_MODS
    with pytest.raises(ValueError, match='state'):
        s.Session(SERVER, 'NOT_A_STATE')
    with pytest.raises(ValueError, match='role'):
        s.Session('PEER')


def _message(final=True, header_code=None):
    header = m.Header('1', 2, m.Location('a'), m.Location('b'))
    commands = []
    if header_code is not None:
        commands.append(m.Status(msg_ref=1, cmd_ref=0, cmd='SyncHdr',
                                 code=header_code))
    return m.Message(header, commands, final)


@pytest.mark.parametrize('state, sender, message, event', [
    (s.INITIAL, CLIENT, _message(), s.INIT),
    (s.CHALLENGED, CLIENT, _message(), s.INIT),
    (s.INIT_SENT, SERVER, _message(header_code=407), s.CHALLENGE),
    (s.INIT_SENT, SERVER, _message(header_code=401), s.CHALLENGE),
    (s.INIT_SENT, SERVER, _message(header_code=212), s.INIT_REPLY),
    (s.INIT_SENT, SERVER, _message(header_code=403), s.ABORT),
    (s.CLIENT_MODS, CLIENT, _message(final=False), s.SYNC_MORE),
    (s.CLIENT_MODS, CLIENT, _message(), s.SYNC),
    (s.CLIENT_MODS_MORE, SERVER, _message(final=False), s.NEXT),
    (s.SERVER_MODS, SERVER, _message(final=False, header_code=200),
     s.SYNC_MORE),
    (s.SERVER_MODS, SERVER, _message(), s.SYNC),
    (s.SERVER_MODS, SERVER, _message(header_code=500), s.ABORT),
    (s.SERVER_MODS_MORE, CLIENT, _message(final=False), s.NEXT),
    (s.SERVER_MODS_DONE, CLIENT, _message(final=False), s.STATUS_MORE),
    (s.SERVER_MODS_DONE, CLIENT, _message(), s.STATUS),
    (s.STATUS_MORE, SERVER, _message(final=False), s.NEXT),
    (s.STATUS_SENT, SERVER, _message(), s.MAP_ACK),
])
def test_infer_event(state, sender, message, event):
    assert s.infer_event(state, sender, message) == event
    # and the inferred event is one the table accepts
    assert s.Session(sender, state).send(event)


def test_infer_event_refuses_a_message_out_of_turn():
    with pytest.raises(ProtocolError, match='the CLIENT speaks'):
        s.infer_event(s.INITIAL, SERVER, _message())
    with pytest.raises(ProtocolError, match='over'):
        s.infer_event(s.DONE, CLIENT, _message())
    with pytest.raises(ProtocolError) as info:
        s.infer_event(s.INIT_SENT, SERVER, _message(final=False))
    assert info.value.status == 406


@pytest.mark.parametrize('requested, client_last, server_last, expected', [
    (200, '5', '5', (200, 200)),
    (202, '5', '5', (200, 202)),
    (204, '5', '5', (200, 204)),
    (200, '4', '5', (508, 201)),
    (204, '4', '5', (508, 201)),
    (200, None, '5', (508, 201)),
    (200, '5', None, (508, 201)),
    (200, None, None, (508, 201)),
    (201, None, None, (200, 201)),
    (201, '1', '2', (200, 201)),
    (203, '1', '2', (200, 203)),
    (205, None, '2', (200, 205)),
    ('200', '7', '7', (200, 200)),
])
def test_negotiate_mode(requested, client_last, server_last, expected):
    assert s.negotiate_mode(requested, client_last, server_last) == expected


@pytest.mark.parametrize('requested', [199, 206, 222, 'slow', None])
def test_negotiate_mode_refuses_non_modes(requested):
    with pytest.raises(ProtocolError) as info:
        s.negotiate_mode(requested, '1', '1')
    assert info.value.status == 406


# -- reactions: what the receiver does after each message --------------------

def test_every_row_has_a_reaction_made_of_known_steps():
    steps = {s.APPLY, s.ANSWER_INIT, s.AUTHENTICATE, s.SEND_DATA, s.ASK_NEXT,
             s.PEER_DATA_DONE, s.SEND_STATUS, s.CLOSE, s.FINISH, s.FAIL}
    for row in s.ROWS:
        assert row.reaction and set(row.reaction) <= steps, row
        assert s.REACTIONS[row.sender, row.state, row.event] == row.reaction
        # a message is applied before anything else is done with it
        if s.APPLY in row.reaction:
            assert row.reaction[0] == s.APPLY, row
        # an error ends the session without applying anything
        if row.event == s.ABORT:
            assert row.reaction == (s.FAIL,)


def test_receive_message_gives_the_reaction_and_send_gives_none():
    client, server = s.Session(CLIENT), s.Session(SERVER)
    assert client.send_message(_message()) == s.INIT_SENT
    assert client.reaction == ()
    assert server.receive_message(_message()) == (s.ANSWER_INIT,)
    server.send(s.INIT_REPLY)
    client.receive(s.INIT_REPLY)
    assert client.reaction == (s.APPLY, s.SEND_DATA)
    client.send(s.SYNC)
    assert server.receive_message(_message()) == \
        (s.APPLY, s.PEER_DATA_DONE, s.SEND_DATA)
    server.send(s.SYNC_MORE)
    assert client.receive_message(_message(final=False)) == \
        (s.APPLY, s.ASK_NEXT)
    client.send(s.NEXT)
    assert server.receive_message(_message()) == (s.APPLY, s.SEND_DATA)
    server.send(s.SYNC)
    client.receive(s.SYNC)
    assert client.reaction == (s.APPLY, s.PEER_DATA_DONE, s.SEND_STATUS)
    client.send(s.STATUS)
    assert server.receive_message(_message()) == (s.APPLY, s.CLOSE)
    server.send(s.MAP_ACK)
    assert client.receive_message(_message()) == (s.APPLY, s.FINISH)
    assert client.succeeded and not client.failed and not client.running


def test_error_status_on_the_header_makes_the_receiver_fail():
    session = s.Session(CLIENT, s.SERVER_MODS)
    assert session.receive_message(_message(header_code=500)) == (s.FAIL,)
    assert session.failed and session.finished and not session.succeeded
    challenged = s.Session(CLIENT, s.INIT_SENT)
    assert challenged.receive_message(_message(header_code=407)) == \
        (s.AUTHENTICATE,)


@pytest.mark.parametrize('state', s.STATES)
def test_a_message_out_of_turn_is_refused_with_405_and_changes_nothing(state):
    for role in (CLIENT, SERVER):
        session = s.Session(role, state)
        if s.turn(state) == session.peer:
            continue  # the peer may speak: tested above
        with pytest.raises(ProtocolError) as info:
            session.receive_message(_message())
        assert info.value.status == s.NOT_ALLOWED == 405
        assert session.state == state and session.reaction == ()


def test_illegal_events_carry_the_not_allowed_status():
    with pytest.raises(ProtocolError) as info:
        s.Session(CLIENT, s.CLIENT_MODS).receive(s.SYNC)
    assert info.value.status == 405


@pytest.mark.parametrize('mode, role, expected', [
    (203, SERVER, True), (203, CLIENT, False),
    (205, CLIENT, True), (205, SERVER, False),
    (208, SERVER, True), (210, CLIENT, True),
    (200, CLIENT, False), (201, SERVER, False), (202, SERVER, False),
    (204, CLIENT, False),
])
def test_refresh_from_peer(mode, role, expected):
    assert s.refresh_from_peer(mode, role) is expected
