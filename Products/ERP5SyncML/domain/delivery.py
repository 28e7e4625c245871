"""Outgoing messages: queued in the activity queue in the transaction that
made them, sent after commit, retried a bounded number of times.

The queued calls target two private methods of the tool,
``sendSyncMessage`` (a client message: send it, process the answer) and
``sendReply`` (a master's answer to a file/mail client); the activity
queue calls them as Python, they are not reachable by URL.
"""
import logging
import threading
import time
from urllib.parse import urlsplit

from ZODB.POSException import ConflictError

from .. import transports
from . import sealing
from .fields import bad_request

logger = logging.getLogger('Products.ERP5SyncML')

#: seconds to wait after each failed attempt: short at first, so that a
#: master that restarts is found again within seconds, then longer
RETRY_DELAYS = (2, 5, 15, 60, 180)
SEND_ATTEMPTS = len(RETRY_DELAYS) + 1
#: seconds an activity goes on with its session's next round trips (each
#: committed on its own) before it hands the next one to a new activity;
#: 0: one round trip per activity, each waiting for the next tic
ROUND_TRIPS_BUDGET = 30.0

# the next message of the session being delivered, taken instead of queued
_next = threading.local()


def session_is_over(session):
    return session is None or session.finished


def tag_of(sub):
    """The activity tag of ``sub``'s messages."""
    return 'erp5syncml:%s' % sub.getId()


def _tags(sub):
    # one session at a time per subscription, its messages in order
    tag = tag_of(sub)
    return {'tag': tag, 'serialization_tag': tag}


def retry_delay(attempt):
    """Seconds to wait after failed attempt number ``attempt``."""
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]


def give_up_reason(url, exc, attempts, seconds):
    """Why the session stopped after its last attempt, and what to do."""
    return ('the master at %s could not be reached after %d attempts over %s'
            ' (last error: %s): check the Publication Url and that the master'
            ' runs, then press Sync to try again'
            % (url, attempts, _duration(seconds), exc))


def _duration(seconds):
    seconds = int(round(seconds))
    if seconds < 120:
        return '%d seconds' % seconds
    return '%d minutes' % round(seconds / 60.0)


def queue_client_message(sub, data, attempt=1, at_date=None):
    """Queue the sending of ``data`` for subscription ``sub``'s session
    (or hand it to the activity delivering that session's messages)."""
    waiting = getattr(_next, 'waiting', None)
    if waiting is not None and waiting[0] == sub.getPhysicalPath() and \
            attempt == 1 and at_date is None and not waiting[1]:
        waiting[1].append(data)
        return
    kw = dict(_tags(sub), activity='SQLQueue')
    if at_date is not None:
        kw['at_date'] = at_date
    sub.getTool().activate(**kw).sendSyncMessage(
        sub.getId(), data, attempt, session_id=sub.session.session_id)


def deliver_client_message(sub, data, attempt, session_id, receive,
                           budget=None):
    """Send a client message; ``receive(reply)`` processes the master's
    answer. A transport failure is retried later, up to SEND_ATTEMPTS.

    The session's next messages follow in this same call, each step
    committed on its own, until the session ends or ``budget`` seconds
    (default ROUND_TRIPS_BUDGET) are spent: then the next message is
    queued as a new activity. If this call is run again after a crash,
    it sends the message the session is at, not a stale one.
    """
    budget = ROUND_TRIPS_BUDGET if budget is None else budget
    deadline = time.monotonic() + budget
    while True:
        data = _pending_message(sub, data)
        following = _deliver_once(sub, data, attempt, session_id, receive,
                                  take_next=time.monotonic() < deadline)
        if following is None:
            return
        # this round trip is done and stored; the session's last message
        # (``following``) is what a rerun of this activity would send
        sub._p_jar.transaction_manager.commit()
        data, attempt = following, 1


def _pending_message(sub, data):
    """The message the session waits to send: ``data``, unless the
    session already went further (a rerun after a later step was
    committed)."""
    session = sub.session
    last = getattr(session, 'last_sent', None) if session is not None else None
    if last is not None and last != data and not session_is_over(session):
        logger.info('subscription %s: the session went on since this message '
                    'was queued: its latest message is sent', sub.getId())
        return last
    return data


def _deliver_once(sub, data, attempt, session_id, receive, take_next):
    """One round trip; returns the session's next message when this call
    is to send it too, else None (queued, or nothing more to send)."""
    from .engine import ClientEngine
    from .engine import applying
    from .incoming import ReplayCarefully
    from .journal import forget_recorded
    session = sub.session
    if session_is_over(session) or \
            (session_id is not None and session.session_id != session_id):
        # Sync was pressed again meanwhile: this message belongs to a
        # session that is over, sending it would disturb the new one
        logger.warning('subscription %s: message of a session that is over'
                       ' dropped', sub.getId())
        return None
    from .running import last_activity, touch
    try:
        # credentials are looked up now, never stored with the message
        data = ClientEngine(sub).with_cred(data)
        url, exact = target_of(sub, session)
        reply = transports.send(url, sealing.seal(sub, data),
                                login=sub.login, password=sub.password,
                                exact_url=exact, **_mail_fields(sub, session))
    except (transports.TransportError, sealing.Refused) as exc:
        if getattr(exc, 'http_status', None) == 500 and \
                session.counts.get('messages_received', 0) <= 1:
            # the server fails on the session's first messages (our Alert,
            # our first data): a configuration error, which sending again
            # cannot mend
            ClientEngine(sub).fail(session, '%s. The server failed on the '
                                   "session's first messages: probably a "
                                   'configuration error (a standard SyncML '
                                   'server needs the text/vcard Content type; '
                                   'use Test connection)' % exc)
            return None
        if getattr(exc, 'retry', True) and attempt < SEND_ATTEMPTS:
            delay = retry_delay(attempt)
            sub.setReport('retrying', '%s (attempt %d of %d, next in %ds)'
                          % (exc, attempt, SEND_ATTEMPTS, delay), session.counts)
            logger.warning('subscription %s: %s; retry in %ds', sub.getId(),
                           exc, delay)
            queue_client_message(sub, data, attempt + 1, at_date=time.time() + delay)
        elif getattr(exc, 'retry', True):
            ClientEngine(sub).fail(session, give_up_reason(
                sub.publication_url, exc, attempt,
                time.time() - last_activity(session)))
        else:
            ClientEngine(sub).fail(session, str(exc))
        return None
    touch(session)
    if sub.getReport().get('status') == 'retrying':
        # the retry went through: the report must not say otherwise
        sub.setReport('running', 'the master answered after %d attempts'
                      % attempt, session.counts)
    if not reply:
        if transports.is_request_response(sub.publication_url):
            # over HTTP the master always answers in the response: an
            # empty one would leave the session waiting forever
            ClientEngine(sub).fail(session, 'the master sent an empty answer')
        return None
    following = []
    # no savepoint (it would make the commit store everything twice): on a
    # failure the transaction is aborted, back to this round trip's start
    tm = sub._p_jar.transaction_manager
    _next.waiting = (sub.getPhysicalPath(), following) if take_next else None
    try:
        try:
            with applying('optimistic'):
                receive(reply)
        except ReplayCarefully:
            tm.abort()
            forget_recorded()
            del following[:]
            logger.info("subscription %s: a command of the master's answer failed: "
                        "applying it again command by command", sub.getId())
            with applying('careful'):
                receive(reply)
    except ConflictError:
        raise  # the activity queue retries it; the master answers the same
    except Exception as exc:
        # a deterministic failure would fail again: stop the session and
        # say why, instead of retrying in a loop
        tm.abort()
        forget_recorded()
        logger.exception("subscription %s: cannot apply the master's answer",
                         sub.getId())
        ClientEngine(sub).fail(session, "cannot apply the master's answer: %s: %s"
                               % (type(exc).__name__, exc))
        return None
    finally:
        _next.waiting = None
    return following[0] if following else None


def _origin(url):
    parts = urlsplit(url or '')
    try:
        port = parts.port or {'http': 80, 'https': 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if parts.username is not None or not parts.hostname:
        return None
    return (parts.scheme.lower(), parts.hostname.lower(), port)


def follow_resp_uri(sub, session, resp_uri):
    """Send the next messages of ``session`` to the master's RespURI, when
    it has the origin (scheme, host, port) of the configured publication
    URL: a site sends only where its administrator said."""
    if not resp_uri or resp_uri == getattr(session, 'resp_uri', None):
        return
    if transports.is_request_response(resp_uri) and \
            _origin(resp_uri) is not None and \
            _origin(resp_uri) == _origin(sub.publication_url):
        session.resp_uri = resp_uri
    else:
        logger.warning('subscription %s: RespURI %r of another site ignored',
                       sub.getId(), resp_uri[:200])


def target_of(sub, session):
    """(URL, exact) of our next message: the RespURI the master gave, or
    the publication URL (exact for a standard SyncML server, whose URL is
    its entry point; our own masters' URL names the site)."""
    resp_uri = getattr(session, 'resp_uri', None)
    if resp_uri:
        return resp_uri, True
    return sub.publication_url, \
        getattr(sub, 'content_type', 'asXML') != 'asXML'


def _mail_fields(sub, session):
    # what a mailto: message names: the site (MailHost, our address), the
    # publication it is for, our id for the answer, the session for bounces
    return dict(context=sub, sync_id=sub.getTargetDatabase(), reply_id=sub.getId(),
                session_id=session.session_id)


def queue_reply(tool, url, data, publication_id=None, sync_id=None):
    """Queue the master's answer to a client that is not waiting on an HTTP
    request (file, mail); ``sync_id``: the client's id for its mail."""
    if not transports.is_request_response(url):
        tool.activate(activity='SQLQueue').sendReply(
            url, data, publication_id=publication_id, sync_id=sync_id)


def send_reply(tool, url, data, publication_id=None, sync_id=None):
    """Send the master's answer to ``url``, a registered subscriber of the
    publication (never to an address a message merely names)."""
    pub = tool.getPublication(publication_id) if publication_id else None
    if pub is not None and pub.getSubscriber(url) is None:
        logger.warning('publication %s: answer to unknown subscriber %s dropped',
                       publication_id, url)
        return
    transports.send(url, data, context=pub if pub is not None else tool,
                    sync_id=sync_id or publication_id, reply_id=publication_id)


def check_subscriber_url(pub, url):
    """BadRequest unless ``pub`` may answer a new subscriber at ``url``
    (by mail: only addresses the publication allows, never an open relay)."""
    if transports.scheme_of(url) == 'mailto':
        from ..transports import mailto
        ok, reason = mailto.subscriber_allowed(pub, url)
        if not ok:
            raise bad_request(reason)


def bounced(sub, report):
    """A mail of subscription ``sub`` came back undelivered (``report``: the
    delivery report as portal_mailin parsed it). The session it belongs to
    fails with the mail server's reason; a report about another session
    (or a forged one without our session id) is only logged."""
    from .engine import ClientEngine
    headers = report.get('headers') or {}
    reason = 'the mail to %s bounced: %s' % (
        report.get('recipient') or 'the master',
        report.get('reason') or report.get('status') or 'no reason given')
    session = sub.session
    if report.get('action', 'failed') == 'failed' and session is not None and \
            session.running and headers.get('x-erp5syncml-session') == session.session_id:
        ClientEngine(sub).fail(session, reason)
        return reason
    logger.warning('subscription %s: %s (not a mail of the running session)',
                   sub.getId(), reason)
    return None


def start_due_sessions(tool, now=None):
    """Start every subscription with no session running (or a stale one:
    see ``running``): the scheduled sync. Returns their ids."""
    from . import running
    started = []
    for sub in tool.getSubscriptionList():
        outcome, _data = running.start(sub, now=now)
        if outcome != 'running':
            started.append(sub.getId())
    return started
