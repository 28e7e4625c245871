"""Per-object synchronization state, keyed by GID, stored in BTrees."""
import hashlib

from BTrees.Length import Length
from BTrees.OOBTree import OOBTree
from BTrees.OOBTree import OOTreeSet
from persistent import Persistent

SYNCHRONIZED = 'synchronized'
NOT_SYNCHRONIZED = 'not_synchronized'
SENT = 'sent'
CONFLICT = 'conflict'
RESOLVED = 'conflict_resolved'



def xml_hash(xml):
    """Content hash of an object's XML (hex sha1)."""
    return hashlib.sha1(xml).hexdigest() if xml is not None else None


class XMLData(Persistent):
    """One version of an object's XML, stored apart from its signature:
    when the peer confirms what was sent, the signature points to the same
    record instead of writing the XML a second time."""

    def __init__(self, data):
        self.data = data


#: values this short (a fingerprint) stay in the signature: a record of
#: their own would cost more than the value
INLINE_SIZE = 64


def _record(xml):
    if xml is None:
        return None
    if len(xml) <= INLINE_SIZE:
        return xml
    return XMLData(xml)


def _data(record):
    return record.data if isinstance(record, XMLData) else record


class Signature(Persistent):
    """What one side knows about one object shared with one peer.

    ``xml`` is the XML both sides last agreed on; ``temp_xml`` what was sent
    and not yet confirmed (each kept with its hash, so that comparing with
    an object's XML does not load it). ``conflicts`` holds open conflict
    records.
    """

    _xml = None
    _temp = None
    _hash = None
    _temp_hash = None
    status = NOT_SYNCHRONIZED
    force_full = False
    partial_data = None
    resolved = ()
    remote_id = None

    def __init__(self, gid, object_id):
        self.gid = gid
        self.object_id = object_id
        self.conflicts = ()

    @property
    def xml(self):
        record = self._xml
        if record is None:
            return self.__dict__.get('xml')  # signatures stored before
        return _data(record)

    @xml.setter
    def xml(self, value):
        self._forget_stored('xml')
        self._xml = _record(value)
        self._hash = xml_hash(value)

    @property
    def temp_xml(self):
        record = self._temp
        if record is None:
            return self.__dict__.get('temp_xml')
        return _data(record)

    @temp_xml.setter
    def temp_xml(self, value):
        self._forget_stored('temp_xml')
        if value is None and self._temp is None and self._temp_hash is None:
            return  # unchanged: no write
        self._temp = _record(value)
        self._temp_hash = xml_hash(value)

    def _forget_stored(self, name):
        # the plain attribute of signatures stored before, replaced
        self._p_activate()
        if name in self.__dict__:
            del self.__dict__[name]
            self._p_changed = True

    @property
    def hash(self):
        if self._hash is None and self._xml is None:
            return xml_hash(self.xml)
        return self._hash

    @property
    def temp_hash(self):
        if self._temp_hash is None and self._temp is None:
            return xml_hash(self.temp_xml)
        return self._temp_hash

    def setAgreed(self, xml):
        """The peer has the same XML as we do: the object is in sync."""
        digest = xml_hash(xml)
        if self._temp is not None and self._temp_hash == digest:
            self._xml, self._hash = self._temp, digest  # written once
        else:
            self.xml = xml
        self.temp_xml = None
        self.status = SYNCHRONIZED
        self.force_full = False
        self.partial_data = None
        self.resolved = ()
        if self.conflicts:
            # both sides hold the same data: nothing is in conflict any more
            self.conflicts = ()

    def __repr__(self):
        return '<Signature %s %s>' % (self.gid, self.status)


class SignatureStore(Persistent):
    """All signatures of one subscription or subscriber.

    Lookups by GID and by local object id; the set of signatures that need
    attention at the next sync (``dirty``) so that an incremental sync never
    walks every signature.
    """

    def __init__(self):
        self._by_gid = OOBTree()
        self._by_object_id = OOBTree()
        self._dirty = OOTreeSet()
        self._length = Length()

    def __len__(self):
        return self._length()

    def get(self, gid):
        return self._by_gid.get(gid)

    def getByObjectId(self, object_id):
        gid = self._by_object_id.get(object_id)
        return None if gid is None else self._by_gid.get(gid)

    def add(self, gid, object_id):
        """Return the signature of ``gid``, created when missing."""
        sig = self._by_gid.get(gid)
        if sig is None:
            sig = Signature(gid, object_id)
            self._by_gid[gid] = sig
            self._length.change(1)
        if object_id is not None and sig.object_id != object_id:
            if self._by_object_id.get(sig.object_id) == gid:
                del self._by_object_id[sig.object_id]
            sig.object_id = object_id
        if object_id is not None:
            self._by_object_id[object_id] = gid
        return sig

    def remove(self, gid):
        sig = self._by_gid.pop(gid, None)
        if sig is None:
            return
        self._length.change(-1)
        if self._by_object_id.get(sig.object_id) == gid:
            del self._by_object_id[sig.object_id]
        self.markClean(gid)

    def values(self):
        return self._by_gid.values()

    def markDirty(self, gid):
        if gid not in self._dirty:
            self._dirty.add(gid)

    def markClean(self, gid):
        if gid in self._dirty:
            self._dirty.remove(gid)

    def dirtyGids(self):
        return list(self._dirty)

    def clear(self):
        self._by_gid.clear()
        self._by_object_id.clear()
        self._dirty.clear()
        self._length.set(0)

    def conflictSignatures(self):
        """Signatures with open conflicts: the master's hold the conflict
        records, a client's are only marked (the dirty set holds them all)."""
        result = []
        for gid in self._dirty:
            sig = self._by_gid.get(gid)
            if sig is not None and (sig.conflicts or sig.status == CONFLICT):
                result.append(sig)
        return result
