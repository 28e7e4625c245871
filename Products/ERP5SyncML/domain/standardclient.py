"""Our subscription against a standard SyncML server (SyncEvolution's
``syncevo-http-server``, a phone vendor's server...).

A subscription whose content type is a vCard type sends its Persons as
vCards and applies the server's vCards (``conduit.vcard``); the server
names items by its own ids, which ``maps.IdMap`` ties to our GIDs, and
our Statuses for the server's changes carry a Map of the items it added
(server id -> our GID), so it addresses them by our id afterwards.
"""
import dataclasses

from ..conduit.vcard import ClientVCardApplier
from ..conduit.vcard import ClientVCardCommandFactory
from ..mapping import vcard
from ..syncml import devinf
from ..syncml import model as m
from ..syncml.codes import StatusCode
from .engine import ClientEngine
from .maps import id_map


def is_standard(sub):
    """True when ``sub`` syncs vCards with a standard SyncML server."""
    return getattr(sub, 'content_type', 'asXML') in vcard.CONTENT_TYPES


def client_engine(sub):
    """The engine that runs subscription ``sub``'s side of a session."""
    return StandardClient(sub) if is_standard(sub) else ClientEngine(sub)


class StandardClient(ClientEngine):
    """A subscription's side of a session with a standard SyncML server."""

    def __init__(self, sub):
        ClientEngine.__init__(self, sub)
        self.ids = id_map(sub)
        self.data_type = sub.content_type

    def make_applier(self, session):
        return ClientVCardApplier(self.domain, session, self.role, self.ids,
                                  self.data_type)

    def command_factory(self, session):
        return ClientVCardCommandFactory(self.domain, session, self.role,
                                         self.ids, self.data_type)

    def _apply_message(self, msg, session):
        """A standard server waits for the Status of its SyncHdr, Put and
        Get (answered with our DevInf) before it ends the session."""
        session.addStatus(self.status(msg, None, StatusCode.OK))
        for command in msg.commands:
            if isinstance(command, m.Put):
                session.addStatus(self.status(msg, command, StatusCode.OK))
            elif isinstance(command, m.Get):
                session.addStatus(self.status(msg, command, StatusCode.OK))
                # our Results go with the next message (an XML element
                # cannot wait in the stored session)
                session.devinf_get = (msg.header.msg_id, command.cmd_id,
                                      msg.header.ver_dtd)
        ClientEngine._apply_message(self, msg, session)

    def _send(self, msg, session, commands, final):
        get = getattr(session, 'devinf_get', None)
        if get is not None:
            session.devinf_get = None
            commands = list(commands) + [self._devinf_results(*get)]
        return ClientEngine._send(self, msg, session, commands, final)

    def _devinf_results(self, msg_id, cmd_id, version):
        sub = self.domain
        version = version if version in m.SYNCML_VERSIONS else '1.2'
        uri = m.devinf_uri(version)
        ours = dataclasses.replace(devinf.server_devinf(
            sub.subscription_url, [sub.destination_path], version=version,
            types=tuple((t, v) for t, v in devinf.VCARD_TYPES
                        if t == self.data_type) or devinf.VCARD_TYPES),
            dev_typ='workstation')
        return m.Results(
            cmd_ref=cmd_id, msg_ref=msg_id,
            meta=m.Meta(type=m.DEVINF_TYPE), target_refs=[],
            source_refs=[uri], items=[m.Item(source=m.Location(uri=uri),
                                             data=devinf.to_element(ours))])

    def _apply_item(self, applier, session, name, gid, item, careful):
        applier.target_hint = item.target.uri if item.target else None
        return ClientEngine._apply_item(self, applier, session, name, gid,
                                        item, careful)

    def _send_status(self, msg, session):
        maps = getattr(session, 'new_maps', None)
        if maps:
            sub = self.domain
            session.new_maps = []
            session.addStatus(m.Map(
                target=m.Location(uri=sub.getTargetDatabase()),
                source=m.Location(uri=sub.destination_path),
                map_items=[m.MapItem(target=luid, source=gid)
                           for luid, gid in maps]))
        return ClientEngine._send_status(self, msg, session)
