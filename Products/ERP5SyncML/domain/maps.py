"""Client item ids (LUIDs) and ours (GIDs), per subscriber.

A standard SyncML client names its items with its own local ids; it tells
the server which LUID it gave to each item the server added (Map), and
the server addresses that client's items by LUID (Target LocURI).  The
map survives slow syncs: a LUID the client still has finds its object
again instead of making a duplicate.
"""
from Acquisition import aq_base
from BTrees.OOBTree import OOBTree
from persistent import Persistent


class IdMap(Persistent):
    """LUID <-> GID of one client."""

    def __init__(self):
        self._gid_of = OOBTree()
        self._luid_of = OOBTree()

    def set(self, luid, gid):
        """Record that the client's ``luid`` is our ``gid`` (one to one)."""
        luid, gid = str(luid), str(gid)
        if self._gid_of.get(luid) == gid and self._luid_of.get(gid) == luid:
            return
        self.remove_luid(luid)
        self.remove_gid(gid)
        self._gid_of[luid] = gid
        self._luid_of[gid] = luid

    def gid(self, luid):
        return self._gid_of.get(str(luid))

    def luid(self, gid):
        return self._luid_of.get(str(gid))

    def remove_luid(self, luid):
        gid = self._gid_of.pop(str(luid), None)
        if gid is not None and self._luid_of.get(gid) == str(luid):
            del self._luid_of[gid]

    def remove_gid(self, gid):
        luid = self._luid_of.pop(str(gid), None)
        if luid is not None and self._gid_of.get(luid) == str(gid):
            del self._gid_of[luid]

    def clear(self):
        self._gid_of.clear()
        self._luid_of.clear()

    def __len__(self):
        return len(self._gid_of)


def id_map(subscriber):
    """The IdMap of ``subscriber`` (made on first use)."""
    found = getattr(aq_base(subscriber), '_id_map', None)
    if found is None:
        found = IdMap()
        aq_base(subscriber)._id_map = found
    return found
