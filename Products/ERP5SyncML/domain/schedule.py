"""Scheduled synchronizations, run by the activity queue (no cron).

A subscription may sync every N minutes, and optionally shortly after a
local change of its folder. Each planned run is one activity with an
``at_date``; the subscription remembers the time of the run it expects
(``schedule_next``), so a run that was replaced by an earlier one (a local
change) does nothing, and many changes in a row make one sync (debounce).
"""
import logging
import time

from zExceptions import BadRequest

logger = logging.getLogger('Products.ERP5SyncML')

#: seconds between a local change and the sync it triggers
AFTER_CHANGE_DELAY = 60
MAX_INTERVAL = 7 * 24 * 60  # minutes


def interval(sub):
    return getattr(sub, 'schedule_interval', 0) or 0


def after_change(sub):
    return bool(getattr(sub, 'schedule_after_change', False))


def next_sync(sub):
    """Epoch seconds of the next planned sync of ``sub``, or None."""
    return getattr(sub, 'schedule_next', None)


def describe(sub):
    """The schedule in words, for the ZMI."""
    parts = []
    if interval(sub):
        parts.append('every %d minute%s' % (interval(sub), 's' if interval(sub) > 1 else ''))
    if after_change(sub):
        parts.append('%d s after a local change' % AFTER_CHANGE_DELAY)
    return ', '.join(parts) or 'only when Sync is pressed'


def configure(sub, minutes, on_change, now=None):
    """Set the schedule of ``sub``: every ``minutes`` (0: no periodic sync),
    and after local changes when ``on_change``. Bad input: BadRequest and
    nothing changes."""
    try:
        minutes = int(minutes or 0)
    except (TypeError, ValueError):
        raise BadRequest('the interval must be a whole number of minutes') from None
    if not 0 <= minutes <= MAX_INTERVAL:
        raise BadRequest('the interval must be between 0 (off) and %d minutes'
                         % MAX_INTERVAL)
    now = time.time() if now is None else now
    sub.schedule_interval = minutes
    sub.schedule_after_change = bool(on_change)
    if minutes:
        plan(sub, now + minutes * 60)
    else:
        sub.schedule_next = None  # a planned run finds itself replaced
    logger.info('subscription %s: schedule %s', sub.getId(), describe(sub))


def plan(sub, at):
    """Queue the sync of ``sub`` at ``at``; it replaces the planned one."""
    at = float(at)
    sub.schedule_next = at
    tag = 'erp5syncml-schedule:%s' % sub.getId()
    sub.getTool().activate(activity='SQLQueue', at_date=at, tag=tag) \
        .runScheduledSync(sub.getId(), at)


def run(tool, sub_id, planned_at, now=None):
    """The activity: start ``sub_id``'s sync if this run is still the
    planned one, then plan the next periodic one. Returns True if a
    session was started."""
    from . import running
    sub = tool.getSubscription(sub_id)
    if sub is None or next_sync(sub) != planned_at:
        return False  # deleted, or replaced by another planned run
    now = time.time() if now is None else now
    sub.schedule_next = None
    # as the Sync button: nothing starts while a session runs, a stale one
    # is replaced
    outcome, _data = running.start(sub, now=now)
    started = outcome != 'running'
    logger.info('subscription %s: scheduled sync %s', sub_id,
                'skipped, a session runs' if not started else outcome)
    if interval(sub):
        plan(sub, now + interval(sub) * 60)
    return started


def local_change(tool, path, now=None):
    """A local edit of the object at ``path``: plan the sync of every
    subscription of that folder that syncs after changes, unless one is
    planned soon enough already (many edits, one sync)."""
    now = time.time() if now is None else now
    for sub in tool.getSubscriptionList():
        if not after_change(sub):
            continue
        try:
            prefix = ('',) + sub.getDestinationPathTuple()
        except ValueError:
            continue
        if path[:len(prefix)] != prefix:
            continue
        at = now + AFTER_CHANGE_DELAY
        planned = next_sync(sub)
        if planned is not None and planned <= at:
            continue
        plan(sub, at)
