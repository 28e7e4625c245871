"""Find the edits the change journal did not see.

Most edits reach the journal through events or the CMF index queue, and
web edits of any object through ``published_object_changed``. An edit made
by code that fires no event (a script calling ``manage_edit``, an external
method...) leaves only one trace: the object's ZODB serial (the id of the
transaction that last wrote it) changed. Each incremental sync compares
the serial of every object of the folder with the one it saw last time;
an object whose serial moved is examined (its XML is compared with the
signature, so an object that did not really change sends nothing).
Unchanged objects cost a load, never an XML document.
"""
import logging

from Acquisition import aq_base
from BTrees.OOBTree import OOBTree

logger = logging.getLogger('Products.ERP5SyncML')

_ATTR = '_erp5syncml_serials'


def serial_of(obj):
    """The ZODB serial of ``obj`` (loads a ghost), or None if it was never
    stored (new in this transaction)."""
    base = aq_base(obj)
    jar = getattr(base, '_p_jar', None)
    if jar is None:
        return None
    if getattr(base, '_p_changed', None) is None:
        base._p_activate()
    serial = getattr(base, '_p_serial', None)
    if not serial or serial == b'\0' * 8:
        return None
    return serial


def _serials(domain, create=False):
    store = getattr(aq_base(domain), _ATTR, None)
    if store is None and create:
        store = OOBTree()
        setattr(domain, _ATTR, store)
    return store


def moved_ids(domain, object_ids=None):
    """Ids of the folder's objects whose serial moved since the last call;
    the new serials are remembered. ``object_ids`` defaults to every
    object of the domain."""
    folder = domain.getDestination()
    store = _serials(domain, create=True)
    ids = domain.getObjectIdList() if object_ids is None else object_ids
    moved = []
    for object_id in ids:
        obj = folder._getOb(object_id, None)
        if obj is None:
            continue
        serial = serial_of(obj)
        if serial is None:
            moved.append(object_id)   # written in this transaction
            continue
        if store.get(object_id) != serial:
            store[object_id] = serial
            moved.append(object_id)
    present = set(ids)
    for object_id in [i for i in store.keys() if i not in present]:
        del store[object_id]
    return moved


def remember(domain, object_ids=None):
    """After a full comparison: remember the serials without reporting."""
    moved_ids(domain, object_ids)
