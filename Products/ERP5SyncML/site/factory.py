"""Create an 'ERP5SyncML Site', or add the ERP5SyncML tools to a CMF site.

Profiles (registered in ``profiles.zcml``):

``Products.ERP5SyncML:default``
    base profile of a new site: CMF tools as local utilities, MailHost,
    portal_activities, portal_synchronizations, the 'Folder' type, catalog
    indexes, skins with ``custom``.
``Products.ERP5SyncML:tools``
    extension profile for an existing CMF site (a Plone site, say): adds
    the missing MailHost, portal_activities and portal_synchronizations and
    never replaces existing tools.
``Products.ERP5SyncML:demo``
    extension profile: the 'Module' and 'Person' types and the empty
    modules ``portal_repository`` and ``person_module``.
"""
import contextlib
import logging

from Acquisition import aq_base
from zExceptions import BadRequest
from zope.component.hooks import getSite
from zope.component.hooks import setSite
from zope.dottedname.resolve import resolve

from Products.GenericSetup.interfaces import ISetupTool
from Products.PageTemplates.PageTemplateFile import PageTemplateFile
from Products.GenericSetup.tool import SetupTool

from .portal import ERP5SyncMLSite

logger = logging.getLogger('Products.ERP5SyncML')

DEFAULT_PROFILE = 'profile-Products.ERP5SyncML:default'
TOOLS_PROFILE = 'profile-Products.ERP5SyncML:tools'
DEMO_PROFILE = 'profile-Products.ERP5SyncML:demo'

#: Smarthost of the MailHost of new sites.
SMTP_HOST = '127.0.0.1'
SMTP_PORT = 25

#: Tools ``install_tools`` knows: id -> (dotted class, dotted interface
#: the tool is registered for as a local utility, or None).
TOOLS = {
    'MailHost': ('Products.MailHost.MailHost.MailHost',
                 'Products.MailHost.interfaces.IMailHost'),
    'portal_activities': ('Products.CMFActivity.ActivityTool.ActivityTool',
                          'Products.CMFActivity.interfaces.IActivityTool'),
    'portal_synchronizations': (
        'Products.ERP5SyncML.tool.SynchronizationTool',
        'Products.ERP5SyncML.interfaces.ISynchronizationTool'),
    'portal_mailin': ('Products.CMFMailIn.MailInTool.MailInTool',
                      'Products.CMFMailIn.interfaces.IMailInTool'),
}


@contextlib.contextmanager
def using_site(site):
    """Make ``site`` the current site (``setSite``) inside the block and
    restore the previous one after it."""
    previous = getSite()
    setSite(site)
    try:
        yield site
    finally:
        setSite(previous)


def _new_tool(tool_id, klass):
    if tool_id == 'MailHost':
        return klass(tool_id, smtp_host=SMTP_HOST, smtp_port=SMTP_PORT)
    try:
        tool = klass()
    except TypeError:
        return klass(tool_id)
    tool._setId(tool_id)
    return tool


def install_tools(site, tool_ids=None):
    """Add the missing ERP5SyncML tools to the CMF site ``site`` and
    register them as local utilities of its site manager.

    ``tool_ids``: ids from ``TOOLS`` (default: all of them, that is
    MailHost, portal_activities, portal_synchronizations, portal_mailin).
    Existing objects are kept (never replaced); a missing utility registration is added.
    Unknown ids raise ValueError before anything changes. Returns the ids
    of the tools that were created.
    """
    if tool_ids is None:
        tool_ids = list(TOOLS)
    elif isinstance(tool_ids, str):
        tool_ids = [tool_ids]
    unknown = sorted(set(tool_ids) - set(TOOLS))
    if unknown:
        raise ValueError('Unknown tools: %s (known: %s)'
                         % (', '.join(unknown), ', '.join(sorted(TOOLS))))
    sm = site.getSiteManager()  # ComponentLookupError for a non-site
    created = []
    for tool_id in tool_ids:
        class_name, iface_name = TOOLS[tool_id]
        if getattr(aq_base(site), tool_id, None) is None:
            site._setObject(tool_id, _new_tool(tool_id, resolve(class_name)))
            created.append(tool_id)
            logger.info('%s: added %s', '/'.join(site.getPhysicalPath()),
                        tool_id)
        if iface_name is not None:
            iface = resolve(iface_name)
            tool = site._getOb(tool_id)
            if sm.queryUtility(iface) is None:
                sm.registerUtility(aq_base(tool), iface)
    return created


def apply_profile(site, profile_id):
    """Run all import steps of ``profile_id`` ('profile-...') on ``site``
    without purging (safe to repeat), adding ``portal_setup`` first when
    the site has none. Returns the setup tool."""
    if getattr(aq_base(site), 'portal_setup', None) is None:
        site._setObject('portal_setup', SetupTool('portal_setup'))
    setup = site.portal_setup
    with using_site(site):
        sm = site.getSiteManager()
        if sm.queryUtility(ISetupTool) is None:
            sm.registerUtility(aq_base(setup), ISetupTool)
        # never purge: re-applying a base profile must not empty the
        # catalog or drop types and tools added since
        setup.runAllImportStepsFromProfile(profile_id, purge_old=False)
    return setup


def add_site(container, site_id, title='', demo=False, demo_content=None):
    """Create an 'ERP5SyncML Site' ``site_id`` in ``container``; return it
    (acquisition-wrapped).

    Runs the profile ``Products.ERP5SyncML:default`` and, with ``demo``,
    ``Products.ERP5SyncML:demo`` (types 'Module' and 'Person', empty
    modules ``portal_repository`` and ``person_module``). ``demo_content``
    (default: ``demo``) also fills ``portal_repository`` with sample
    persons (see ``demo.populate``); pass ``demo=True,
    demo_content=False`` for a client site whose repository must start
    empty. ``demo_content`` without ``demo`` is a ValueError.

    The current site (``zope.component.hooks.getSite()``) is the same
    after the call as before it. ``invokeFactory`` on the portal and on
    Module/Person works without a current site (they use their own
    site's tools); other CMF APIs outside a request (CMF 'Folder'
    content, ``contentIds``, indexing of plain CMF content) need
    ``using_site(site)`` or ``setSite(site)``.
    """
    if demo_content is None:
        demo_content = demo
    if demo_content and not demo:
        raise ValueError('demo_content needs demo=True')
    site_id = str(site_id)
    container._checkId(site_id)  # BadRequest: bad or taken id
    if getattr(aq_base(container), site_id, None) is not None:
        raise BadRequest('The id "%s" is already in use.' % site_id)
    container._setObject(site_id, ERP5SyncMLSite(site_id, title))
    site = container._getOb(site_id)
    with using_site(site):
        setup = apply_profile(site, DEFAULT_PROFILE)
        setup.setBaselineContext(DEFAULT_PROFILE)
        if demo:
            apply_profile(site, DEMO_PROFILE)
        if demo_content:
            from .demo import populate
            populate(site)
    logger.info('Added ERP5SyncML Site %s (demo=%s, demo_content=%s)',
                '/'.join(site.getPhysicalPath()), demo, demo_content)
    return site


# -- ZMI ----------------------------------------------------------------------

manage_addERP5SyncMLSiteForm = PageTemplateFile(
    'www/addSite.zpt', globals(), __name__='manage_addERP5SyncMLSiteForm')


def manage_addERP5SyncMLSite(dispatcher, id, title='', demo=False,
                             demo_content=None, REQUEST=None):
    """Add an ERP5SyncML Site (ZMI constructor, see ``add_site``)."""
    container = dispatcher.Destination()
    if REQUEST is not None and 'id' in (getattr(REQUEST, 'form', None) or {}):
        # posted by the add form: a browser sends nothing for an unticked
        # box, which means no demo content, not "the default"
        demo_content = bool(demo_content)
    site = add_site(container, id, title, demo=bool(demo),
                    demo_content=demo_content)
    if REQUEST is not None:
        REQUEST.RESPONSE.redirect(site.absolute_url() + '/manage_main')
    return site.getId()
