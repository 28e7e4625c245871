"""Edits that fire no event, found through the storage's transaction log
(or, when the log cannot tell, by comparing every object's serial)."""
import logging

import pytest
import transaction
from zope.component.hooks import setSite

from Products.ERP5SyncML.domain import drift
from Products.ERP5SyncML.domain.conflict import COPY_SUFFIX
from Products.ERP5SyncML.site.testing import TestEnvironment
from test_engine_pair import Pair


@pytest.fixture
def env():
    environment = TestEnvironment()
    environment.setUp()
    yield environment
    environment.tearDown()


@pytest.fixture
def root(env):
    with env.app() as app:
        yield app
        setSite(None)


def _people(root, ids):
    pair = Pair(root)
    for person_id in ids:
        pair.add('master', person_id, first_name=person_id)
    transaction.commit()
    drift.remember(pair.pub)
    transaction.commit()
    return pair, pair.folder('master')


def _edit_without_event(obj, value):
    obj.first_name = value   # no event, no index queue: only the write
    transaction.commit()


@pytest.fixture
def no_scan(monkeypatch):
    """Call it once the sites are set up: from then on a full scan fails."""
    def refuse(*args):
        raise AssertionError('the full scan ran')
    return lambda: monkeypatch.setattr(drift, '_scan', refuse)


def test_an_edit_without_event_is_found_in_the_log(root, no_scan):
    pair, people = _people(root, ['a', 'b', 'c'])
    no_scan()
    _edit_without_event(people['b'], 'edited')
    assert drift.moved_ids(pair.pub) == ['b']
    transaction.commit()
    # remembered: nothing new at the next call
    assert drift.moved_ids(pair.pub) == []


def test_objects_made_after_the_last_scan_are_learnt_from_the_log(root, no_scan):
    pair, people = _people(root, ['a'])
    no_scan()
    pair.add('master', 'new', first_name='n')
    transaction.commit()
    assert drift.moved_ids(pair.pub) == ['new']
    transaction.commit()
    oids = getattr(pair.pub, drift._OIDS)
    assert oids[people['new']._p_oid] == 'new'
    _edit_without_event(people['new'], 'again')
    assert drift.moved_ids(pair.pub) == ['new']


def test_a_deleted_or_replaced_object_is_not_reported_under_its_old_oid(root, no_scan):
    pair, people = _people(root, ['a', 'b'])
    no_scan()
    old_oid = people['a']._p_oid
    people._delObject('a')
    people._delObject('b')
    transaction.commit()
    assert drift.moved_ids(pair.pub) == []
    transaction.commit()
    assert old_oid not in getattr(pair.pub, drift._OIDS)


def test_conflict_copies_and_foreign_writes_are_not_reported(root, no_scan):
    pair, people = _people(root, ['a'])
    no_scan()
    copy_id = 'a' + COPY_SUFFIX
    pair.add('master', copy_id, first_name='c')
    people[copy_id]._erp5syncml_copy = True
    pair.sub.title = 'written, not in the folder'
    transaction.commit()
    assert drift.moved_ids(pair.pub) == []


def test_a_storage_without_a_log_falls_back_to_the_serial_scan(
        root, monkeypatch, caplog):
    pair, people = _people(root, ['a', 'b'])
    _edit_without_event(people['a'], 'edited')
    storage = root._p_jar.db().storage
    monkeypatch.setattr(type(storage), 'iterator', None)
    drift._told.clear()
    with caplog.at_level(logging.INFO, logger='Products.ERP5SyncML'):
        assert drift.moved_ids(pair.pub) == ['a']
    assert 'no transaction iterator' in caplog.text
    transaction.commit()
    assert drift.moved_ids(pair.pub) == []


@pytest.mark.parametrize('limit', ['MAX_TRANSACTIONS', 'MAX_RECORDS'])
def test_too_many_writes_fall_back_to_the_serial_scan(root, monkeypatch, limit):
    pair, people = _people(root, ['a', 'b', 'c'])
    monkeypatch.setattr(drift, limit, 2)
    for value in ('1', '2', '3'):
        _edit_without_event(people['c'], value)
    scanned = []
    real_scan = drift._scan
    monkeypatch.setattr(drift, '_scan', lambda *a: scanned.append(1) or real_scan(*a))
    assert drift.moved_ids(pair.pub) == ['c']
    assert scanned


def test_no_transaction_remembered_scans_once_then_reads_the_log(root, monkeypatch):
    pair = Pair(root)
    pair.add('master', 'a', first_name='a')
    transaction.commit()
    assert drift.moved_ids(pair.pub) == ['a']   # never seen: scanned
    transaction.commit()
    monkeypatch.setattr(drift, '_scan', None)   # the log from now on
    _edit_without_event(pair.folder('master')['a'], 'x')
    assert drift.moved_ids(pair.pub) == ['a']
