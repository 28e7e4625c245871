"""The SyncML message model: plain, comparable data classes.

A ``Message`` is a ``Header`` plus a list of commands (``Status``,
``Alert``, ``Sync`` with ``Add``/``Replace``/``Delete``, ``Map``, ``Put``,
``Get``, ``Results``).  ``Item.data`` is ``None``, a ``str`` (a vCard,
base64, any text, kept exactly) or an lxml element (an embedded XML
document such as an ``<object>`` or ``<xupdate:modifications>``).  Two items
whose data are elements are equal when their canonical XML is equal.

``cmd_id`` may be left ``None``: ``codec.encode`` numbers commands.
"""
from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional, Union

from lxml import etree

from . import auth

SYNCML_VERSIONS = ('1.1', '1.2')
DEVINF_TYPE = 'application/vnd.syncml-devinf+xml'
METINF_NS = 'syncml:metinf'


def devinf_uri(version='1.2'):
    """The LocURI of the device information for a SyncML version."""
    return './devinf%s' % version.replace('.', '')


@dataclass
class Location:
    """A Target or Source: a URI and an optional display name."""
    uri: str
    name: Optional[str] = None


@dataclass
class Meta:
    """Meta information (the ``syncml:metinf`` elements we use)."""
    type: Optional[str] = None
    format: Optional[str] = None
    size: Optional[int] = None
    anchor_last: Optional[str] = None
    anchor_next: Optional[str] = None
    version: Optional[str] = None
    next_nonce: Optional[str] = None
    max_msg_size: Optional[int] = None
    max_obj_size: Optional[int] = None


@dataclass
class Cred:
    """Credentials: ``data`` encoded as ``format`` for the auth ``type``."""
    data: str
    type: str = auth.BASIC
    format: Optional[str] = 'b64'

    @classmethod
    def basic(cls, user, password):
        return cls(auth.basic_credentials(user, password), auth.BASIC, 'b64')

    @classmethod
    def md5(cls, user, password, nonce=b''):
        return cls(auth.md5_credentials(user, password, nonce), auth.MD5,
                   'b64')


@dataclass
class Chal:
    """A challenge: the auth type the server wants, and its next nonce."""
    type: str = auth.BASIC
    format: Optional[str] = 'b64'
    next_nonce: Optional[str] = None


@dataclass
class Header:
    session_id: str
    msg_id: int
    target: Location
    source: Location
    cred: Optional[Cred] = None
    meta: Optional[Meta] = None
    resp_uri: Optional[str] = None
    no_resp: bool = False
    ver_dtd: str = '1.2'
    ver_proto: str = 'SyncML/1.2'


def _data_key(data):
    if isinstance(data, etree._Element):
        return ('xml', etree.tostring(data, method='c14n', exclusive=True,
                                      with_comments=False))
    return ('text', data)


@dataclass(eq=False)
class Item:
    target: Optional[Location] = None
    source: Optional[Location] = None
    meta: Optional[Meta] = None
    data: Union[None, str, etree._Element] = None
    more_data: bool = False

    def __eq__(self, other):
        if not isinstance(other, Item):
            return NotImplemented
        return ((self.target, self.source, self.meta, self.more_data)
                == (other.target, other.source, other.meta, other.more_data)
                and _data_key(self.data) == _data_key(other.data))

    __hash__ = None


def anchor_item(next_anchor):
    """The Item of a Status that echoes the Next anchor of an Alert."""
    anchor = etree.Element('{%s}Anchor' % METINF_NS, nsmap={None: METINF_NS})
    etree.SubElement(anchor, '{%s}Next' % METINF_NS).text = next_anchor
    return Item(data=anchor)


@dataclass
class Status:
    """The answer to one command (``cmd_ref`` 0 and ``cmd`` 'SyncHdr' for
    the header)."""
    msg_ref: int
    cmd_ref: int
    cmd: str
    code: int
    target_refs: List[str] = field(default_factory=list)
    source_refs: List[str] = field(default_factory=list)
    chal: Optional[Chal] = None
    items: List[Item] = field(default_factory=list)
    cmd_id: Optional[int] = None


@dataclass
class Alert:
    code: int
    items: List[Item] = field(default_factory=list)
    no_resp: bool = False
    cmd_id: Optional[int] = None


@dataclass
class Add:
    items: List[Item] = field(default_factory=list)
    meta: Optional[Meta] = None
    no_resp: bool = False
    cmd_id: Optional[int] = None


@dataclass
class Replace:
    items: List[Item] = field(default_factory=list)
    meta: Optional[Meta] = None
    no_resp: bool = False
    cmd_id: Optional[int] = None


@dataclass
class Delete:
    items: List[Item] = field(default_factory=list)
    meta: Optional[Meta] = None
    no_resp: bool = False
    cmd_id: Optional[int] = None


@dataclass
class Sync:
    """A datastore's changes: ``commands`` holds Add/Replace/Delete."""
    target: Optional[Location] = None
    source: Optional[Location] = None
    commands: list = field(default_factory=list)
    number_of_changes: Optional[int] = None
    meta: Optional[Meta] = None
    no_resp: bool = False
    cmd_id: Optional[int] = None


class MapItem(NamedTuple):
    """One id mapping: ``target`` is the server id, ``source`` the
    client id."""
    target: str
    source: str


@dataclass
class Map:
    target: Location
    source: Location
    map_items: List[MapItem] = field(default_factory=list)
    meta: Optional[Meta] = None
    cmd_id: Optional[int] = None


@dataclass
class Put:
    """Device information (or other data) pushed to the peer."""
    items: List[Item] = field(default_factory=list)
    meta: Optional[Meta] = None
    no_resp: bool = False
    cmd_id: Optional[int] = None


@dataclass
class Get:
    items: List[Item] = field(default_factory=list)
    meta: Optional[Meta] = None
    no_resp: bool = False
    cmd_id: Optional[int] = None


@dataclass
class Results:
    """The answer to a Get."""
    cmd_ref: int
    msg_ref: Optional[int] = None
    items: List[Item] = field(default_factory=list)
    meta: Optional[Meta] = None
    target_refs: List[str] = field(default_factory=list)
    source_refs: List[str] = field(default_factory=list)
    cmd_id: Optional[int] = None


@dataclass
class UnknownCommand:
    """A command the core does not model (Atomic, Copy, Exec, ...).

    Decoding keeps its name and CmdID so the peer can get a 406 Status.
    """
    name: str
    cmd_id: Optional[int] = None


#: Commands allowed inside a Sync.
SYNC_COMMANDS = (Add, Replace, Delete)
COMMAND_NAMES = {Status: 'Status', Alert: 'Alert', Sync: 'Sync', Add: 'Add',
                 Replace: 'Replace', Delete: 'Delete', Map: 'Map',
                 Put: 'Put', Get: 'Get', Results: 'Results'}


def command_name(command):
    """The element name of a command ('Alert', 'Sync', ...)."""
    if isinstance(command, UnknownCommand):
        return command.name
    return COMMAND_NAMES[type(command)]


@dataclass
class Message:
    header: Header
    commands: list = field(default_factory=list)
    final: bool = True

    @property
    def version(self):
        return self.header.ver_dtd

    def statuses(self):
        return [c for c in self.commands if isinstance(c, Status)]

    def header_status(self):
        """The Status answering the peer's SyncHdr, or None."""
        for command in self.commands:
            if isinstance(command, Status) and command.cmd_ref == 0:
                return command
        return None


def error_reply(message, code, msg_id=1):
    """The answer to a ``message`` refused as a whole: one Status ``code``
    on its SyncHdr (e.g. ``ProtocolError.status``), Final."""
    header = message.header
    reply_header = Header(
        session_id=header.session_id, msg_id=msg_id,
        target=Location(uri=header.source.uri),
        source=Location(uri=header.target.uri),
        ver_dtd=header.ver_dtd, ver_proto=header.ver_proto)
    status = Status(msg_ref=header.msg_id, cmd_ref=0, cmd='SyncHdr',
                    code=int(code), target_refs=[header.target.uri],
                    source_refs=[header.source.uri])
    return Message(header=reply_header, commands=[status], final=True)
