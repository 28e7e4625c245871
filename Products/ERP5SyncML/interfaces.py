"""Interfaces of the ERP5SyncML product.

Pluggable parts (XML mappings, conduits) are adapters registered in ZCML,
so a site can register its own for its own types without touching ours.
"""
from zope.interface import Attribute
from zope.interface import Interface


class IXMLMapping(Interface):
    """Turns one object (and its sub-objects) into deterministic typed XML,
    and gives typed access to the properties the XML carries.

    Registered as an adapter for the object's class or interface; the most
    specific registration wins.
    """

    def asXML():
        """Return the object's XML as a str (UTF-8 text, no declaration)."""

    def toElement(recursive=True):
        """Return the object's XML as an lxml element ``<object ...>``;
        without its sub-objects when ``recursive`` is false."""

    def getPropertyItems():
        """Return a sorted list of (property_id, type, value) of the object."""

    def setProperty(property_id, type, value):
        """Set one property (adding it when the object allows it), through
        the object's own API and as the current user (Unauthorized without
        the edit permission). Does not notify: see notifyModified."""

    def deleteProperty(property_id):
        """Remove a property added on the object; return False (and change
        nothing) if it is not removable."""

    def getLocalRoles():
        """Return a sorted list of (user_id, sorted tuple of roles)."""

    def setLocalRoles(user_id, roles):
        """Set (roles non-empty) or remove (roles empty) a user's local roles."""

    def getSubObjects():
        """Return the sub-objects that travel inside this object's XML."""

    def notifyModified():
        """Fire ObjectModifiedEvent and reindex (CMF) after edits."""


class IObjectFactory(Interface):
    """Creates an empty object of some type in a container (the inverse
    of the ``portal_type``/``meta_type`` attributes of the XML)."""

    def __call__(container, object_id, portal_type, meta_type):
        """Create the object in ``container`` and return it (wrapped)."""


class IConduit(Interface):
    """Applies incoming XML to objects, detecting per-property conflicts."""

    def addNode(container, element, object_id=None):
        """Create the object described by ``element`` (a full ``<object>``)
        in ``container``, sub-objects included. Return the new object."""

    def updateNode(obj, previous_element, new_element, force=False,
                   simulate=False):
        """Move ``obj`` from ``previous_element`` (last agreed XML) to
        ``new_element``. A property whose current value differs from the
        previous one and from the new one is a conflict: it is left alone
        (unless ``force``) and reported. Return the list of conflicts."""

    def deleteNode(container, object_id):
        """Delete the object ``object_id`` from ``container``."""

    def applyValue(obj, path, property, element):
        """Apply one side's value of a conflict: ``path`` is the tuple of
        sub-object ids from ``obj`` down to the object concerned,
        ``property`` a property id, ``'local_role:<user>'`` or None (the
        whole sub-object), ``element`` the value's XML element or None to
        delete it."""

    def getGidFromObject(obj):
        """Return the object's GID (default: its id)."""


class IChangeJournal(Interface):
    """Which top-level synchronized objects changed, when, and by whom."""

    def record(path, origin=None, stamp=None):
        """Note that the object at physical ``path`` changed now (or at
        ``stamp``) because of ``origin`` (a sync domain's origin tuple, or
        None for a local edit)."""

    def changedSince(since, prefix, exclude_origin=None):
        """Yield the ids of objects directly under ``prefix`` changed after
        ``since`` by anyone but ``exclude_origin``."""


class ISynchronizationTool(Interface):
    """``portal_synchronizations``: publications, subscriptions, sync runs.

    The domain reaches the tool only through this interface (the tool is
    registered as a utility of its site and found by acquisition).
    """

    id = Attribute('Tool id, portal_synchronizations')

    def getPublicationList():
        """Return the publications of this site."""

    def getSubscriptionList():
        """Return the subscriptions of this site."""

    def getPublication(id):
        """Return the publication ``id`` or None."""

    def getSubscription(id):
        """Return the subscription ``id`` or None."""

    def getChangeJournal():
        """Return the site's IChangeJournal (Python only, not published)."""

    def getDestinationPrefixes():
        """Return the physical paths of every synchronized folder (Python
        only, not published)."""

    def readResponse(text=None, sync_id=None, REQUEST=None):
        """HTTP entry point: process a SyncML message and return the reply."""
