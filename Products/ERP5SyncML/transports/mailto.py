"""mailto: transport (e-mail through the site's MailHost) -- not done yet."""
from . import TransportError


def send(url, data, **kw):
    raise TransportError('the mailto: transport is not available yet', retry=False)
