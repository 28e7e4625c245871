"""Who holds a claim, and whether that holder is still alive.

A claim carries the identity of the process that made it,
``host:pid:boot`` (``boot`` is random per process start, so a restarted
process that gets the same pid is still told apart). The process keeps a
*lease* in the store while it runs messages: a small persistent record,
renewed from a background thread on its own connection, so the renewal
never conflicts with the transaction running the message.

A claim is dead when its holder is an older boot of this very process,
when its holder ran on this host and its pid is gone (kill -9, crash), or
when the holder's lease expired (a process on another host stopped
renewing). ``distribute`` releases dead claims.
"""
import logging
import os
import secrets
import socket
import threading
import time

import transaction
from persistent import Persistent

logger = logging.getLogger('Products.CMFActivity')

HOST = socket.gethostname()
BOOT = secrets.token_hex(6)


def owner_id():
    """The identity of this process, written on every claim it makes."""
    # getpid() at call time: a forked worker is another process.
    return '%s:%d:%s' % (HOST, os.getpid(), BOOT)


def parse_owner(owner):
    """(host, pid, boot) of an owner id; pid is None when unreadable."""
    host, _, rest = owner.rpartition(':')
    host, _, pid = host.rpartition(':')
    try:
        return host, int(pid), rest
    except ValueError:
        return host, None, rest


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    # A killed child that its parent has not reaped yet is still listed.
    try:
        with open('/proc/%d/stat' % pid, 'rb') as f:
            state = f.read().rsplit(b')', 1)[1].split()[0]
        return state not in (b'Z', b'X')
    except (OSError, IndexError):
        return True


def gone_reason(owner, host=None, pid=None, boot=None, alive=pid_alive):
    """Why the claim holder ``owner`` is certainly gone, or None.

    Only a process of this host can be checked directly; others are
    judged by their lease.
    """
    host = HOST if host is None else host
    pid = os.getpid() if pid is None else pid
    boot = BOOT if boot is None else boot
    o_host, o_pid, o_boot = parse_owner(owner)
    if o_host != host or o_pid is None:
        return None
    if o_boot == boot and o_pid == pid:
        return None
    if o_pid == pid:
        return 'an earlier run of this process'
    if not alive(o_pid):
        return 'process %d is gone' % o_pid
    return None


class Lease(Persistent):
    """Until when a process promises to be alive (its own clock)."""

    def __init__(self, until):
        self.since = time.time()
        self.until = until

    def __repr__(self):
        return '<Lease until %s>' % time.ctime(self.until)


def renew(store, owner, duration):
    """Extend ``owner``'s lease in ``store`` (caller commits)."""
    leases = store.leases(create=True)
    until = time.time() + duration
    lease = leases.get(owner)
    if lease is None:
        leases[owner] = Lease(until)
    else:
        lease.until = until


class LeaseKeeper:
    """Keeps this process's lease on one store fresh while messages run.

    ``hold()`` renews at once (in its own transaction) and starts the
    renewal thread; the thread stops when the last holder calls
    ``release()``.
    """

    _lock = threading.Lock()
    _keepers = {}

    @classmethod
    def for_tool(cls, tool):
        store = tool._getStore()
        jar = store._p_jar
        if jar is None or store._p_oid is None:
            return None
        db = jar.db()
        key = (id(db), store._p_oid)
        with cls._lock:
            keeper = cls._keepers.get(key)
            if keeper is None:
                keeper = cls._keepers[key] = cls(db, store._p_oid)
        return keeper

    def __init__(self, db, oid):
        self.db = db
        self.oid = oid
        self.holders = 0
        self.duration = 60.0
        self.renewed = 0.0
        self._wake = threading.Event()
        self._thread = None

    def hold(self, duration):
        """Make sure the lease lasts ``duration`` s more; keep it renewed."""
        with self._lock:
            self.holders += 1
            self.duration = max(float(duration), 1.0)
            if self._thread is None or not self._thread.is_alive():
                self._wake.clear()
                self._thread = threading.Thread(
                    target=self._run, name='CMFActivity lease', daemon=True)
                self._thread.start()   # its first renewal is a period away
        # Renewed lately enough: a claim made now is safe for a while.
        if time.time() - self.renewed > self.duration / 4:
            self.renew_now()

    def release(self):
        with self._lock:
            self.holders = max(self.holders - 1, 0)
            if not self.holders:
                self._wake.set()

    def renew_now(self, tries=3):
        """Renew in a transaction of our own; True when it committed."""
        from ZODB.POSException import ConflictError
        tm = transaction.TransactionManager()
        for attempt in range(tries):
            conn = self.db.open(transaction_manager=tm)
            try:
                tm.begin()
                renew(conn.get(self.oid), owner_id(), self.duration)
                tm.get().note('CMFActivity: lease of %s' % owner_id())
                tm.commit()
                self.renewed = time.time()
                return True
            except ConflictError:
                tm.abort()
                time.sleep(0.05 * (attempt + 1))
            except Exception:
                tm.abort()
                logger.warning('cannot renew the lease of %s', owner_id(),
                               exc_info=True)
                return False
            finally:
                conn.close()
        return False

    def _run(self):
        while True:
            self._wake.wait(self.duration / 4)
            with self._lock:
                if not self.holders:
                    self._thread = None
                    return
                self._wake.clear()
            self.renew_now()
