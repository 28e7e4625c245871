"""SyncML XML codec: ``Message`` <-> bytes.

``encode(message)`` writes UTF-8 with an XML declaration, the SyncML 1.1 or
1.2 namespace as the default namespace and ``syncml:metinf`` on Meta
children.  ``decode(data)`` accepts 1.1, 1.2 and namespace-less documents,
CDATA or escaped text, single or double quotes, and embedded XML in
``<Data>``; anything else raises ``ProtocolError`` with a status code.
``encoded_size(command)`` is the exact size a command takes in a message,
so a sender can stay below the peer's MaxMsgSize.
"""
import copy
import itertools
import re

from lxml import etree

from . import model
from . import xmlsafe
from .codes import StatusCode
from .errors import ProtocolError

NAMESPACES = {'1.1': 'SYNCML:SYNCML1.1', '1.2': 'SYNCML:SYNCML1.2'}
_VERSION_OF_NS = {ns: version for version, ns in NAMESPACES.items()}
_OLD_NAMESPACES = ('SYNCML:SYNCML1.0',)
METINF = model.METINF_NS
DEFAULT_MAX_SIZE = xmlsafe.DEFAULT_MAX_SIZE

# ---------------------------------------------------------------- encoding

# Characters XML 1.0 cannot carry at all, even escaped.
_INVALID_XML_CHARS = re.compile(
    '[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')


def _check_chars(text):
    match = _INVALID_XML_CHARS.search(text)
    if match is not None:
        raise ValueError('character %r at offset %d cannot be sent in XML; '
                         'encode the data (e.g. base64) first'
                         % (match.group(), match.start()))


def _escape(text):
    text = str(text)
    _check_chars(text)
    # \r must be a reference or the parser turns it into \n
    return (text.replace('&', '&amp;').replace('<', '&lt;')
            .replace('>', '&gt;').replace('\r', '&#13;'))


def _data_text(text):
    _check_chars(text)
    if ('<' in text or '&' in text) and ']]>' not in text \
            and '\r' not in text:
        return '<![CDATA[%s]]>' % text
    return _escape(text)


def _leaf(out, tag, value):
    if value is not None:
        out.append('<%s>%s</%s>' % (tag, _escape(value), tag))


def _metinf(out, tag, value):
    if value is not None:
        out.append('<%s xmlns="%s">%s</%s>' % (tag, METINF, _escape(value),
                                               tag))


def _flag(out, tag, value):
    if value:
        out.append('<%s/>' % tag)


def _location(out, tag, location):
    if location is None:
        return
    out.append('<%s>' % tag)
    _leaf(out, 'LocURI', location.uri)
    _leaf(out, 'LocName', location.name)
    out.append('</%s>' % tag)


def _meta(out, meta):
    if meta is None:
        return
    out.append('<Meta>')
    _metinf(out, 'Format', meta.format)
    _metinf(out, 'Type', meta.type)
    _metinf(out, 'Size', meta.size)
    if meta.anchor_last is not None or meta.anchor_next is not None:
        out.append('<Anchor xmlns="%s">' % METINF)
        _leaf(out, 'Last', meta.anchor_last)
        _leaf(out, 'Next', meta.anchor_next)
        out.append('</Anchor>')
    _metinf(out, 'Version', meta.version)
    _metinf(out, 'NextNonce', meta.next_nonce)
    _metinf(out, 'MaxMsgSize', meta.max_msg_size)
    _metinf(out, 'MaxObjSize', meta.max_obj_size)
    out.append('</Meta>')


def _cred(out, cred):
    if cred is None:
        return
    out.append('<Cred>')
    _meta(out, model.Meta(type=cred.type, format=cred.format))
    _leaf(out, 'Data', cred.data)
    out.append('</Cred>')


def _embedded(element):
    if not isinstance(element.tag, str):
        raise ValueError('Item data must be an element, not %r' % element)
    text = etree.tostring(element, encoding='unicode', with_tail=False)
    if None not in element.nsmap:
        # Undeclare our default namespace, or the embedded document
        # would silently move into the SyncML namespace.
        end = len(element.prefix) + 2 if element.prefix else 1
        end += len(etree.QName(element).localname)
        text = text[:end] + ' xmlns=""' + text[end:]
    return text


def _item(out, item):
    out.append('<Item>')
    _location(out, 'Target', item.target)
    _location(out, 'Source', item.source)
    _meta(out, item.meta)
    data = item.data
    if data is not None:
        if isinstance(data, str):
            out.append('<Data>%s</Data>' % _data_text(data))
        elif isinstance(data, etree._Element):
            out.append('<Data>%s</Data>' % _embedded(data))
        else:
            raise ValueError('Item data must be None, str or an lxml '
                             'element, not %s' % type(data).__name__)
    _flag(out, 'MoreData', item.more_data)
    out.append('</Item>')


def _items(out, items):
    for item in items:
        _item(out, item)


def _command(out, command, ids):
    """Serialize one command; ``ids`` gives a CmdID to commands without."""
    name = model.command_name(command)
    if isinstance(command, model.UnknownCommand):
        raise ValueError('cannot encode the unknown command %r' % name)
    out.append('<%s>' % name)
    _leaf(out, 'CmdID', command.cmd_id if command.cmd_id is not None
          else ids(command))
    if isinstance(command, model.Status):
        _leaf(out, 'MsgRef', command.msg_ref)
        _leaf(out, 'CmdRef', command.cmd_ref)
        _leaf(out, 'Cmd', command.cmd)
        for ref in command.target_refs:
            _leaf(out, 'TargetRef', ref)
        for ref in command.source_refs:
            _leaf(out, 'SourceRef', ref)
        if command.chal is not None:
            out.append('<Chal>')
            _meta(out, model.Meta(type=command.chal.type,
                                  format=command.chal.format,
                                  next_nonce=command.chal.next_nonce))
            out.append('</Chal>')
        _leaf(out, 'Data', int(command.code))
        _items(out, command.items)
    elif isinstance(command, model.Alert):
        _flag(out, 'NoResp', command.no_resp)
        _leaf(out, 'Data', int(command.code))
        _items(out, command.items)
    elif isinstance(command, model.Sync):
        _flag(out, 'NoResp', command.no_resp)
        _location(out, 'Target', command.target)
        _location(out, 'Source', command.source)
        _meta(out, command.meta)
        _leaf(out, 'NumberOfChanges', command.number_of_changes)
        for sub in command.commands:
            if not isinstance(sub, model.SYNC_COMMANDS):
                raise ValueError('a Sync holds Add, Replace and Delete, '
                                 'not %s' % type(sub).__name__)
            _command(out, sub, ids)
    elif isinstance(command, model.Map):
        _location(out, 'Target', command.target)
        _location(out, 'Source', command.source)
        _meta(out, command.meta)
        for map_item in command.map_items:
            out.append('<MapItem>')
            _location(out, 'Target', model.Location(map_item[0]))
            _location(out, 'Source', model.Location(map_item[1]))
            out.append('</MapItem>')
    elif isinstance(command, model.Results):
        _leaf(out, 'MsgRef', command.msg_ref)
        _leaf(out, 'CmdRef', command.cmd_ref)
        _meta(out, command.meta)
        for ref in command.target_refs:
            _leaf(out, 'TargetRef', ref)
        for ref in command.source_refs:
            _leaf(out, 'SourceRef', ref)
        _items(out, command.items)
    else:  # Add, Replace, Delete, Put, Get
        _flag(out, 'NoResp', command.no_resp)
        _meta(out, command.meta)
        _items(out, command.items)
    out.append('</%s>' % name)


def _version(header, version):
    version = version or header.ver_dtd
    if version not in NAMESPACES:
        raise ValueError('unsupported SyncML version %r (use %s)'
                         % (version, ' or '.join(NAMESPACES)))
    return version


def _header(header, version):
    out = ['<SyncHdr>']
    _leaf(out, 'VerDTD', version)
    _leaf(out, 'VerProto', 'SyncML/%s' % version)
    _leaf(out, 'SessionID', header.session_id)
    _leaf(out, 'MsgID', int(header.msg_id))
    _location(out, 'Target', header.target)
    _location(out, 'Source', header.source)
    _leaf(out, 'RespURI', header.resp_uri)
    _flag(out, 'NoResp', header.no_resp)
    _cred(out, header.cred)
    _meta(out, header.meta)
    out.append('</SyncHdr>')
    return ''.join(out)


def encoded_command(command, first_id=1):
    """The UTF-8 XML of one command as it appears in a message.

    Commands without a CmdID are numbered from ``first_id`` (not stored).
    """
    counter = itertools.count(first_id)
    out = []
    _command(out, command, lambda _command: next(counter))
    return ''.join(out).encode('utf-8')


def encoded_size(command, first_id=1):
    """Bytes ``command`` takes in an encoded message."""
    return len(encoded_command(command, first_id))


def encode(message, version=None):
    """Encode ``message`` to UTF-8 XML bytes.

    ``version`` ('1.1' or '1.2') defaults to ``message.header.ver_dtd``.
    Commands without a CmdID get numbers in the output only.  Raises
    ValueError for data XML cannot carry (e.g. control characters).
    """
    version = _version(message.header, version)
    counter = itertools.count(1)
    out = []
    for command in message.commands:
        _command(out, command, lambda _command: next(counter))
    return ('<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns="%s">%s'
            '<SyncBody>%s%s</SyncBody></SyncML>' % (
                NAMESPACES[version], _header(message.header, version),
                ''.join(out), '<Final/>' if message.final else '')
            ).encode('utf-8')


def add_cred(data, cred):
    """``data`` (a message this codec encoded, without Cred) with ``cred``
    in its header: credentials are added only as a message leaves, so
    stored and queued messages never carry them."""
    end = data.index(b'</SyncHdr>')
    meta = data.find(b'<Meta>', 0, end)
    at = end if meta < 0 else meta
    out = []
    _cred(out, cred)
    return data[:at] + ''.join(out).encode('utf-8') + data[at:]


# ---------------------------------------------------------------- decoding

_INT = re.compile(r'\s*[0-9]{1,10}\s*\Z')


def _name(element):
    return etree.QName(element).localname


def _children(element):
    """(local name, child) for the element children of ``element``."""
    return [(_name(child), child) for child in element
            if isinstance(child.tag, str)]


class _Fields:
    """The children of one element, looked up by local name."""

    def __init__(self, element, where):
        self.element = element
        self.where = where
        self.by_name = {}
        for name, child in _children(element):
            self.by_name.setdefault(name, []).append(child)

    def all(self, name):
        return self.by_name.get(name, [])

    def get(self, name):
        found = self.by_name.get(name)
        return found[0] if found else None

    def has(self, name):
        return name in self.by_name

    def need(self, name):
        child = self.get(name)
        if child is None:
            raise ProtocolError('%s has no %s' % (self.where, name))
        return child

    def text(self, name, required=False):
        child = self.need(name) if required else self.get(name)
        if child is None:
            return None
        return _text(child).strip()

    def int(self, name, required=False):
        child = self.need(name) if required else self.get(name)
        if child is None:
            return None
        return _int(child, '%s/%s' % (self.where, name))


def _text(element):
    # element text plus the tails of comments, without child elements
    parts = [element.text or '']
    for child in element:
        if not isinstance(child.tag, str):
            parts.append(child.tail or '')
    return ''.join(parts)


def _int(element, where):
    text = _text(element)
    if not _INT.match(text):
        raise ProtocolError('%s must be an integer, not %r'
                            % (where, text[:40]))
    return int(text)


def _read_location(element, where):
    if element is None:
        return None
    fields = _Fields(element, where)
    return model.Location(fields.text('LocURI', required=True),
                          fields.text('LocName'))


def _meta_fields(element, where):
    fields = _Fields(element, where)
    meta = model.Meta(
        type=fields.text('Type'), format=fields.text('Format'),
        size=fields.int('Size'), version=fields.text('Version'),
        next_nonce=fields.text('NextNonce'),
        max_msg_size=fields.int('MaxMsgSize'),
        max_obj_size=fields.int('MaxObjSize'))
    anchor = fields.get('Anchor')
    if anchor is not None:
        anchor_fields = _Fields(anchor, where + '/Anchor')
        meta.anchor_last = anchor_fields.text('Last')
        meta.anchor_next = anchor_fields.text('Next')
    return meta


def _read_meta(fields):
    element = fields.get('Meta')
    if element is None:
        return None
    return _meta_fields(element, fields.where + '/Meta')


def _strip_namespace(element, namespace):
    """Move the elements of ``namespace`` under ``element`` out of it.

    A peer that embeds a namespace-less document in a SyncML document whose
    default namespace is SyncML (without xmlns="") puts the embedded
    elements in the SyncML namespace by accident; give them back theirs.
    """
    prefix = '{%s}' % namespace
    for node in element.iter():
        if isinstance(node.tag, str) and node.tag.startswith(prefix):
            node.tag = node.tag[len(prefix):]
    etree.cleanup_namespaces(element)


def _data(element, where, namespace):
    elements = [child for child in element if isinstance(child.tag, str)]
    if not elements:
        return _text(element)
    if len(elements) > 1:
        raise ProtocolError('%s holds %d elements, expected one document'
                            % (where, len(elements)))
    if _text(element).strip() or (elements[0].tail or '').strip():
        raise ProtocolError('%s mixes text and an element' % where)
    embedded = copy.deepcopy(elements[0])
    embedded.tail = None
    if namespace:
        _strip_namespace(embedded, namespace)
    return embedded


class _Decoder:

    def __init__(self, namespace):
        self.namespace = namespace

    def items(self, fields):
        return [self.item(child, '%s/Item' % fields.where)
                for child in fields.all('Item')]

    def item(self, element, where):
        fields = _Fields(element, where)
        data = fields.get('Data')
        return model.Item(
            target=_read_location(fields.get('Target'), where + '/Target'),
            source=_read_location(fields.get('Source'), where + '/Source'),
            meta=_read_meta(fields),
            data=(None if data is None
                  else _data(data, where + '/Data', self.namespace)),
            more_data=fields.has('MoreData'))

    def header(self, element):
        fields = _Fields(element, 'SyncHdr')
        ver_dtd = fields.text('VerDTD', required=True)
        ver_proto = fields.text('VerProto', required=True)
        session_id = fields.text('SessionID', required=True)
        msg_id = fields.int('MsgID', required=True)
        target = _read_location(fields.need('Target'), 'SyncHdr/Target')
        source = _read_location(fields.need('Source'), 'SyncHdr/Source')
        cred = None
        cred_element = fields.get('Cred')
        if cred_element is not None:
            cred_fields = _Fields(cred_element, 'SyncHdr/Cred')
            cred_meta = _read_meta(cred_fields) or model.Meta()
            cred = model.Cred(cred_fields.text('Data', required=True),
                              cred_meta.type or 'syncml:auth-basic',
                              cred_meta.format)
        return model.Header(
            session_id=session_id, msg_id=msg_id, target=target,
            source=source, cred=cred, meta=_read_meta(fields),
            resp_uri=fields.text('RespURI'), no_resp=fields.has('NoResp'),
            ver_dtd=ver_dtd, ver_proto=ver_proto)

    def command(self, name, element, where, inside_sync=False):
        where = '%s/%s' % (where, name)
        fields = _Fields(element, where)
        cmd_id = fields.int('CmdID', required=True)
        no_resp = fields.has('NoResp')
        if inside_sync and name not in ('Add', 'Replace', 'Delete'):
            return model.UnknownCommand(name, cmd_id)
        if name == 'Status':
            chal = None
            chal_element = fields.get('Chal')
            if chal_element is not None:
                chal_meta = _read_meta(_Fields(chal_element, where + '/Chal')) \
                    or model.Meta()
                chal = model.Chal(chal_meta.type or 'syncml:auth-basic',
                                  chal_meta.format, chal_meta.next_nonce)
            return model.Status(
                cmd_id=cmd_id, msg_ref=fields.int('MsgRef', required=True),
                cmd_ref=fields.int('CmdRef', required=True),
                cmd=fields.text('Cmd', required=True),
                code=fields.int('Data', required=True),
                target_refs=[_text(e).strip()
                             for e in fields.all('TargetRef')],
                source_refs=[_text(e).strip()
                             for e in fields.all('SourceRef')],
                chal=chal, items=self.items(fields))
        if name == 'Alert':
            return model.Alert(cmd_id=cmd_id,
                               code=fields.int('Data', required=True),
                               items=self.items(fields), no_resp=no_resp)
        if name == 'Sync':
            commands = [self.command(sub_name, sub, where, inside_sync=True)
                        for sub_name, sub in _children(element)
                        if sub_name not in _SYNC_FIELDS]
            return model.Sync(
                cmd_id=cmd_id,
                target=_read_location(fields.get('Target'), where + '/Target'),
                source=_read_location(fields.get('Source'), where + '/Source'),
                commands=commands,
                number_of_changes=fields.int('NumberOfChanges'),
                meta=_read_meta(fields), no_resp=no_resp)
        if name == 'Map':
            map_items = []
            for child in fields.all('MapItem'):
                map_fields = _Fields(child, where + '/MapItem')
                map_items.append(model.MapItem(
                    _read_location(map_fields.need('Target'),
                              where + '/MapItem/Target').uri,
                    _read_location(map_fields.need('Source'),
                              where + '/MapItem/Source').uri))
            return model.Map(
                cmd_id=cmd_id,
                target=_read_location(fields.need('Target'), where + '/Target'),
                source=_read_location(fields.need('Source'), where + '/Source'),
                map_items=map_items, meta=_read_meta(fields))
        if name == 'Results':
            return model.Results(
                cmd_id=cmd_id, msg_ref=fields.int('MsgRef'),
                cmd_ref=fields.int('CmdRef', required=True),
                meta=_read_meta(fields),
                target_refs=[_text(e).strip()
                             for e in fields.all('TargetRef')],
                source_refs=[_text(e).strip()
                             for e in fields.all('SourceRef')],
                items=self.items(fields))
        cls = _PLAIN_COMMANDS.get(name)
        if cls is None:
            return model.UnknownCommand(name, cmd_id)
        return cls(cmd_id=cmd_id, meta=_read_meta(fields),
                   items=self.items(fields), no_resp=no_resp)


_PLAIN_COMMANDS = {'Add': model.Add, 'Replace': model.Replace,
                   'Delete': model.Delete, 'Put': model.Put,
                   'Get': model.Get}
# children of Sync that are not commands
_SYNC_FIELDS = frozenset(['CmdID', 'NoResp', 'Cred', 'Target', 'Source',
                          'Meta', 'NumberOfChanges'])


def _root_version(root):
    qname = etree.QName(root)
    if qname.localname != 'SyncML':
        raise ProtocolError('not a SyncML message: the root element is <%s>'
                            % qname.localname)
    namespace = qname.namespace
    if namespace is None:
        return None, None
    if namespace in _VERSION_OF_NS:
        return namespace, _VERSION_OF_NS[namespace]
    if namespace in _OLD_NAMESPACES:
        raise ProtocolError('SyncML namespace %s is not supported (use 1.1 '
                            'or 1.2)' % namespace,
                            StatusCode.PROTOCOL_VERSION_NOT_SUPPORTED)
    raise ProtocolError('unknown namespace %r on the SyncML root'
                        % namespace)


def _check_version(header, ns_version):
    if header.ver_dtd not in NAMESPACES:
        raise ProtocolError('VerDTD %r is not supported (1.1 or 1.2)'
                            % header.ver_dtd[:20],
                            StatusCode.DTD_VERSION_NOT_SUPPORTED)
    if header.ver_proto != 'SyncML/%s' % header.ver_dtd:
        raise ProtocolError('VerProto %r is not supported with VerDTD %s'
                            % (header.ver_proto[:20], header.ver_dtd),
                            StatusCode.PROTOCOL_VERSION_NOT_SUPPORTED)
    if ns_version is not None and ns_version != header.ver_dtd:
        raise ProtocolError('VerDTD %s does not match the namespace of '
                            'SyncML %s' % (header.ver_dtd, ns_version))


def decode(data, max_size=DEFAULT_MAX_SIZE):
    """Decode a SyncML message (bytes) into a ``model.Message``.

    Raises ProtocolError (status 413 when larger than ``max_size``, 505 or
    513 for an unsupported version, 400 otherwise) with a readable reason.
    """
    if not isinstance(data, (bytes, bytearray, str)):
        raise ProtocolError('a SyncML message must be bytes, not %s'
                            % type(data).__name__)
    if len(data) > max_size:
        raise ProtocolError('message of %d bytes exceeds the limit of %d'
                            % (len(data), max_size),
                            StatusCode.REQUEST_TOO_LARGE)
    try:
        root = xmlsafe.parse(data, max_size=max_size)
    except xmlsafe.UnsafeXMLError as exc:
        raise ProtocolError('unreadable SyncML message: %s' % exc) from None
    namespace, ns_version = _root_version(root)
    fields = _Fields(root, 'SyncML')
    decoder = _Decoder(namespace)
    header = decoder.header(fields.need('SyncHdr'))
    _check_version(header, ns_version)
    body = fields.need('SyncBody')
    commands = []
    final = False
    for name, element in _children(body):
        if name == 'Final':
            final = True
        else:
            commands.append(decoder.command(name, element, 'SyncBody'))
    return model.Message(header, commands, final)
