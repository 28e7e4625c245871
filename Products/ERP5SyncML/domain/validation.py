"""Check a publication's or subscription's settings before they are saved:
each error is attached to its field, in plain words."""
from Acquisition import aq_base

from .. import transports
from . import probe

#: help text of each field, shown under it in the ZMI forms
HELP = {
    'id': 'A name for this synchronization, unique on this site. On a client it is also '
          'the publication id asked of the master, unless "Publication id on the master" '
          'says otherwise.',
    'title': 'Optional: a title for the ZMI.',
    'publication_url': 'Address of the master site (http://host:port/site), or file:// '
                       'or mailto: for one-way transports.',
    'subscription_url': 'Address of this client as the master knows it: '
                        'http://host:port/site/<id>.',
    'destination_path': 'The synchronized folder, as a path from the Zope root '
                        '(/site/folder). It must exist.',
    'query': 'Method of the folder listing the objects to synchronize '
             '(objectValues, or contentValues for CMF content only).',
    'xml_mapping': 'Method (or adapter) giving the XML of an object: asXML.',
    'gpg_key': 'Not available yet: leave empty.',
    'conduit': 'How incoming XML is applied to objects: ERP5Conduit.',
    'gid_generator': 'Optional method of the objects giving the global id they share '
                     'with other sites; empty: the object id.',
    'max_objects': 'Objects per SyncML message (a positive number).',
    'max_message_size': 'Largest message in bytes; larger objects are sent in chunks.',
    'sync_mode': 'Two-way is usual; the one-way and refresh modes copy one side over '
                 'the other.',
    'target_database': 'The id of the publication on the master, if it differs from '
                       'this subscription\'s id.',
    'login': 'Account on the master used to synchronize (needs the Synchronize '
             'permission there).',
    'password': 'Its password. Left empty when changing: the saved one is kept.',
}


def check_url(value, required=True):
    if not value:
        return 'required' if required else None
    try:
        transports.get_transport(value)
    except transports.TransportError:
        return 'unsupported address: use http://, https://, file:// or mailto:'
    return None


def check_folder(context, path, query):
    """Why ``path`` is not a synchronizable folder, or None."""
    parts = [p for p in (path or '').split('/') if p]
    if not parts:
        return 'required: a path such as /site/folder'
    folder = context.getPhysicalRoot().unrestrictedTraverse(parts, None)
    if folder is None:
        return 'no such folder: %s' % '/'.join([''] + parts)
    if not getattr(aq_base(folder), 'isPrincipiaFolderish', False):
        return '%s is not a folder' % '/'.join([''] + parts)
    if not callable(getattr(folder, query or 'objectValues', None)):
        return 'the folder has no method %s (see Query)' % query
    return None


def check_int(value):
    if value in (None, ''):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 'a whole number, please'
    return None if number > 0 else 'a positive number, please'


def errors_of(context, klass, values, existing=None, reachable=True):
    """{field: error} of the settings ``values`` for a ``klass`` (Publication
    or Subscription); ``existing`` is the object being changed, if any.
    With ``reachable``, a subscription's master must answer the handshake."""
    errors = {}
    if existing is None:
        if not values.get('id', '').strip():
            errors['id'] = 'required'
        elif values['id'].strip() in _ids(context, klass):
            errors['id'] = 'already used on this site'
    url_error = check_url(values.get('publication_url', ''))
    if url_error:
        errors['publication_url'] = url_error
    if 'subscription_url' in values:
        url_error = check_url(values.get('subscription_url', ''))
        if url_error:
            errors['subscription_url'] = url_error
    folder_error = check_folder(context, values.get('destination_path'), values.get('query'))
    if folder_error:
        errors['destination_path'] = folder_error
    for name, _title, ftype, _default in klass.fields:
        if ftype == 'int' and name in values and name != 'sync_mode':
            error = check_int(values[name])
            if error:
                errors[name] = error
    if values.get('gpg_key'):
        errors['gpg_key'] = HELP['gpg_key']
    if reachable and not errors and klass.meta_type == 'ERP5SyncML Subscription':
        failed = [text for ok, text in probe.test_connection(
            preview(klass, values, existing)) if not ok]
        if failed:
            errors['publication_url'] = ' '.join(failed)
    return errors


def _ids(context, klass):
    if klass.meta_type == 'ERP5SyncML Subscription':
        return [s.getId() for s in context.getSubscriptionList()]
    return [p.getId() for p in context.getPublicationList()]


def preview(klass, values, existing=None):
    """An unsaved ``klass`` with ``values`` (for the connection test); an
    empty password means the saved one."""
    settings = {name: getattr(existing, name, default) if existing is not None
                else default for name, _t, _y, default in klass.fields}
    settings.update({k: v for k, v in values.items()
                     if k in {f[0] for f in klass.fields}})
    if not values.get('password') and existing is not None:
        settings['password'] = existing.password
    obj = klass.__new__(klass)
    obj.id = (values.get('id') or getattr(existing, 'id', '') or '').strip()
    for name, value in settings.items():
        setattr(obj, name, value)
    return obj
