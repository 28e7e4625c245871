"""SyncML device information (DevInf 1.1/1.2): model, XML and parsing.

``server_devinf()`` describes what this implementation supports; a
``DevInf`` becomes the ``syncml:devinf`` element carried in Put/Results
item data (``to_element``) and a peer's element is read back with
``from_element`` (unknown elements are ignored, bad ones raise
ProtocolError).
"""
from dataclasses import dataclass
from dataclasses import field

from lxml import etree

from .errors import ProtocolError

NS = 'syncml:devinf'
#: Sync types of SyncML: two-way, slow, one-way and refresh both ways,
#: server alerted.
ALL_SYNC_TYPES = (1, 2, 3, 4, 5, 6, 7)
VCARD_TYPES = (('text/x-vcard', '2.1'), ('text/vcard', '3.0'))
MAX_GUID_SIZE = 64


@dataclass
class DataStore:
    """One datastore: its URI, the content types it reads and writes."""
    source_ref: str
    display_name: str = None
    max_guid_size: int = None
    rx_pref: tuple = ('text/vcard', '3.0')
    rx: list = field(default_factory=list)
    tx_pref: tuple = ('text/vcard', '3.0')
    tx: list = field(default_factory=list)
    sync_types: tuple = ALL_SYNC_TYPES

    def content_types(self):
        """Every (type, version) this store reads."""
        return [self.rx_pref] + [t for t in self.rx if t != self.rx_pref]


@dataclass
class DevInf:
    """Device information of one SyncML device."""
    dev_id: str
    ver_dtd: str = '1.2'
    man: str = None
    mod: str = None
    oem: str = None
    fw_v: str = None
    sw_v: str = None
    hw_v: str = None
    dev_typ: str = 'server'
    utc: bool = True
    support_large_objs: bool = True
    support_number_of_changes: bool = True
    datastores: list = field(default_factory=list)

    def datastore(self, uri):
        """The datastore whose SourceRef is ``uri`` ('./' ignored)."""
        wanted = uri[2:] if uri.startswith('./') else uri
        for store in self.datastores:
            ref = store.source_ref
            if (ref[2:] if ref.startswith('./') else ref) == wanted:
                return store
        return None


def server_devinf(dev_id, uris, version='1.2', sw_v=None,
                  types=VCARD_TYPES):
    """Our DevInf: one datastore per URI, vCard 3.0 preferred, 2.1
    accepted, sync types 1-7, large objects and NumberOfChanges."""
    preferred = ('text/vcard', '3.0') if ('text/vcard', '3.0') in types \
        else types[0]
    others = [t for t in types if t != preferred]
    stores = [DataStore(source_ref=uri, max_guid_size=MAX_GUID_SIZE,
                        rx_pref=preferred, rx=list(others),
                        tx_pref=preferred, tx=list(others))
              for uri in uris]
    return DevInf(dev_id=dev_id, ver_dtd=version, man='ERP5SyncML',
                  mod='ERP5SyncML', sw_v=sw_v, dev_typ='server',
                  datastores=stores)


# ------------------------------------------------------------------ XML

def _sub(parent, tag, text=None):
    element = etree.SubElement(parent, '{%s}%s' % (NS, tag))
    if text is not None:
        element.text = str(text)
    return element


def _content_type(parent, tag, value):
    element = _sub(parent, tag)
    _sub(element, 'CTType', value[0])
    _sub(element, 'VerCT', value[1])


def to_element(devinf):
    """The ``<DevInf xmlns='syncml:devinf'>`` element, in DTD order."""
    if devinf.ver_dtd not in ('1.1', '1.2'):
        raise ValueError('DevInf version %r (1.1 or 1.2)' % devinf.ver_dtd)
    root = etree.Element('{%s}DevInf' % NS, nsmap={None: NS})
    _sub(root, 'VerDTD', devinf.ver_dtd)
    for tag, value in (('Man', devinf.man), ('Mod', devinf.mod),
                       ('OEM', devinf.oem), ('FwV', devinf.fw_v),
                       ('SwV', devinf.sw_v), ('HwV', devinf.hw_v)):
        if value is not None:
            _sub(root, tag, value)
    _sub(root, 'DevID', devinf.dev_id)
    _sub(root, 'DevTyp', devinf.dev_typ)
    for flag, tag in ((devinf.utc, 'UTC'),
                      (devinf.support_large_objs, 'SupportLargeObjs'),
                      (devinf.support_number_of_changes,
                       'SupportNumberOfChanges')):
        if flag:
            _sub(root, tag)
    for store in devinf.datastores:
        element = _sub(root, 'DataStore')
        _sub(element, 'SourceRef', store.source_ref)
        if store.display_name is not None:
            _sub(element, 'DisplayName', store.display_name)
        if store.max_guid_size is not None:
            _sub(element, 'MaxGUIDSize', int(store.max_guid_size))
        _content_type(element, 'Rx-Pref', store.rx_pref)
        for value in store.rx:
            _content_type(element, 'Rx', value)
        _content_type(element, 'Tx-Pref', store.tx_pref)
        for value in store.tx:
            _content_type(element, 'Tx', value)
        caps = _sub(element, 'SyncCap')
        for sync_type in store.sync_types:
            _sub(caps, 'SyncType', int(sync_type))
    return root


def to_xml(devinf):
    """UTF-8 XML bytes of ``devinf`` (no declaration)."""
    return etree.tostring(to_element(devinf), encoding='UTF-8')


# -------------------------------------------------------------- parsing

def _local(element):
    return etree.QName(element).localname if isinstance(element.tag, str) \
        else None


def _children(element, name):
    return [child for child in element if _local(child) == name]


def _text(element, name, required=False, where='DevInf'):
    found = _children(element, name)
    if not found:
        if required:
            raise ProtocolError('%s has no %s' % (where, name))
        return None
    return (found[0].text or '').strip()


def _read_type(element, where):
    ct = _text(element, 'CTType', True, where)
    return (ct, _text(element, 'VerCT', where=where) or '')


def _read_store(element):
    where = 'DevInf/DataStore'
    store = DataStore(source_ref=_text(element, 'SourceRef', True, where),
                      display_name=_text(element, 'DisplayName'),
                      rx_pref=None, tx_pref=None, sync_types=())
    size = _text(element, 'MaxGUIDSize')
    if size is not None:
        if not size.isdigit() or len(size) > 10:
            raise ProtocolError('%s/MaxGUIDSize must be an integer, not %r'
                                % (where, size[:20]))
        store.max_guid_size = int(size)
    for tag, attribute in (('Rx-Pref', 'rx_pref'), ('Tx-Pref', 'tx_pref')):
        found = _children(element, tag)
        if found:
            setattr(store, attribute, _read_type(found[0], where + '/' + tag))
    store.rx = [_read_type(e, where + '/Rx') for e in _children(element, 'Rx')]
    store.tx = [_read_type(e, where + '/Tx') for e in _children(element, 'Tx')]
    types = []
    for caps in _children(element, 'SyncCap'):
        for sync_type in _children(caps, 'SyncType'):
            text = (sync_type.text or '').strip()
            if not text.isdigit() or len(text) > 10:
                raise ProtocolError('%s/SyncCap/SyncType must be an '
                                    'integer, not %r' % (where, text[:20]))
            types.append(int(text))
    store.sync_types = tuple(types)
    return store


def from_element(element):
    """A ``DevInf`` from a peer's element (namespace or not)."""
    if element is None or _local(element) != 'DevInf':
        raise ProtocolError('not a DevInf document')
    devinf = DevInf(
        dev_id=_text(element, 'DevID', required=True),
        ver_dtd=_text(element, 'VerDTD', required=True),
        man=_text(element, 'Man'), mod=_text(element, 'Mod'),
        oem=_text(element, 'OEM'), fw_v=_text(element, 'FwV'),
        sw_v=_text(element, 'SwV'), hw_v=_text(element, 'HwV'),
        dev_typ=_text(element, 'DevTyp'),
        utc=bool(_children(element, 'UTC')),
        support_large_objs=bool(_children(element, 'SupportLargeObjs')),
        support_number_of_changes=bool(
            _children(element, 'SupportNumberOfChanges')),
        datastores=[_read_store(e) for e in _children(element, 'DataStore')])
    return devinf
