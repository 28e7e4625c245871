"""Product registration (ZMI add menu) of the site and the demo types."""
from Acquisition import aq_get
from Products.CMFCore.interfaces import ISiteRoot
from Products.CMFCore.permissions import AddPortalContent
from Products.PageTemplates.PageTemplateFile import PageTemplateFile

from ..permissions import AddSite
from . import content
from . import factory


def _add_form(name):
    return PageTemplateFile('www/addContent.zpt', globals(), __name__=name)


def _not_in_a_portal(container):
    # A portal inside a portal would share nothing and confuse tools lookup.
    return aq_get(container, 'portal_url', None) is None and \
        not ISiteRoot.providedBy(container)


def _in_a_portal(container):
    return aq_get(container, 'portal_types', None) is not None


def initialize(context):
    """Register the ERP5SyncML Site and the demo content classes.

    Content classes keep visibility 'Global': a new-style FTI can only
    construct a meta_type listed in its container's all_meta_types().
    """
    context.registerClass(
        factory.ERP5SyncMLSite,
        permission=AddSite,
        constructors=(factory.manage_addERP5SyncMLSiteForm,
                      factory.manage_addERP5SyncMLSite),
        container_filter=_not_in_a_portal,
    )
    for klass, add in ((content.Module, content.manage_addModule),
                       (content.Person, content.manage_addPerson)):
        context.registerClass(
            klass,
            permission=AddPortalContent,
            constructors=(_add_form(add.__name__ + 'Form'), add),
            container_filter=_in_a_portal,
        )
