"""Configuration fields of publications and subscriptions, from Python
keywords or a ZMI form post."""
import contextlib
import html

from zExceptions import BadRequest


def bad_request(text):
    """A BadRequest whose text may quote user input: Zope shows it on an
    HTML page as it is, so it is escaped here."""
    return BadRequest(html.escape(text))

#: fields the add methods take as named arguments
NAMED = ('id', 'publication_url', 'subscription_url', 'destination_path',
         'query', 'xml_mapping', 'gpg_key')


def _names(klass):
    return {f[0] for f in klass.fields}


def from_form(klass, REQUEST, kw, exclude=()):
    """``kw`` when given, else the fields of ``klass`` posted in ``REQUEST``
    (but ``exclude``)."""
    if REQUEST is None or kw:
        return kw
    form = getattr(REQUEST, 'form', None) or {}
    names = _names(klass) - set(exclude)
    return {k: v for k, v in form.items() if k in names}


def checked(klass, kw):
    """The fields of ``klass`` in ``kw``; an unknown name is a BadRequest."""
    names = _names(klass)
    unknown = set(kw) - names - {'REQUEST', 'submit'}
    if unknown:
        raise bad_request('unknown field(s): %s' % ', '.join(sorted(unknown)))
    return {k: v for k, v in kw.items() if k in names}


def new_id(id, container):
    """``id`` stripped; BadRequest when empty or already in ``container``."""
    id = (id or '').strip()
    if not id:
        raise BadRequest('an id is required')
    if id in container:
        raise bad_request('the id %r is already used' % id)
    return id


@contextlib.contextmanager
def bad_values():
    """A wrong field value is the user's input error: HTTP 400."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        raise bad_request(str(exc)) from None


def destination_prefixes(domains):
    """Sorted physical paths of the folders of ``domains`` (those with one)."""
    prefixes = set()
    for domain in domains:
        try:
            # physical paths start with the root's empty id
            prefixes.add(('',) + domain.getDestinationPathTuple())
        except ValueError:
            pass
    return tuple(sorted(prefixes))


def add(store, klass, id, REQUEST, kw, **named):
    """Make a ``klass`` (Publication or Subscription) from the named
    arguments and the other fields (``kw`` or the form), store it under its
    stripped ``id`` in ``store`` and return it. Bad input: BadRequest, and
    nothing is stored."""
    kw = from_form(klass, REQUEST, kw, exclude=NAMED)
    id = new_id(id, store)
    with bad_values():
        domain = klass(id, **named, **checked(klass, kw))
    store[id] = domain
    return domain


def edit(domain, REQUEST, kw):
    """Change the fields of ``domain`` (``kw`` or the form); an empty
    password keeps the old one. Bad input: BadRequest, nothing changes."""
    klass = type(domain.aq_base)
    kw = from_form(klass, REQUEST, kw)
    if kw.get('password', None) == '':
        kw.pop('password')
    with bad_values():
        domain.edit(**checked(klass, kw))
