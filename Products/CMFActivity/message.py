"""One queued call: what to run, for whom, and where it stands."""
import time

from AccessControl.class_init import InitializeClass
from AccessControl.SecurityInfo import ClassSecurityInfo
from persistent import Persistent


# processing_node values besides the node numbers 1..N
WAITING = -1       # not yet given to a processing node by distribute()
ERROR = -2         # gave up; kept with its traceback until retried or cancelled

QUEUE = 'SQLQueue'
DICT = 'SQLDict'
# Activity names of older code; every message is persistent here.
ACTIVITY_ALIASES = {
    'SQLQueue': QUEUE, 'RAMQueue': QUEUE,
    'SQLDict': DICT, 'RAMDict': DICT,
}

SUMMARY_LENGTH = 80


def _short(value, length=SUMMARY_LENGTH):
    text = repr(value)
    return text if len(text) <= length else text[:length - 3] + '...'


class Message(Persistent):
    """A deferred call ``object_at(path).method_id(*args, **kw)``.

    Messages are separate persistent records: claiming one for a run writes
    to it, so two processing nodes that claim the same message conflict and
    only one of them runs it.
    """

    security = ClassSecurityInfo()
    security.declareObjectPublic()
    security.setDefaultAccess('allow')

    processing = False        # claimed by a node, running now
    processing_date = None
    claimed_by = None         # 'host:pid:boot' of the process running it
    retry = 0                 # failed runs
    conflict_retry = 0        # runs that ended in a ConflictError
    error = None              # traceback text of the last failure
    error_date = None

    def __init__(self, uid, path, method_id, args=(), kw=None,
                 activity=DICT, priority=1, tag=None, after_tag=(),
                 serialization_tag=None, at_date=None, user=None,
                 date=None):
        self.uid = uid
        self.path = tuple(path)
        self.method_id = method_id
        self.args = tuple(args)
        self.kw = dict(kw or {})
        self.activity = activity
        self.priority = priority
        self.tag = tag
        self.after_tag = tuple(after_tag)
        self.serialization_tag = serialization_tag
        self.at_date = at_date
        # (user folder path, user id) or ('system',) / ('anonymous',)
        self.user = user
        self.date = time.time() if date is None else date
        self.not_before = at_date if at_date is not None else self.date
        self.processing_node = WAITING

    # keys of the tool's indexes
    @property
    def order_key(self):
        return (self.priority, self.date, self.uid)

    @property
    def url(self):
        return '/'.join(self.path)

    @property
    def failed(self):
        return self.processing_node == ERROR

    def args_summary(self):
        """Arguments as short text, for listings and logs."""
        parts = [_short(a) for a in self.args]
        parts += [f'{k}={_short(v)}' for k, v in sorted(self.kw.items())]
        text = ', '.join(parts)
        return text if len(text) <= 200 else text[:197] + '...'

    def user_summary(self):
        if not self.user:
            return ''
        if len(self.user) == 1:
            return self.user[0]
        return '%s (%s)' % (self.user[1], '/'.join(self.user[0]) or '/')

    def info(self):
        """A plain dict describing the message (for ZMI and scripts)."""
        return {
            'uid': self.uid,
            'path': self.url,
            'method_id': self.method_id,
            'args': self.args_summary(),
            'activity': self.activity,
            'priority': self.priority,
            'tag': self.tag or '',
            'after_tag': ', '.join(self.after_tag),
            'serialization_tag': self.serialization_tag or '',
            'processing_node': self.processing_node,
            'processing': self.processing,
            'claimed_by': self.claimed_by or '',
            'retry': self.retry,
            'conflict_retry': self.conflict_retry,
            'date': self.date,
            'at_date': self.at_date,
            'not_before': self.not_before,
            'user': self.user_summary(),
            'failed': self.failed,
            'error': self.error or '',
        }

    def __repr__(self):
        return '<Message %s %s.%s(%s) %s node=%s>' % (
            self.uid, self.url, self.method_id, self.args_summary(),
            self.activity, self.processing_node)


InitializeClass(Message)
