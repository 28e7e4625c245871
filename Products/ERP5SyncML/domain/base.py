"""What publications, subscriptions and subscribers have in common."""
import logging
import time

from AccessControl import ClassSecurityInfo
from AccessControl.class_init import InitializeClass
from Acquisition import aq_base
from Acquisition import aq_parent
from OFS.SimpleItem import SimpleItem

from ..interfaces import ISynchronizationTool
from ..permissions import ManagePortal
from .signature import SignatureStore

logger = logging.getLogger('Products.ERP5SyncML')

#: about 1,000 small objects fit in one message (a round trip each)
DEFAULT_MAX_OBJECTS = 1000
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024

#: configurable fields: (attribute, title, type, default)
COMMON_FIELDS = (
    ('title', 'Title', 'string', ''),
    ('publication_url', 'Publication Url', 'string', ''),
    ('destination_path', 'Destination Path', 'string', ''),
    ('query', 'Query', 'string', 'objectValues'),
    ('xml_mapping', 'XML Mapping', 'string', 'asXML'),
    ('gpg_key', 'GPG key name', 'string', ''),
    ('gpg_peer_key', 'GPG peer key', 'string', ''),
    ('conduit', 'Conduit', 'string', 'ERP5Conduit'),
    ('gid_generator', 'GID generator', 'string', ''),
    ('max_objects', 'Objects per message', 'int', DEFAULT_MAX_OBJECTS),
    ('max_message_size', 'Maximum message size (bytes)', 'int',
     DEFAULT_MAX_MESSAGE_SIZE),
    ('allowed_types', 'Allowed types (portal or meta types the peer may'
     ' create, comma-separated; empty: any)', 'string', ''),
    ('allow_code_objects', 'Allow code objects (scripts, templates, DTML:'
     ' "yes" to allow)', 'string', ''),
)


class SyncDomain(SimpleItem):
    """One synchronized data set: a folder, how to list and map its
    objects, and the signatures of the objects shared with one peer."""

    security = ClassSecurityInfo()
    security.declareObjectProtected(ManagePortal)

    fields = COMMON_FIELDS
    session = None
    last_anchor = None
    next_anchor = None
    journal_since = 0.0
    last_report = None

    def __init__(self, id, **kw):
        self.id = id
        for name, _title, _type, default in self.fields:
            setattr(self, name, default)
        self.signatures = SignatureStore()
        self.edit(**kw)

    @security.protected(ManagePortal)
    def edit(self, **kw):
        """Change configuration fields; unknown names are an error."""
        known = {f[0]: f for f in self.fields}
        values = {}
        for name, value in kw.items():
            if name not in known:
                raise TypeError('%s has no field %r' % (self.meta_type, name))
            ftype, default = known[name][2], known[name][3]
            if ftype == 'int':
                try:
                    value = int(value) if value not in (None, '') else default
                except ValueError:
                    raise ValueError('%s must be a number, not %r' % (name, value))
                if value <= 0:
                    raise ValueError('%s must be a positive number' % name)
            elif ftype == 'string':
                value = '' if value is None else str(value).strip()
            values[name] = value
        self._checkGPG(values)
        # every value was checked: nothing is changed by a refused edit
        for name, value in values.items():
            setattr(self, name, value)
        for name, default in (('query', 'objectValues'),
                              ('xml_mapping', 'asXML'),
                              ('conduit', 'ERP5Conduit')):
            if name in known and not getattr(self, name):
                setattr(self, name, default)

    def _checkGPG(self, values):
        # both keys or neither, and present in the keyring (transports.gpg)
        if 'gpg_key' not in values and 'gpg_peer_key' not in values:
            return
        from zope.component.hooks import getSite

        from ..transports import gpg
        # the keyring setting is acquired from the site: a new domain, not
        # yet in its tool, takes it from the site being published
        context = self if aq_parent(self) is not None else getSite()
        try:
            gpg.check_config(values.get('gpg_key', getattr(self, 'gpg_key', '')),
                             values.get('gpg_peer_key',
                                        getattr(self, 'gpg_peer_key', '')),
                             home=gpg.gnupg_home(context),
                             lookup=context is not None)
        except gpg.GPGError as exc:
            raise ValueError(str(exc)) from None

    def getFieldValues(self):
        return [(name, title, getattr(self, name, default))
                for name, title, _type, default in self.fields]

    # -- the folder and its objects -------------------------------------

    def getDestinationPathTuple(self):
        path = self.destination_path.strip()
        if not path:
            raise ValueError('%s %r has no Destination Path'
                             % (self.meta_type, self.id))
        return tuple(p for p in path.split('/') if p)

    def getDestination(self):
        """The synchronized folder (the path is absolute from the Zope root)."""
        root = self.getPhysicalRoot()
        return root.unrestrictedTraverse(self.getDestinationPathTuple())

    def getObjectList(self):
        """The objects to synchronize: the query method on the folder."""
        folder = self.getDestination()
        method = getattr(folder, self.query or 'objectValues')
        return [o for o in method() if not getattr(aq_base(o), '_erp5syncml_copy', False)]

    def getObjectIdList(self):
        """Ids of the objects to synchronize; with the default query the
        objects are not loaded (only conflict copies are looked at)."""
        if not self.usesJournal():
            return [o.getId() for o in self.getObjectList()]
        from .conflict import COPY_SUFFIX
        folder = self.getDestination()
        ids = folder.contentIds() if self.query == 'contentValues' else folder.objectIds()
        return [i for i in ids if COPY_SUFFIX not in i or not getattr(
            aq_base(folder._getOb(i)), '_erp5syncml_copy', False)]

    def usesJournal(self):
        """Incremental change detection through the journal is exact only
        for the default query: a custom query is called at every sync."""
        return (self.query or 'objectValues') in ('objectValues', 'contentValues')

    def getGidFromObject(self, obj):
        generator = self.gid_generator
        if not generator:
            return obj.getId()
        value = getattr(obj, generator)
        value = value() if callable(value) else value
        if value in (None, ''):
            return obj.getId()
        return str(value)

    def getObjectFromGid(self, gid):
        sig = self.signatures.get(gid)
        folder = self.getDestination()
        if sig is not None and sig.object_id is not None:
            obj = folder._getOb(sig.object_id, None)
            if obj is not None:
                return obj
        if not self.gid_generator:
            return folder._getOb(gid, None)
        for obj in self.getObjectList():
            if self.getGidFromObject(obj) == gid:
                return obj
        return None

    # -- sessions and reports ---------------------------------------------

    @security.private
    def getTool(self):
        """portal_synchronizations (a subscriber's grand-parent)."""
        obj = aq_parent(self)
        while obj is not None and not ISynchronizationTool.providedBy(obj):
            obj = aq_parent(obj)
        return obj

    @security.private
    def getChangeJournal(self):
        """The change journal of the site this domain belongs to."""
        return self.getTool().getChangeJournal()

    def getSession(self):
        return self.session

    def resetSession(self):
        self.session = None

    def reset(self):
        """Forget every signature and anchor: the next sync is a slow sync."""
        self.signatures.clear()
        self.session = None
        self.last_anchor = None
        self.next_anchor = None
        self.journal_since = 0.0
        logger.info('%s %s reset', self.meta_type, self.id)

    def setReport(self, status, reason='', counts=None):
        self.last_report = {
            'status': status, 'reason': reason, 'date': time.time(),
            'counts': dict(counts or {}),
        }
        if status == 'failed':
            from .plainwords import log_failure
            log_failure(self, reason)

    def getReport(self):
        return self.last_report or {'status': 'never run', 'reason': '',
                                    'date': None, 'counts': {}}

    @security.protected(ManagePortal)
    def getReportCounts(self):
        """[(label, n)] of the last report's non-zero counts, sorted."""
        counts = self.getReport().get('counts') or {}
        return [(k.replace('_', ' '), v) for k, v in sorted(counts.items()) if v]

    def getConflictCount(self):
        """Open conflicts (on a client: objects the master reported in conflict)."""
        return sum(len(s.conflicts) or 1 for s in self.signatures.conflictSignatures())


InitializeClass(SyncDomain)
