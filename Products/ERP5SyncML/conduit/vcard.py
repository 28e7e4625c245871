"""vCard items of standard SyncML clients <-> Person objects.

``VCardApplier`` applies a client's Add / Replace / Delete (addressed by
the client's LUID) to the publication's folder; ``VCardCommandFactory``
makes the Add / Replace / Delete we send (addressed by that client's
LUIDs).  A signature's ``xml`` holds a fingerprint of the values of the
card both sides agreed on, so an object is sent again only when it
changed here.

No duplicates: an item whose LUID is not mapped yet (a slow sync, a
second client adding the same person) is matched to an existing Person
with the same key -- names and e-mail, case and spaces ignored.
"""
import hashlib
import logging
import re
import uuid

import transaction
from AccessControl import getSecurityManager
from BTrees.OOBTree import OOBTree
from ZODB.POSException import ConflictError

from . import policy
from ..domain.incoming import CommandError
from ..domain.incoming import ReplayCarefully
from ..domain.incoming import _error_code
from ..domain.journal import changes_from
from ..domain.journal import forget_recorded
from ..domain.session import SessionWork
from ..domain.signature import CONFLICT
from ..domain.signature import SENT
from ..mapping import vcard
from ..mapping.adapters import check_permission
from ..syncml import model as m
from ..syncml.codes import StatusCode

logger = logging.getLogger('Products.ERP5SyncML')

PORTAL_TYPE = 'Person'
_SPACES = re.compile(r'\s+')


def _norm(value):
    return _SPACES.sub(' ', str(value or '')).strip().casefold()


def person_key(values):
    """The key two cards of one person share, or None when it is empty."""
    key = tuple(_norm(values.get(k)) for k in
                ('first_name', 'last_name', 'email'))
    if not any(key):
        key = ('', '', '', _norm(values.get('title')))
        if not key[-1]:
            return None
    return key


def _person_values(obj):
    return {k: obj.getProperty(k, '') for k in vcard.PROPERTIES}


def is_person(obj):
    return getattr(obj, 'portal_type', None) == PORTAL_TYPE


def card_of(obj, content_type):
    """Our vCard of ``obj`` (bytes), or None when it is not a Person."""
    if not is_person(obj):
        return None
    return vcard.from_person(obj, content_type).encode('utf-8')


def fingerprint(obj, content_type):
    """What a signature keeps of the card both sides agreed on: a digest
    of the values the card is made of (cheaper than writing the card)."""
    values = _person_values(obj)
    text = repr((content_type,) + tuple(
        (k, str(values[k]) if values[k] is not None else None)
        for k in vcard.PROPERTIES))
    return hashlib.sha1(text.encode('utf-8')).hexdigest().encode('ascii')


class VCardApplier(SessionWork):
    """Applies one session's incoming vCard commands."""

    def __init__(self, domain, session, role, ids, content_type):
        SessionWork.__init__(self, domain, session, role)
        self.ids = ids
        self.content_type = content_type

    def apply(self, name, luid, data, local_name=None, careful=True):
        """Apply one command about the client's ``luid``; return the status
        code (same contract as ``incoming.Applier.apply``)."""
        savepoint = transaction.savepoint() if careful else None
        try:
            with changes_from(self.domain.getOrigin()):
                if name == 'Delete':
                    code, gid = self.delete(luid)
                else:
                    code, gid = self.put(luid, data)
        except ConflictError:
            raise
        except Exception as exc:
            if savepoint is None:
                raise ReplayCarefully() from exc
            savepoint.rollback()
            forget_recorded()
            code = _error_code(exc)
            logger.warning('%s %s refused with status %s: %s: %s', name, luid,
                           code, type(exc).__name__, exc)
            self.session.count('errors')
            return code
        if gid is not None:
            self.session.received_gids.add(gid)
        self.session.count({'Add': 'received_add', 'Replace': 'received_replace',
                            'Delete': 'received_delete'}[name])
        logger.debug('applied %s %s (%s): status %s', name, luid, gid, code)
        return code

    # -- matching ---------------------------------------------------------

    def _keys(self):
        """key -> object id of the folder's Persons, once per session."""
        keys = getattr(self.session, 'vcard_keys', None)
        if keys is None:
            keys = OOBTree()
            for obj in self.folder.objectValues():
                if getattr(obj, 'portal_type', None) == PORTAL_TYPE:
                    key = person_key(_person_values(obj))
                    if key is not None and key not in keys:
                        keys[key] = obj.getId()
            self.session.vcard_keys = keys
        return keys

    def _match(self, luid, values):
        key = person_key(values)
        if key is None:
            return None
        object_id = self._keys().get(key)
        obj = self.folder._getOb(object_id, None) if object_id else None
        if obj is None:
            return None
        known = self.ids.luid(self.domain.getGidFromObject(obj))
        if known is not None and known != luid:
            return None  # two cards of this client: keep both
        return obj

    def _new_id(self, values):
        base = re.sub(r'[^a-z0-9]+', '-', _norm(' '.join(
            (values.get('first_name') or '', values.get('last_name') or '')))
        ).strip('-')[:40] or 'person'
        object_id = base
        while self.folder._getOb(object_id, None) is not None:
            object_id = '%s-%s' % (base, uuid.uuid4().hex[:8])
        return object_id

    # -- commands -----------------------------------------------------------

    def put(self, luid, data):
        if data is None or not str(data).strip():
            raise CommandError(StatusCode.INCOMPLETE_COMMAND, 'no vCard')
        try:
            values = vcard.parse(data)
        except vcard.VCardError as exc:
            raise CommandError(StatusCode.UNSUPPORTED_MEDIA_TYPE, str(exc))
        gid = self.ids.gid(luid)
        obj = self.domain.getObjectFromGid(gid) if gid else None
        if obj is None:
            obj = self._match(luid, values)
        if obj is None:
            check_permission('Add portal content', self.folder,
                             'add a Person from a vCard')
            object_id = self._new_id(values)
            policy.check_new_object(object_id, PORTAL_TYPE,
                                    ('ERP5SyncML Person',))
            # the values go to the constructor: one event, one indexing
            self.folder.invokeFactory(PORTAL_TYPE, object_id, **values)
            obj = self.folder._getOb(object_id)
            code = StatusCode.ITEM_ADDED
            key = person_key(values)
            if key is not None:
                self._keys().setdefault(key, object_id)
        else:
            check_permission('Modify portal content', obj,
                             'change %s from a vCard' % obj.getId())
            current = _person_values(obj)
            changed = {k: v for k, v in values.items() if current.get(k) != v
                       and not (v in ('', None) and current.get(k) in ('', None))}
            if changed:
                obj.edit(**changed)
            code = StatusCode.OK
        gid = self.domain.getGidFromObject(obj)
        self.ids.set(luid, gid)
        sig = self.sigs.add(gid, obj.getId())
        sig.setAgreed(fingerprint(obj, self.content_type))
        self.sigs.markClean(gid)
        return code, gid

    def delete(self, luid):
        gid = self.ids.gid(luid)
        obj = self.domain.getObjectFromGid(gid) if gid else None
        self.ids.remove_luid(luid)
        if obj is None:
            if gid is not None:
                self.sigs.remove(gid)
            return StatusCode.ITEM_NOT_DELETED, gid
        check_permission('Delete objects', self.folder,
                         'delete %s' % obj.getId())
        self.folder.manage_delObjects([obj.getId()])
        self.sigs.remove(gid)
        return StatusCode.OK, gid


class VCardCommandFactory(SessionWork):
    """Builds the command for one local object, or None when the client
    has it already; nothing changes until ``accept`` is called."""

    def __init__(self, domain, session, role, ids, content_type,
                 max_obj_size=None):
        SessionWork.__init__(self, domain, session, role)
        self.ids = ids
        self.content_type = content_type
        self.max_obj_size = max_obj_size

    def _client_has(self, gid):
        """The client's LUID for ``gid`` when it still has the item."""
        luid = self.ids.luid(gid)
        if luid is None:
            return None
        from ..syncml import codes
        if codes.requires_slow(self.session.mode) and \
                gid not in self.session.received_gids:
            return None  # a slow or refresh sync: the client did not send it
        return luid

    def _peer_item(self, gid, sig):
        """(whether the peer has the item, the peer's id for it)."""
        luid = self._client_has(gid)
        return luid is not None, luid

    def for_object_id(self, object_id):
        obj = self.folder._getOb(object_id, None)
        if obj is None or getattr(obj, '_erp5syncml_copy', False):
            sig = self.sigs.getByObjectId(object_id)
            return None if sig is None else self.delete(sig.gid)
        if not is_person(obj) or \
                not getSecurityManager().checkPermission('View', obj):
            return None  # the sync account may not see it: not sent
        gid = self.domain.getGidFromObject(obj)
        sig = self.sigs.get(gid)
        if sig is not None and sig.status == CONFLICT:
            return None
        agreed = fingerprint(obj, self.content_type)
        if sig is not None and sig.xml == agreed and not sig.force_full:
            self.sigs.markClean(gid)
            return None
        card = card_of(obj, self.content_type)
        if self.max_obj_size and len(card) > self.max_obj_size:
            logger.warning('%s not sent: %d bytes, the client takes %d at most',
                           gid, len(card), self.max_obj_size)
            return None
        known, luid = self._peer_item(gid, sig)
        item = m.Item(source=m.Location(uri=gid, name=object_id),
                      target=m.Location(uri=luid) if luid else None,
                      meta=m.Meta(type=self.content_type),
                      data=card.decode('utf-8'))
        name = 'Replace' if known else 'Add'
        command = (m.Replace if known else m.Add)(cmd_id=None, items=[item])

        def accept():
            sig = self.sigs.add(gid, object_id)
            sig.status = SENT
            sig.temp_xml = agreed
            self.sigs.markDirty(gid)
            self.session.count('sent_add' if name == 'Add' else 'sent_replace')
            logger.debug('send %s %s', name, gid)
        return command, accept

    def delete(self, gid):
        sig = self.sigs.get(gid)
        if sig is None:
            return None
        luid = self.ids.luid(gid)
        if luid is None:
            self.sigs.remove(gid)  # the client never had it
            return None
        item = m.Item(target=m.Location(uri=luid), source=m.Location(uri=gid))
        command = m.Delete(cmd_id=None, items=[item])

        def accept():
            sig.status = SENT
            sig.temp_xml = None
            self.sigs.markDirty(gid)
            self.session.count('sent_delete')
            logger.debug('send Delete %s (%s)', gid, luid)
        return command, accept


# ------------------------------------------------------------ our client
#
# A subscription whose content type is a vCard type syncs with a standard
# SyncML server (SyncEvolution's): we name items by our GIDs (our LUIDs),
# the server by its own ids; ``ids`` maps the server's ids to our GIDs and
# the items the server adds are reported back to it in a Map.

class ClientVCardApplier(VCardApplier):
    """Applies a standard server's vCard commands to a subscription."""

    #: our GID the server named as the Target of the current item
    target_hint = None

    def put(self, luid, data):
        hint = self.target_hint
        if self.ids.gid(luid) is None and hint and \
                self.domain.getObjectFromGid(hint) is not None:
            self.ids.set(luid, hint)  # one of the items we added
        code, gid = VCardApplier.put(self, luid, data)
        if code == StatusCode.ITEM_ADDED or hint != gid:
            maps = list(getattr(self.session, 'new_maps', None) or ())
            maps.append((luid, gid))
            self.session.new_maps = maps
        return code, gid

    def delete(self, luid):
        if self.ids.gid(luid) is None and \
                self.domain.getObjectFromGid(luid) is not None:
            self.ids.set(luid, luid)  # addressed by our own id
        return VCardApplier.delete(self, luid)


class ClientVCardCommandFactory(VCardCommandFactory):
    """Our vCard commands for a standard server: Add for what it has not
    agreed on yet, Replace and Delete by our GID (and its id if known)."""

    def _peer_item(self, gid, sig):
        known = sig is not None and sig.xml is not None and \
            not self._slow()
        return known, self.ids.luid(gid)

    def _slow(self):
        from ..syncml import codes
        return codes.requires_slow(self.session.mode)

    def delete(self, gid):
        sig = self.sigs.get(gid)
        if sig is None:
            return None
        luid = self.ids.luid(gid)
        item = m.Item(source=m.Location(uri=gid),
                      target=m.Location(uri=luid) if luid else None)
        command = m.Delete(cmd_id=None, items=[item])

        def accept():
            sig.status = SENT
            sig.temp_xml = None
            self.sigs.markDirty(gid)
            self.session.count('sent_delete')
            logger.debug('send Delete %s', gid)
        return command, accept
