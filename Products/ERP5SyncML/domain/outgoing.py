"""Our side's data: which objects to send, as which commands, in batches.

The list of objects to examine is computed once per session (the *plan*)
and consumed batch by batch, so a large folder goes out in several
messages and memory stays bounded: only the ids still to examine are kept,
in a BTree set, never the objects or their XML.
"""
import logging

from AccessControl import getSecurityManager

from ..syncml import codes
from ..syncml import model as m
from . import drift
from . import xmldata
from .session import SessionWork
from .signature import CONFLICT
from .signature import SENT
from .signature import SYNCHRONIZED
from .signature import xml_hash

logger = logging.getLogger('Products.ERP5SyncML')

#: seconds of overlap when asking the journal for changes, so a transaction
#: that committed while the previous session started is not missed
JOURNAL_MARGIN = 10.0

def make_plan(domain, session):
    """Fill ``session.pending_ids``/``pending_deletes`` for this session."""
    folder = domain.getDestination()
    sigs = domain.signatures
    full = codes.requires_slow(session.mode)
    if full or not domain.usesJournal() or not domain.journal_since:
        present = set()
        for object_id in domain.getObjectIdList():
            present.add(object_id)
            session.pending_ids.add(object_id)
        if not full:
            for sig in sigs.values():
                if sig.object_id not in present:
                    session.pending_deletes.add(sig.gid)
        how = 'scan of %d objects' % len(present)
        drift.remember(domain, sorted(present))
    else:
        journal = domain.getChangeJournal()
        prefix = folder.getPhysicalPath()
        count = 0
        for object_id in journal.changedSince(
                domain.journal_since - JOURNAL_MARGIN, prefix,
                exclude_origin=domain.getOrigin()):
            session.pending_ids.add(object_id)
            count += 1
        for gid in sigs.dirtyGids():
            sig = sigs.get(gid)
            if sig is not None and sig.object_id:
                session.pending_ids.add(sig.object_id)
        # edits that fired no event: their ZODB serial moved
        moved = drift.moved_ids(domain)
        for object_id in moved:
            session.pending_ids.add(object_id)
        how = 'journal: %d changed, %d pending, %d with a new serial' % (
            count, len(sigs.dirtyGids()), len(moved))
    session.planned = True
    logger.info('%s %s: session %s mode %s, objects to examine: %s',
                domain.meta_type, domain.getId(), session.session_id,
                session.mode, how)


def prefetch(domain, session, count):
    """Ask the database for the next ``count`` objects to examine in one
    go, so a cold cache is filled in one round trip rather than one per
    object (a no-op on storages that cannot prefetch). The loads are
    asynchronous: asking for two batches lets the next message's objects
    arrive while the peer applies this one."""
    pending = session.pending_ids
    if not len(pending) or count <= 0:
        return
    folder = domain.getDestination()
    jar = getattr(folder, '_p_jar', None)
    if jar is None:
        return
    # a savepoint puts a TmpStore, which cannot prefetch, in front of the
    # connection's storage (and ZODB then disables the connection's
    # prefetch for good): ask the storage itself
    storage = getattr(jar, '_normal_storage', None) or getattr(jar, '_storage', None)
    ask = getattr(storage, 'prefetch', None)
    if ask is None:
        return
    oids = []
    for object_id in pending.keys():
        obj = folder._getOb(object_id, None)
        if obj is not None and getattr(obj, '_p_jar', None) is jar and \
                obj._p_changed is None:
            oids.append(obj._p_oid)
        count -= 1
        if count <= 0:
            break
    if oids:
        ask(oids)


class CommandFactory(SessionWork):
    """Builds the SyncML command for one local object, or none when the
    peer already has it. Nothing is changed until ``accept`` is called."""

    def for_object_id(self, object_id):
        obj = self.folder._getOb(object_id, None)
        if obj is None or getattr(obj, '_erp5syncml_copy', False):
            sig = self.sigs.getByObjectId(object_id)
            if sig is None:
                return None
            return self.delete(sig.gid)
        if self.role == codes.SERVER and \
                not getSecurityManager().checkPermission('View', obj):
            return None  # the sync account may not see it: not sent
        gid = self.domain.getGidFromObject(obj)
        element = xmldata.object_element(self.domain, obj, gid)
        xml = xmldata.serialize(element, in_place=True)
        if getattr(obj, '_p_changed', None) is False:
            # each object is read once per session: not kept in memory,
            # so a large folder does not grow the process
            obj._p_deactivate()
        digest = xml_hash(xml)
        sig = self.sigs.get(gid)
        if sig is not None and sig.status == CONFLICT:
            if self.role == codes.SERVER:
                return None  # the client keeps its value until resolved
            if sig.temp_hash == digest:
                return None  # nothing new since we sent it
        elif sig is not None and sig.hash == digest and not sig.force_full:
            if sig.status not in (SENT, SYNCHRONIZED):
                sig.status = SYNCHRONIZED  # written only when it changes
            if sig.status == SYNCHRONIZED:
                self.sigs.markClean(gid)
            return None
        if sig is None or sig.xml is None:
            return self._data_command('Add', gid, object_id, xml, None, element)
        base = None if sig.force_full else sig.xml
        return self._data_command('Replace', gid, object_id, xml, base, element)

    def _data_command(self, name, gid, object_id, xml, base, element=None):
        if base is not None:
            from ..conduit.xupdate import make_xupdate
            diff = make_xupdate(base, xml)
            if diff is None:
                data = element if element is not None else xmldata.parse(xml)
            else:
                data = xmldata.parse(diff)
                data.set(xmldata.BASE_ATTR, xml_hash(base))
                data.set(xmldata.RESULT_ATTR, xml_hash(xml))
        elif element is not None:
            # serialized in place: the same tree as parsing ``xml`` again
            data = element
        else:
            data = xmldata.parse(xml)
        item = m.Item(source=m.Location(uri=gid, name=object_id),
                      meta=m.Meta(type='text/xml'), data=data)
        cls = m.Add if name == 'Add' else m.Replace
        command = cls(cmd_id=None, items=[item])

        def accept():
            sig = self.sigs.add(gid, object_id)
            if sig.status != CONFLICT:
                sig.status = SENT
            sig.temp_xml = xml
            self.sigs.markDirty(gid)
            self.session.count('sent_add' if name == 'Add' else 'sent_replace',
                               gid=gid)
            logger.debug('send %s %s (%d bytes of XML)', name, gid, len(xml))
        return command, accept

    def delete(self, gid):
        sig = self.sigs.get(gid)
        if sig is None:
            return None
        item = m.Item(source=m.Location(uri=gid))
        command = m.Delete(cmd_id=None, items=[item])

        def accept():
            sig.status = SENT
            sig.temp_xml = None
            self.sigs.markDirty(gid)
            self.session.count('sent_delete', gid=gid)
            logger.debug('send Delete %s', gid)
        return command, accept

