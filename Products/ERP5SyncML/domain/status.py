"""Where every publication and subscription of a site stands now: the data
of the Overview tab and of its auto-refresh (JSON)."""
import time

from ..syncml import session as protocol
from . import reports
from . import schedule

#: (role, protocol state) -> what is happening, in plain words
_PHASES = {
    ('client', protocol.INITIAL): 'starting',
    ('client', protocol.INIT_SENT): 'asking the master to start',
    ('client', protocol.CHALLENGED): 'logging in to the master',
    ('client', protocol.CLIENT_MODS): 'sending our changes to the master',
    ('client', protocol.CLIENT_MODS_MORE): 'sending our changes to the master',
    ('client', protocol.SERVER_MODS): "receiving the master's changes",
    ('client', protocol.SERVER_MODS_MORE): "receiving the master's changes",
    ('client', protocol.SERVER_MODS_DONE): "confirming the master's changes",
    ('client', protocol.STATUS_MORE): "confirming the master's changes",
    ('client', protocol.STATUS_SENT): "confirming the master's changes",
    ('server', protocol.INITIAL): 'starting',
    ('server', protocol.INIT_SENT): 'answering the client',
    ('server', protocol.CHALLENGED): 'asking the client to log in',
    ('server', protocol.CLIENT_MODS): "receiving the client's changes",
    ('server', protocol.CLIENT_MODS_MORE): "receiving the client's changes",
    ('server', protocol.SERVER_MODS): 'sending our changes to the client',
    ('server', protocol.SERVER_MODS_MORE): 'sending our changes to the client',
    ('server', protocol.SERVER_MODS_DONE): 'waiting for the client to confirm',
    ('server', protocol.STATUS_MORE): 'waiting for the client to confirm',
    ('server', protocol.STATUS_SENT): 'waiting for the client to confirm',
}

MOVED = ('sent_add', 'sent_replace', 'sent_delete',
         'received_add', 'received_replace', 'received_delete')


def phase(session, role):
    """What a running session is doing, in plain words ('' when over)."""
    if session is None or session.finished:
        return ''
    return _PHASES.get((role, session.protocol_state),
                       session.protocol_state.lower().replace('_', ' '))


def progress(session, report):
    """(objects done, objects known in total) of the current or last session."""
    counts = (session.counts if session is not None and not session.finished
              else report.get('counts')) or {}
    done = sum(counts.get(k, 0) for k in MOVED)
    remaining = 0
    if session is not None and not session.finished:
        remaining = len(session.pending_ids) + len(session.pending_deletes)
    return done, done + remaining


def queue_health(tool):
    """portal_activities' health (last tic, waiting, failed, stale), or None."""
    activities = getattr(tool, 'portal_activities', None)
    if activities is None:
        return None
    return activities.getQueueHealth()


def domain_status(domain, kind, role, health, now=None):
    """A JSON-ready dict of one subscription or one publication subscriber."""
    now = time.time() if now is None else now
    report = domain.getReport()
    session = domain.session
    running = session is not None and not session.finished
    state = report['status']
    text = phase(session, role) if running else report.get('reason') or ''
    if running and health is not None and health['stale'] and \
            (health['waiting'] or role == 'client'):
        text = ('waiting for the activity queue: no tic since %s '
                '(is the tic loop running?)' % health['last_tic_text'])
    done, total = progress(session, report)
    next_at = schedule.next_sync(domain) if kind == 'subscription' else None
    return {
        'kind': kind,
        'id': domain.getId(),
        'publication': domain.aq_parent.getId() if kind == 'subscriber' else None,
        'peer': (domain.subscription_url if kind == 'subscriber'
                 else domain.publication_url),
        'folder': domain.destination_path,
        'state': 'running' if running and state not in ('retrying',) else state,
        'phase': text,
        'done': done,
        'total': total,
        'last_sync': reports.format_date(report.get('date')) if not running else '',
        'next_sync': reports.format_date(next_at) if next_at else '',
        'schedule': schedule.describe(domain) if kind == 'subscription' else '',
        'counts': dict(report.get('counts') or {}),
        'objects': len(domain.signatures),
        'conflicts': domain.getConflictCount(),
    }


def site_status(tool, now=None):
    """Every subscription and publication subscriber of ``tool``, and the
    activity queue's health."""
    health = queue_health(tool)
    rows = [domain_status(s, 'subscription', 'client', health, now)
            for s in tool.getSubscriptionList()]
    for pub in tool.getPublicationList():
        rows.extend(domain_status(s, 'subscriber', 'server', health, now)
                    for s in pub.getSubscriberList())
    publications = [{'id': p.getId(), 'folder': p.destination_path,
                     'subscribers': len(p.getSubscriberList()),
                     'conflicts': p.getConflictCount()}
                    for p in tool.getPublicationList()]
    return {'domains': rows, 'publications': publications,
            'queue': _health_json(health), 'now': reports.format_date(time.time())}


def _health_json(health):
    if health is None:
        return None
    keys = ('last_tic_text', 'waiting', 'running', 'failed', 'stale')
    return {k: health[k] for k in keys}
