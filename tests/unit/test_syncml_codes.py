"""SyncML codes and sync mode semantics."""
import pytest

from Products.ERP5SyncML.syncml import codes
from Products.ERP5SyncML.syncml.codes import CLIENT, SERVER, AlertCode
from Products.ERP5SyncML.syncml.codes import StatusCode


def test_codes_are_ints_with_descriptions():
    assert StatusCode.REFRESH_REQUIRED == 508
    assert StatusCode(212) is StatusCode.AUTH_ACCEPTED
    assert StatusCode(213).description == 'chunked item accepted and buffered'
    assert str(StatusCode.MISSING_CREDENTIALS) == '407 missing credentials'
    assert AlertCode(222) is AlertCode.NEXT_MESSAGE
    assert {int(c) for c in AlertCode} >= set(range(200, 211)) | {221, 222,
                                                                  223}
    for code in (101, 200, 201, 202, 207, 208, 209, 210, 211, 212, 213, 214,
                 215, 216, 400, 401, 403, 404, 405, 406, 407, 408, 409,
                 410, 411, 412, 413, 415, 416, 417, 418, 419, 420, 422, 424,
                 426, 427, 500, 501, 503, 505, 506, 508, 510, 511, 512, 513,
                 514):
        assert StatusCode(code).description
    with pytest.raises(ValueError):
        StatusCode(217)  # not defined by SyncML 1.2


def test_describe_any_code():
    assert codes.describe(404) == '404 not found'
    assert codes.describe(205) == '205 reset content'
    assert codes.describe(222) == '222 next message'
    assert codes.describe(299) == '299 success'
    assert codes.describe(999) == '999 unknown code'


@pytest.mark.parametrize('code, success, error', [
    (101, False, False), (200, True, False), (213, True, False),
    (299, True, False), (304, False, False), (401, False, True),
    (508, False, True),
])
def test_success_and_error(code, success, error):
    assert codes.is_success(code) is success
    assert codes.is_error(code) is error


@pytest.mark.parametrize('mode, client, server, slow, refresh', [
    (200, True, True, False, False),
    (201, True, True, True, False),
    (202, True, False, False, False),
    (203, True, False, True, True),
    (204, False, True, False, False),
    (205, False, True, True, True),
    (206, True, True, False, False),
    (207, True, False, False, False),
    (208, True, False, True, True),
    (209, False, True, False, False),
    (210, False, True, True, True),
])
def test_mode_semantics(mode, client, server, slow, refresh):
    assert codes.sends_data(mode, CLIENT) is client
    assert codes.sends_data(mode, SERVER) is server
    assert codes.requires_slow(mode) is slow
    assert codes.is_refresh(mode) is refresh
    assert codes.base_mode(mode) in codes.CLIENT_MODES


def test_mode_helpers_refuse_non_modes():
    with pytest.raises(ValueError, match='not a sync mode'):
        codes.sends_data(222, CLIENT)
    with pytest.raises(ValueError, match='role'):
        codes.sends_data(200, 'PEER')
    with pytest.raises(ValueError):
        codes.requires_slow(100)
