"""Products.CMFActivity: portal_activities, deferred method calls.

``initialize`` registers the tool in the ZMI add menu and, explicitly, adds
``activate`` to every ``OFS.SimpleItem.Item`` and
``OFS.ObjectManager.ObjectManager`` (see ``active.install_activate``), as
CMFActivity always did.
"""
from .active import ActiveObject  # noqa: F401
from .active import activate  # noqa: F401
from .active import install_activate
from .processing import process_all  # noqa: F401


def initialize(context):
    """Zope product initialisation."""
    from .ActivityTool import ActivityTool
    from .ActivityTool import manage_addActivityTool
    from .permissions import AddActivityTool
    install_activate()
    context.registerClass(
        ActivityTool,
        permission=AddActivityTool,
        constructors=(manage_addActivityTool,),
    )
