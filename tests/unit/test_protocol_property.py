"""Property-based tests of the protocol core: the codec and the session
table never raise anything but ProtocolError, whatever they are given.

The budget is small in ``make test``; maintainers run a long search with
``HYPOTHESIS_PROFILE=long .venv/bin/python -m pytest tests/unit/test_protocol_property.py``.
"""
import os

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import session as s
from Products.ERP5SyncML.syncml.codes import CLIENT
from Products.ERP5SyncML.syncml.codes import SERVER
from Products.ERP5SyncML.syncml.errors import ProtocolError

LONG = os.environ.get('HYPOTHESIS_PROFILE') == 'long'
BUDGET = settings(max_examples=20000 if LONG else 150, deadline=None,
                  derandomize=not LONG,
                  suppress_health_check=[HealthCheck.too_slow])

# text an XML document can carry
xml_text = st.text(st.characters(
    blacklist_categories=('Cs', 'Cc'), blacklist_characters='\ufffe\uffff'),
    max_size=60)
uri = st.text('abcdefghijklmnopqrstuvwxyz0123456789./:-_', min_size=1,
              max_size=30)
ids = st.integers(min_value=1, max_value=10 ** 6)


@st.composite
def messages(draw):
    """Messages of the shapes sessions exchange."""
    item = st.builds(m.Item, target=st.builds(m.Location, uri),
                     source=st.builds(m.Location, uri),
                     data=st.one_of(st.none(), xml_text))
    commands = []
    for cmd_id in range(1, draw(st.integers(0, 4)) + 1):
        kind = draw(st.sampled_from(['alert', 'status', 'add', 'delete']))
        if kind == 'alert':
            commands.append(m.Alert(cmd_id=cmd_id, code=draw(st.integers(200, 225)),
                                    items=[draw(item)]))
        elif kind == 'status':
            commands.append(m.Status(cmd_id=cmd_id, msg_ref=draw(ids),
                                     cmd_ref=draw(st.integers(0, 9)),
                                     cmd=draw(st.sampled_from(['SyncHdr', 'Alert',
                                                               'Add', 'Sync'])),
                                     code=draw(st.integers(100, 599))))
        else:
            klass = m.Add if kind == 'add' else m.Delete
            commands.append(m.Sync(cmd_id=cmd_id, target=m.Location(draw(uri)),
                                   source=m.Location(draw(uri)), commands=[
                klass(cmd_id=cmd_id + 100, items=[draw(item)])]))
    return m.Message(
        header=m.Header(session_id=draw(uri), msg_id=draw(ids),
                        target=m.Location(draw(uri)),
                        source=m.Location(draw(uri))),
        commands=commands, final=draw(st.booleans()))


def decodes_or_refuses(data):
    try:
        message = codec.decode(data)
    except ProtocolError as exc:
        assert 400 <= exc.status < 600
        return None
    assert isinstance(message, m.Message)
    return message


@BUDGET
@given(st.binary(max_size=600))
def test_random_bytes_decode_or_are_refused(data):
    decodes_or_refuses(data)


@BUDGET
@given(messages())
def test_encoded_messages_decode_to_themselves(message):
    data = codec.encode(message)
    decoded = codec.decode(data)
    assert codec.encode(decoded) == data


@BUDGET
@given(messages(), st.data())
def test_mutated_messages_decode_or_are_refused(message, data):
    mutated = bytearray(codec.encode(message))
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(['flip', 'insert', 'delete', 'tag']))
        if action == 'flip':
            mutated[position] ^= 1 << data.draw(st.integers(0, 7))
        elif action == 'insert':
            mutated[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        elif action == 'tag':
            mutated[position:position] = data.draw(st.sampled_from([
                b'<!DOCTYPE x [<!ENTITY a "b">]>', b'&a;', b'<![CDATA[',
                b'</SyncBody>', b'<SyncHdr>', b'\xff\xfe', b'<?xml version="1.0"?>']))
        else:
            del mutated[position]
    decodes_or_refuses(bytes(mutated))


events = st.sampled_from([s.INIT, s.CHALLENGE, s.INIT_REPLY, s.SYNC, s.SYNC_MORE,
                          s.NEXT, s.STATUS, s.STATUS_MORE, s.MAP_ACK, s.ABORT,
                          'NOT_AN_EVENT'])


@BUDGET
@given(st.sampled_from([CLIENT, SERVER]),
       st.lists(st.tuples(st.sampled_from(['send', 'receive', 'abort']), events),
                max_size=40))
def test_session_table_under_random_events(role, steps):
    """Any sequence of events: a refused one raises ProtocolError and
    changes nothing; a finished session accepts nothing more."""
    session = s.Session(role)
    for action, event in steps:
        before = session.state
        if action == 'abort':
            session.abort()
            assert session.finished
            continue
        try:
            getattr(session, action)(event)
        except ProtocolError as exc:
            assert session.state == before
            assert 400 <= exc.status < 600
            continue
        assert before not in s.FINISHED
        assert session.state in s.STATES
        # the state survives storage as a plain string
        assert s.Session(role, session.state).state == session.state


@BUDGET
@given(st.sampled_from([CLIENT, SERVER]), st.sampled_from(s.STATES),
       st.sampled_from([CLIENT, SERVER]), messages())
def test_any_message_in_any_state_is_an_event_or_refused(role, state, sender, message):
    session = s.Session(role, state)
    try:
        if sender == role:
            session.send_message(message)
        else:
            session.receive_message(message)
    except ProtocolError:
        assert session.state == state
