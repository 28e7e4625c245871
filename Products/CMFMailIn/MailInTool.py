"""portal_mailin: the CMFMailIn Tool.

A mail server alias pipes each mail into ``sendMailToZope.py``, which POSTs
it here (authenticated). The tool parses it (``parsing.parse``) and calls
the skin script ``mail_received(theMail)``, found by acquisition: ``None``
is success (HTTP 200), anything else is the reason the mail is refused
(HTTP 422 with that text, so the mail bounces).
"""
import html
import logging

from AccessControl.class_init import InitializeClass
from AccessControl.SecurityInfo import ClassSecurityInfo
from OFS.SimpleItem import SimpleItem
from Products.CMFCore.permissions import ManagePortal
from Products.CMFCore.utils import UniqueObject
from Products.CMFCore.utils import registerToolInterface
from zExceptions import BadRequest
from zope.interface import implementer

from . import parsing
from .interfaces import IMailInTool
from .permissions import ReceiveMail

logger = logging.getLogger('Products.CMFMailIn')

TOOL_ID = 'portal_mailin'
#: Largest mail accepted (bytes); larger ones are refused, not truncated.
MAX_MAIL_SIZE = 32 * 1024 * 1024
SCRIPT_ID = 'mail_received'
REFUSED_STATUS = 422


@implementer(IMailInTool)
class MailInTool(UniqueObject, SimpleItem):
    """Receives mail posted over HTTP and hands it to ``mail_received``."""

    id = TOOL_ID
    meta_type = 'CMFMailIn Tool'
    zmi_icon = 'fas fa-envelope'
    title = 'Mail reception'

    security = ClassSecurityInfo()
    security.declareObjectProtected(ManagePortal)

    manage_options = ({'label': 'Overview', 'action': 'manage_overview'},) + \
        SimpleItem.manage_options

    def __init__(self, id=None):
        pass

    #
    #   ZMI methods
    #
    @security.protected(ManagePortal)
    def manage_overview(self, REQUEST=None, RESPONSE=None):
        """What the tool does and the URL a mail alias posts to."""
        if RESPONSE is not None:
            RESPONSE.setHeader('Content-Type', 'text/html; charset=utf-8')
        url = html.escape(self.absolute_url() + '/')
        return (
            '<html><body><h2>CMFMailIn Tool</h2>'
            '<p>Nothing to configure. A mail alias pipes each mail into '
            '<code>sendMailToZope.py %s</code> (an account with the '
            '"%s" permission); the mail is handed to the skin script '
            '<code>%s(theMail)</code>.</p></body></html>'
            % (url, html.escape(ReceiveMail), SCRIPT_ID))

    #
    #   interface methods
    #
    @security.protected(ReceiveMail)
    def postMail(self, Mail=None, REQUEST=None, RESPONSE=None):
        """Receive one raw RFC 822 mail (POST body or form field ``Mail``)."""
        if REQUEST is not None and REQUEST.get('REQUEST_METHOD', 'POST') != 'POST':
            raise BadRequest('post the mail (HTTP POST)')
        raw = self._readMail(Mail, REQUEST)
        try:
            the_mail = parsing.parse(raw)
        except parsing.MailError as exc:
            return self._refuse(RESPONSE, 'not a mail: %s' % exc)
        script = getattr(self, SCRIPT_ID, None)
        if script is None:
            raise BadRequest('no %s script on this site' % SCRIPT_ID)
        logger.info('mail to %r (%d bytes, subject %r)', the_mail['localpart'],
                    len(raw), the_mail['headers'].get('subject', ''))
        result = script(the_mail)
        if result is not None:
            return self._refuse(RESPONSE, str(result))
        if RESPONSE is not None:
            RESPONSE.setHeader('Content-Type', 'text/plain; charset=utf-8')
        return 'OK'

    security.declareProtected(ReceiveMail, 'index_html')
    index_html = postMail

    #
    #   internals
    #
    @staticmethod
    def _readMail(Mail, REQUEST):
        if Mail is None and REQUEST is not None:
            length = REQUEST.get_header('Content-Length')
            try:
                if length and int(length) > MAX_MAIL_SIZE:
                    raise BadRequest('mail larger than %d bytes' % MAX_MAIL_SIZE)
            except ValueError:
                raise BadRequest('bad Content-Length')
            Mail = REQUEST.get('Mail')
            if Mail is None:
                Mail = REQUEST.get('BODY')
        if Mail is None:
            raise BadRequest('no mail in the request')
        if hasattr(Mail, 'read'):  # a file upload
            Mail = Mail.read(MAX_MAIL_SIZE + 1)
        if isinstance(Mail, str):
            Mail = Mail.encode('utf-8', 'surrogateescape')
        if len(Mail) > MAX_MAIL_SIZE:
            raise BadRequest('mail larger than %d bytes' % MAX_MAIL_SIZE)
        return bytes(Mail)

    @staticmethod
    def _refuse(RESPONSE, reason):
        logger.warning('mail refused: %s', reason)
        if RESPONSE is not None:
            RESPONSE.setStatus(REFUSED_STATUS)
            RESPONSE.setHeader('Content-Type', 'text/plain; charset=utf-8')
        return 'refused: %s' % reason


InitializeClass(MailInTool)
registerToolInterface(TOOL_ID, IMailInTool)


def manage_addMailInTool(self, id=TOOL_ID, REQUEST=None):
    """Add portal_mailin (nothing to configure)."""
    tool = MailInTool()
    self._setObject(TOOL_ID, tool)
    if REQUEST is not None:
        REQUEST.RESPONSE.redirect(self.absolute_url() + '/manage_main')
    return self._getOb(TOOL_ID)
