"""Registration of portal_synchronizations in the ZMI add menu.

A site normally gets the tool from the GenericSetup profile; this is the
constructor for adding it by hand to a CMF site.
"""
import logging

from Products.PageTemplates.PageTemplateFile import PageTemplateFile

from .interfaces import ISynchronizationTool
from .permissions import AddSynchronizationTool
from .tool import SynchronizationTool

logger = logging.getLogger('Products.ERP5SyncML')

manage_addSynchronizationToolForm = PageTemplateFile(
    'www/addTool', globals(), __name__='manage_addSynchronizationToolForm')


def manage_addSynchronizationTool(self, id='portal_synchronizations', REQUEST=None):
    """Add portal_synchronizations to a CMF site."""
    from zope.component import getSiteManager
    tool = SynchronizationTool()
    self._setObject(tool.getId(), tool)
    tool = self._getOb(tool.getId())
    try:
        getSiteManager(self).registerUtility(tool, ISynchronizationTool)
    except Exception:  # not a site: the tool is still usable by acquisition
        logger.debug('no site manager to register the tool in', exc_info=True)
    if REQUEST is not None:
        REQUEST.RESPONSE.redirect(self.absolute_url() + '/manage_main')
    return tool


def initialize(context):
    """Register the tool in the ZMI add menu."""
    context.registerClass(
        SynchronizationTool,
        permission=AddSynchronizationTool,
        constructors=(manage_addSynchronizationToolForm,
                      manage_addSynchronizationTool),
        icon=None)
