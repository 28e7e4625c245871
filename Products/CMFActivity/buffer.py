"""Messages queued during a transaction, written into the store at commit.

An ``ActivityBuffer`` joins the transaction as a data manager (so savepoint
rollbacks and aborts drop what was queued after them) and registers a
before-commit hook that adds its messages to the tool's store: they are
committed in the same transaction as the caller's other changes, and nothing
is written if the transaction aborts.
"""
import transaction
from Acquisition import aq_base

from .message import DICT

_TXN_KEY = object()   # key of our per-transaction data


def transaction_manager_for(tool):
    jar = getattr(aq_base(tool), '_p_jar', None)
    return getattr(jar, 'transaction_manager', None) or transaction.manager


def get_buffer(tool, create=True):
    """The buffer of ``tool`` in the current transaction."""
    txn = transaction_manager_for(tool).get()
    try:
        buffers = txn.data(_TXN_KEY)
    except KeyError:
        if not create:
            return None
        buffers = {}
        txn.set_data(_TXN_KEY, buffers)
    key = (id(getattr(aq_base(tool), '_p_jar', None)), tool.getPhysicalPath())
    buf = buffers.get(key)
    if buf is None and create:
        buf = buffers[key] = ActivityBuffer(tool, txn)
    return buf


class ActivityBuffer:
    """Queued messages of one tool in one transaction."""

    def __init__(self, tool, txn):
        self.tool = tool
        self.transaction_manager = transaction_manager_for(tool)
        self._txn = txn
        self.messages = []
        self._hooked = False
        txn.join(self)
        self._hook()

    def _hook(self):
        if not self._hooked:
            self._txn.addBeforeCommitHook(self.flush)
            self._hooked = True

    def add(self, message):
        """Queue ``message``; a Dict message replaces a buffered twin."""
        if message.activity == DICT:
            for i, other in enumerate(self.messages):
                if (other.activity == DICT and other.path == message.path
                        and other.method_id == message.method_id):
                    message.priority = min(message.priority, other.priority)
                    del self.messages[i]
                    break
        self.messages.append(message)
        # Someone may queue from a before-commit hook that runs after ours.
        self._hook()

    def flush(self):
        """Before-commit hook: write the buffered messages."""
        self._hooked = False
        messages, self.messages = self.messages, []
        if messages:
            self.tool._flushMessages(messages)

    # -- data manager protocol: nothing to write ourselves --------------

    def abort(self, txn):
        self.messages = []

    def tpc_begin(self, txn):
        pass

    def commit(self, txn):
        pass

    def tpc_vote(self, txn):
        pass

    def tpc_finish(self, txn):
        self.messages = []

    def tpc_abort(self, txn):
        self.messages = []

    def sortKey(self):
        return 'Products.CMFActivity.buffer:%d' % id(self)

    def savepoint(self):
        return _BufferSavepoint(self)


class _BufferSavepoint:

    def __init__(self, buf):
        self.buf = buf
        self.messages = list(buf.messages)

    def rollback(self):
        self.buf.messages = list(self.messages)
