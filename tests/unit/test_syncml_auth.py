"""SyncML basic and md5 credentials."""
import base64
import hashlib

import pytest

from Products.ERP5SyncML.syncml import auth
from Products.ERP5SyncML.syncml import model
from Products.ERP5SyncML.syncml.errors import ProtocolError


def test_md5_vector_from_a_real_client():
    # captured from a SyncML 1.2 client on its first session (empty nonce)
    assert auth.md5_credentials('alice', 'secret', '') == \
        'lOnT4YjHnGPOubN9TXInoQ=='
    assert auth.md5_credentials('alice', 'secret', b'') == \
        'lOnT4YjHnGPOubN9TXInoQ=='


def test_md5_follows_the_formula_with_a_nonce():
    nonce = b'\x00\x01server-nonce\xff'
    inner = base64.b64encode(hashlib.md5(b'bob:p\xc3\xa4ss').digest())
    expected = base64.b64encode(
        hashlib.md5(inner + b':' + nonce).digest()).decode()
    assert auth.md5_credentials('bob', 'päss', nonce) == expected
    assert auth.md5_credentials('bob', 'päss', b'other') != expected


def test_basic_round_trip():
    data = auth.basic_credentials('alice', 'se:cr ét')
    assert data == base64.b64encode('alice:se:cr ét'.encode()).decode()
    assert auth.parse_basic(data) == ('alice', 'se:cr ét')
    assert auth.parse_basic('alice:plain', format=None) == ('alice', 'plain')


@pytest.mark.parametrize('data, format', [
    ('not base64!', 'b64'),
    (base64.b64encode(b'no-colon').decode(), 'b64'),
    (base64.b64encode(b':nouser').decode(), 'b64'),
    (base64.b64encode(b'\xff\xfe:x').decode(), 'b64'),
    ('YWxpY2U6c2VjcmV0', 'hex'),
])
def test_bad_basic_credentials(data, format):
    with pytest.raises(ProtocolError) as info:
        auth.parse_basic(data, format)
    assert info.value.status == 401


def test_cred_helpers():
    assert model.Cred.basic('alice', 'secret') == model.Cred(
        'YWxpY2U6c2VjcmV0', auth.BASIC, 'b64')
    assert model.Cred.md5('alice', 'secret').data == \
        'lOnT4YjHnGPOubN9TXInoQ=='
    assert model.Cred.md5('alice', 'secret').type == auth.MD5
