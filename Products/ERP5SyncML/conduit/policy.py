"""What incoming changes may create: ids that cannot shadow Zope names,
and, while a peer's message is applied, only the types its publication
or subscription allows (never code objects unless the administrator
ticked "Allow code objects")."""
import contextlib
import contextvars

#: meta types whose objects run code on the site that holds them
CODE_META_TYPES = frozenset((
    'Script (Python)', 'External Method', 'DTML Method', 'DTML Document',
    'Page Template', 'Z SQL Method', 'Filesystem Script (Python)',
    'Controller Python Script', 'Controller Page Template',
))

#: ids that would shadow what Zope and CMF look up by acquisition
RESERVED_IDS = frozenset((
    'acl_users', 'index_html', 'REQUEST', 'RESPONSE', 'PARENTS',
    'standard_error_message', 'standard_html_header', 'standard_html_footer',
    'Control_Panel', 'portal_skins', 'portal_types', 'portal_catalog',
    'portal_synchronizations', 'portal_activities', 'MailHost',
    'virtual_hosting', 'session_data_manager', 'temp_folder',
))
RESERVED_PREFIXES = ('_', 'aq_', 'manage', 'portal_')

_current = contextvars.ContextVar('erp5syncml_incoming_policy', default=None)


class PolicyError(ValueError):
    """An incoming object the site refuses to create."""


def _ticked(value):
    return str(value or '').strip().lower() in ('1', 'yes', 'true', 'on', 'y')


class IncomingPolicy:
    """The types ``domain`` (a publication, subscriber or subscription)
    lets its peer create."""

    def __init__(self, allowed_types=(), allow_code=False):
        self.allowed_types = frozenset(t for t in allowed_types if t)
        self.allow_code = allow_code

    @classmethod
    def of(cls, domain):
        text = getattr(domain, 'allowed_types', '') or ''
        names = [t.strip() for t in text.replace('\n', ',').split(',')]
        return cls(names, _ticked(getattr(domain, 'allow_code_objects', '')))

    def check_type(self, object_id, portal_type, meta_types):
        if not self.allow_code:
            code = CODE_META_TYPES.intersection(meta_types)
            if code:
                raise PolicyError('%r is a code object (%s): refused unless'
                                  ' "Allow code objects" is ticked'
                                  % (object_id, ', '.join(sorted(code))))
        if self.allowed_types and not (
                {portal_type, *meta_types} & self.allowed_types):
            raise PolicyError('type %r of %r is not one of the allowed types'
                              % (portal_type or next(iter(meta_types), ''),
                                 object_id))


def check_id(object_id):
    """PolicyError for an id that may not be created by synchronization."""
    object_id = str(object_id or '')
    if object_id in RESERVED_IDS or object_id.startswith(RESERVED_PREFIXES) \
            or object_id.endswith('__') or '/' in object_id \
            or object_id in ('.', '..'):
        raise PolicyError('the id %r is reserved: refused' % object_id)


def check_new_object(object_id, portal_type, meta_types):
    """Refuse a reserved id always, and a type the peer may not create
    while its message is applied."""
    check_id(object_id)
    policy = _current.get()
    if policy is not None:
        policy.check_type(object_id, portal_type,
                          frozenset(t for t in meta_types if t))


@contextlib.contextmanager
def applying(domain):
    """While the message of ``domain``'s peer is applied."""
    token = _current.set(IncomingPolicy.of(domain))
    try:
        yield
    finally:
        _current.reset(token)
