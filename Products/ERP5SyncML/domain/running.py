"""One session at a time per subscription: start, refuse a second one,
abort, and replace one that made no progress for too long.

A session is *stale* when nothing was sent or received for the
subscription's ``stale_after`` seconds; only then may a new Sync replace
it. Replacing or aborting a session also removes the messages it still
had in the activity queue: a retry waiting for its date would otherwise
hold back the next session's messages (they share a serialization tag).
"""
import logging
import time

from . import delivery

logger = logging.getLogger('Products.ERP5SyncML')

DEFAULT_STALE_AFTER = 600

#: what the Sync button says for each outcome of ``start``
MESSAGES = {
    'started': 'Synchronization of %s started: the activity queue runs it',
    'replaced': 'Synchronization of %s started: the previous session made no '
                'progress and was stopped',
    'running': 'A synchronization of %s is running: nothing started (Abort '
               'ends it)',
}


def touch(session, now=None):
    """Note progress of ``session`` (a message went or came)."""
    if session is not None:
        session.last_activity = time.time() if now is None else now


def last_activity(session):
    return getattr(session, 'last_activity', None) or session.started


def stale_after(domain):
    return int(getattr(domain, 'stale_after', None) or DEFAULT_STALE_AFTER)


def is_running(session):
    return session is not None and not session.finished


def is_stale(domain, session, now=None):
    now = time.time() if now is None else now
    return now - last_activity(session) > stale_after(domain)


def queued_messages(sub):
    """Activity messages of ``sub``'s sessions that have not started."""
    tool = getattr(sub.getTool(), 'portal_activities', None)
    if tool is None:
        return tool, []
    tag = delivery.tag_of(sub)
    return tool, [m for m in tool.getMessageList(tag=tag) if not m.processing]


def drop_queued(sub):
    """Remove the queued messages of ``sub`` (stored, or queued in this
    transaction); returns how many."""
    from Products.CMFActivity.buffer import get_buffer
    tool, messages = queued_messages(sub)
    for message in messages:
        tool.manageCancel(message.uid)
    count = len(messages)
    buf = get_buffer(tool, create=False) if tool is not None else None
    if buf is not None:
        tag = delivery.tag_of(sub)
        kept = [m for m in buf.messages if m.tag != tag]
        count += len(buf.messages) - len(kept)
        buf.messages = kept
    return count


def retry_now(sub):
    """Make the waiting retries of ``sub`` due now; returns how many."""
    _tool, messages = queued_messages(sub)
    now = time.time()
    count = 0
    for message in messages:
        if message.not_before > now and not message.failed:
            message.not_before = now
            count += 1
    return count


def start(sub, now=None):
    """Start a session of ``sub`` unless one is running.

    Returns ('started', first message), ('running', None) when a session
    runs and is not stale (a retry it waits for is made due now), or
    ('replaced', first message) when a stale session was replaced.
    """
    from .dispatch import start_session
    session = sub.session
    outcome = 'started'
    if is_running(session):
        if not is_stale(sub, session, now):
            if retry_now(sub):
                logger.info('subscription %s: Sync pressed while a retry '
                            'waits: retrying now', sub.getId())
            else:
                logger.info('subscription %s: Sync pressed while session %s '
                            'runs: nothing started', sub.getId(),
                            session.session_id)
            return 'running', None
        from .engine import ClientEngine
        ClientEngine(sub).fail(session, 'no progress for %d s: replaced by a '
                               'new session' % stale_after(sub))
        outcome = 'replaced'
    drop_queued(sub)
    return outcome, start_session(sub)


def abort(sub, user_name):
    """End ``sub``'s running session as failed, "aborted by <user>"; its
    queued messages are dropped. Returns False when none was running."""
    from .engine import ClientEngine
    session = sub.session
    if not is_running(session):
        return False
    ClientEngine(sub).fail(session, 'aborted by %s' % user_name)
    dropped = drop_queued(sub)
    logger.info('subscription %s: session %s aborted by %s, %d queued '
                'message(s) dropped', sub.getId(), session.session_id,
                user_name, dropped)
    return True
