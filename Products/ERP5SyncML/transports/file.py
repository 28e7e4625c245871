"""file:// transport: write the message to a file (tests, debugging)."""
import os
from urllib.parse import unquote
from urllib.parse import urlsplit

from . import TransportError


def path_of(url):
    parts = urlsplit(url)
    if parts.netloc not in ('', 'localhost'):
        raise TransportError('file URL %r names a host' % url)
    return unquote(parts.path)


def send(url, data, **kw):
    path = path_of(url)
    tmp = path + '.tmp'
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, path)  # a reader never sees half a message
    except OSError as exc:
        raise TransportError('cannot write %s: %s' % (path, exc)) from None
    return None


def receive(url, remove=True):
    """Read (and by default consume) the message waiting at ``url``."""
    path = path_of(url)
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if remove:
        os.remove(path)
    return data
