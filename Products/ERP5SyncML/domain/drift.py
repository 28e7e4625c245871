"""Find the edits the change journal did not see.

Most edits reach the journal through events or the CMF index queue, and
web edits of any object through ``published_object_changed``. An edit made
by code that fires no event (a script calling ``manage_edit``, an external
method...) leaves only one trace: the database wrote the object again.

Each incremental sync reads the storage's transaction log from the last
transaction it saw and examines the folder's objects written since (their
XML is compared with the signature, so an object that did not really
change sends nothing): the cost follows the number of writes, not the size
of the folder. A persistent map from oid to object id, filled by full
scans and by the log walks, tells which written records are the folder's
objects.

When the log cannot be read (a storage without an iterator, too many
transactions since the last sync, no transaction remembered yet), every
object of the folder is loaded and its ZODB serial compared with the one
remembered: the same guarantee, at a cost that grows with the folder.
"""
import logging

from Acquisition import aq_base
from BTrees.OOBTree import OOBTree
from ZODB.utils import get_pickle_metadata
from ZODB.utils import p64
from ZODB.utils import u64

logger = logging.getLogger('Products.ERP5SyncML')

_ATTR = '_erp5syncml_serials'
_OIDS = '_erp5syncml_oids'
_TID = '_erp5syncml_drift_tid'

#: beyond this many transactions or records since the last sync, a full
#: scan is cheaper (ZEO fetches each record in its own round trip, the scan
#: mostly reads the object cache)
MAX_TRANSACTIONS = 5000
MAX_RECORDS = 2000

#: records of these classes are never objects of a synchronized folder
#: (not loaded to find out)
_FOREIGN_MODULES = ('BTrees.', 'persistent.', 'Products.ZCatalog.',
                    'Products.PluginIndexes.', 'Products.CMFActivity.',
                    'Products.ERP5SyncML.domain.', 'Products.ERP5SyncML.syncml.')
_FOREIGN_CLASSES = {('OFS.Image', 'Pdata')}

_told = set()   # (domain path, reason) already logged at INFO


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


def _store(domain, attr):
    store = getattr(aq_base(domain), attr, None)
    if store is None:
        store = OOBTree()
        setattr(domain, attr, store)
    return store


def _serials(domain, create=False):
    if create:
        return _store(domain, _ATTR)
    return getattr(aq_base(domain), _ATTR, None)


def _view_tid(jar):
    """The last transaction the connection ``jar`` sees, or None."""
    start = getattr(getattr(jar, '_storage', None), '_start', None)
    if start:
        return p64(u64(start) - 1)
    storage = _storage_of(jar)
    last = getattr(storage, 'lastTransaction', None)
    return last() if last is not None else None


def _storage_of(jar):
    db = getattr(jar, 'db', None)
    return db().storage if db is not None else None


def _fallback(domain, reason):
    key = ('/'.join(domain.getPhysicalPath()), reason)
    level = logging.DEBUG if key in _told else logging.INFO
    _told.add(key)
    logger.log(level, '%s %s: full serial scan for edits without an event (%s)',
               domain.meta_type, domain.getId(), reason)


def _in_scope(domain, folder, object_id, obj):
    """Would ``getObjectIdList`` list this object of the folder?"""
    from .conflict import COPY_SUFFIX
    if COPY_SUFFIX in object_id and getattr(aq_base(obj), '_erp5syncml_copy', False):
        return False
    if domain.query == 'contentValues':
        keep = getattr(folder, '_filteredItems', None)
        if keep is not None:
            return bool(keep([object_id], None))
    return True


def _written(storage, since, upto):
    """``{oid: (tid, class metadata or None)}`` of the records written
    after ``since`` up to ``upto``, or a reason why the log cannot say."""
    iterator = getattr(storage, 'iterator', None)
    if iterator is None:
        return 'the storage has no transaction iterator'
    found = {}
    count = records = 0
    try:
        transactions = iterator(p64(u64(since) + 1), upto)
    except Exception as exc:  # storages refuse in several ways
        return 'the transaction log cannot be read: %s' % exc
    try:
        for txn in transactions:
            count += 1
            if count > MAX_TRANSACTIONS:
                return 'more than %d transactions since the last sync' % (
                    MAX_TRANSACTIONS,)
            for record in txn:
                records += 1
                if records > MAX_RECORDS:
                    return 'more than %d records written since the last sync' % (
                        MAX_RECORDS,)
                data = record.data
                meta = get_pickle_metadata(data) if data else None
                found[record.oid] = (txn.tid, meta)
    except Exception as exc:
        return 'the transaction log cannot be read: %s' % exc
    finally:
        close = getattr(transactions, 'close', None)
        if close is not None:
            close()
    logger.debug('drift: %d transactions, %d records since the last sync',
                 count, records)
    return found


def _foreign(meta):
    if meta is None:
        return True
    module, name = meta
    return (module, name) in _FOREIGN_CLASSES or module.startswith(_FOREIGN_MODULES)


def _from_log(domain, folder, jar, since, upto):
    """Ids of the folder's objects written after ``since``, or a reason."""
    found = _written(_storage_of(jar), since, upto)
    if isinstance(found, str):
        return found
    oids = _store(domain, _OIDS)
    serials = _serials(domain, create=True)
    folder_oid = getattr(aq_base(folder), '_p_oid', None)
    unknown = [oid for oid, (tid, meta) in found.items()
               if oid not in oids and oid != folder_oid and not _foreign(meta)]
    prefetch = getattr(jar, 'prefetch', None)
    if unknown and prefetch is not None:
        prefetch(unknown)   # one round trip rather than one per object
    moved = []
    for oid, (tid, meta) in found.items():
        if oid == folder_oid:
            continue
        object_id = oids.get(oid)
        obj = None
        if object_id is not None:
            obj = folder._getOb(object_id, None)
            if obj is None or aq_base(obj)._p_oid != oid:
                del oids[oid]   # deleted or renamed since
                obj = None
        if obj is None:
            if _foreign(meta):
                continue
            try:
                base = jar.get(oid)
                object_id = base.getId()
            except Exception:   # gone, or not an item with an id
                continue
            obj = folder._getOb(object_id, None) if object_id else None
            if obj is None or aq_base(obj) is not base:
                continue
            oids[oid] = object_id
        if not _in_scope(domain, folder, object_id, obj):
            continue
        serials[object_id] = tid
        moved.append(object_id)
    return moved


def _scan(domain, folder, ids):
    """The full serial comparison; also refreshes the oid map."""
    store = _serials(domain, create=True)
    oids = _store(domain, _OIDS)
    moved = []
    for object_id in ids:
        obj = folder._getOb(object_id, None)
        if obj is None:
            continue
        oid = getattr(aq_base(obj), '_p_oid', None)
        serial = serial_of(obj)
        if oid is not None and oids.get(oid) != object_id:
            oids[oid] = object_id
        if serial is None:
            moved.append(object_id)   # written in this transaction
            continue
        if store.get(object_id) != serial:
            store[object_id] = serial
            moved.append(object_id)
    present = set(ids)
    for object_id in [i for i in store.keys() if i not in present]:
        del store[object_id]
    for oid in [o for o, i in oids.items() if i not in present]:
        del oids[oid]
    return moved


def moved_ids(domain, object_ids=None):
    """Ids of the folder's objects written since the last call (through
    the transaction log when the storage keeps one, else by comparing
    every serial). ``object_ids`` (a full list) forces the scan."""
    folder = domain.getDestination()
    jar = getattr(aq_base(folder), '_p_jar', None)
    upto = _view_tid(jar) if jar is not None else None
    since = getattr(aq_base(domain), _TID, None)
    moved = None
    if object_ids is None:
        if since is None or upto is None:
            reason = 'no transaction remembered yet'
        elif since >= upto:
            moved = []
        else:
            reason = moved = _from_log(domain, folder, jar, since, upto)
        if isinstance(moved, str) or moved is None:
            _fallback(domain, reason)
            moved = None
    if moved is None:
        ids = domain.getObjectIdList() if object_ids is None else object_ids
        moved = _scan(domain, folder, ids)
    if upto is not None and getattr(aq_base(domain), _TID, None) != upto:
        setattr(domain, _TID, upto)
    return moved


def remember(domain, object_ids=None):
    """After a full comparison: remember the serials without reporting."""
    moved_ids(domain, domain.getObjectIdList() if object_ids is None
              else object_ids)
