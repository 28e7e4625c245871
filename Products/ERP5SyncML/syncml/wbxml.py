"""SyncML WBXML codec: WBXML bytes <-> the lxml tree the XML codec reads.

WBXML 1.0-1.3 with the SyncML (page 0), MetInf (page 1) and DevInf code
pages of SyncML 1.1 and 1.2.  ``to_tree`` gives the tree that parsing the
equivalent XML would give (SyncML namespace on the root, MetInf elements in
``syncml:metinf``, a DevInf document carried as OPAQUE inside ``<Data>``
becomes a ``syncml:devinf`` element); ``from_tree`` writes it back.

``decode(data, content_type)`` and ``encode(message, content_type)`` pick
XML or WBXML by HTTP content type and go through ``codec``, so both
encodings give the same ``model.Message``.  A WBXML message is never
larger than the XML one of the same message, so sizes measured with the
XML codec (``codec.encoded_size``) are safe bounds for WBXML too.

Hostile input gets ``ProtocolError``: size, depth and output limits,
string table and OPAQUE bounds, unknown tokens and code pages,
attributes, processing instructions and extension tokens.
"""
import copy
import re

from lxml import etree

from . import codec
from . import model
from . import xmlsafe
from .errors import ProtocolError

XML_TYPE = 'application/vnd.syncml+xml'
WBXML_TYPE = 'application/vnd.syncml+wbxml'
DEVINF_XML_TYPE = 'application/vnd.syncml-devinf+xml'
DEVINF_WBXML_TYPE = 'application/vnd.syncml-devinf+wbxml'
DEVINF_NS = 'syncml:devinf'
METINF_NS = model.METINF_NS

DEFAULT_MAX_SIZE = xmlsafe.DEFAULT_MAX_SIZE
DEFAULT_MAX_DEPTH = 40
#: Decoded text may be this many times the input (string table reuse).
OUTPUT_FACTOR = 4

_XML_MEDIA_TYPES = frozenset([XML_TYPE, 'application/xml', 'text/xml'])
_WBXML_MEDIA_TYPES = frozenset([WBXML_TYPE])

# ------------------------------------------------------------ code pages

# Tag tokens start at 0x05; None marks an unassigned token.
_SYNCML_TAGS = (
    'Add Alert Archive Atomic Chal Cmd CmdID CmdRef Copy Cred Data Delete '
    'Exec Final Get Item Lang LocName LocURI Map MapItem Meta MsgID MsgRef '
    'NoResp NoResults Put Replace RespURI Results Search Sequence SessionID '
    'SftDel Source SourceRef Status Sync SyncBody SyncHdr SyncML Target '
    'TargetRef - VerDTD VerProto NumberOfChanges MoreData Field Filter '
    'Record FilterType SourceParent TargetParent Move Correlator').split()
_METINF_TAGS = (
    'Anchor EMI Format FreeID FreeMem Last Mark MaxMsgSize Mem MetInf Next '
    'NextNonce SharedMem Size Type Version MaxObjSize FieldLevel').split()
_DEVINF_TAGS_12 = (
    'CTCap CTType DataStore DataType DevID DevInf DevTyp DisplayName DSMem '
    'Ext FwV HwV Man MaxGUIDSize MaxID MaxMem Mod OEM ParamName PropName Rx '
    'Rx-Pref SharedMem MaxSize SourceRef SwV SyncCap SyncType Tx Tx-Pref '
    'ValEnum VerCT VerDTD XNam XVal UTC SupportNumberOfChanges '
    'SupportLargeObjs Property PropParam MaxOccur NoTruncate - Filter-Rx '
    'FilterCap FilterKeyword FieldLevel SupportHierarchicalSync').split()
# DevInf 1.0/1.1 call token 0x1C Size (1.2 renamed it MaxSize).
_DEVINF_TAGS_11 = tuple('Size' if name == 'MaxSize' else name
                        for name in _DEVINF_TAGS_12)


def _page(names):
    return {0x05 + index: name for index, name in enumerate(names)
            if name != '-'}


class _DocType:
    """One WBXML document type: public id, root, code pages."""

    def __init__(self, name, version, public_id, pages):
        self.name = name
        self.version = version
        self.public_id = public_id
        self.fpi = '-//SYNCML//DTD %s %s//EN' % (name, version)
        # pages: {page: (namespace, {token: name})}
        self.pages = pages
        self.tokens = {}
        for page, (namespace, names) in pages.items():
            for token, tag in names.items():
                self.tokens.setdefault((namespace, tag), (page, token))


def _syncml(version, public_id):
    return _DocType('SyncML', version, public_id, {
        0: ('SYNCML:SYNCML%s' % version, _page(_SYNCML_TAGS)),
        1: (METINF_NS, _page(_METINF_TAGS))})


def _devinf(version, public_id, names):
    return _DocType('DevInf', version, public_id,
                    {0: (DEVINF_NS, _page(names))})


_DOCTYPES = (
    _syncml('1.0', 0x0FD1), _syncml('1.1', 0x0FD3), _syncml('1.2', 0x1201),
    _devinf('1.0', 0x0FD2, _DEVINF_TAGS_11),
    _devinf('1.1', 0x0FD4, _DEVINF_TAGS_11),
    _devinf('1.2', 0x1203, _DEVINF_TAGS_12),
)
_BY_PUBLIC_ID = {doctype.public_id: doctype for doctype in _DOCTYPES}
_BY_FPI = {doctype.fpi.upper(): doctype for doctype in _DOCTYPES}
_BY_ROOT = {(doctype.pages[0][0], doctype.name): doctype
            for doctype in _DOCTYPES if doctype.name == 'SyncML'}

# ------------------------------------------------------------ global tokens

SWITCH_PAGE, END, ENTITY, STR_I, LITERAL = 0x00, 0x01, 0x02, 0x03, 0x04
PI, STR_T, OPAQUE = 0x43, 0x83, 0xC3
_EXTENSIONS = frozenset([0x40, 0x41, 0x42, 0x80, 0x81, 0x82,
                         0xC0, 0xC1, 0xC2])
_LITERALS = frozenset([0x04, 0x44, 0x84, 0xC4])

# IANA MIBenum -> codec; only charsets where NUL is a single 0 byte.
_CHARSETS = {0: 'utf-8', 3: 'ascii', 4: 'latin-1', 106: 'utf-8'}
_UTF8 = 106

_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9._-]{0,63}\Z')


# ---------------------------------------------------------------- decoding

class _Reader:
    """Bounded reads over the WBXML bytes."""

    def __init__(self, data, start=0, end=None):
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end

    def at_end(self):
        return self.pos >= self.end

    def byte(self):
        if self.pos >= self.end:
            raise ProtocolError('truncated WBXML at byte %d' % self.pos)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint(self):
        """An mb_u_int32: at most 5 bytes, at most 2**32 - 1."""
        value = 0
        for _count in range(5):
            octet = self.byte()
            value = (value << 7) | (octet & 0x7F)
            if not octet & 0x80:
                if value > 0xFFFFFFFF:
                    break
                return value
        raise ProtocolError('bad multi-byte integer at byte %d' % self.pos)

    def take(self, length):
        if length > self.end - self.pos:
            raise ProtocolError('a length of %d bytes at byte %d runs past '
                                'the end of the WBXML data'
                                % (length, self.pos))
        start = self.pos
        self.pos += length
        return self.data[start:self.pos]

    def cstring(self):
        stop = self.data.find(b'\x00', self.pos, self.end)
        if stop < 0:
            raise ProtocolError('unterminated inline string at byte %d'
                                % self.pos)
        value = self.data[self.pos:stop]
        self.pos = stop + 1
        return value


class _Budget:
    """Characters of decoded text left (string table reuse amplifies)."""

    def __init__(self, limit):
        self.left = limit

    def spend(self, count):
        self.left -= count
        if self.left < 0:
            raise ProtocolError('decoded WBXML exceeds the output limit', 413)


class _Document:
    """Header fields of one WBXML document."""

    def __init__(self, reader, doctype, charset, table):
        self.reader = reader
        self.doctype = doctype
        self.charset = charset
        self.table = table

    def text(self, raw, where):
        try:
            return bytes(raw).decode(self.charset)
        except UnicodeDecodeError:
            raise ProtocolError('%s is not valid %s' % (where, self.charset)
                                ) from None

    def table_string(self, offset):
        table = self.table
        if offset >= len(table):
            raise ProtocolError('string table reference %d is outside the '
                                'table of %d bytes' % (offset, len(table)))
        stop = table.find(b'\x00', offset)
        if stop < 0:
            raise ProtocolError('string table entry at %d is not '
                                'terminated' % offset)
        return table[offset:stop]


def _header(reader, expected=None):
    version = reader.byte()
    if version > 0x03:
        raise ProtocolError('WBXML version 0x%02x is not supported (1.0 to '
                            '1.3)' % version)
    public_id = reader.uint()
    fpi_index = reader.uint() if public_id == 0 else None
    charset = reader.uint() if version > 0 else _UTF8
    if charset not in _CHARSETS:
        raise ProtocolError('WBXML charset %d is not supported (UTF-8, '
                            'US-ASCII, ISO-8859-1)' % charset, 415)
    length = reader.uint()
    table = bytes(reader.take(length))
    document = _Document(reader, None, _CHARSETS[charset], table)
    if fpi_index is not None:
        fpi = document.text(document.table_string(fpi_index), 'public id')
        doctype = _BY_FPI.get(fpi.strip().upper())
        if doctype is None:
            raise ProtocolError('unknown WBXML document type %r' % fpi[:80])
    else:
        doctype = _BY_PUBLIC_ID.get(public_id)
        if doctype is None and public_id == 1 and expected is not None:
            doctype = expected  # "unknown public id": trust the context
        if doctype is None:
            raise ProtocolError('unknown WBXML public id 0x%x' % public_id)
    if expected is not None and doctype.name != expected.name:
        raise ProtocolError('a %s document where %s was expected'
                            % (doctype.name, expected.name))
    document.doctype = doctype
    return document


class _Decoder:
    """Build the lxml tree of one document (and its embedded DevInf)."""

    def __init__(self, max_depth, budget):
        self.max_depth = max_depth
        self.budget = budget

    def document(self, reader, expected=None, nested=False):
        document = _header(reader, expected)
        pages = document.doctype.pages
        page = 0
        stack = []   # open elements
        root = None
        while True:
            if root is not None and not stack:
                break
            token = reader.byte()
            if token == SWITCH_PAGE:
                page = reader.byte()
                if page not in pages:
                    raise ProtocolError('code page %d does not exist in %s'
                                        % (page, document.doctype.fpi))
                continue
            if token == END:
                if not stack:
                    raise ProtocolError('END without an open element')
                stack.pop()
                continue
            if stack and token in (STR_I, STR_T, ENTITY, OPAQUE):
                self.content(document, stack[-1], token)
                continue
            if token in (STR_I, STR_T, ENTITY, OPAQUE):
                raise ProtocolError('content before the root element')
            if token == PI:
                raise ProtocolError('processing instructions are not '
                                    'allowed in SyncML')
            if token in _EXTENSIONS:
                raise ProtocolError('WBXML extension token 0x%02x is not '
                                    'used in SyncML' % token)
            if token & 0x80:
                raise ProtocolError('attributes are not used in SyncML '
                                    '(token 0x%02x)' % token)
            element = self.start(document, page, token, stack, root)
            if root is None:
                root = element
            if token & 0x40:
                if len(stack) >= self.max_depth:
                    raise ProtocolError('WBXML nesting deeper than %d'
                                        % self.max_depth)
                stack.append(element)
        if not reader.at_end() and not nested:
            raise ProtocolError('%d bytes after the end of the WBXML '
                                'document' % (reader.end - reader.pos))
        return root, document.doctype

    def start(self, document, page, token, stack, root):
        namespace, names = document.doctype.pages[page]
        if token in _LITERALS:
            name = document.text(document.table_string(
                document.reader.uint()), 'tag name')
            if not _NAME.match(name):
                raise ProtocolError('bad literal tag name %r' % name[:40])
        else:
            name = names.get(token & 0x3F)
            if name is None:
                raise ProtocolError('unknown tag token 0x%02x on code page '
                                    '%d of %s' % (token & 0x3F, page,
                                                  document.doctype.fpi))
        if root is None and name != document.doctype.name:
            raise ProtocolError('the root element is <%s>, expected <%s>'
                                % (name, document.doctype.name))
        self.budget.spend(2 * len(name) + 5)
        tag = '{%s}%s' % (namespace, name)
        if not stack:
            return etree.Element(tag, nsmap={None: namespace})
        parent = stack[-1]
        if etree.QName(parent).namespace == namespace:
            element = etree.SubElement(parent, tag)
        else:
            element = etree.SubElement(parent, tag, nsmap={None: namespace})
        if (parent.text or '').strip() and \
                etree.QName(parent).localname != 'Data':
            # only <Data> may hold text and an element
            raise ProtocolError('<%s> mixes text and elements'
                                % etree.QName(parent).localname)
        return element

    def content(self, document, element, token):
        reader = document.reader
        if token == STR_I:
            text = document.text(reader.cstring(), 'inline string')
        elif token == STR_T:
            text = document.text(document.table_string(reader.uint()),
                                 'string table entry')
        elif token == ENTITY:
            code = reader.uint()
            if code > 0x10FFFF:
                raise ProtocolError('character entity %d out of range'
                                    % code)
            text = chr(code)
        else:
            length = reader.uint()
            start = reader.pos
            raw = reader.take(length)
            embedded = self.embedded(document, element, start, start + length)
            if embedded is not None:
                return
            text = document.text(raw, 'OPAQUE data')
        self.budget.spend(len(text))
        self.append_text(element, text)

    def embedded(self, document, element, start, end):
        """Decode a DevInf document carried as OPAQUE in <Data>."""
        if document.doctype.name != 'SyncML' or \
                etree.QName(element).localname != 'Data' or \
                end - start < 4:
            return None
        data = document.reader.data
        if data[start] > 0x03 or len(element) or (element.text or '').strip():
            return None
        probe = _Reader(data, start, end)
        try:
            probe.byte()
            public_id = probe.uint()
        except ProtocolError:
            return None
        doctype = _BY_PUBLIC_ID.get(public_id)
        if public_id != 0 and (doctype is None or doctype.name != 'DevInf'):
            return None
        if public_id == 0 and b'DevInf' not in bytes(data[start:end][:200]):
            return None
        inner, _doctype = self.document(
            _Reader(data, start, end), expected=_BY_PUBLIC_ID[0x1203])
        element.text = None
        element.append(inner)
        return inner

    def append_text(self, element, text):
        try:
            if len(element):
                last = element[-1]
                last.tail = (last.tail or '') + text
                if text.strip() and \
                        etree.QName(element).localname != 'Data':
                    raise ProtocolError(
                        '<%s> mixes text and elements'
                        % etree.QName(element).localname)
            else:
                element.text = (element.text or '') + text
        except ValueError as exc:
            if isinstance(exc, ProtocolError):
                raise
            raise ProtocolError('text XML cannot carry: %s' % exc) from None


def _fix_devinf_types(root, old, new):
    for element in root.iter('{%s}Type' % METINF_NS):
        if (element.text or '').strip() == old:
            element.text = new


def to_tree(data, max_size=DEFAULT_MAX_SIZE, max_depth=DEFAULT_MAX_DEPTH):
    """Decode WBXML ``data`` into the lxml tree of the same XML.

    Raises ProtocolError (413 when too large, 415 for an unsupported
    charset, 400 otherwise) with a readable reason.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError('WBXML must be bytes, not %s'
                            % type(data).__name__)
    data = bytes(data)
    if len(data) > max_size:
        raise ProtocolError('WBXML message of %d bytes exceeds the limit of '
                            '%d' % (len(data), max_size), 413)
    if not data:
        raise ProtocolError('empty WBXML message')
    decoder = _Decoder(max_depth, _Budget(max(len(data), 1024)
                                          * OUTPUT_FACTOR))
    root, doctype = decoder.document(_Reader(data))
    if doctype.name == 'SyncML':
        _fix_devinf_types(root, DEVINF_WBXML_TYPE, DEVINF_XML_TYPE)
    return root


def to_xml(data, max_size=DEFAULT_MAX_SIZE):
    """Decode WBXML ``data`` to UTF-8 XML bytes (with a declaration)."""
    return etree.tostring(to_tree(data, max_size), encoding='UTF-8',
                          xml_declaration=True)


# ---------------------------------------------------------------- encoding

def _uint(value):
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


class _Encoder:

    def __init__(self, doctype):
        self.doctype = doctype
        self.table = bytearray()
        self.offsets = {}
        self.out = bytearray()
        self.page = 0

    def literal(self, name):
        if name not in self.offsets:
            self.offsets[name] = len(self.table)
            self.table += name.encode('utf-8') + b'\x00'
        return self.offsets[name]

    def document(self, root):
        self.element(root)
        header = bytearray([0x02])  # WBXML 1.2
        header += _uint(self.doctype.public_id)
        header += _uint(_UTF8)
        header += _uint(len(self.table)) + self.table
        return bytes(header + self.out)

    def text(self, value, opaque=False):
        raw = value.encode('utf-8')
        if opaque:
            self.out += bytes([OPAQUE]) + _uint(len(raw)) + raw
        else:
            self.out += bytes([STR_I]) + raw + b'\x00'

    def element(self, element):
        qname = etree.QName(element)
        local = qname.localname
        namespace = qname.namespace or self.doctype.pages[0][0]
        place = self.doctype.tokens.get((namespace, local))
        if place is None:
            # unknown tag: a literal on the page of its namespace
            page = next((number for number, (ns, _names)
                         in self.doctype.pages.items() if ns == namespace),
                        None)
            if page is None:
                raise ValueError('<%s> in namespace %r cannot be encoded '
                                 'in a %s document' % (local, namespace,
                                                       self.doctype.name))
            place = (page, LITERAL)
        page, token = place
        if page != self.page:
            self.out += bytes([SWITCH_PAGE, page])
            self.page = page
        if element.attrib:
            raise ValueError('<%s> has attributes; SyncML uses none' % local)
        children = [child for child in element if isinstance(child.tag, str)]
        text = _text_of(element)
        is_data = local == 'Data' and self.doctype.name == 'SyncML'
        has_content = bool(children) or text != '' or \
            (element.text is not None and is_data)
        self.out.append(token | (0x40 if has_content else 0))
        if token == LITERAL:
            self.out += _uint(self.literal(local))
        if not has_content:
            return
        if is_data and children:
            self.data_children(children)
        elif children:
            if text.strip():
                raise ValueError('<%s> mixes text and elements' % local)
            for child in children:
                self.element(child)
        else:
            self.text(text, opaque=is_data)
        self.out.append(END)

    def data_children(self, children):
        if len(children) != 1:
            raise ValueError('<Data> holds %d elements, expected one'
                             % len(children))
        child = children[0]
        qname = etree.QName(child)
        if qname.namespace == DEVINF_NS and qname.localname == 'DevInf':
            version = (child.findtext('{%s}VerDTD' % DEVINF_NS) or
                       '1.2').strip()
            doctype = next((d for d in _DOCTYPES if d.name == 'DevInf'
                            and d.version == version), _BY_PUBLIC_ID[0x1203])
            raw = _Encoder(doctype).document(child)
        elif any(qname.namespace == namespace
                 for namespace, _names in self.doctype.pages.values()):
            # e.g. the MetInf Anchor a Status echoes: inline tokens
            self.element(child)
            return
        else:
            # Other embedded XML travels as its text.
            raw = etree.tostring(child, encoding='UTF-8', with_tail=False)
        self.out += bytes([OPAQUE]) + _uint(len(raw)) + raw


def _text_of(element):
    # text and the tails of children (comments included), like codec._text
    return (element.text or '') + ''.join(child.tail or ''
                                          for child in element)


def from_tree(root):
    """Encode the lxml tree of a SyncML message to WBXML bytes.

    Raises ValueError for trees WBXML cannot carry (an unknown root or
    namespace, attributes).
    """
    qname = etree.QName(root)
    doctype = _BY_ROOT.get((qname.namespace, qname.localname))
    if doctype is None and qname.localname == 'SyncML':
        version = (root.findtext('{*}SyncHdr/{*}VerDTD') or '').strip()
        doctype = _BY_ROOT.get(('SYNCML:SYNCML%s' % version, 'SyncML'))
    if doctype is None:
        raise ValueError('<%s xmlns=%r> is not a SyncML 1.1/1.2 message'
                         % (qname.localname, qname.namespace))
    root = copy.deepcopy(root)
    _fix_devinf_types(root, DEVINF_XML_TYPE, DEVINF_WBXML_TYPE)
    return _Encoder(doctype).document(root)


def from_xml(data, max_size=DEFAULT_MAX_SIZE):
    """Encode SyncML XML bytes to WBXML (parsed through the hardened
    parser; ProtocolError for unreadable XML)."""
    try:
        root = xmlsafe.parse(data, max_size=max_size)
    except xmlsafe.UnsafeXMLError as exc:
        raise ProtocolError('unreadable SyncML message: %s' % exc) from None
    return from_tree(root)


# ------------------------------------------------------- by content type

def media_type(content_type):
    """'xml' or 'wbxml' for an HTTP Content-Type (parameters ignored).

    Raises ProtocolError 415 for anything else.
    """
    value = (content_type or '').split(';', 1)[0].strip().lower()
    if value in _XML_MEDIA_TYPES:
        return 'xml'
    if value in _WBXML_MEDIA_TYPES:
        return 'wbxml'
    raise ProtocolError('unsupported content type %r (use %s or %s)'
                        % ((content_type or '')[:80], XML_TYPE, WBXML_TYPE),
                        415)


def content_type_for(kind):
    """The Content-Type to answer with for 'xml' or 'wbxml'."""
    return {'xml': XML_TYPE, 'wbxml': WBXML_TYPE}[kind]


def decode(data, content_type=XML_TYPE, max_size=DEFAULT_MAX_SIZE):
    """Decode a SyncML message in the encoding ``content_type`` names
    into a ``model.Message`` (the same as ``codec.decode`` gives for XML).
    """
    if media_type(content_type) == 'xml':
        return codec.decode(data, max_size=max_size)
    xml = to_xml(data, max_size=max_size)
    return codec.decode(xml, max_size=max(max_size, len(xml)))


def encode(message, content_type=XML_TYPE, version=None):
    """Encode ``message`` as XML or WBXML according to ``content_type``."""
    xml = codec.encode(message, version=version)
    if media_type(content_type) == 'xml':
        return xml
    return from_tree(xmlsafe.parse(xml, max_size=max(len(xml), 1)))


def reencode(xml_message, content_type):
    """An XML message (bytes, e.g. from ``codec.encode``) in the
    encoding ``content_type`` names."""
    if media_type(content_type) == 'xml':
        return xml_message
    return from_tree(xmlsafe.parse(xml_message,
                                   max_size=max(len(xml_message), 1)))
