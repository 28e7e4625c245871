"""One step of a SyncML session: take the peer's message, give ours.

The client (a subscription) and the server (a publication's subscriber)
run the same packages of SyncML data synchronization::

  client                                  server
  pkg1  Alert (mode, anchors) [+Cred]  ->
                                       <- pkg2  Status + Alert (agreed mode)
  pkg3  Sync: client changes          ->        (several messages: the
                                       <-        peer answers Alert 222)
                                       <- pkg4  Status + Sync: server changes
  pkg5  Status for pkg4               ->
                                       <- pkg6  Status, session finished

What happens when is not decided here: the table of ``syncml.session``
says whether the peer's message is allowed now and what this side does
then (the *reaction*: a tuple of steps); the engines only carry out the
steps (``_steps`` maps each one to a method).  A message the table does
not allow raises ``ProtocolError`` before anything is changed;
``error_reply`` turns it into the SyncML answer for the peer.

Every step runs inside the caller's transaction: what a message changes
and the answer it produces are committed together, or not at all.
"""
import contextlib
import logging
import threading
import time

import transaction

from ..syncml import auth
from ..syncml import codec
from ..syncml import codes
from ..syncml import model as m
from ..syncml import session as protocol
from ..syncml.codes import AlertCode
from ..syncml.codes import StatusCode
from ..syncml.errors import ProtocolError
from . import outgoing
from .incoming import Applier
from .incoming import ReplayCarefully
from .incoming import status_received
from .journal import forget_recorded
from .session import SyncSession

logger = logging.getLogger('Products.ERP5SyncML')

DATA_COMMANDS = ('Add', 'Replace', 'Delete')
#: set by ``applying()``
_mode = threading.local()
#: room kept in a message for header, statuses and the Sync wrapper
MESSAGE_OVERHEAD = 4096
MIN_CHUNK = 1024
#: the peer's header statuses that mean it did not accept who we are
AUTH_REFUSED = (StatusCode.INVALID_CREDENTIALS, StatusCode.FORBIDDEN,
                StatusCode.MISSING_CREDENTIALS)


def new_anchor():
    now = time.time()
    return time.strftime('%Y%m%dT%H%M%S', time.gmtime(now)) + \
        '.%06dZ' % int((now % 1) * 1e6)


@contextlib.contextmanager
def applying(how):
    """How messages received in this block are applied. 'optimistic':
    without a savepoint (a savepoint makes the commit store everything
    twice); a failing command raises ``ReplayCarefully`` out of
    ``receive``, and the caller aborts the transaction and receives the
    message again under 'careful': command by command, each in its own
    savepoint."""
    _mode.how = how
    try:
        yield
    finally:
        _mode.how = None


command_name = m.command_name


class SyncFailed(Exception):
    """The session cannot go on; the reason is shown to the user."""


class Side:
    """Message handling shared by client and server."""

    role = None  # codes.CLIENT or codes.SERVER

    def __init__(self, domain):
        self.domain = domain

    # -- the protocol's state table (syncml.session) --------------------------

    def _steps(self):
        """Reaction step of the table -> the method that carries it out."""
        return {
            protocol.APPLY: self._apply_message,
            protocol.PEER_DATA_DONE: self._peer_data_done,
            protocol.SEND_DATA: self._send_changes,
            protocol.ASK_NEXT: self._ask_next,
            protocol.FAIL: self._peer_failed,
        }

    def accept(self, session, msg):
        """Check the peer's ``msg`` against the table: return (table,
        reaction). Nothing is stored; ``session.advance(table)`` does."""
        table = session.table()
        try:
            reaction = table.receive_message(msg)
        except ProtocolError as exc:
            self.refused(msg, exc)
            raise
        return table, reaction

    def react(self, msg, session, reaction):
        """Carry out the table's reaction; return our message or None."""
        self._note_peer_limits(msg, session)
        steps = self._steps()
        reply = None
        for step in reaction:
            reply = steps[step](msg, session)
        return reply

    @staticmethod
    def _note_peer_limits(msg, session):
        meta = msg.header.meta
        size = meta.max_msg_size if meta is not None else None
        if size and int(size) != session.peer_max_msg_size:
            session.peer_max_msg_size = int(size)

    def message_budget(self, session, reserved=0):
        """Bytes our data commands may take in the next message: the
        smaller of our maximum and the peer's MaxMsgSize, less the
        header, the wrapper and ``reserved`` (the statuses going along)."""
        limit = self.domain.max_message_size
        peer = session.peer_max_msg_size
        if peer:
            limit = min(limit, int(peer))
        return max(limit - MESSAGE_OVERHEAD - reserved, MIN_CHUNK)

    def refused(self, msg, exc):
        logger.warning('%s %s: message %s of session %s refused with status '
                       '%s: %s', self.domain.meta_type, self.domain.getId(),
                       msg.header.msg_id, msg.header.session_id,
                       exc.status, exc)

    def error_reply(self, msg, error):
        """The SyncML answer (bytes) to ``msg`` refused with ``error`` (a
        ProtocolError, or a status code): a Status on its SyncHdr.
        Changes nothing."""
        code = getattr(error, 'status', error)
        session = self.domain.session
        msg_id = 1
        if session is not None and session.session_id == str(msg.header.session_id):
            msg_id = session.next_msg_id
        return codec.encode(m.error_reply(msg, code, msg_id))

    def track_send(self, session, message):
        """Check our message against the package table; record the step."""
        table = session.table()
        table.send_message(message)
        session.advance(table)

    # -- building messages ---------------------------------------------------

    def header(self, session, target_uri, source_uri, cred=None):
        return m.Header(
            session_id=session.session_id, msg_id=session.newMsgId(),
            target=m.Location(uri=target_uri), source=m.Location(uri=source_uri),
            cred=cred,
            meta=m.Meta(max_msg_size=self.domain.max_message_size))

    def encode(self, session, header, commands, final):
        cmd_id = 0
        for command in commands:
            cmd_id += 1
            command.cmd_id = cmd_id
            for sub in getattr(command, 'commands', None) or ():
                cmd_id += 1
                sub.cmd_id = cmd_id
        message = m.Message(header=header, commands=commands, final=final)
        self.track_send(session, message)
        data = self.serialize(message)
        session.count('messages_sent')
        session.count('bytes_sent', len(data))
        return data

    def serialize(self, message):
        """The bytes of ``message`` (XML; other encodings override)."""
        return codec.encode(message)

    @staticmethod
    def status(msg, command, code, gid=None, items=None):
        name = command_name(command) if command is not None else 'SyncHdr'
        return m.Status(
            cmd_id=None, msg_ref=msg.header.msg_id,
            cmd_ref=command.cmd_id if command is not None else 0,
            cmd=name,
            target_refs=[gid] if gid else [],
            source_refs=[gid] if gid else [],
            code=int(code), items=items or [])

    def _ask_next(self, msg, session):
        """The peer's package goes on: our statuses and Alert 222."""
        return self._send(msg, session, session.takeStatuses() +
                          [m.Alert(cmd_id=None, code=AlertCode.NEXT_MESSAGE)],
                          False)

    # -- reading messages ----------------------------------------------------

    def _apply_message(self, msg, session):
        """The peer's statuses, alerts and data."""
        self.read_statuses(msg, session)
        for command in msg.commands:
            if isinstance(command, m.Alert):
                session.addStatus(self.status(msg, command, StatusCode.OK))
                self.alert_received(command, session)
        self.apply_data(msg, session)

    def alert_received(self, alert, session):
        """An Alert of the peer inside a session (the client reads a mode)."""

    def read_statuses(self, msg, session):
        """Apply the peer's statuses about our previous commands."""
        for command in msg.commands:
            if not isinstance(command, m.Status):
                continue
            code = int(command.code)
            if command.cmd in DATA_COMMANDS:
                refs = list(command.source_refs or []) + list(command.target_refs or [])
                if refs:
                    status_received(self.domain, command.cmd, refs[0], code, self.role)
            elif code >= StatusCode.COMMAND_FAILED and \
                    command.cmd not in ('Alert', 'SyncHdr'):
                session.count('errors')

    def _peer_failed(self, msg, session):
        """The peer ended the session with an error status on our header."""
        code = int(msg.header_status().code)
        if code in AUTH_REFUSED:
            reason = 'authentication refused by the peer (status %d)' % code
        else:
            reason = 'the peer ended the session: %s' % codes.describe(code)
            said = [i.data for i in msg.header_status().items or () if i.data]
            if said and isinstance(said[0], str):
                reason += ' (%s)' % said[0][:200]
        self.fail(session, reason)
        return None

    def apply_data(self, msg, session):
        """Apply the peer's Sync commands; queue a status for each.

        The message is applied in one go; if a command fails, everything it
        did is rolled back and the message is applied again command by
        command, so the failing one changes nothing and the others apply.
        """
        before = dict(session.counts)
        if not any(isinstance(c, m.Sync) and c.commands for c in msg.commands):
            # statuses only (the master's usual lot during a first sync):
            # nothing can fail, and a savepoint would put every later load
            # and the commit through a temporary copy
            self._apply_data(msg, session, careful=False)
            return
        how = getattr(_mode, 'how', None)
        if how is not None:
            # optimistic: a failing command raises ReplayCarefully to the
            # caller, who aborts the transaction and receives it again
            self._apply_data(msg, session, careful=(how == 'careful'))
            self._log_applied(msg, session, before)
            return
        savepoint = transaction.savepoint()
        try:
            self._apply_data(msg, session, careful=False)
        except ReplayCarefully:
            savepoint.rollback()
            forget_recorded()
            logger.info('a command of message %s failed: applying it again '
                        'command by command', msg.header.msg_id)
            self._apply_data(msg, session, careful=True)
        self._log_applied(msg, session, before)

    def _log_applied(self, msg, session, before):
        """One INFO line per message (each object's line is at DEBUG)."""
        keys = ('received_add', 'received_replace', 'received_delete', 'errors')
        done = [session.counts.get(k, 0) - before.get(k, 0) for k in keys]
        if any(done):
            logger.info('%s %s: message %s applied: %d added, %d replaced, '
                        '%d deleted, %d refused', self.domain.meta_type,
                        self.domain.getId(), msg.header.msg_id, *done)

    def _apply_data(self, msg, session, careful):
        applier = None
        for command in msg.commands:
            if not isinstance(command, m.Sync):
                continue
            session.addStatus(self.status(msg, command, StatusCode.OK))
            for sub in command.commands or ():
                name = command_name(sub)
                if name not in DATA_COMMANDS:
                    session.addStatus(self.status(
                        msg, sub, StatusCode.OPTIONAL_FEATURE_NOT_SUPPORTED))
                    continue
                if applier is None:
                    applier = self.make_applier(session)
                for item in sub.items or ():
                    gid = (item.source and item.source.uri) or \
                        (item.target and item.target.uri)
                    if not gid:
                        session.addStatus(self.status(
                            msg, sub, StatusCode.INCOMPLETE_COMMAND))
                        continue
                    code = self._apply_item(applier, session, name, gid, item,
                                            careful)
                    session.addStatus(self.status(msg, sub, code, gid))

    def make_applier(self, session):
        """What applies the peer's data commands (an ``Applier``)."""
        return Applier(self.domain, session, self.role)

    def command_factory(self, session):
        """What builds our data commands (a ``CommandFactory``)."""
        return outgoing.CommandFactory(self.domain, session, self.role)

    def _apply_item(self, applier, session, name, gid, item, careful):
        data = item.data
        local_name = item.source.name if item.source is not None else None
        chunk = session.incoming_chunk
        if chunk is not None and chunk[0] == gid:
            text = data if isinstance(data, str) else ''
            data = chunk[2] + text
            name = chunk[1]
            local_name = chunk[3]
            session.incoming_chunk = None
        if item.more_data:
            if not isinstance(data, str):
                data = _to_text(data)
            session.incoming_chunk = (gid, name, data, local_name)
            return StatusCode.CHUNK_ACCEPTED
        return applier.apply(name, gid, data, local_name, careful=careful)

    def _peer_data_done(self, msg, session):
        """The peer's changes are all in: in a refresh from the peer, what
        it did not send goes away here."""
        if protocol.refresh_from_peer(session.mode, self.role):
            self._remove_unreceived(session)

    # -- our data ------------------------------------------------------------

    def data_commands(self, session, reserved=0):
        """Next batch of our Add/Replace/Delete commands; sets data_done.
        ``reserved``: bytes the rest of the message takes."""
        if not codes.sends_data(session.mode, self.role):
            session.data_done = True
            return []
        if not session.planned:
            outgoing.make_plan(self.domain, session)
        budget = self.message_budget(session, reserved)
        if session.chunk is not None:
            return [self._next_chunk(session, budget)]
        factory = self.command_factory(session)
        outgoing.prefetch(self.domain, session, 2 * self.domain.max_objects)
        used = 0
        commands = []
        while len(commands) < self.domain.max_objects:
            if len(session.pending_ids):
                key = session.pending_ids.minKey()
                session.pending_ids.remove(key)
                built = factory.for_object_id(key)
            elif len(session.pending_deletes):
                key = session.pending_deletes.minKey()
                session.pending_deletes.remove(key)
                built = factory.delete(key)
            else:
                break
            if built is None:
                continue
            command, accept = built
            size = codec.encoded_size(command)
            if used + size > budget:
                if commands:
                    self._put_back(session, command, key)
                    break
                accept()
                return [self._start_chunk(session, command, budget)]
            accept()
            commands.append(command)
            used += size
        session.data_done = not (len(session.pending_ids) or
                                 len(session.pending_deletes) or session.chunk)
        return commands

    @staticmethod
    def _put_back(session, command, key):
        if isinstance(command, m.Delete):
            session.pending_deletes.add(key)
        else:
            session.pending_ids.add(key)

    def _start_chunk(self, session, command, budget):
        item = command.items[0]
        text = _to_text(item.data)
        session.chunk = (command_name(command), item.source.uri,
                         item.source.name, text)
        logger.info('object %s is larger than a message (%d bytes): sending it in parts',
                    item.source.uri, len(text.encode('utf-8')))
        return self._next_chunk(session, budget)

    def _next_chunk(self, session, budget=None):
        if budget is None:
            budget = self.message_budget(session)
        name, gid, local_name, text = session.chunk
        from ..syncml.chunking import split
        part = split(text, budget)[0]
        rest = text[len(part):]
        cls = m.Add if name == 'Add' else m.Replace
        item = m.Item(source=m.Location(uri=gid, name=local_name),
                      meta=m.Meta(type='text/xml'), data=part,
                      more_data=bool(rest))
        session.chunk = (name, gid, local_name, rest) if rest else None
        session.data_done = False
        return cls(cmd_id=None, items=[item])

    def sync_command(self, commands, target_db, source_db, session=None):
        """Our Sync; the first one of a session announces its
        NumberOfChanges when it carries all of them (the count is known
        exactly only then: unchanged objects are skipped as they are
        built)."""
        count = None
        if session is not None and not getattr(session, 'sync_sent', False):
            session.sync_sent = True
            if session.data_done and session.chunk is None:
                count = len(commands)
        return m.Sync(cmd_id=None, target=m.Location(uri=target_db),
                      source=m.Location(uri=source_db), commands=commands,
                      number_of_changes=count)

    def _remove_unreceived(self, session):
        """Refresh modes: what the peer did not send goes away here."""
        from .incoming import get_conduit
        from .journal import changes_from
        domain = self.domain
        folder = domain.getDestination()
        conduit = get_conduit(domain)
        with changes_from(domain.getOrigin()):
            for obj in list(domain.getObjectList()):
                gid = domain.getGidFromObject(obj)
                if gid not in session.received_gids:
                    logger.info('refresh: %s removed, the peer does not have it', gid)
                    conduit.deleteNode(folder, obj.getId())
                    domain.signatures.remove(gid)

    def finish(self, session):
        domain = self.domain
        domain.last_anchor = domain.next_anchor
        domain.journal_since = session.started
        session.end(session.table())
        counts = dict(session.counts)
        domain.setReport('finished', '', counts)
        logger.info('%s %s: session %s finished: %s', domain.meta_type,
                    domain.getId(), session.session_id,
                    ', '.join('%s=%s' % kv for kv in sorted(counts.items()) if kv[1]))

    def fail(self, session, reason):
        """End ``session`` as failed, for ``reason`` (shown to the user)."""
        table = session.table()
        table.abort()
        session.end(table)
        session.error = reason
        self.domain.setReport('failed', reason, session.counts)
        logger.error('%s %s: session %s failed: %s', self.domain.meta_type,
                     self.domain.getId(), session.session_id, reason)


def _encoded_size(commands):
    return sum(codec.encoded_size(command) for command in commands)


def _to_text(data):
    from . import xmldata
    if isinstance(data, str):
        return data
    if isinstance(data, bytes):
        return data.decode('utf-8')
    return xmldata.serialize(data).decode('utf-8')


def _clear_for_full_mode(domain, old_mode, new_mode):
    """A slow or refresh sync compares everything: forget what was agreed."""
    if codes.requires_slow(new_mode) and (
            old_mode is None or not codes.requires_slow(old_mode)):
        domain.signatures.clear()


# ---------------------------------------------------------------------------
# client

class ClientEngine(Side):
    """Runs a subscription's side of a session."""

    role = codes.CLIENT

    def _steps(self):
        steps = Side._steps(self)
        steps.update({
            protocol.AUTHENTICATE: self._authenticate,
            protocol.SEND_STATUS: self._send_status,
            protocol.FINISH: self._finish,
        })
        return steps

    def cred(self, session=None):
        """Our Cred, in every message as it is sent: basic, or md5 (once a
        master asked for it) with the nonce of the master's last answer."""
        sub = self.domain
        if not sub.login:
            return None
        if getattr(sub, 'syncml_auth_type', None) == auth.MD5:
            return m.Cred.md5(sub.login, sub.password or '',
                              getattr(sub, 'syncml_nonce', b''))
        return m.Cred.basic(sub.login, sub.password or '')

    def _remember_chal(self, chal):
        """The master's Chal: the auth type it wants, the next nonce."""
        sub = self.domain
        if chal.type in auth.AUTH_TYPES:
            sub.syncml_auth_type = chal.type
        if chal.next_nonce:
            try:
                sub.syncml_nonce = auth.decode_nonce(chal.next_nonce)
            except ProtocolError as exc:
                raise SyncFailed('bad challenge from the master: %s' % exc)

    def start(self):
        """Begin a session; return the first message (pkg1)."""
        sub = self.domain
        mode = AlertCode(int(sub.sync_mode))
        if mode == AlertCode.TWO_WAY and (sub.last_anchor is None
                                          or not len(sub.signatures)):
            mode = AlertCode.SLOW  # nothing agreed yet: compare everything
        session = SyncSession(sub.nextSessionId(), mode, codes.CLIENT)
        sub.session = session
        sub.next_anchor = new_anchor()
        _clear_for_full_mode(sub, None, mode)
        sub.setReport('running', 'waiting for the master', session.counts)
        logger.info('subscription %s: session %s starts, mode %s, to %s',
                    sub.getId(), session.session_id, int(mode), sub.publication_url)
        return self._send(None, session, [self._init_alert(session)],
                          final=True)

    def _init_alert(self, session):
        sub = self.domain
        return m.Alert(cmd_id=None, code=session.mode, items=[m.Item(
            target=m.Location(uri=sub.getTargetDatabase()),
            source=m.Location(uri=sub.destination_path),
            meta=m.Meta(anchor_last=sub.last_anchor, anchor_next=sub.next_anchor))])

    def _send(self, msg, session, commands, final):
        sub = self.domain
        # no Cred here: the message is stored (session, activity queue);
        # with_cred adds it when the message leaves
        header = self.header(session, sub.publication_url, sub.subscription_url)
        if sub.login and getattr(sub, 'syncml_auth_type', None) == auth.MD5:
            header.source.name = sub.login  # md5 names the user here
        data = self.encode(session, header, commands, final)
        session.last_sent = data
        return data

    def with_cred(self, data):
        """``data`` as it leaves: with our Cred, from the subscription's
        current login, password and nonce."""
        cred = self.cred()
        return data if cred is None else codec.add_cred(data, cred)

    def receive(self, msg, size=0):
        """Handle the master's message; return our next message or None.

        A message of another session, or one the protocol does not allow
        now, raises ProtocolError (its ``status`` says why) and changes
        nothing; ``error_reply`` makes the answer for it.
        """
        sub = self.domain
        session = sub.session
        if session is None or session.finished:
            logger.warning('subscription %s: message outside a session ignored',
                           sub.getId())
            return None
        if str(msg.header.session_id) != session.session_id:
            exc = ProtocolError('message for session %s, ours is %s'
                                % (msg.header.session_id, session.session_id),
                                StatusCode.NOT_FOUND)
            self.refused(msg, exc)
            raise exc
        last = session.last_received_msg_id
        if last is not None and int(msg.header.msg_id) <= int(last):
            logger.info('subscription %s: message %s received again, ignored',
                        sub.getId(), msg.header.msg_id)
            return None
        table, reaction = self.accept(session, msg)
        session.advance(table)
        session.last_received_msg_id = msg.header.msg_id
        session.count('messages_received')
        session.count('bytes_received', size)
        from .delivery import follow_resp_uri
        follow_resp_uri(sub, session, msg.header.resp_uri)
        try:
            header_status = msg.header_status()
            if header_status is not None and header_status.chal is not None:
                self._remember_chal(header_status.chal)
            return self.react(msg, session, reaction)
        except (SyncFailed, ProtocolError) as exc:
            self.fail(session, str(exc))
            return None

    def read_statuses(self, msg, session):
        """A refused Sync or Alert fails the session: nothing it carried
        was taken (a 'finished' report would hide that)."""
        Side.read_statuses(self, msg, session)
        for command in msg.commands:
            if isinstance(command, m.Status) and \
                    command.cmd in ('Sync', 'Alert') and \
                    int(command.code) >= StatusCode.BAD_REQUEST and \
                    int(command.code) != StatusCode.REFRESH_REQUIRED:
                raise SyncFailed('the master refused our %s: %s' % (
                    command.cmd, codes.describe(int(command.code))))

    def alert_received(self, alert, session):
        code = int(alert.code)
        if code in codes.CLIENT_MODES and code != session.mode:
            logger.info('subscription %s: master asks for mode %s',
                        self.domain.getId(), code)
            _clear_for_full_mode(self.domain, session.mode, code)
            session.mode = AlertCode(code)

    def _authenticate(self, msg, session):
        """Answer the master's challenge once: pkg1 again, with the Cred
        of the type it asked for (and its nonce)."""
        status = msg.header_status()
        if status.chal is None or not self.domain.login or \
                getattr(session, 'challenged', False):
            raise SyncFailed('authentication refused by the peer (status %d)'
                             % int(status.code))
        session.challenged = True
        # a master keeps no session for a refused message: its answer to
        # our new pkg1 numbers its messages from 1 again
        session.last_received_msg_id = None
        self._remember_chal(status.chal)
        logger.info('subscription %s: the master asks for %s credentials',
                    self.domain.getId(), status.chal.type)
        return self._send(msg, session, [self._init_alert(session)], True)

    def _send_changes(self, msg, session):
        sub = self.domain
        body = session.takeStatuses()
        commands = self.data_commands(session, _encoded_size(body))
        body.append(self.sync_command(commands, sub.getTargetDatabase(),
                                      sub.destination_path, session))
        sub.setReport('running', 'sending changes', session.counts)
        return self._send(msg, session, body, session.data_done)

    def _send_status(self, msg, session):
        self.domain.setReport('running', 'confirming the master\'s changes',
                              session.counts)
        return self._send(msg, session, session.takeStatuses(), True)

    def _finish(self, msg, session):
        self.finish(session)
        return None


# ---------------------------------------------------------------------------
# server

class ServerEngine(Side):
    """Runs the master's side of a session with one subscriber."""

    role = codes.SERVER
    #: () -> the Chal for our header Status, or None
    chal = None

    def _steps(self):
        steps = Side._steps(self)
        steps.update({
            protocol.ANSWER_INIT: self._answer_init,
            protocol.CLOSE: self._close,
        })
        return steps

    def receive(self, msg, alert=None, size=0):
        """Handle a client's message; return the reply (bytes, or None when
        the client ended the session with an error).

        ``alert`` is the sync Alert of a message that starts a session.  A
        message out of sequence, of an unknown session or that the
        protocol does not allow now raises ProtocolError (its ``status``
        says why) and changes nothing; ``error_reply`` makes the answer.
        """
        sub = self.domain
        session = sub.session
        if session is not None and session.session_id == str(msg.header.session_id) \
                and session.last_received_msg_id is not None:
            last = int(session.last_received_msg_id)
            if int(msg.header.msg_id) == last:
                logger.info('subscriber %s: message %s of session %s received again:'
                            ' same answer, nothing applied', sub.subscription_url,
                            msg.header.msg_id, session.session_id)
                return session.last_reply
            if int(msg.header.msg_id) < last:
                exc = ProtocolError('message %s of session %s was already processed'
                                    % (msg.header.msg_id, session.session_id),
                                    protocol.NOT_ALLOWED)
                self.refused(msg, exc)
                raise exc
        if alert is not None:
            if sub.isPastSession(msg.header.session_id) or (
                    session is not None and
                    session.session_id == str(msg.header.session_id)):
                # a replayed Alert must not start that session again
                exc = ProtocolError('session %s of %s is over'
                                    % (msg.header.session_id, sub.subscription_url),
                                    protocol.NOT_ALLOWED)
                self.refused(msg, exc)
                raise exc
            session = SyncSession(msg.header.session_id, int(alert.code),
                                  codes.SERVER)
            try:
                self._negotiate(alert)
            except ProtocolError as exc:
                self.refused(msg, exc)
                raise
        elif session is None or session.session_id != str(msg.header.session_id):
            exc = ProtocolError('no session %s for %s: start with an Alert'
                                % (msg.header.session_id, sub.subscription_url),
                                StatusCode.NOT_FOUND)
            self.refused(msg, exc)
            raise exc
        table, reaction = self.accept(session, msg)
        # accepted: from here on the message changes things
        if alert is not None:
            sub.replaceSession(session)
        session.advance(table)
        session.last_received_msg_id = msg.header.msg_id
        session.count('messages_received')
        session.count('bytes_received', size)
        self._alert = alert
        reply = self.react(msg, session, reaction)
        session.last_reply = reply
        return reply

    def _negotiate(self, alert):
        """(status, mode) answering the client's sync Alert."""
        item = alert.items[0] if alert.items else m.Item()
        meta = item.meta or m.Meta()
        return protocol.negotiate_mode(int(alert.code), meta.anchor_last,
                                       self.domain.last_anchor)

    def _answer_init(self, msg, session):
        sub = self.domain
        alert = self._alert
        item = alert.items[0] if alert.items else m.Item()
        meta = item.meta or m.Meta()
        alert_code, mode = self._negotiate(alert)
        if alert_code == StatusCode.REFRESH_REQUIRED:
            logger.info('subscriber %s: anchors differ (%s / %s): slow sync',
                        sub.subscription_url, meta.anchor_last, sub.last_anchor)
        session.mode = mode
        self._prepare_session(msg, session, item, meta, mode)
        sub.next_anchor = meta.anchor_next
        sub.setReport('running', 'session %s started' % session.session_id,
                      session.counts)
        logger.info('subscriber %s: session %s, mode %s', sub.subscription_url,
                    session.session_id, int(mode))
        header_code = StatusCode.AUTH_ACCEPTED if msg.header.cred else StatusCode.OK
        commands = [self._header_status(msg, header_code)]
        commands += self._init_extra_commands(msg)
        commands.append(m.Status(
            cmd_id=None, msg_ref=msg.header.msg_id, cmd_ref=alert.cmd_id,
            cmd='Alert', target_refs=[item.target.uri] if item.target else [],
            source_refs=[item.source.uri] if item.source else [],
            code=int(alert_code),
            items=[m.Item(data=None, meta=m.Meta(anchor_next=meta.anchor_next))]))
        commands.append(m.Alert(cmd_id=None, code=int(mode), items=[m.Item(
            target=item.source, source=item.target,
            meta=m.Meta(anchor_last=sub.last_anchor,
                        anchor_next=meta.anchor_next))]))
        return self._send(msg, session, commands, True)

    def _prepare_session(self, msg, session, item, meta, mode):
        """What the agreed ``mode`` changes before the session starts."""
        _clear_for_full_mode(self.domain, None, mode)

    def _init_extra_commands(self, msg):
        """Commands of pkg2 between the header's Status and the Alert's."""
        return []

    def _send(self, msg, session, commands, final):
        header = self.header(session, msg.header.source.uri, msg.header.target.uri)
        return self.encode(session, header, commands, final)

    def _header_status(self, msg, code):
        """Our Status for the client's SyncHdr, with the next md5 nonce
        when the client logged in with a SyncML account."""
        status = self.status(msg, None, code)
        status.chal = self.chal() if self.chal else None
        return status

    def _apply_message(self, msg, session):
        session.addStatus(self._header_status(msg, StatusCode.OK))
        Side._apply_message(self, msg, session)

    def _send_changes(self, msg, session):
        sub = self.domain
        body = session.takeStatuses()
        commands = self.data_commands(session, _encoded_size(body))
        body.append(self.sync_command(commands, msg.header.source.uri,
                                      sub.aq_parent.getId(), session))
        return self._send(msg, session, body, session.data_done)

    def _close(self, msg, session):
        reply = self._send(msg, session, session.takeStatuses(), True)
        self.finish(session)
        return reply
