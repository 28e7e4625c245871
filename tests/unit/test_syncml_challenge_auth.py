"""SyncML authentication helpers of the core, and our client answering a
master's challenge (basic or md5, with the nonce chain)."""
import pytest

from Products.ERP5SyncML.syncml import auth
from Products.ERP5SyncML.syncml import codec
from Products.ERP5SyncML.syncml import model as m
from Products.ERP5SyncML.syncml.errors import ProtocolError
from test_engine_pair import env, pair, root  # noqa: F401


def test_md5_secret_checks_credentials_without_the_password():
    secret = auth.md5_secret('alice', 'secret')
    nonce = auth.new_nonce()
    data = auth.md5_credentials('alice', 'secret', nonce)
    assert auth.md5_from_secret(secret, nonce) == data
    assert auth.check_md5(data, secret, nonce)
    assert not auth.check_md5(data, secret, auth.new_nonce())
    assert not auth.check_md5(data, auth.md5_secret('alice', 'other'), nonce)
    assert not auth.check_md5('', secret, nonce)


def test_nonces_are_fresh_and_travel_as_base64():
    nonces = {auth.new_nonce() for _ in range(50)}
    assert len(nonces) == 50 and all(len(n) == 16 for n in nonces)
    nonce = nonces.pop()
    assert auth.decode_nonce(auth.encode_nonce(nonce)) == nonce
    with pytest.raises(ProtocolError) as info:
        auth.decode_nonce('not base64!')
    assert info.value.status == 401


def test_credentials_for_each_type():
    assert auth.credentials_for(auth.BASIC, 'a', 'b') == \
        auth.basic_credentials('a', 'b')
    assert auth.credentials_for(auth.MD5, 'a', 'b', b'n') == \
        auth.md5_credentials('a', 'b', b'n')
    with pytest.raises(ProtocolError):
        auth.credentials_for('syncml:auth-MAC', 'a', 'b')


def _sent(pair, data):
    """The message as it leaves (credentials added at send time)."""
    return codec.decode(pair.client_engine().with_cred(data))


def _challenge(data, code, chal, msg_id=1):
    reply = m.error_reply(codec.decode(data), code, msg_id)
    reply.commands[0].chal = chal
    return codec.encode(reply)


def test_client_answers_an_md5_challenge_once(pair):
    pair.sub.edit(login='alice', password='pw')
    first = pair.client_engine().start()
    assert codec.decode(first).header.cred is None  # stored without
    assert _sent(pair, first).header.cred.type == auth.BASIC
    nonce = b'\x01server nonce'
    again = pair.answer(_challenge(first, 407, m.Chal(
        type=auth.MD5, next_nonce=auth.encode_nonce(nonce))))
    message = _sent(pair, again)
    assert message.header.cred == m.Cred.md5('alice', 'pw', nonce)
    assert message.header.session_id == codec.decode(first).header.session_id
    assert [c.code for c in message.commands] == [201]  # pkg1 again
    # refused again: the session fails instead of looping
    assert pair.answer(_challenge(again, 401, m.Chal(
        type=auth.MD5, next_nonce=auth.encode_nonce(b'x')), 2)) is None
    report = pair.sub.getReport()
    assert report['status'] == 'failed'
    assert '401' in report['reason']
    # the next session starts with md5 and the last nonce given
    nxt = _sent(pair, pair.client_engine().start())
    assert nxt.header.cred == m.Cred.md5('alice', 'pw', b'x')


def test_client_answers_a_basic_challenge_and_keeps_the_next_nonce(pair):
    pair.sub.edit(login='alice', password='pw')
    pair.sub.syncml_auth_type = auth.MD5
    first = pair.client_engine().start()
    assert _sent(pair, first).header.cred.type == auth.MD5
    again = pair.answer(_challenge(first, 401, m.Chal(type=auth.BASIC)))
    assert _sent(pair, again).header.cred == m.Cred.basic('alice', 'pw')


def test_client_without_login_does_not_answer(pair):
    first = pair.client_engine().start()
    assert pair.answer(_challenge(first, 407, m.Chal(type=auth.BASIC))) \
        is None
    assert pair.sub.getReport()['status'] == 'failed'


def test_md5_cred_in_every_message_with_the_last_nonce(pair):
    pair.sub.edit(login='alice', password='pw')
    pair.sub.syncml_auth_type = auth.MD5
    pair.sub.syncml_nonce = b'first'
    pair.add('client', 'c1', title='one')
    data = pair.client_engine().start()
    assert _sent(pair, data).header.cred == m.Cred.md5('alice', 'pw',
                                                        b'first')
    # the master's answer gives the next nonce on its header Status
    reply = codec.decode(pair.serve(data))
    reply.header_status().chal = m.Chal(
        type=auth.MD5, next_nonce=auth.encode_nonce(b'second'))
    following = _sent(pair, pair.answer(codec.encode(reply)))
    assert following.header.cred == m.Cred.md5('alice', 'pw', b'second')


def test_stored_messages_carry_no_credentials(pair):
    pair.sub.edit(login='alice', password='s3cret-pw')
    secret = auth.basic_credentials('alice', 's3cret-pw').encode()
    data = pair.client_engine().start()
    assert b's3cret-pw' not in data and secret not in data
    assert b'<Cred>' not in pair.sub.session.last_sent
    sent = pair.client_engine().with_cred(data)
    assert secret in sent
    # the rest of the message is unchanged by the added Cred
    a, b = codec.decode(data), codec.decode(sent)
    b.header.cred = None
    assert codec.encode(a) == codec.encode(b)
