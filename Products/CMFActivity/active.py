"""``obj.activate(**activity_kw).method(*args, **kw)``: defer a method call.

``activate`` is offered three ways:

- the function ``activate(obj, **activity_kw)``;
- the mixin ``ActiveObject`` for classes of your own;
- ``install_activate()``, called by the product's ``initialize``, which adds
  ``activate`` to ``OFS.SimpleItem.Item`` and ``OFS.ObjectManager.ObjectManager``
  (as CMFActivity always did) so that every OFS/CMF object has it.

``activate`` is private: only filesystem code can queue calls, never
restricted code (Python Scripts) or a URL, because a queued call runs without
a permission check on the method.
"""
import datetime
import logging

from AccessControl.class_init import InitializeClass
from AccessControl.SecurityInfo import ClassSecurityInfo
from AccessControl.SecurityManagement import getSecurityManager
from AccessControl.users import UnrestrictedUser
from AccessControl.users import nobody
from Acquisition import aq_base
from Acquisition import aq_inner
from Acquisition import aq_parent
from DateTime import DateTime

from .message import ACTIVITY_ALIASES
from .message import DICT

logger = logging.getLogger('Products.CMFActivity')

TOOL_ID = 'portal_activities'


def find_tool(obj):
    """The ``portal_activities`` tool acquired from ``obj``, or None."""
    from .interfaces import IActivityTool
    try:
        tool = getattr(aq_inner(obj), TOOL_ID, None)
    except Exception:   # e.g. an object whose __getattr__ is picky
        return None
    if tool is not None and IActivityTool.providedBy(tool):
        return tool
    return None


def to_timestamp(value):
    """at_date as seconds since the epoch (DateTime, datetime, or number)."""
    if value is None:
        return None
    if isinstance(value, DateTime):
        return value.timeTime()
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError('at_date must be a DateTime, a datetime or a number, '
                    'not %r' % (value,))


def _tags(value, name):
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (list, tuple, set, frozenset)) and all(
            isinstance(v, str) for v in value):
        return tuple(sorted(value))
    raise TypeError('%s must be a str or a sequence of str, not %r'
                    % (name, value))


def current_user_ref():
    """How to find the current user again when the message runs."""
    user = getSecurityManager().getUser()
    if user is None or aq_base(user) is aq_base(nobody):
        return ('anonymous',)
    folder = aq_parent(aq_inner(user))
    if folder is not None and hasattr(folder, 'getPhysicalPath'):
        return (tuple(folder.getPhysicalPath()), user.getId())
    if isinstance(user, UnrestrictedUser):
        # system, the emergency user: only trusted code runs as them.
        return ('system',)
    raise ValueError('cannot queue a call as user %r: it is not in a user '
                     'folder' % (user,))


def check_activity_kw(activity=DICT, priority=1, tag=None, after_tag=None,
                      serialization_tag=None, at_date=None,
                      active_process=None, **unknown):
    """Validate and normalise the keywords of ``activate``."""
    if unknown:
        raise TypeError('activate() got unsupported keyword(s): %s'
                        % ', '.join(sorted(unknown)))
    if active_process is not None:
        raise TypeError('activate(): active_process is not supported')
    if activity not in ACTIVITY_ALIASES:
        raise ValueError('unknown activity %r (use one of %s)'
                         % (activity, ', '.join(sorted(ACTIVITY_ALIASES))))
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise TypeError('priority must be an int, not %r' % (priority,))
    for name, value in (('tag', tag), ('serialization_tag', serialization_tag)):
        if value is not None and not isinstance(value, str):
            raise TypeError('%s must be a str, not %r' % (name, value))
    return {
        'activity': ACTIVITY_ALIASES[activity],
        'priority': priority,
        'tag': tag or None,
        'after_tag': _tags(after_tag, 'after_tag'),
        'serialization_tag': serialization_tag or None,
        'at_date': to_timestamp(at_date),
    }


class ActiveWrapper:
    """Returned by ``activate``: each method called on it is queued."""

    def __init__(self, obj, tool, activity_kw):
        self._obj = obj
        self._tool = tool
        self._activity_kw = activity_kw

    def __getattr__(self, method_id):
        if method_id.startswith('__'):
            raise AttributeError(method_id)
        if getattr(self._obj, method_id, None) is None:
            raise AttributeError('%r has no method %r to activate'
                                 % (self._obj, method_id))

        def queue(*args, **kw):
            self._tool._queueMessage(self._obj, method_id, args, kw,
                                     **self._activity_kw)
        queue.__name__ = method_id
        return queue

    def __repr__(self):
        return '<ActiveWrapper for %r>' % (self._obj,)


def activate(obj, **activity_kw):
    """Defer ``obj.method(...)``: ``activate(obj, **kw).method(*args, **kw)``.

    activity_kw: ``activity`` ('SQLDict' (default) or 'SQLQueue'; 'RAMDict'
    and 'RAMQueue' are aliases), ``priority`` (int, lower runs first, default
    1), ``tag``, ``after_tag`` (str or list: wait while messages with these
    tags are pending), ``serialization_tag`` (messages sharing it run one at
    a time, in order), ``at_date`` (DateTime, datetime or epoch seconds: not
    before). The call is queued in the current transaction and stored when it
    commits. Without a ``portal_activities`` tool reachable from ``obj``, the
    object itself is returned, so the call runs at once.
    """
    kw = check_activity_kw(**activity_kw)
    tool = find_tool(obj)
    if tool is None:
        return obj
    return ActiveWrapper(obj, tool, kw)


class ActiveObject:
    """Mixin giving ``activate``, ``hasActivity`` and ``hasErrorActivity``."""

    security = ClassSecurityInfo()

    @security.private
    def activate(self, **activity_kw):
        """See ``Products.CMFActivity.active.activate``."""
        return activate(self, **activity_kw)

    @security.private
    def hasActivity(self, **kw):
        """Is a message pending for this object?"""
        tool = find_tool(self)
        return bool(tool is not None and tool.hasActivity(self, **kw))

    @security.private
    def hasErrorActivity(self, **kw):
        """Is a message for this object in error state?"""
        tool = find_tool(self)
        return bool(tool is not None and tool.hasErrorActivity(self, **kw))


InitializeClass(ActiveObject)


def _activate_method(self, **activity_kw):
    """Defer a method call; see ``Products.CMFActivity.active.activate``."""
    return activate(self, **activity_kw)


def install_activate():
    """Give ``activate`` to every OFS Item and ObjectManager (idempotent)."""
    from OFS.ObjectManager import ObjectManager
    from OFS.SimpleItem import Item
    for klass in (Item, ObjectManager):
        current = klass.__dict__.get('activate')
        if current is _activate_method:
            continue
        if current is not None:
            logger.warning('%s already has an activate attribute; '
                           'not replacing it', klass.__name__)
            continue
        klass.activate = _activate_method
        klass.activate__roles__ = ()   # private
