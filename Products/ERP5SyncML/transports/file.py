"""file:// transport: write the message to a file (tests, debugging).

Off by default: a file: URL is refused unless the setting
ERP5SYNCML_FILE_URL_DIR names a directory, and then it must name a file
in that directory (so a URL from a message or a form cannot write
anywhere else).
"""
import os
from urllib.parse import unquote
from urllib.parse import urlsplit

from .. import settings
from . import TransportError


def path_of(url):
    """The local path ``url`` names; TransportError unless file: URLs are
    enabled and the path is inside the allowed directory."""
    parts = urlsplit(url)
    if parts.netloc not in ('', 'localhost'):
        raise TransportError('file URL %r names a host' % url, retry=False)
    root = settings.file_url_dir()
    if root is None:
        raise TransportError('file: URLs are disabled on this site'
                             ' (see ERP5SYNCML_FILE_URL_DIR)', retry=False)
    path = unquote(parts.path)
    real = os.path.join(os.path.realpath(os.path.dirname(path) or '/'),
                        os.path.basename(path))
    if not os.path.basename(path) or \
            os.path.commonpath([root, real]) != root or real == root:
        raise TransportError('file URL %r is outside the directory file:'
                             ' URLs may use' % url, retry=False)
    return real


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
