"""Settings of a Zope process, from its environment (read at each use, so
a test or an administrator changes them without touching the database).

ERP5SYNCML_MAX_MESSAGE_SIZE
    largest SyncML message readResponse accepts from an authenticated
    user, in bytes (default 32 MiB).
ERP5SYNCML_MAX_ANONYMOUS_MESSAGE_SIZE
    largest message accepted before the sender is known (a request that
    authenticates with the SyncML credentials of its message), in bytes
    (default 64 KiB): an anonymous peer cannot make the site parse a big
    body.
ERP5SYNCML_HTTP_DEADLINE
    total time in seconds an outgoing HTTP exchange may take, connection,
    upload and answer together (default 60).
ERP5SYNCML_FILE_URL_DIR
    file: URLs are refused unless this names a directory; then only files
    in it may be written (meant for tests and debugging, never for a site
    that faces the internet).
"""
import os

MAX_MESSAGE_SIZE = 32 * 1024 * 1024
MAX_ANONYMOUS_MESSAGE_SIZE = 64 * 1024
HTTP_DEADLINE = 60.0


def _number(name, default, kind=int):
    value = os.environ.get(name, '').strip()
    if not value:
        return default
    try:
        number = kind(value)
    except ValueError:
        return default
    return number if number > 0 else default


def max_message_size(anonymous=False):
    """Largest accepted incoming message (bytes)."""
    if anonymous:
        return _number('ERP5SYNCML_MAX_ANONYMOUS_MESSAGE_SIZE',
                       MAX_ANONYMOUS_MESSAGE_SIZE)
    return _number('ERP5SYNCML_MAX_MESSAGE_SIZE', MAX_MESSAGE_SIZE)


def http_deadline():
    """Total seconds an outgoing HTTP exchange may take."""
    return _number('ERP5SYNCML_HTTP_DEADLINE', HTTP_DEADLINE, float)


def file_url_dir():
    """The only directory file: URLs may name, or None (file: refused)."""
    value = os.environ.get('ERP5SYNCML_FILE_URL_DIR', '').strip()
    return os.path.realpath(value) if value else None
