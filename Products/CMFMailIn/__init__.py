"""Products.CMFMailIn: portal_mailin, mail reception for Zope sites.

``sendMailToZope.py`` (what a mail alias pipes into) POSTs each mail to
``portal_mailin``, which parses it and calls the skin script
``mail_received(theMail)``.
"""


def initialize(context):
    """Zope product initialisation: the tool in the ZMI add menu."""
    from .MailInTool import MailInTool
    from .MailInTool import manage_addMailInTool
    from .permissions import AddMailInTool
    context.registerClass(
        MailInTool,
        permission=AddMailInTool,
        constructors=(manage_addMailInTool,),
        icon=None)
