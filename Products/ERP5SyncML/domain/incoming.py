"""Apply the peer's Add / Replace / Delete commands to our folder.

Each command yields one status code for the peer. The master (role
SERVER) detects per-property conflicts; a client applies what the
master sends, since the master already merged it.
"""
import logging
import time

import transaction
from AccessControl import Unauthorized
from ZODB.POSException import ConflictError

from ..syncml import codes
from ..syncml.codes import StatusCode
from ..syncml.session import refresh_from_peer
from . import xmldata
from .journal import changes_from
from .journal import forget_recorded
from .session import SessionWork
from .session import as_role
from .signature import CONFLICT
from .signature import NOT_SYNCHRONIZED
from .signature import RESOLVED
from .signature import xml_hash

logger = logging.getLogger('Products.ERP5SyncML')

#: the base the peer diffed from is not ours: ask for the whole object
BASE_MISMATCH = StatusCode.INCOMPLETE_COMMAND


class ReplayCarefully(Exception):
    """A command failed in a message applied without savepoints."""


class CommandError(Exception):
    """A command that cannot be applied; ``code`` goes back to the peer."""

    def __init__(self, code, reason):
        Exception.__init__(self, reason)
        self.code = code


def _error_code(exc):
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, Unauthorized):
        return StatusCode.FORBIDDEN
    if isinstance(exc, ValueError):  # bad values, unknown types
        return StatusCode.BAD_REQUEST
    return StatusCode.COMMAND_FAILED


def get_conduit(domain):
    from ..conduit import getConduit
    return getConduit(domain.conduit or 'ERP5Conduit')


class Applier(SessionWork):
    """Applies one session's incoming data commands for a domain."""

    def __init__(self, domain, session, role):
        SessionWork.__init__(self, domain, session, role)
        self.conduit = get_conduit(domain)

    # -- entry point -------------------------------------------------------

    def apply(self, name, gid, data, local_name=None, careful=True):
        """Apply one command; return the status code for the peer.

        ``careful`` applies it inside its own savepoint, so a command that
        fails changes nothing and the others go on. Without it a failure
        raises ``ReplayCarefully``: the caller rolls the whole message back
        and applies it again carefully (savepoints cost a copy of every
        changed object, so they are only paid when something fails).
        """
        savepoint = transaction.savepoint() if careful else None
        try:
            with changes_from(self.domain.getOrigin()):
                if name == 'Delete':
                    code = self.delete(gid)
                else:
                    new_xml, new_el = self._new_xml(gid, data)
                    code = self.put(name, gid, new_xml, local_name, new_el)
        except ConflictError:
            raise
        except Exception as exc:
            if savepoint is None:
                raise ReplayCarefully() from exc
            # one bad command changes nothing and does not stop the others
            savepoint.rollback()
            forget_recorded()
            code = _error_code(exc)
            log = logger.warning if isinstance(exc, (CommandError, Unauthorized)) \
                else logger.exception
            log('%s %s refused with status %s: %s: %s', name, gid, code,
                type(exc).__name__, exc)
            self.session.count('errors', gid=gid, detail='%s: %s: %s' % (
                name, type(exc).__name__, exc))
            return code
        self.session.received_gids.add(gid)
        key = {'Add': 'received_add', 'Replace': 'received_replace',
               'Delete': 'received_delete'}[name]
        self.session.count(key, gid=gid)
        logger.debug('applied %s %s: status %s', name, gid, code)
        return code

    # -- helpers -------------------------------------------------------------

    def _new_xml(self, gid, data):
        """(canonical XML, its element or None) of the object a command
        brings."""
        if data is None:
            raise CommandError(StatusCode.INCOMPLETE_COMMAND, 'no data in command')
        if isinstance(data, (str, bytes)):
            data = xmldata.parse(data)
        if xmldata.is_xupdate(data):
            sig = self.sigs.get(gid)
            base = sig.xml if sig is not None else None
            declared = data.get(xmldata.BASE_ATTR)
            if base is None or (declared and declared != xml_hash(base)):
                raise CommandError(BASE_MISMATCH,
                                   'diff made against another version')
            expected = data.get(xmldata.RESULT_ATTR)
            for attr in (xmldata.BASE_ATTR, xmldata.RESULT_ATTR):
                data.attrib.pop(attr, None)
            from ..conduit.xupdate import apply_xupdate
            try:
                new_xml = apply_xupdate(base, xmldata.serialize(data))
            except Exception as exc:
                raise CommandError(BASE_MISMATCH, 'diff does not apply: %s' % exc)
            if expected and expected != xml_hash(new_xml):
                raise CommandError(BASE_MISMATCH, 'diff gave another result')
            return new_xml, None
        if data.tag != 'object':
            raise CommandError(StatusCode.UNSUPPORTED_MEDIA_TYPE, 'unsupported data <%s>' % data.tag)
        data.set('id', gid)
        # the element is ours (decoded from the message): no copy
        return xmldata.serialize(data, in_place=True), data

    def _free_id(self, wanted):
        folder = self.folder
        candidate = wanted
        n = 1
        while not candidate or folder._getOb(candidate, None) is not None:
            n += 1
            candidate = '%s_%d' % (wanted or 'object', n)
        return candidate

    # -- Add / Replace ---------------------------------------------------

    def put(self, name, gid, new_xml, local_name, new_el=None):
        obj = self.domain.getObjectFromGid(gid)
        if new_el is None:
            new_el = xmldata.parse(new_xml)
        if obj is None:
            # an object we do not have: built from the XML in one go, no
            # comparison with anything
            wanted = local_name or (gid if not self.domain.gid_generator else None)
            object_id = self._free_id(wanted)
            obj = self.conduit.addNode(self.folder, new_el, object_id=object_id)
            sig = self.sigs.add(gid, object_id)
            sig.remote_id = local_name
            self._agreed(sig, new_xml, obj, new_el)
            return StatusCode.ITEM_ADDED
        sig = self.sigs.add(gid, obj.getId())
        base = sig.xml
        # nothing agreed yet: the conduit compares against an empty object
        base_el = xmldata.parse(base) if base is not None else None
        if self.role == codes.CLIENT:
            return self._put_on_client(sig, obj, base, base_el, new_el, new_xml)
        force = refresh_from_peer(self.session.mode, self.role)
        conflicts = self.conduit.updateNode(obj, base_el, new_el, force=force)
        if not conflicts:
            was_resolved = sig.status == RESOLVED
            self._agreed(sig, new_xml, obj, new_el)
            return StatusCode.CONFLICT_MERGED if was_resolved else StatusCode.OK
        if sig.status == RESOLVED:
            rejected = set(sig.resolved)
            conflicts = [c for c in conflicts
                         if (tuple(c['path']), c['property'], c['subscriber_value'])
                         not in rejected]
            if not conflicts:
                # the client still sends the value the master refused:
                # the master's value goes back to it in this session
                self.sigs.markDirty(gid)
                return StatusCode.CONFLICT_MERGED
        self._record_conflicts(sig, conflicts)
        return StatusCode.CONFLICT

    def _put_on_client(self, sig, obj, base, base_el, new_el, new_xml):
        """The master already merged: its data wins, except over an edit
        made here after our changes left. That value stays, and the master
        is told (409): it sees the conflict, with both values, when our
        edit reaches it at the next sync."""
        # the master's answer to a conflict, or nothing agreed yet (refresh):
        # the master decides
        force = base is None or sig.status == CONFLICT or \
            refresh_from_peer(self.session.mode, self.role)
        conflicts = self.conduit.updateNode(obj, base_el, new_el, force=force)
        if not conflicts:
            self._agreed(sig, new_xml, obj, new_el)
            return StatusCode.OK
        logger.warning('%s changed here during the session (%s): kept, the '
                       'master will see the conflict', sig.gid,
                       ', '.join(str(c['property']) for c in conflicts))
        sig.status = NOT_SYNCHRONIZED
        self.sigs.markDirty(sig.gid)
        self.session.count('conflicts', len(conflicts))
        return StatusCode.CONFLICT

    def _agreed(self, sig, new_xml, obj, new_el=None):
        """Both sides now start from ``new_xml``. If our object differs (a
        merge, or a mapping that cannot hold everything), it is marked so
        that our version goes back to the peer at the next sync."""
        sig.setAgreed(new_xml)
        if obj is None or not self._holds(obj, new_xml, new_el, sig.gid):
            self.sigs.markDirty(sig.gid)
        else:
            self.sigs.markClean(sig.gid)

    def _holds(self, obj, xml, element, gid):
        """Whether ``obj``'s XML is ``xml`` (whose element is ``element``):
        compared value by value when the object's XML is its mapping's,
        else by building the object's XML."""
        if element is not None and (self.domain.xml_mapping or 'asXML') == 'asXML':
            from ..conduit.conduit import matches
            same = matches(obj, element)
            if same is not None:
                return same
        return xmldata.object_xml(self.domain, obj, gid) == xml

    def _record_conflicts(self, sig, conflicts):
        now = time.time()
        existing = {(tuple(c['path']), c['property']): c for c in sig.conflicts}
        merged = dict(existing)
        for c in conflicts:
            key = (tuple(c['path']), c['property'])
            old = existing.get(key)
            record = dict(c)
            record['path'] = tuple(c['path'])
            record['since'] = old['since'] if old is not None else now
            record['subscriber'] = getattr(self.domain, 'subscription_url', None)
            merged[key] = record
        new_list = tuple(merged[k] for k in sorted(merged, key=repr))
        if new_list != sig.conflicts:
            added = len(set(merged) - set(existing))
            sig.conflicts = new_list
            self.session.count('conflicts', added)
            logger.warning('conflict on %s: %s', sig.gid,
                           ', '.join(str(c['property']) for c in new_list))
        sig.status = CONFLICT
        self.sigs.markDirty(sig.gid)

    # -- Delete ----------------------------------------------------------

    def delete(self, gid):
        sig = self.sigs.get(gid)
        obj = self.domain.getObjectFromGid(gid)
        if obj is None:
            if sig is not None:
                self.sigs.remove(gid)
            return StatusCode.ITEM_NOT_DELETED
        if sig is not None and sig.xml is not None:
            current = xmldata.object_xml(self.domain, obj, gid)
            if current != sig.xml:
                # changed here since the last sync: a change wins over a
                # deletion, the object goes back to the peer as new
                self.sigs.remove(gid)
                self.session.pending_ids.add(obj.getId())
                return StatusCode.CONFLICT_SERVER_WON
        self.conduit.deleteNode(self.folder, obj.getId())
        if sig is not None:
            self.sigs.remove(gid)
        return StatusCode.OK


def status_received(domain, name, gid, code, role=codes.CLIENT):
    """The peer answered ``code`` to a command we sent about ``gid``."""
    sigs = domain.signatures
    sig = sigs.get(gid)
    if sig is None:
        return
    code = int(code)
    if name == 'Delete':
        if code in (StatusCode.OK, StatusCode.ITEM_NOT_DELETED,
                    StatusCode.NOT_FOUND):
            sigs.remove(gid)
        elif code == StatusCode.CONFLICT_SERVER_WON:
            sig.status = NOT_SYNCHRONIZED  # the master sends it back
        else:
            sig.status = NOT_SYNCHRONIZED
            sigs.markDirty(gid)
        return
    if code in (StatusCode.OK, StatusCode.ITEM_ADDED,
                StatusCode.CONFLICT_CLIENT_WON):
        if sig.temp_xml is not None:
            sig.setAgreed(sig.temp_xml)
        sigs.markClean(gid)
    elif code == StatusCode.CONFLICT_MERGED:
        sig.status = NOT_SYNCHRONIZED
        sig.resolved = ()
        sigs.markDirty(gid)
    elif code == StatusCode.CONFLICT and as_role(role) == codes.CLIENT:
        sig.status = CONFLICT  # the master holds the conflict record
        sigs.markDirty(gid)
    elif code == StatusCode.CONFLICT:
        # the client kept a value edited during the session; its next sync
        # brings it here, where the conflict is recorded with both values
        sig.status = NOT_SYNCHRONIZED
        sigs.markDirty(gid)
    elif code == StatusCode.CHUNK_ACCEPTED:
        pass  # a chunk arrived; the rest follows
    else:
        logger.warning('peer refused %s %s with status %s: will resend in full',
                       name, gid, code)
        sig.status = NOT_SYNCHRONIZED
        sig.force_full = True
        sigs.markDirty(gid)
