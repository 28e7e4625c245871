"""Session identity and one session at a time: a message of any session
other than the current one changes nothing; Sync while a session runs
starts nothing; Abort ends it; a stale one may be replaced."""
import time

import pytest

from Products.CMFActivity.buffer import get_buffer
from Products.ERP5SyncML.domain import delivery
from Products.ERP5SyncML.domain import running
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml.codes import StatusCode
from Products.ERP5SyncML.syncml.errors import ProtocolError
from test_engine_pair import Pair, env, pair, root, sync_alert  # noqa: F401


def _queued(pair):
    tool = pair.client.portal_activities
    buf = get_buffer(tool, create=False)
    if buf is not None:
        buf.flush()
    return tool.getMessageList(tag=delivery.tag_of(pair.sub))


def _state(pair):
    sub = pair.subscriber
    return (sub.session.session_id, sub.session.protocol_state,
            sub.last_anchor, len(sub.signatures),
            sorted((s.gid, s.status, s.xml) for s in sub.signatures.values()),
            sorted(pair.folder('master').objectIds()), sub.getConflictCount())


def _record_first_messages(pair):
    """Run a whole sync, keeping the client's messages as sent."""
    sent = []
    data = pair.client_engine().start()
    while data is not None:
        sent.append(data)
        reply = pair.serve(data)
        data = pair.answer(reply) if reply is not None else None
    return sent


def test_an_alert_of_an_earlier_session_changes_nothing(pair):
    pair.add('client', 'c1', title='one')
    pair.add('master', 'm1', title='two')
    old = _record_first_messages(pair)
    assert pair.sub.getReport()['status'] == 'finished'
    assert pair.sync()['status'] == 'finished'   # a later session
    before = _state(pair)
    assert before[3] == 2
    for data in old:   # every message of the first session, replayed
        message = codec.decode(data)
        with pytest.raises(ProtocolError) as info:
            pair.server_engine().receive(message, alert=sync_alert(message))
        assert info.value.status in (StatusCode.COMMAND_NOT_ALLOWED,
                                     StatusCode.NOT_FOUND)
        assert _state(pair) == before
    # and the sites still agree: the next session sends nothing
    report = pair.sync()
    assert report['status'] == 'finished'
    counts = report['counts']
    assert counts['sent_add'] == counts['received_add'] == 0
    assert counts['conflicts'] == 0


def test_the_alert_of_the_current_session_replayed_changes_nothing(pair):
    pair.add('client', 'c1')
    sent = _record_first_messages(pair)
    before = _state(pair)
    message = codec.decode(sent[0])
    with pytest.raises(ProtocolError):
        pair.server_engine().receive(message, alert=sync_alert(message))
    assert _state(pair) == before


def test_sync_while_running_starts_nothing_and_abort_ends_it(pair):
    pair.add('client', 'c1')
    outcome, data = running.start(pair.sub)
    assert outcome == 'started' and data is not None
    session = pair.sub.session
    assert len(_queued(pair)) == 1
    assert running.start(pair.sub) == ('running', None)
    assert pair.sub.session is session
    assert pair.sub.isSyncRunning()
    assert running.abort(pair.sub, 'alice')
    report = pair.sub.getReport()
    assert report['status'] == 'failed' and report['reason'] == 'aborted by alice'
    assert session.finished and not pair.sub.isSyncRunning()
    assert _queued(pair) == []
    assert not running.abort(pair.sub, 'alice')
    # the next Sync works
    assert pair.sync()['status'] == 'finished'
    assert 'c1' in pair.folder('master').objectIds()


def test_a_stale_session_is_replaced_by_a_new_sync(pair):
    outcome, _data = running.start(pair.sub)
    old = pair.sub.session
    later = time.time() + pair.sub.stale_after + 1
    assert running.is_stale(pair.sub, old, now=later)
    outcome, data = running.start(pair.sub, now=later)
    assert outcome == 'replaced' and data is not None
    assert old.failed and pair.sub.session is not old
    assert len(_queued(pair)) == 1


def test_a_master_session_whose_client_went_silent_shows_interrupted(pair):
    pair.add('client', 'c1')
    data = pair.client_engine().start()
    pair.serve(data)
    subscriber = pair.subscriber
    assert subscriber.getReport()['status'] == 'running'
    subscriber.session.last_activity = time.time() - running.DEFAULT_STALE_AFTER - 5
    report = subscriber.getReport()
    assert report['status'] == 'interrupted'
    assert report['reason'].startswith('no message from the client since ')


def test_give_up_says_why_and_what_to_do():
    reason = delivery.give_up_reason('http://m.example/site', 'refused', 6, 600)
    assert 'http://m.example/site' in reason and '6 attempts' in reason
    assert '10 minutes' in reason and 'press Sync' in reason
    assert [delivery.retry_delay(a) for a in range(1, delivery.SEND_ATTEMPTS)] \
        == list(delivery.RETRY_DELAYS)
