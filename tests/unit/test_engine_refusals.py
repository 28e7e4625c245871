"""A message the session table does not allow gets the status that says
so, and changes nothing (client and server engines, in every state)."""
import pytest

from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml import session as protocol
from Products.ERP5SyncML.syncml.codes import CLIENT
from Products.ERP5SyncML.syncml.codes import SERVER
from Products.ERP5SyncML.syncml.codes import StatusCode
from Products.ERP5SyncML.syncml.errors import ProtocolError
from test_engine_pair import PUB_URL, SUB_URL, Pair, env, pair, root, sync_alert  # noqa: F401


def _snapshot(pair, domain):
    session = domain.session
    return (session.protocol_state, session.next_msg_id,
            session.last_received_msg_id, dict(session.counts),
            list(session.pending_statuses), session.mode,
            sorted(pair.folder('master').objectIds()),
            sorted(pair.folder('client').objectIds()),
            len(domain.signatures), dict(domain.getReport()))


def _data(session_id, msg_id, source, target, final=True, person='intruder'):
    return m.Message(
        header=m.Header(session_id=session_id, msg_id=msg_id,
                        target=m.Location(target), source=m.Location(source)),
        commands=[m.Sync(target=m.Location('x'), source=m.Location('y'), commands=[
            m.Add(items=[m.Item(source=m.Location(person), data=(
                '<object id="%s" portal_type="Person" meta_type="ERP5SyncML '
                'Person"></object>' % person))])])],
        final=final)


def _started(pair):
    """A session the client started and the master answered (pkg1, pkg2)."""
    pair.add('client', 'c1')
    data = pair.client_engine().start()
    reply = pair.serve(data)
    return codec.decode(data), codec.decode(reply)


def _refused(call, status):
    with pytest.raises(ProtocolError) as info:
        call()
    assert info.value.status == status, info.value
    return info.value


def _check_error_reply(engine, message, error):
    reply = codec.decode(engine.error_reply(message, error))
    status = reply.header_status()
    assert status.code == error.status and status.cmd == 'SyncHdr'
    assert status.msg_ref == message.header.msg_id
    assert reply.header.target.uri == message.header.source.uri
    assert reply.final and reply.commands == [status]


# -- server ------------------------------------------------------------------

@pytest.mark.parametrize('state', [s for s in protocol.STATES
                                   if protocol.turn(s) != CLIENT])
def test_server_refuses_a_client_message_when_the_client_may_not_speak(pair, state):
    _pkg1, _pkg2 = _started(pair)
    subscriber = pair.subscriber
    subscriber.session.protocol_state = state
    before = _snapshot(pair, subscriber)
    message = _data(subscriber.session.session_id, 2, SUB_URL, PUB_URL)
    engine = pair.server_engine()
    error = _refused(lambda: engine.receive(message), StatusCode.COMMAND_NOT_ALLOWED)
    assert _snapshot(pair, subscriber) == before
    _check_error_reply(engine, message, error)


def test_server_refuses_messages_of_unknown_and_past_sessions(pair):
    _pkg1, _pkg2 = _started(pair)
    subscriber = pair.subscriber
    session_id = subscriber.session.session_id
    engine = pair.server_engine()
    before = _snapshot(pair, subscriber)
    other = _data('another', 2, SUB_URL, PUB_URL)
    error = _refused(lambda: engine.receive(other), StatusCode.NOT_FOUND)
    _check_error_reply(engine, other, error)
    assert _snapshot(pair, subscriber) == before
    # the message in sequence is accepted...
    data = codec.encode(_data(session_id, 2, SUB_URL, PUB_URL, final=False))
    reply = pair.serve(data)
    assert codec.decode(reply).header_status().code == StatusCode.OK
    assert 'intruder' in pair.folder('master').objectIds()
    # ...received again, it gets the same answer and is not applied again
    before = _snapshot(pair, subscriber)
    assert pair.serve(data) == reply
    assert _snapshot(pair, subscriber) == before
    # one from the past is refused
    old = _data(session_id, 1, SUB_URL, PUB_URL, person='old')
    _refused(lambda: engine.receive(old), StatusCode.COMMAND_NOT_ALLOWED)
    assert _snapshot(pair, subscriber) == before


def test_server_refuses_a_mode_a_client_may_not_ask_and_keeps_its_session(pair):
    pkg1, _pkg2 = _started(pair)
    subscriber = pair.subscriber
    before = _snapshot(pair, subscriber)
    session_before = subscriber.session
    bad = codec.decode(codec.encode(pkg1))
    bad.header.session_id = 'new-one'
    alert = sync_alert(bad)
    alert.code = 206  # a server-alerted mode
    engine = pair.server_engine()
    _refused(lambda: engine.receive(bad, alert=alert),
             StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
    assert subscriber.session is session_before
    assert _snapshot(pair, subscriber) == before


def test_server_session_that_is_over_accepts_nothing(pair):
    assert pair.sync()['status'] == 'finished'
    subscriber = pair.subscriber
    session = subscriber.session
    assert session.finished
    before = _snapshot(pair, subscriber)
    message = _data(session.session_id, int(session.last_received_msg_id) + 1,
                    SUB_URL, PUB_URL)
    _refused(lambda: pair.server_engine().receive(message),
             StatusCode.COMMAND_NOT_ALLOWED)
    assert _snapshot(pair, subscriber) == before


def test_client_error_status_fails_the_server_session_without_applying(pair):
    _pkg1, _pkg2 = _started(pair)
    subscriber = pair.subscriber
    message = _data(subscriber.session.session_id, 2, SUB_URL, PUB_URL)
    message.commands.insert(0, m.Status(msg_ref=1, cmd_ref=0, cmd='SyncHdr',
                                        code=StatusCode.COMMAND_FAILED))
    assert pair.server_engine().receive(message) is None
    assert subscriber.session.failed
    assert 'intruder' not in pair.folder('master').objectIds()
    assert subscriber.getReport()['status'] == 'failed'


# -- client ------------------------------------------------------------------

@pytest.mark.parametrize('state', [s for s in protocol.STATES
                                   if protocol.turn(s) != SERVER
                                   and s not in protocol.FINISHED])
def test_client_refuses_a_master_message_when_the_master_may_not_speak(pair, state):
    _pkg1, pkg2 = _started(pair)
    sub = pair.sub
    sub.session.protocol_state = state
    before = _snapshot(pair, sub)
    message = _data(sub.session.session_id, 5, PUB_URL, SUB_URL)
    engine = pair.client_engine()
    error = _refused(lambda: engine.receive(message), StatusCode.COMMAND_NOT_ALLOWED)
    assert _snapshot(pair, sub) == before
    _check_error_reply(engine, message, error)


def test_client_refuses_a_message_of_another_session(pair):
    _pkg1, pkg2 = _started(pair)
    before = _snapshot(pair, pair.sub)
    message = _data('not-ours', 2, PUB_URL, SUB_URL)
    engine = pair.client_engine()
    error = _refused(lambda: engine.receive(message), StatusCode.NOT_FOUND)
    assert _snapshot(pair, pair.sub) == before
    _check_error_reply(engine, message, error)
    # the real answer still goes on with the session
    assert pair.answer(codec.encode(pkg2)) is not None
    assert pair.sub.session.protocol_state == protocol.SERVER_MODS


def test_client_refuses_an_initialization_in_several_messages(pair):
    _pkg1, pkg2 = _started(pair)
    before = _snapshot(pair, pair.sub)
    pkg2.final = False
    _refused(lambda: pair.client_engine().receive(pkg2),
             StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED)
    assert _snapshot(pair, pair.sub) == before


def test_client_ignores_a_message_when_no_session_runs(pair):
    assert pair.sync()['status'] == 'finished'
    before = _snapshot(pair, pair.sub)
    message = _data(pair.sub.session.session_id, 99, PUB_URL, SUB_URL)
    assert pair.client_engine().receive(message) is None
    assert _snapshot(pair, pair.sub) == before


@pytest.mark.parametrize('code, words', [
    (StatusCode.INVALID_CREDENTIALS, 'authentication refused'),
    (StatusCode.FORBIDDEN, 'authentication refused'),
    (StatusCode.SERVER_FAILURE, 'ended the session: 511'),
])
def test_master_error_status_fails_the_client_session(pair, code, words):
    pkg1, _pkg2 = _started(pair)
    reply = m.error_reply(pkg1, code, msg_id=1)
    assert pair.client_engine().receive(reply) is None
    session = pair.sub.session
    assert session.failed and session.state == 'failed'
    report = pair.sub.getReport()
    assert report['status'] == 'failed' and words in report['reason']
    assert list(pair.folder('master').objectIds()) == []
