"""Conflicts: one property of one object changed differently on the master
and on one client since their last sync.

The master keeps its value and records the client's value on that client's
signature; nothing is lost until an administrator chooses. Choosing the
master's value sends it to the client at its next sync; choosing the
client's value applies it on the master, from where it reaches every site.
"""
import logging

from AccessControl import ClassSecurityInfo
from AccessControl.class_init import InitializeClass
from Acquisition import Implicit

from ..permissions import ResolveConflicts
from ..permissions import View
from . import xmldata
from .journal import changes_from
from .signature import RESOLVED

logger = logging.getLogger('Products.ERP5SyncML')

COPY_SUFFIX = '_conflict_copy'


def _value_text(xml):
    """A readable form of a property element's value."""
    if xml is None:
        return None
    try:
        element = xmldata.parse(xml)
    except Exception:
        return xml
    if len(element):
        return '\n'.join((child.text or '') for child in element)
    return element.text or ''


class Conflict(Implicit):
    """A view of one conflict record of one subscriber's signature."""

    security = ClassSecurityInfo()
    security.declareObjectProtected(View)

    def __init__(self, publication, subscriber, signature, record):
        self._publication = publication
        self._subscriber = subscriber
        self._signature = signature
        self._record = record

    # -- accessors ---------------------------------------------------------

    @security.public
    def getPropertyId(self):
        return self._record['property']

    @security.public
    def getKind(self):
        return self._record.get('kind', 'property')

    @security.public
    def getSubscriber(self):
        """The client's subscription URL."""
        return self._subscriber.subscription_url

    @security.public
    def getPublicationId(self):
        return self._publication.getId()

    @security.public
    def getGid(self):
        return self._signature.gid

    @security.public
    def getSince(self):
        return self._record.get('since')

    @security.public
    def getPath(self):
        """Ids from the synchronized object down to the one in conflict."""
        return tuple(self._record.get('path') or ())

    @security.public
    def getObjectPath(self):
        """Physical path of the object in conflict (a sub-object possibly)."""
        obj = self._target()
        return obj.getPhysicalPath() if obj is not None else None

    @security.public
    def getPublisherValue(self):
        """The master's value now (it may have changed since detection)."""
        return _value_text(self.getPublisherXML())

    @security.public
    def getSubscriberValue(self):
        return _value_text(self._record.get('subscriber_value'))

    @security.public
    def getPublisherXML(self):
        live = self._liveElement()
        if live is False:
            return self._record.get('publisher_value')
        return None if live is None else xmldata.serialize(live).decode('utf-8')

    def _liveElement(self):
        """The master's current element for this conflict, None when it has
        none, False when it cannot be read (then the recorded value serves)."""
        from ..mapping import getXMLMapping
        from ..mapping.values import property_id_of
        target = self._target()
        if target is None:
            return False
        prop = self._record['property']
        kind = self.getKind()
        try:
            mapping = getXMLMapping(target)
            if kind == 'property':
                for element in mapping.getPropertyElements():
                    if property_id_of(element) == prop:
                        return element
                return None
            if kind == 'local_role':
                user = prop.split(':', 1)[1] if ':' in prop else prop
                for element in mapping.getLocalRoleElements():
                    if element.get('id') == user:
                        return element
                return None
        except Exception:
            logger.debug('cannot read the live value of %r', self, exc_info=True)
        return False

    @security.public
    def getSubscriberXML(self):
        return self._record.get('subscriber_value')

    def _root(self):
        return self._subscriber.getDestination()._getOb(
            self._signature.object_id, None)

    def _target(self):
        obj = self._root()
        for part in self.getPath():
            if obj is None:
                return None
            obj = obj._getOb(part, None)
        return obj

    @security.protected(View)
    def getPublisherDocument(self):
        """The live object on the master."""
        return self._root()

    @security.protected(ResolveConflicts)
    def getSubscriberDocument(self):
        """The copy of the object with this client's values, if one was
        made (see ``makeSubscriberDocument``), else None. Changes nothing."""
        folder = self._subscriber.getDestination()
        return folder._getOb(copy_id_for(self._signature.object_id,
                                         self._subscriber), None)

    @security.protected(ResolveConflicts)
    def makeSubscriberDocument(self):
        """Make (once) a temporary copy of the object with this client's
        values applied, and return it.

        It is invisible to the publication's query, never synchronized, and
        removed when the conflicts of this object and client are resolved.
        """
        existing = self.getSubscriberDocument()
        if existing is not None:
            return existing
        original = self._root()
        if original is None:
            return None
        folder = self._subscriber.getDestination()
        copy_id = copy_id_for(self._signature.object_id, self._subscriber)
        element = xmldata.object_element(self._subscriber, original,
                                         self._signature.gid)
        conduit = _conduit(self._subscriber)
        with changes_from(('copy',)):
            conduit.addNode(folder, element, object_id=copy_id)
            copy = folder._getOb(copy_id)
            copy._erp5syncml_copy = True
            for record in self._signature.conflicts:
                value = record.get('subscriber_value')
                conduit.applyValue(copy, tuple(record.get('path') or ()),
                                   record['property'],
                                   xmldata.parse(value) if value else None)
        return copy

    # -- resolution ------------------------------------------------------

    @security.protected(ResolveConflicts)
    def applyPublisherValue(self):
        """Keep the master's value; the client gets it at its next sync."""
        resolve(self._subscriber, self._signature, [self._record], subscriber_wins=False)

    @security.protected(ResolveConflicts)
    def applySubscriberValue(self):
        """Take the client's value on the master; every site gets it."""
        resolve(self._subscriber, self._signature, [self._record], subscriber_wins=True)

    @security.protected(ResolveConflicts)
    def applyPublisherDocument(self):
        """Keep the master's values for every conflict of this object and client."""
        resolve(self._subscriber, self._signature, list(self._signature.conflicts),
                subscriber_wins=False)

    @security.protected(ResolveConflicts)
    def applySubscriberDocument(self):
        """Take the client's values for every conflict of this object and client."""
        resolve(self._subscriber, self._signature, list(self._signature.conflicts),
                subscriber_wins=True)

    def __repr__(self):
        return '<Conflict %s %s %s>' % (self.getGid(), self.getPropertyId(),
                                       self.getSubscriber())


InitializeClass(Conflict)


def copy_id_for(object_id, subscriber):
    # one copy per client: two clients can hold different values
    import hashlib
    tag = hashlib.sha1(subscriber.subscription_url.encode('utf-8')).hexdigest()[:6]
    return '%s%s_%s' % (object_id, COPY_SUFFIX, tag)


def _conduit(domain):
    from .incoming import get_conduit
    return get_conduit(domain)


def resolve(subscriber, signature, records, subscriber_wins):
    """Close ``records`` of ``signature`` with the master's or the client's value."""
    keys = {(tuple(r.get('path') or ()), r['property']) for r in records}
    chosen = [r for r in signature.conflicts
              if (tuple(r.get('path') or ()), r['property']) in keys]
    if not chosen:
        return
    folder = subscriber.getDestination()
    obj = folder._getOb(signature.object_id, None)
    conduit = _conduit(subscriber)
    rejected = set(signature.resolved)
    for record in chosen:
        path = tuple(record.get('path') or ())
        if subscriber_wins:
            value = record.get('subscriber_value')
            if obj is not None:
                with changes_from(None):  # a local decision: every peer must see it
                    conduit.applyValue(obj, path, record['property'],
                                       xmldata.parse(value) if value else None)
        else:
            rejected.add((path, record['property'], record.get('subscriber_value')))
        logger.info('conflict on %s %s with %s resolved: %s value kept',
                    signature.gid, record['property'], subscriber.subscription_url,
                    'client' if subscriber_wins else 'master')
    signature.resolved = tuple(sorted(rejected, key=repr))
    signature.conflicts = tuple(r for r in signature.conflicts
                                if (tuple(r.get('path') or ()), r['property']) not in keys)
    if not signature.conflicts:
        signature.status = RESOLVED
        _remove_copy(subscriber, signature)
    subscriber.signatures.markDirty(signature.gid)
    if obj is not None:
        # the object must be examined at every subscriber's next sync
        from .journal import record_change
        record_change(obj, obj.getPhysicalPath())


def _remove_copy(subscriber, signature):
    folder = subscriber.getDestination()
    copy_id = copy_id_for(signature.object_id, subscriber)
    if folder._getOb(copy_id, None) is not None:
        with changes_from(('copy',)):
            folder._delObject(copy_id)


def find_conflicts(tool, publication, subscriber, gid, property_id=None, path=''):
    """The open conflicts of object ``gid`` between publication id
    ``publication`` and client URL ``subscriber``; only the one of
    ``property_id`` at sub-object ``path`` ('a/b') when it is given.
    BadRequest when there is none."""
    from zExceptions import BadRequest
    path = tuple(p for p in (path or '').split('/') if p)
    found = []
    for conflict in site_conflicts(tool):
        if conflict.getPublicationId() != publication or \
                conflict.getSubscriber() != subscriber or conflict.getGid() != gid:
            continue
        if property_id is not None and (conflict.getPropertyId() != property_id
                                        or conflict.getPath() != path):
            continue
        found.append(conflict)
    if not found:
        raise BadRequest('no such conflict (already resolved?)')
    return found


def resolve_chosen(tool, publication, subscriber, gid, choice, property_id=None,
                   path=''):
    """Keep ``choice``'s value ('publisher' or 'subscriber') for the conflict
    found by ``find_conflicts``, or for every conflict of the object and
    client when no ``property_id`` is given."""
    from zExceptions import BadRequest
    if choice not in ('publisher', 'subscriber'):
        raise BadRequest('choice must be publisher or subscriber')
    conflicts = find_conflicts(tool, publication, subscriber, gid, property_id, path)
    if property_id is None:
        if choice == 'publisher':
            conflicts[0].applyPublisherDocument()
        else:
            conflicts[0].applySubscriberDocument()
        return
    for conflict in conflicts:
        if choice == 'publisher':
            conflict.applyPublisherValue()
        else:
            conflict.applySubscriberValue()


def documents_of(conflict):
    """(master XML, client XML) of the object of ``conflict``; the client
    side is '' until its copy is made (``makeSubscriberDocument``)."""
    from ..mapping import asXML
    master = conflict.getPublisherDocument()
    copy = conflict.getSubscriberDocument()
    return (asXML(master) if master is not None else '',
            asXML(copy) if copy is not None else '')


def site_conflicts(tool, obj=None, subtree=False):
    """Open conflicts of every publication of ``tool``, or only of ``obj``
    (``subtree``: of ``obj`` and its sub-objects)."""
    result = []
    for pub in tool.getPublicationList():
        result.extend(conflicts_of(pub, obj, subtree))
    return result


def conflicts_of(publication, obj=None, subtree=False):
    """Conflict views of a publication, optionally only those of the object
    ``obj`` itself, or with ``subtree`` those of ``obj`` and its sub-objects."""
    result = []
    path = obj.getPhysicalPath() if obj is not None else None
    for subscriber in publication.getSubscriberList():
        for sig in subscriber.signatures.conflictSignatures():
            for record in sig.conflicts:
                conflict = Conflict(publication, subscriber, sig, record).__of__(subscriber)
                if path is not None:
                    target = conflict.getObjectPath()
                    if target is None or not (
                            target == path or
                            subtree and target[:len(path)] == path):
                        continue
                result.append(conflict)
    return result
