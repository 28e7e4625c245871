"""Interfaces of Products.CMFMailIn."""
from zope.interface import Interface


class IMailInTool(Interface):
    """portal_mailin: hands mail posted over HTTP to ``mail_received``."""

    def postMail(Mail=None, REQUEST=None, RESPONSE=None):
        """Receive one raw RFC 822 mail; call ``mail_received(theMail)``."""
